"""Job `quickstart`: the whole method on the bundled sample corpus, on one machine.

    python -m codelaw.launch --config configs/quickstart.py --workdir OUT                  # cpu-tiny
    python -m codelaw.launch --config configs/quickstart.py:scale=cpu-study --workdir OUT  # the 2-hour study
    python -m codelaw.launch --config configs/quickstart.py:scale=smoke --workdir OUT      # CI, a few minutes

Every study is sized by configs/scales.py (the presets the study configs read too).

Stages (rerunning the command skips every finished run and keeps a fit whose inputs are unchanged;
allocation and report are recomputed, in seconds):
  1. studies     per-language grid, bilingual synergy, translation strategies, random mixtures: every run in
                 one executor pass (one progress line) → OUT/runs/<id>/, OUT/<study>/results.csv, OUT/results.csv
  2. fit         per-language laws → OUT/fit_per_language/fit.json; the multilingual law → OUT/fit/fit.json
  3. allocate    p* at the validation run's (N, D) → OUT/allocate/allocation.json
  4. validation  guided p* vs uniform at equal compute: OUT/validation/prediction.json (written before the
                 runs, never rewritten), the runs, OUT/validation/results.csv and measured.json
  5. report      figures and tables → OUT/report/
"""

from __future__ import annotations

import copy
import csv
import importlib
import sys
import time
from pathlib import Path

import ml_collections

from codelaw.errors import UserError
from codelaw.study import studies
from codelaw.study.executor import Outcome, RunFn, StudyExecutor, check_executor_config, train_run
from codelaw.study.results import write_results
from codelaw.study.runner import write_study_json
from codelaw.study.spec import Run
from codelaw.study.studies import validation

STUDIES = ("per_language", "synergy", "translation", "mixtures")


def _stage_module(stage: str, module: str):
  try:
    return importlib.import_module(module)
  except ModuleNotFoundError as e:
    if e.name and module.startswith(e.name):
      raise UserError(f"quickstart stage {stage!r} needs {module}, which is not installed") from None
    raise


def _log(message: str) -> None:
  print(f"[quickstart] {message}", file=sys.stderr, flush=True)


def _execute(name: str, runs: list[Run], workdir: Path, config, run_fn: RunFn) -> dict[str, Outcome]:
  outcomes = StudyExecutor(workdir, config.executor, run_fn, name=name).run(runs)
  failed = [rid for rid, o in outcomes.items() if o.status == "failed"]
  if failed and len(failed) > config.max_failed_runs:
    raise UserError(
      f"quickstart {name}: {len(failed)} runs failed (limit max_failed_runs = "
      f"{config.max_failed_runs}); see {workdir}/runs/<id>/failure.json, e.g. {failed[0]}"
    )
  return outcomes


def run_studies(config, workdir: Path, run_fn: RunFn = train_run) -> list[Run]:
  """Stage 1: every run of the four studies through one executor, then one results.csv per study and one
  for all of them (the fitter's input)."""
  by_study = {name: studies.expand(config.studies[name]) for name in STUDIES}
  all_runs = [run for runs in by_study.values() for run in runs]
  _execute("studies", all_runs, workdir, config, run_fn)
  for name, runs in by_study.items():
    write_study_json(config.studies[name], runs, workdir / name)
    write_results(runs, workdir / name, runs_dir=workdir / "runs")
  write_results(all_runs, workdir, runs_dir=workdir / "runs")
  return all_runs


def run_validation(config, val, workdir: Path, run_fn: RunFn = train_run) -> dict:
  """Stage 4: the prediction (on disk before any validation run starts, never rewritten), the guided and
  uniform runs, then validation/results.csv and validation/measured.json; returns the measurement."""
  runs = studies.expand(val)
  study_dir = workdir / "validation"
  prediction = validation.write_prediction(val.allocation, runs, study_dir, runs_dir=workdir / "runs")
  write_study_json(val, runs, study_dir)
  _execute("validation", runs, workdir, config, run_fn)
  write_results(runs, study_dir, runs_dir=workdir / "runs")
  return validation.write_measured(runs, prediction, study_dir, runs_dir=workdir / "runs")


def _size_params(results_csv: Path, size: str) -> float:
  """N (non-embedding parameters) of a model size, as measured by the runs of stage 1."""
  with open(results_csv, newline="") as f:
    for row in csv.DictReader(f):
      if row["size"] == size:
        return float(row["N"])
  raise UserError(f"quickstart: no complete run of size {size} in {results_csv} to read N from")


def main(config, workdir: str, run_fn: RunFn = train_run) -> None:
  try:
    _main(config, Path(workdir), run_fn)
  except KeyboardInterrupt:
    raise UserError(f"interrupted; rerun the same command to continue the quickstart in {workdir}") from None


def _main(config, out: Path, run_fn: RunFn) -> None:
  check_executor_config(config.executor)
  t0 = time.monotonic()

  _log("stage 1/5: studies (per-language, synergy, translation, mixtures)")
  run_studies(config, out, run_fn)

  _log("stage 2/5: fit (per-language laws; the multilingual law the allocation uses)")
  fit_job = _stage_module("fit", "codelaw.laws.fit_job")
  for law, subdir in ((config.per_language_law, "fit_per_language"), (config.allocation_law, "fit")):
    fit_cfg = copy.deepcopy(config.fit)
    fit_cfg.runs = str(out / "results.csv")
    fit_cfg.law = law
    fit_job.main(fit_cfg, str(out / subdir))

  _log("stage 3/5: allocate")
  allocate_job = _stage_module("allocate", "codelaw.laws.allocate_job")
  val = copy.deepcopy(config.validation)
  alloc_cfg = copy.deepcopy(config.allocate)
  alloc_cfg.fit = str(out / "fit" / "fit.json")
  alloc_cfg.N = _size_params(out / "results.csv", val.size)
  alloc_cfg.D = float(val.tokens)
  allocate_job.main(alloc_cfg, str(out / "allocate"))

  _log("stage 4/5: validation (guided p* vs uniform at equal compute)")
  val.allocation = str(out / "allocate" / "allocation.json")
  run_validation(config, val, out, run_fn)

  _log("stage 5/5: report")
  report = _stage_module("report", "codelaw.report.build")
  report_cfg = copy.deepcopy(config.report)
  report_cfg.inputs = str(out)
  report.main(report_cfg, str(out / "report"))
  _log(f"done in {(time.monotonic() - t0) / 60:.1f} min: report in {out / 'report'}")


def as_stage_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A study config inside the quickstart: its own executor block is unused (the quickstart's applies)."""
  config = copy.deepcopy(config)
  del config["executor"]
  return config
