"""The smoke quickstart end to end with the real trainer, fitter, allocation and report: every stage leaves
its output, and rerunning the command trains nothing again."""

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
from helpers import load_config, run_launcher

from codelaw.study import studies

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def launch(workdir: Path) -> subprocess.CompletedProcess:
  # As a user runs it: one CPU device per process, not the 8 fake devices of the test session.
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  return run_launcher("configs/quickstart.py:scale=smoke", workdir, env=env, timeout=1200)


def quickstart_config(arg: str = "scale=smoke"):
  return load_config("quickstart.py", arg)


def rows(path: Path) -> list[dict]:
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def test_smoke_quickstart_end_to_end(tmp_path):
  out = launch(tmp_path)
  assert out.returncode == 0, out.stderr[-4000:]
  n_runs = sum(len(studies.expand(study)) for study in quickstart_config().studies.values())
  assert f"[studies] done {n_runs}/{n_runs}" in out.stderr  # the progress display reached the end
  per_language = rows(tmp_path / "per_language" / "results.csv")
  # 2 languages x 2 sizes, each with 3 budgets (2 cooldown branches + the final).
  assert len(per_language) == 12 and {r["language"] for r in per_language} == {"python", "java"}
  assert len({r["N"] for r in per_language}) == 2 and len({r["D"] for r in per_language}) == 3
  assert all(0 < float(r["loss"]) < 20 for r in per_language)
  synergy = rows(tmp_path / "synergy" / "results.csv")
  # Three arms per cell: the target seen twice under a unique-token cap, the target fresh, and the pair.
  assert sorted((r["language"], r["aux"], r["kind"]) for r in synergy) == [
    ("java", "java", "self_capped"),
    ("java", "java", "self_fresh"),
    ("java", "python", "pair"),
    ("python", "java", "pair"),
    ("python", "python", "self_capped"),
    ("python", "python", "self_fresh"),
  ]
  assert (tmp_path / "validation" / "prediction.json").exists()  # written before the validation runs
  assert (tmp_path / "translation" / "results.csv").exists()
  assert len({r["run_id"] for r in rows(tmp_path / "mixtures" / "results.csv")}) == 2
  fit = json.loads((tmp_path / "fit" / "fit.json").read_text())
  assert set(fit["languages"]) >= {"python", "java"}
  allocation = json.loads((tmp_path / "allocate" / "allocation.json").read_text())
  assert abs(sum(allocation["p_star"].values()) - 1) < 1e-6
  validation = rows(tmp_path / "validation" / "results.csv")
  arms = {r["arm"] for r in validation}
  assert arms == {"guided", "uniform"}
  guided = next(r for r in validation if r["arm"] == "guided")
  assert abs(float(guided["p_java"]) - allocation["p_star"].get("java", 0.0)) < 1e-3
  assert any((tmp_path / "report").iterdir())

  # Rerun: nothing is trained again (result files untouched), every stage still completes.
  results = sorted((tmp_path / "runs").glob("*/result.json"))
  mtimes = [p.stat().st_mtime_ns for p in results]
  again = launch(tmp_path)
  assert again.returncode == 0, again.stderr[-4000:]
  assert [p.stat().st_mtime_ns for p in results] == mtimes
