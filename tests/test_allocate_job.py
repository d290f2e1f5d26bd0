"""The `allocate` job: allocation.json + chart from a fit.json (with bootstrap) and from the paper preset."""

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import load_config, run_launcher

from codelaw.contracts.allocation import Allocation
from codelaw.errors import UserError
from codelaw.laws import allocate_job, allocation
from codelaw.laws.fit_file import LawParams, law_to_json, load_fit

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("python", "java", "go")


def _config(**overrides):
  c = load_config("allocate.py")
  for k, v in overrides.items():
    if isinstance(v, dict):
      for name, x in v.items():
        c[k][name] = x
    else:
      c[k] = v
  return c


def _fit(tmp_path, *, resamples=8, seed=0):
  rng = np.random.default_rng(seed)
  base = {
    l: {"E": 1.0 + 0.2 * i, "A": 400.0, "B": 1500.0 * (1 + i), "alpha": 0.33, "beta": 0.3 + 0.04 * i}
    for i, l in enumerate(LANGS)
  }
  tau = {t: {s: 1.0 if s == t else 0.15 for s in LANGS} for t in LANGS}
  boot = []
  for _ in range(resamples):
    b = {l: {k: v * float(rng.uniform(0.95, 1.05)) for k, v in q.items()} for l, q in base.items()}
    boot.append({"languages": b, "tau": tau})
  obj = {
    "law": "effective_data",
    "languages": base,
    "tau": tau,
    "unique_tokens": {"python": 4e9},
    "bootstrap": boot,
    "diagnostics": {},
  }
  path = tmp_path / "fit.json"
  path.write_text(json.dumps(obj))
  return path


def test_allocate_from_fit_file(tmp_path):
  fit = _fit(tmp_path)
  out = tmp_path / "out"
  cfg = _config(fit=str(fit), N=1e8, D=1e10, max_epochs=1.0)
  cfg.weights.python = 2.0
  allocate_job.main(cfg, str(out))
  res = json.loads((out / "allocation.json").read_text())
  for key in (
    "p_star",
    "p_uniform",
    "losses_star",
    "losses_uniform",
    "objective_star",
    "objective_uniform",
    "kkt_residual",
    "active_constraints",
    "constraints",
    "N",
    "D",
    "weights",
    "uncertainty",
  ):
    assert key in res, key
  assert set(res["p_star"]) == set(LANGS)
  assert sum(res["p_star"].values()) == pytest.approx(1.0, abs=1e-12)
  assert res["weights"]["python"] == pytest.approx(0.5)
  # python's cap: 1 epoch of 4e9 unique tokens out of 1e10
  assert res["p_star"]["python"] <= 0.4 + 1e-12
  assert res["constraints"]["upper"]["python"] == pytest.approx(0.4)
  assert res["objective_star"] <= res["objective_uniform"]
  assert res["kkt_residual_relative"] < 1e-7
  u = res["uncertainty"]
  assert u["resamples"] == 8
  for lang in LANGS:
    lo, hi = u["p_star"][lang]
    assert 0 <= lo <= hi <= 1
  g = res["gain"]
  assert g["estimate"] == pytest.approx(res["objective_uniform"] - res["objective_star"])
  assert g["interval"] == u["gain"] and g["resamples"] == 8 and g["interval"][0] <= g["interval"][1]
  assert res["converged"] is True and res["reason"] == "" and res["kkt_tolerance"] == 1e-6
  assert res["warnings"] == [f"{fit} records no identifiability diagnostics"]
  assert Allocation.from_json(json.loads(json.dumps(res))).to_json() == json.loads(json.dumps(res))
  png = (out / "allocation.png").read_bytes()
  assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_compute_budget_plans_n_and_d(tmp_path):
  fit = _fit(tmp_path, resamples=0)
  res = allocate_job.run(_config(fit=str(fit), flops=1e19))
  plan = res["compute_optimal"]
  assert res["N"] == pytest.approx(plan["mix"]["N"]) and 6 * res["N"] * res["D"] == pytest.approx(1e19)
  assert set(plan["per_language"]) == set(LANGS)
  assert res["uncertainty"] is None


def test_bad_config_values(tmp_path):
  fit = _fit(tmp_path, resamples=0)
  cases = [
    (dict(fit=""), "config.fit is required"),
    (dict(fit=str(fit), N=0.0, D=1e9), "config.N = 0.0"),
    (dict(fit=str(fit), N=-1.0, D=1e9), "config.N = -1.0"),
    (dict(fit=str(fit), N=1e8, D=1e10, method="newton"), "config.method"),
    (dict(fit=str(fit), N=1e8, D=1e10, confidence=1.5), "config.confidence"),
    (dict(fit=str(fit), N=1e8, D=1e10, max_epochs=0.1, unique_tokens={"java": 1e9, "go": 1e9}), "infeasible"),
    (dict(fit=str(fit), N=1e8, D=1e10, min_share={"python": 0.6, "go": 0.6}), "min_share values sum"),
    (dict(fit=str(tmp_path / "nope.json"), N=1e8, D=1e10), "nope.json does not exist"),
    (dict(fit="paper", paper_reading="H9"), "H9"),
  ]
  for overrides, msg in cases:
    with pytest.raises(UserError, match=msg):
      allocate_job.run(_config(**overrides))


def _launch(*args, workdir):
  return run_launcher("configs/allocate.py", workdir, *args, env={**os.environ, "JAX_PLATFORMS": "cpu"})


def test_launcher_paper_preset_and_bad_file(tmp_path):
  r = _launch("--config.fit=paper", workdir=tmp_path / "paper")
  assert r.returncode == 0, r.stderr[-2000:]
  res = json.loads((tmp_path / "paper" / "allocation.json").read_text())
  assert res["N"] == 1.5e9 and res["D"] == 350e9
  g = res["paper_guided"]
  assert g["reading"] == "H1" and sum(g["p"].values()) == pytest.approx(1.0)
  assert res["objective_star"] <= g["objective"] and res["objective_star"] <= res["objective_uniform"]
  assert (tmp_path / "paper" / "allocation.png").stat().st_size > 5000
  r = _launch(
    f"--config.fit={tmp_path / 'missing.json'}", "--config.N=1e8", "--config.D=1e10", workdir=tmp_path / "bad"
  )
  assert r.returncode == 2
  err = [l for l in r.stderr.splitlines() if l.startswith("codelaw: error:")]
  assert len(err) == 1 and "missing.json" in err[0]
  assert not (tmp_path / "bad" / "allocation.json").exists()


def _chinchilla_fit(tmp_path, B_draws, *, identifiable=True, weak=None):
  """Two languages, no transfer: p* follows the ratio of the B's; bootstrap laws draw (B_python, B_go).
  weak: {language: weakly determined parameters} for the diagnostics."""
  langs = ("python", "go")
  base = {
    "python": {"E": 1.0, "A": 100.0, "B": 3000.0, "alpha": 0.3, "beta": 0.3},
    "go": {"E": 1.0, "A": 100.0, "B": 1000.0, "alpha": 0.3, "beta": 0.3},
  }
  boot = {l: {k: [v] * len(B_draws) for k, v in q.items()} for l, q in base.items()}
  boot["python"]["B"], boot["go"]["B"] = [float(b[0]) for b in B_draws], [float(b[1]) for b in B_draws]
  design = {"distinct_N": 5 if identifiable else 2, "distinct_D": 6, "runs": 15, "rows": 90, "dof": 85}
  problems = [] if identifiable else ["2 distinct model size(s) N (need >= 3): alpha, A and E are not separable"]
  weak = weak or {}
  diag = {
    l: {"identifiable": identifiable, "problems": problems, "design": design, "weak": weak.get(l, [])} for l in langs
  }
  path = tmp_path / "fit.json"
  path.write_text(json.dumps({"law": "chinchilla", "languages": base, "bootstrap": boot, "diagnostics": diag}))
  return path


def test_gain_interval_of_the_fixed_p_star_can_cross_zero(tmp_path):
  # Half the resampled laws agree that python needs more data, half say go does: the p* recommended under the
  # point law loses to uniform under the second half, so its gain interval must reach below 0.
  draws = [(3000.0 * f, 1000.0 * f) for f in np.linspace(0.9, 1.1, 10)] + [
    (1000.0 * f, 3000.0 * f) for f in np.linspace(0.9, 1.1, 10)
  ]
  res = allocate_job.run(_config(fit=str(_chinchilla_fit(tmp_path, draws)), N=1e8, D=1e10))
  assert res["p_star"]["python"] > 0.5 and res["gain"]["estimate"] > 0
  lo, hi = res["gain"]["interval"]
  assert lo < 0 < hi, res["gain"]
  assert res["warnings"] == []
  # Re-solved per resample, p* moves to go under the second half (each resample's own optimum would never
  # lose to uniform: evaluating the fixed p* is what lets the interval cross 0).
  assert res["uncertainty"]["p_star"]["python"][0] < 0.5


def test_unidentifiable_fit_is_refused_unless_allowed(tmp_path):
  fit = _chinchilla_fit(tmp_path, [(3000.0, 1000.0)] * 4, identifiable=False)
  with pytest.raises(UserError, match="do not identify the law of python, go .*allow_unidentifiable"):
    allocate_job.run(_config(fit=str(fit), N=1e8, D=1e10))
  res = allocate_job.run(_config(fit=str(fit), N=1e8, D=1e10, allow_unidentifiable=True))
  assert len(res["warnings"]) == 2 and res["warnings"][0].startswith("law not identifiable: python: 2 distinct")


def test_weak_exponents_are_allocated_with_a_warning_that_names_them(tmp_path):
  weak = {"python": ["E", "alpha"], "go": ["A", "B"]}
  fit = _chinchilla_fit(tmp_path, [(3000.0, 1000.0)] * 4, weak=weak)
  res = allocate_job.run(_config(fit=str(fit), N=1e8, D=1e10))
  # Only exponents count (go's weak A and B do not); the allocation is still made.
  assert res["warnings"] == [
    "exponents weakly determined by the data (python: alpha): the allocation and its gain rest on them"
  ]
  assert res["p_star"]["python"] > 0.5


def test_non_converging_solve_is_refused_and_writes_nothing(tmp_path):
  fit = _fit(tmp_path, resamples=0)  # effective_data with transfer: the numerical solver
  out = tmp_path / "out"
  with pytest.raises(UserError, match=r"did not converge \(.*iterations exhausted.*no p\* written"):
    allocate_job.main(_config(fit=str(fit), N=1e8, D=1e10, max_iter=2), str(out))
  assert not (out / "allocation.json").exists()
  r = _launch(
    f"--config.fit={fit}", "--config.N=1e8", "--config.D=1e10", "--config.max_iter=2", workdir=tmp_path / "cli"
  )
  assert r.returncode == 2 and "did not converge" in r.stderr
  assert not (tmp_path / "cli" / "allocation.json").exists()


def test_convergence_rules():
  assert allocation.convergence(1e-9) == (True, "")
  ok, why = allocation.convergence(1e-3, line_search_failed=True)
  assert not ok and "above the tolerance" in why and "line search failed" in why
  assert allocation.convergence(1e-9, exhausted=True) == (False, "iterations exhausted")
  assert allocation.convergence(1e-9, line_search_failed=True) == (True, "")  # stuck at the optimum is fine


def test_bootstrap_laws_keep_every_field_through_save_and_load():
  K = len(LANGS)
  law = LawParams(
    family="effective_data",
    langs=LANGS,
    E=np.array([1.0, 1.2, 1.4]),
    A=np.full(K, 400.0),
    B=np.array([1500.0, 3000.0, 4500.0]),
    alpha=np.full(K, 0.33),
    beta=np.array([0.3, 0.34, 0.38]),
    tau=np.array([[1.0, 0.2, 0.1], [0.3, 1.0, 0.0], [0.1, 0.4, 1.0]]),
    unique_tokens=np.array([4e9, 2e9, 1e9]),
    repetition_decay=np.array([15.4, 10.0, 5.0]),
  )
  boot = [dataclasses.replace(law, B=law.B * f) for f in (0.9, 1.1)]
  obj = {
    **law_to_json(law),
    "bootstrap": [{k: v for k, v in law_to_json(b).items() if k in ("languages", "tau")} for b in boot],
  }
  fit = load_fit(json.loads(json.dumps(obj)))
  for got, want in zip((fit.law,) + fit.bootstrap, [law] + boot):
    for field in dataclasses.fields(LawParams):
      a, b = getattr(got, field.name), getattr(want, field.name)
      if isinstance(b, np.ndarray):
        np.testing.assert_allclose(a, b, err_msg=field.name)
      else:
        assert a == b, field.name
