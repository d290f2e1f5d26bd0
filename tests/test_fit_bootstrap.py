"""Identifiability, run-level bootstrap, cold-start grid, profile intervals and the fit.json contract."""

import csv
import json

import jax
import numpy as np
import pytest

from codelaw.contracts.fit import FitResult
from codelaw.errors import UserError
from codelaw.laws import fit_job, identifiability, lbfgs, per_language
from codelaw.laws import profile as profile_lib
from codelaw.laws.profile import design_effect
from codelaw.laws.runs_io import LanguageRuns

TRUTH = dict(E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def _runs(sizes, seeds=2, budgets=6, offset=0.01, noise=0.001, seed=0) -> LanguageRuns:
  """WSD-style design: one run per (size, seed), its cooldown budgets as rows sharing the run's offset."""
  rng = np.random.default_rng(seed)
  N, D, run, z = [], [], [], []
  for i, n in enumerate(sizes):
    for s in range(seeds):
      u = rng.normal()
      for d in np.geomspace(2e9, 6.4e10, budgets):
        N.append(n), D.append(d), run.append(f"size{i}-seed{s}"), z.append(u)
  N, D = np.array(N), np.array(D)
  logL = np.log(TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"])
  logL = logL + offset * np.array(z) + noise * rng.normal(size=len(N))
  return LanguageRuns(N, D, np.exp(logL), np.array(run))


def test_two_sizes_are_not_identifiable():
  fit = per_language.fit_chinchilla(
    {"python": _runs([1e8, 4e8], seeds=2)}, grid=per_language.small_grid(), bootstrap=0, profile=True
  )["python"]
  d = fit.diagnostics
  assert d["identifiable"] is False
  assert d["design"] == {"distinct_N": 2, "distinct_D": 6, "runs": 4, "rows": 24, "dof": 19}
  assert len(d["problems"]) == 1 and "2 distinct model size(s) N" in d["problems"][0]
  assert "alpha" in d["weak"]  # the profile cannot bound alpha with two sizes


def test_identifiability_rules():
  ok = identifiability.design(np.repeat([1, 2, 3], 2), np.tile([5, 6], 3), np.arange(6), 2)
  assert ok == {"distinct_N": 3, "distinct_D": 2, "runs": 6, "rows": 6, "dof": 4}
  probs = identifiability.problems(ok)
  assert len(probs) == 1 and "token budget" in probs[0]
  assert identifiability.problems({**ok, "distinct_D": 3, "dof": 2})[0].startswith("2 residual degree")
  assert identifiability.problems({**ok, "distinct_D": 1}, scaling=False) == []
  box = {"alpha": (0.0, 2.0), "E": (0.3, 3.0)}
  assert identifiability.weak({"alpha": [0.2, 0.4], "E": [1.0, 1.5]}, box) == []
  assert identifiability.weak({"alpha": [0.2, 2.5], "E": [1.0, 1.5]}, box) == ["alpha"]  # past the box
  assert identifiability.weak({"B": [1e3, 2e4]}, box) == ["B"]  # wider than a decade


def test_run_level_resampling_moves_a_run_together():
  runs = LanguageRuns(np.ones(7), np.ones(7), np.ones(7), np.array(["a", "a", "a", "b", "b", "", ""]))
  assert len(set(runs.runs())) == 4  # two runs, and two rows without a run id that are their own runs
  w = per_language._run_weights(np.random.default_rng(0), runs, 9, 500)
  assert w.shape == (500, 9) and np.all(w[:, 7:] == 0)  # padding never drawn
  assert np.all(w[:, 0] == w[:, 1]) and np.all(w[:, 1] == w[:, 2]) and np.all(w[:, 3] == w[:, 4])
  assert not np.all(w[:, 5] == w[:, 6])  # rows without a run id resample on their own
  # 4 runs drawn per resample: a's 3 rows count 3x its draws, b's 2 rows 2x, the loose rows 1x.
  np.testing.assert_array_equal(w[:, 0] + w[:, 3] + w[:, 5] + w[:, 6], np.full(500, 4))
  assert w[:, 0].mean() == pytest.approx(1.0, abs=0.15)


def test_bootstrap_grid_reaches_the_full_grid_optimum():
  """The cold-start grid of every bootstrap refit finds, on the full data, the optimum of the 432-point grid
  (benchmarks/fit_speed.py checks it against Epoch's 4,500-point grid)."""
  for seed in range(3):
    _, data, mask = per_language.pad({"x": _runs(np.geomspace(5e7, 1.6e9, 5), seeds=3, seed=seed)})
    best = {}
    for name, grid in (("small", per_language.small_grid()), ("bootstrap", per_language.bootstrap_grid())):
      with jax.enable_x64(True):
        p, v = lbfgs.multistart_minimize(per_language.objective, 100, per_language.tile_starts(grid, 1), data, mask)
        best[name] = float(np.nanmin(np.asarray(v)))
    assert best["bootstrap"] <= best["small"] * (1 + 1e-6) + 1e-12, (seed, best)


def test_run_bootstrap_and_profile_cover_the_truth():
  fit = per_language.fit_chinchilla(
    {"go": _runs(np.geomspace(5e7, 1.6e9, 5), seeds=3, seed=4)}, grid=per_language.small_grid(), bootstrap=100
  )["go"]
  d = fit.diagnostics
  assert d["identifiable"] and d["design"]["runs"] == 15
  assert d["bootstrap"]["unit"] == "run" and d["bootstrap"]["start"] == "cold"
  for k in ("alpha", "beta"):
    lo, hi = fit.profile[k]
    assert lo < fit.params[k] < hi and lo <= TRUTH[k] <= hi, (k, fit.profile[k])
    assert fit.ci[k][0] <= TRUTH[k] <= fit.ci[k][1], (k, fit.ci[k])
  assert 1.0 < d["profile"]["alpha"]["n_eff"] < 90  # run offsets: fewer effective rows than rows


def test_design_effect():
  run = np.repeat(np.arange(10), 6)
  rng = np.random.default_rng(0)
  assert design_effect(rng.normal(size=60), np.arange(60)) == 1.0
  clustered = np.repeat(rng.normal(size=10), 6) + 0.01 * rng.normal(size=60)
  assert design_effect(clustered, run) == pytest.approx(6.0, rel=0.05)  # all rows of a run alike
  assert design_effect(rng.normal(size=60), run) < 2.5  # independent rows


def _csv(path, rows, header=("language", "N", "D", "loss", "run_id", "bpb")):
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)
  return str(path)


def test_fit_json_carries_diagnostics_profile_and_bits_per_byte(tmp_path):
  runs = _runs([1e8, 4e8], seeds=2)
  bpb = runs.loss / (np.log(2) * 3.0)  # 3 bytes per token
  path = _csv(
    tmp_path / "runs.csv",
    [["java", n, d, l, r, b] for n, d, l, r, b in zip(runs.N, runs.D, runs.loss, runs.run_id, bpb)],
  )
  out = fit_job.fit(path, "chinchilla", grid="small", bootstrap=10)
  back = FitResult.from_json(json.loads(json.dumps(out)))
  assert back.to_json() == json.loads(json.dumps(out))
  assert back.unidentifiable() == {"java": tuple(out["diagnostics"]["java"]["problems"])}
  assert set(out["profile"]["java"]) == {"alpha", "beta"}
  assert out["loss_unit"] == "nats/token"
  bits = out["bits_per_byte"]["java"]
  assert bits["bytes_per_token"] == pytest.approx(3.0) and bits["E"] == pytest.approx(
    out["languages"]["java"]["E"] / (np.log(2) * 3.0)
  )
  md = fit_job.summary_markdown(out)
  assert "| java | 2 | 6 | 4 | 24 | 19 | **no** |" in md and "2 distinct model size(s) N" in md


def test_fitting_in_bits_per_byte_rescales_E_only(tmp_path):
  runs = _runs([1e8, 2e8, 4e8], seeds=1)
  bpb = runs.loss / (np.log(2) * 2.5)
  path = _csv(
    tmp_path / "runs.csv", [["go", n, d, l, r, b] for n, d, l, r, b in zip(runs.N, runs.D, runs.loss, runs.run_id, bpb)]
  )
  nats = fit_job.fit(path, "chinchilla", grid="small", bootstrap=0)
  in_bpb = fit_job.fit(path, "chinchilla", grid="small", bootstrap=0, loss_unit="bpb")
  assert in_bpb["loss_unit"] == "bits/byte" and "bits_per_byte" not in in_bpb
  # log bpb = log loss - log(2.5 ln 2): the same fit with E, A, B scaled, the exponents unchanged.
  assert in_bpb["languages"]["go"]["E"] == pytest.approx(nats["bits_per_byte"]["go"]["E"], rel=1e-3)
  assert in_bpb["languages"]["go"]["alpha"] == pytest.approx(nats["languages"]["go"]["alpha"], rel=1e-3)


def test_bpb_unit_needs_bpb_and_contract_rejects_contradictions(tmp_path):
  runs = _runs([1e8, 2e8, 4e8], seeds=1)
  path = _csv(
    tmp_path / "runs.csv",
    [["go", n, d, l] for n, d, l in zip(runs.N, runs.D, runs.loss)],
    header=("language", "N", "D", "loss"),
  )
  with pytest.raises(UserError, match="config.loss_unit = 'bpb'.*go"):
    fit_job.fit(path, "chinchilla", grid="small", bootstrap=0, loss_unit="bpb")
  with pytest.raises(UserError, match="config.loss_unit"):
    fit_job.fit(path, "chinchilla", loss_unit="bytes")
  bad = {
    "law": "chinchilla",
    "languages": {"go": {}},
    "diagnostics": {
      "go": {
        "identifiable": True,
        "problems": ["2 distinct model size(s) N"],
        "weak": [],
        "design": {"distinct_N": 2, "distinct_D": 3, "runs": 2, "rows": 6, "dof": 1},
      }
    },
  }
  with pytest.raises(UserError, match="disagrees with problems"):
    FitResult.from_json(bad)
  bad["diagnostics"]["go"].update(identifiable=False, design={"distinct_N": 2})
  with pytest.raises(UserError, match="diagnostics.go.design"):
    FitResult.from_json(bad)


def test_profile_interval_is_open_with_ends_on_the_grid_when_no_grid_value_reaches_the_optimum():
  values = np.geomspace(0.1, 10.0, 7)
  # Every grid value is above crit, and the minimum and its left neighbour nearly tie: a line through them
  # would put the lower end far beyond the grid (the old overflow); the ends are the minimum's neighbours instead.
  rel = np.array([0.9, 0.6, 0.30000001, 0.3, 0.5, 0.8, 0.9])
  with np.errstate(all="raise"):
    out = profile_lib._interval(values, rel, crit=0.1)
  assert out["interval"] == pytest.approx([values[2], values[4]]) and out["open"]  # not bounded by the profile
  # Inside crit the ends are interpolated between the last value inside and the first outside.
  out = profile_lib._interval(values, np.array([0.9, 0.6, 0.2, 0.0, 0.2, 0.8, 0.9]), crit=0.1)
  assert values[2] < out["interval"][0] < values[3] < out["interval"][1] < values[4] and not out["open"]
