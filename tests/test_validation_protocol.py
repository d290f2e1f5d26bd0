"""The validation protocol: the predicted gain is on disk before any guided or uniform run starts, it is
never rewritten, a changed allocation is refused, and the measured gain is paired over seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cloudpickle
import ml_collections
import numpy as np
import pytest
import scipy.stats
from helpers import load_config

from codelaw.errors import UserError
from codelaw.study import studies
from codelaw.study.quickstart import run_validation
from codelaw.study.studies import validation
from codelaw.study.studies.base import executor_config

# Workers unpickle the run function; this module is not importable there, so ship it by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("python", "java")
# Per-seed offsets shared by both arms (the seed effect a paired comparison removes) and the guided arm's
# advantage per seed.
SEED_EFFECT = {0: 0.30, 1: -0.10, 2: 0.05}
ADVANTAGE = {0: 0.020, 1: 0.030, 2: 0.025}


def recording_run(config: dict, workdir: str) -> None:
  """Stands in for the trainer (the protocol, not training, is under test): records the prediction it found
  on disk when it started, then writes a result.json whose losses depend on arm and seed."""
  path = Path(workdir)
  prediction = path.parents[1] / "validation" / validation.PREDICTION
  (path / "saw_prediction.json").write_text(prediction.read_text() if prediction.exists() else "null")
  seed = config["seed"]
  guided = config["data"]["proportions"].get("python", 0.0) > 0.6
  loss = 3.0 + SEED_EFFECT[seed] - (ADVANTAGE[seed] if guided else 0.0)
  result = {
    "run_id": path.name,
    "config": config,
    "n_params": 1000,
    "n_params_total": 5000,
    "tokens": config["train"]["tokens"],
    "flops": 1.0,
    "proportions": config["data"]["proportions"],
    "eval": {lang: {"loss": loss + 0.1 * i, "bits_per_byte": 1.0, "tokens": 64} for i, lang in enumerate(LANGS)},
    "budgets": [],
    "status": "complete",
  }
  (path / "result.json").write_text(json.dumps(result))


def write_allocation(path: Path, p_star=None, gain=None) -> Path:
  """An allocation.json with every key its contract requires, as the allocate job writes it."""
  path.write_text(
    json.dumps(
      {
        "law": "effective_data",
        "fit": "fit.json",
        "languages": list(LANGS),
        "N": 1.0e5,
        "D": 6144.0,
        "weights": {"python": 0.5, "java": 0.5},
        "p_star": p_star or {"python": 0.7, "java": 0.3},
        "p_uniform": {"python": 0.5, "java": 0.5},
        "objective_star": 2.988,
        "objective_uniform": 3.0,
        "converged": True,
        "reason": "",
        "kkt_residual": 1e-7,
        "kkt_tolerance": 1e-4,
        "gain": gain or {"estimate": 0.012, "interval": [-0.004, 0.03]},
        "warnings": [],
      }
    )
  )
  return path


def configs(allocation: Path, seeds=(0, 1, 2)):
  val = load_config("studies/validation.py", "scale=smoke")
  val.allocation = str(allocation)
  val.seeds = seeds
  quick = ml_collections.ConfigDict(dict(executor=executor_config(), max_failed_runs=0))
  quick.executor.update(poll_s=0.1, retries=0, parallel=6)
  return quick, val


def test_prediction_is_written_before_the_runs_and_never_rewritten(tmp_path):
  allocation = write_allocation(tmp_path / "allocation.json")
  quick, val = configs(allocation)
  measured = run_validation(quick, val, tmp_path, recording_run)

  path = tmp_path / "validation" / validation.PREDICTION
  prediction = json.loads(path.read_text())
  assert prediction["gain"] == {"estimate": 0.012, "interval": [-0.004, 0.03]}
  assert prediction["p_star"] == {"python": 0.7, "java": 0.3} and prediction["N"] == 1e5
  assert prediction["D"] == 6144.0 and prediction["written_before_runs"] is True
  assert prediction["time"] and prediction["git_commit"]
  runs = studies.expand(val)
  assert {r["arm"] for r in prediction["runs"].values()} == {"guided", "uniform"} and len(runs) == 6
  # Every run found the very same prediction on disk when it started.
  for run in runs:
    assert json.loads((tmp_path / "runs" / run.run_id / "saw_prediction.json").read_text()) == prediction

  # Measured: per seed uniform - guided of the weighted mean loss, paired over the three seeds.
  gain = measured["measured_gain"]
  advantages = [ADVANTAGE[s] for s in sorted(ADVANTAGE)]
  ci = scipy.stats.ttest_1samp(advantages, 0.0).confidence_interval(0.95)
  assert gain["estimate"] == pytest.approx(np.mean(advantages))
  assert gain["interval"] == pytest.approx([ci.low, ci.high]) and gain["n_seeds"] == 3
  assert gain["status"] == "positive"  # the seed effects (0.4 apart) cancel in the pairs
  assert measured["predicted_gain"] == prediction["gain"]
  assert json.loads((tmp_path / "validation" / validation.MEASURED).read_text()) == measured

  # A rerun keeps the prediction byte for byte and trains nothing again.
  before, mtime = path.read_bytes(), path.stat().st_mtime_ns
  run_validation(quick, val, tmp_path, recording_run)
  assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_changed_allocation_is_refused_and_the_prediction_kept(tmp_path):
  allocation = write_allocation(tmp_path / "allocation.json")
  quick, val = configs(allocation, seeds=(0,))
  runs = studies.expand(val)
  first = validation.write_prediction(str(allocation), runs, tmp_path / "validation", tmp_path / "runs")
  path = tmp_path / "validation" / validation.PREDICTION
  before = path.read_bytes()
  # The same allocation again: kept, not rewritten (its time is the first one).
  assert validation.write_prediction(str(allocation), runs, tmp_path / "validation", tmp_path / "runs") == first

  for changed in (dict(p_star={"python": 0.8, "java": 0.2}), dict(gain={"estimate": 0.02, "interval": [-0.004, 0.03]})):
    write_allocation(allocation, **changed)
    refused = r"prediction.json was made from another allocation \((p_star|gain) differ"
    with pytest.raises(UserError, match=refused):
      validation.write_prediction(str(allocation), runs, tmp_path / "validation", tmp_path / "runs")
    assert path.read_bytes() == before
  with pytest.raises(UserError, match=r"prediction.json was made from another allocation"):
    run_validation(quick, val, tmp_path, recording_run)  # the stage refuses before any run starts
  assert not (tmp_path / "runs").exists()


def test_non_converged_allocation_and_late_predictions(tmp_path):
  allocation = write_allocation(tmp_path / "allocation.json")
  data = json.loads(allocation.read_text())
  allocation.write_text(json.dumps(data | {"converged": False, "reason": "KKT residual 3e-2 > 1e-4"}))
  _, val = configs(allocation, seeds=(0,))
  runs = studies.expand(val)
  with pytest.raises(UserError, match=r"did not converge \(KKT residual"):
    validation.write_prediction(str(allocation), runs, tmp_path / "v", tmp_path / "runs")
  assert not (tmp_path / "v" / validation.PREDICTION).exists()

  # A prediction made after a run had started is recorded as such.
  write_allocation(allocation)
  (tmp_path / "runs" / runs[0].run_id).mkdir(parents=True)
  late = validation.write_prediction(str(allocation), runs, tmp_path / "v", tmp_path / "runs")
  assert late["written_before_runs"] is False and late["runs_started_before"] == [runs[0].run_id]


def test_one_seed_measures_without_an_interval(tmp_path):
  allocation = write_allocation(tmp_path / "allocation.json")
  _, val = configs(allocation, seeds=(1,))
  runs = studies.expand(val)
  prediction = validation.write_prediction(str(allocation), runs, tmp_path / "validation", tmp_path / "runs")
  for run in runs:
    (tmp_path / "runs" / run.run_id).mkdir(parents=True)
    recording_run(run.config, str(tmp_path / "runs" / run.run_id))
  gain = validation.measure(runs, prediction, tmp_path / "runs")["measured_gain"]
  assert gain["estimate"] == pytest.approx(ADVANTAGE[1])
  assert gain["interval"] is None and gain["status"] == "not enough data"
