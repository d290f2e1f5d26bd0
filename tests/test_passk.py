import math

import pytest

from codelaw.evals.harness.passk import estimate, pass_at_k


def _brute(n, c, k):
  return 1 - math.comb(n - c, k) / math.comb(n, k)


def test_hand_computed_values():
  assert pass_at_k(10, 0, 1) == 0.0
  assert pass_at_k(10, 10, 5) == 1.0
  assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
  # 1 - C(8,2)/C(10,2) = 1 - 28/45
  assert pass_at_k(10, 2, 2) == pytest.approx(17 / 45)
  # 1 - C(15,10)/C(20,10) = 1 - 3003/184756
  assert pass_at_k(20, 5, 10) == pytest.approx(1 - 3003 / 184756)
  assert pass_at_k(5, 3, 3) == 1.0  # fewer than k failures: some draw must pass


@pytest.mark.parametrize("n,c,k", [(200, 13, 1), (200, 13, 10), (200, 13, 100), (7, 2, 3), (50, 49, 2)])
def test_matches_binomial_form(n, c, k):
  assert pass_at_k(n, c, k) == pytest.approx(_brute(n, c, k), rel=1e-9)


def test_estimate_averages_and_drops_large_k():
  res = {"a": [True, False, False, False], "b": [True, True, False, False]}
  out = estimate(res, (1, 2, 10))
  assert out["pass@1"] == pytest.approx((0.25 + 0.5) / 2)
  assert out["pass@2"] == pytest.approx(((1 - 3 / 6) + (1 - 1 / 6)) / 2)
  assert "pass@10" not in out


def test_bad_counts_raise():
  with pytest.raises(ValueError):
    pass_at_k(3, 4, 1)
