import math
import os

import numpy as np
import pytest

from codelaw import checks
from codelaw.errors import UserError


@pytest.mark.parametrize(
  "check, value, message",
  [
    (checks.positive, 0, "k = 0: expected a finite number > 0"),
    (checks.positive, math.inf, "k = inf: expected a finite number > 0"),
    (checks.nonneg, -1e-9, "k = -1e-09: expected a finite number >= 0"),
    (checks.finite, math.nan, "k = nan: expected a finite number"),
    (checks.finite, "1e9", "k = '1e9': expected a finite number"),
    (checks.finite, True, "k = True: expected a finite number"),
    (checks.fraction, 1.0, r"k = 1.0: expected a finite number in \(0, 1\)"),
    (checks.positive_int, 0, "k = 0: expected an integer >= 1"),
    (checks.nonneg_int, 2.5, "k = 2.5: expected an integer >= 0"),
    (checks.language, "cobol", "k: unknown language 'cobol'"),
  ],
)
def test_bad_values_name_the_key(check, value, message):
  with pytest.raises(UserError, match=message):
    check(value, "k")


def test_good_values_are_converted():
  assert checks.positive(3, "k") == 3.0 and isinstance(checks.positive(3, "k"), float)
  assert checks.integer(1e9, "k", lo=1) == 10**9 and checks.integer(np.int64(4), "k") == 4
  assert checks.number(0.5, "k", lo=0, hi=1) == 0.5
  assert checks.language_list("python, go", "k") == ("python", "go")
  assert checks.language_list(("rust",), "k") == ("rust",)
  with pytest.raises(UserError, match="k: unknown language 'cobol'"):
    checks.language_list("python,cobol", "k")


def test_proportions_one_wording():
  assert checks.proportions({"python": 1, "go": 3}, "p") == {"python": 0.25, "go": 0.75}
  assert checks.proportions({"python": 1, "go": 3}, "p", normalise=False) == {"python": 1.0, "go": 3.0}
  for bad, message in (
    ({"python": -1}, "p.python = -1"),
    ({"python": math.nan}, "p.python = nan"),
    ({"cobol": 1}, "p.cobol: unknown language"),
    ({"go": 0}, "p: all weights are zero"),
    ({}, "p = {}: expected"),
    ([0.5], r"p = \[0.5\]: expected"),
  ):
    with pytest.raises(UserError, match=message):
      checks.proportions(bad, "p")


def test_readable_file(tmp_path):
  f = tmp_path / "a.csv"
  f.write_text("x")
  assert checks.readable_file(str(f), "config.runs") == f
  with pytest.raises(UserError, match="config.runs = .*does not exist"):
    checks.readable_file(tmp_path / "nope", "config.runs")
  with pytest.raises(UserError, match="is not a regular file"):
    checks.readable_file(tmp_path, "config.runs")
  with pytest.raises(UserError, match="config.runs is empty"):
    checks.readable_file("", "config.runs")
  if os.geteuid() != 0:  # root reads everything
    f.chmod(0)
    with pytest.raises(UserError, match="permission denied"):
      checks.readable_file(f, "config.runs")
