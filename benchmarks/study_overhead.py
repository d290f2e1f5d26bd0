"""Per-run overhead of a finished local study: a run's wall time minus its train-step time, run by run.

For every run the local executor started (`<study dir>/workers/<task>_*`; a study from before the worker
pool: `<study dir>/submitit/<job>/`, one process per run):
  process wall   the task handed over (`<task>_submitted.pkl` written) to its result (`<task>_result.json`;
                 submitit: `<job>_0_result.pkl`)
  trainer wall   the trainer's own `wall_time_s` (result.json): from its start to its result
  train steps    optimizer steps x the run's median step time (tokens per second between log lines, which
                 excludes compilation), over the main segment and every cooldown branch
  overhead       process wall - train steps: start-up, compilation, evaluation, checkpoints, branch set-up
  start-up       process wall - trainer wall: config, trainer set-up (with one process per run also the
                 interpreter, imports, backend and submitit), and the translation losses written after
                 the trainer's clock stops
Prints one JSON line per run, then the totals per study directory and over all of them.

  python benchmarks/study_overhead.py runs/quickstart [runs/quickstart/validation ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cloudpickle
import numpy as np
from submitit.core.utils import DelayedSubmission

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codelaw.train.metrics import read_jsonl  # noqa: E402


def emit(**record) -> None:
  print(json.dumps(record), flush=True)


def train_step_time(run_dir: Path, tokens_per_step: int) -> tuple[int, float] | None:
  """(optimizer steps, median step seconds) of a run over its main segment and every cooldown branch, from
  its train logs (one line per step); None when no line carries a speed."""
  logs = [run_dir / "train_log.jsonl", *sorted((run_dir / "branches").glob("*/train_log.jsonl"))]
  records = [r for path in logs if path.exists() for r in read_jsonl(path)]
  speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
  if not speeds:
    return None
  return len(records), float(np.median([tokens_per_step / s for s in speeds]))


def tasks(study_dir: Path) -> list[tuple[Path, Path, tuple]]:
  """(submitted file, result file, loader of RunJob()'s (run_fn, config, run_dir)) per task, in id order."""
  pool = sorted((study_dir / "workers").glob("*_submitted.pkl"), key=lambda p: int(p.name.split("_")[0]))
  if pool:
    return [(p, p.with_name(p.name.replace("_submitted.pkl", "_result.json")), _pool_args) for p in pool]
  jobs = sorted(
    (p for p in (study_dir / "submitit").glob("*") if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)
  )
  return [(j / f"{j.name}_submitted.pkl", j / f"{j.name}_0_result.pkl", _submitit_args) for j in jobs]


def _pool_args(submitted: Path) -> tuple:
  with open(submitted, "rb") as f:
    _, args = cloudpickle.load(f)  # (RunJob(), (run_fn, config, run_dir))
  return args


def _submitit_args(submitted: Path) -> tuple:
  return DelayedSubmission.load(submitted).args


def run_record(study_dir: Path, submitted: Path, result: Path, load_args) -> dict | None:
  """The timings of the run of one task, or None when the task left no result (failed, running)."""
  if not (submitted.exists() and result.exists()):
    return None
  _, config, run_dir = load_args(submitted)
  run_dir = study_dir / "runs" / Path(run_dir).name  # submitted relative to wherever the study was launched
  result_json = run_dir / "result.json"
  if not result_json.exists():
    return None
  timing = train_step_time(run_dir, config["model"]["seq_len"] * config["train"]["global_batch_size"])
  if timing is None:
    return None
  n_steps, step_s = timing
  process = result.stat().st_mtime - submitted.stat().st_mtime
  trainer = float(json.loads(result_json.read_text())["wall_time_s"])
  steps = n_steps * step_s
  return dict(
    run_id=run_dir.name,
    process_wall_s=process,
    trainer_wall_s=trainer,
    steps=n_steps,
    step_s=step_s,
    train_step_s=steps,
    overhead_s=process - steps,
    startup_s=process - trainer,
  )


def totals(records: list[dict]) -> dict:
  process = sum(r["process_wall_s"] for r in records)
  steps = sum(r["train_step_s"] for r in records)
  startup = sum(r["startup_s"] for r in records)
  return dict(
    runs=len(records),
    process_wall_s=process,
    train_step_s=steps,
    overhead_s=process - steps,
    overhead_frac=(process - steps) / process if process else float("nan"),
    startup_s=startup,
    startup_per_run_s=startup / len(records) if records else float("nan"),
    in_trainer_overhead_s=process - steps - startup,
  )


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("study_dirs", nargs="+", type=Path)
  args = parser.parse_args()
  everything = []
  for study_dir in args.study_dirs:
    found = tasks(study_dir)
    if not found:
      raise SystemExit(f"{study_dir}: no workers/ or submitit/ tasks (not a local study directory)")
    # A retried run has several tasks; its last one (the highest id) is the one that produced the result.
    latest = {r["run_id"]: r for r in (run_record(study_dir, *t) for t in found) if r is not None}
    records = list(latest.values())
    for r in records:
      emit(kind="run", study=str(study_dir), **r)
    emit(kind="study", study=str(study_dir), **totals(records))
    everything += records
  if len(args.study_dirs) > 1:
    emit(kind="all", **totals(everything))


if __name__ == "__main__":
  main()
