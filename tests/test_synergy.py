import numpy as np
import pytest

from codelaw.errors import UserError
from codelaw.laws.runs_io import make_results_table
from codelaw.laws.synergy import synergy_matrix

LANGS = ("python", "java", "csharp")


def _table(cells, seeds=3, noise=0.0, rng=None):
  """cells: {(target, aux): loss}; target==aux is the self-repetition baseline. One row per seed."""
  cols = {"run_id": [], "language": [], "N": [], "D": [], "loss": []}
  props = {name: [] for name in LANGS}
  for (t, a), loss in cells.items():
    for s in range(seeds):
      cols["run_id"].append(f"{t}+{a}-{s}")
      cols["language"].append(t)
      cols["N"].append(1e6)
      cols["D"].append(2e7)
      cols["loss"].append(loss + (rng.normal(0, noise) if rng is not None else 0.0))
      for name in LANGS:
        props[name].append((0.5 if name in (t, a) else 0.0) if t != a else float(name == t))
  return make_results_table(cols["run_id"], cols["language"], cols["N"], cols["D"], cols["loss"], props)


def test_delta_and_relative_gain_signs():
  # Java gains from C# (0.9034 -> 0.7175, the paper's largest cell), Python loses from C#.
  cells = {("java", "java"): 0.9034, ("java", "csharp"): 0.7175, ("python", "python"): 0.7528,
           ("python", "csharp"): 0.7656}
  out = synergy_matrix(_table(cells, seeds=1))
  java = out["targets"]["java"]["csharp"]
  assert java["delta"] == pytest.approx(0.9034 - 0.7175)
  assert java["rel"] == pytest.approx((0.9034 - 0.7175) / 0.9034)
  assert 100 * java["rel"] == pytest.approx(20.58, abs=0.03)  # Table 1's printed percentage
  assert out["targets"]["python"]["csharp"]["delta"] < 0
  assert "delta_ci" not in java  # one seed: no interval


def test_intervals_from_repeated_seeds_cover_the_truth():
  rng = np.random.default_rng(0)
  cells = {("java", "java"): 0.90, ("java", "python"): 0.85, ("csharp", "csharp"): 0.35, ("csharp", "java"): 0.349}
  out = synergy_matrix(_table(cells, seeds=5, noise=0.005, rng=rng))
  j = out["targets"]["java"]["python"]
  lo, hi = j["delta_ci"]
  assert lo < 0.05 < hi and lo > 0  # clearly positive gain
  c = out["targets"]["csharp"]["java"]
  assert c["delta_ci"][0] < 0.001 < c["delta_ci"][1]
  assert c["rel_ci"][0] == pytest.approx(c["delta_ci"][0] / c["baseline"])
  assert j["n_baseline"] == 5 and j["n_mixed"] == 5


def test_no_bilingual_design_is_a_user_error():
  with pytest.raises(UserError, match="synergy"):
    synergy_matrix(_table({("java", "java"): 0.9, ("python", "python"): 0.7}, seeds=1))
