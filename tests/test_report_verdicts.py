"""The verdict rule, the intervals it is applied to, and report.json's contract (invariants and round trip)."""

import json
import math

import numpy as np
import pytest
from scipy import stats

from codelaw.contracts.report import Claim, LanguageRegime, Regime, Report, RunGap
from codelaw.report import verdicts


@pytest.mark.parametrize(
  "interval,alternative,expected",
  [
    ((0.1, 0.3), "greater", "supported"),
    ((-0.3, -0.1), "greater", "contradicted"),
    ((-0.1, 0.3), "greater", "inconclusive"),
    ((0.0, 0.3), "greater", "inconclusive"),
    ((-0.3, -0.1), "less", "supported"),
    ((0.1, 0.3), "less", "contradicted"),
    (None, "greater", "not enough data"),
    ((math.nan, 1.0), "greater", "not enough data"),
  ],
)
def test_decide(interval, alternative, expected):
  assert verdicts.decide(interval, 0.0, alternative) == expected


def test_decide_against_a_nonzero_null():
  assert verdicts.decide((0.55, 0.7), 0.5) == "supported"
  assert verdicts.decide((0.45, 0.7), 0.5) == "inconclusive"


def test_paired_is_students_t_on_the_differences():
  d = [0.010, 0.014, 0.009, 0.013]
  mean, (lo, hi) = verdicts.paired(d)
  half = stats.t.ppf(0.975, 3) * np.std(d, ddof=1) / 2
  assert mean == pytest.approx(np.mean(d)) and lo == pytest.approx(mean - half) and hi == pytest.approx(mean + half)
  assert verdicts.paired([0.01]) == (0.01, None)  # one seed: no interval
  assert verdicts.paired([])[1] is None


def test_monotone_bounds_follow_the_signs():
  parts = {"a": (1.0, (0.5, 1.5)), "b": (0.2, (0.1, 0.4))}
  point, (lo, hi) = verdicts.monotone(lambda v: v["a"] - v["b"], parts, {"a": 1, "b": -1})
  assert point == pytest.approx(0.8) and lo == pytest.approx(0.1) and hi == pytest.approx(1.4)
  assert verdicts.monotone(lambda v: v["a"], {"a": (1.0, None)}, {"a": 1}) == (1.0, None)


def test_claim_verdicts_come_from_the_interval():
  c = verdicts.claim("x/ours", "X", "s", (0.2, (0.1, 0.3)), "r")
  assert c.verdict == "supported"
  c = verdicts.claim("x/ours", "X", "s", (0.2, (-0.1, 0.3)), "r")
  assert c.verdict == "inconclusive"
  c = verdicts.claim("x/ours", "X", "s", (0.2, None), "r")
  assert c.verdict == "not enough data" and "no interval" in c.reason
  c = verdicts.claim("x/ours", "X", "s", None, "no runs")
  assert c.verdict == "not enough data" and c.estimate is None
  c = verdicts.claim("x/paper", "X", "s", verdicts.exact(0.3), "r", source="paper")
  assert c.verdict == "supported" and "publishes no interval" in c.reason


def test_contract_refuses_a_verdict_its_interval_does_not_support():
  with pytest.raises(ValueError, match="does not exclude"):
    Claim("x", "X", "s", 0.2, (-0.1, 0.3), 0.0, "supported", "r")
  with pytest.raises(ValueError, match="does not exclude"):
    Claim("x", "X", "s", 0.2, (0.1, 0.3), 0.0, "contradicted", "r")
  with pytest.raises(ValueError, match="needs a finite interval"):
    Claim("x", "X", "s", 0.2, None, 0.0, "supported", "r")
  with pytest.raises(ValueError, match="not one of"):
    Claim("x", "X", "s", 0.2, (0.1, 0.3), 0.0, "partly supported", "r")
  Claim("x", "X", "s", -0.2, (-0.3, -0.1), 0.0, "supported", "r", alternative="less")


def test_report_json_round_trip():
  gap = RunGap("r1", "go", 5e4, 1e6, 5.1, 6.5, -1.4, -0.8)
  lang = LanguageRegime("go", 2, 3, 2, (2.0, 20.0), False, ("2 distinct model size(s) N",), 0, (gap,))
  claims = (
    verdicts.claim("a/ours", "A", "s", (0.2, (0.1, 0.3)), "r"),
    verdicts.claim("b/ours", "B", "s", None, "no runs"),
    verdicts.claim("c/paper", "C", "s", verdicts.exact(-0.4), "r", source="paper"),
  )
  report = Report(
    "study",
    Regime((lang,), "one sentence"),
    claims,
    1,
    ("w",),
    ({"key": "k", "title": "t", "figures": [], "tables": ["tables/x.md"], "missing": []},),
    {"scale": ["smoke"]},
    {"results": ["results.csv"]},
    (),
  )
  text = report.dumps()
  assert Report.from_json(json.loads(text)) == report
  loaded = json.loads(text)
  assert set(loaded["claims"][0]) >= {"id", "claim", "statistic", "estimate", "interval", "null", "verdict", "reason"}
  assert loaded["claims"][1]["interval"] is None and loaded["claims"][1]["estimate"] is None
  assert loaded["regime"]["languages"][0]["identifiable"] is False


def test_law_claims_need_enough_draws_and_a_trustworthy_interval():
  from codelaw.report import claims

  rng = np.random.default_rng(0)
  params = {"python": dict(E=1.0, alpha=0.3, beta=0.4), "rust": dict(E=1.2, alpha=0.5, beta=0.6)}

  def draws(n, shift=0.0):
    return {
      l: {k: v + (shift if l == "python" and k != "E" else 0.0) + rng.normal(0, 0.01, n) for k, v in p.items()}
      for l, p in params.items()
    }

  def verdict(laws):
    return next(c for c in claims.evaluate(laws, None, None, None) if c.id == "python_steeper_than_rust/ours")

  assert verdict(claims.Laws(params, draws(200), {}, {})).verdict == "contradicted"
  assert verdict(claims.Laws(params, draws(10), {}, {})).verdict == "not enough data"
  outside = verdict(claims.Laws(params, draws(200, shift=-0.3), {}, {}))
  assert outside.verdict == "inconclusive" and "outside its own bootstrap interval" in outside.reason
  weak = verdict(claims.Laws(params, draws(200), {}, {}, weak={"rust": ["beta"]}))
  assert weak.verdict == "inconclusive" and "weakly determined beta of Rust" in weak.reason


def test_irreducible_order_compares_bits_per_byte_whatever_unit_the_law_was_fitted_in():
  from codelaw.report import claims

  E = {"csharp": 1.0, "go": 1.1, "python": 1.3}
  factor = {"csharp": 0.5, "go": 0.6, "python": 0.4}  # bits per byte per nat
  nats = claims.Laws({n: {"E": e} for n, e in E.items()}, {}, {}, factor, published=True)
  bpb = claims.Laws({n: {"E": e * factor[n]} for n, e in E.items()}, {}, {}, factor, published=True, in_bpb=True)
  (a, _), _, ra = claims.irreducible_order(nats)
  (b, _), _, rb = claims.irreducible_order(bpb)
  # In bits per byte Python (0.52) falls below Go (0.66): the nats order (C# < Go < Python) does not hold.
  assert a == pytest.approx(b) == pytest.approx(min(0.66 - 0.5, 0.52 - 0.5, 0.52 - 0.66))
  assert ra == rb and "nats/token: C# 1.000" in ra
