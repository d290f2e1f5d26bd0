"""Job `study`: expand a study config into runs, run what is missing, write results.csv.

`python -m codelaw.launch --config configs/studies/per_language.py:scale=cpu-tiny --workdir DIR`
"""

from __future__ import annotations

import sys
from pathlib import Path

from codelaw.errors import UserError
from codelaw.io import atomic_write_json
from codelaw.study import studies
from codelaw.study.executor import Outcome, RunFn, StudyExecutor, check_executor_config, train_run
from codelaw.study.results import write_results
from codelaw.study.spec import Run


def write_study_json(config, runs: list[Run], study_dir: str | Path) -> None:
  """What the study is (name, scale, runs with their metadata), for the report and for humans."""
  atomic_write_json(
    Path(study_dir) / "study.json",
    {
      "study": config.study,
      "scale": config.get("scale", ""),
      "runs": [{"run_id": r.run_id, "eval_languages": list(r.eval_languages), "meta": r.meta} for r in runs],
    },
  )


def run_study(
  config, workdir: str | Path, run_fn: RunFn = train_run, stream=None
) -> tuple[list[Run], dict[str, Outcome]]:
  """Runs a study's missing runs and writes DIR/study.json, DIR/results.csv and DIR/failures.json."""
  check_executor_config(config.executor)
  runs = studies.expand(config)
  workdir = Path(workdir)
  write_study_json(config, runs, workdir)
  executor = StudyExecutor(workdir, config.executor, run_fn, name=config.study, stream=stream)
  outcomes = executor.run(runs)
  write_results(runs, workdir)
  failed = [o for o in outcomes.values() if o.status == "failed"]
  atomic_write_json(workdir / "failures.json", [o.__dict__ for o in failed])
  return runs, outcomes


def main(config, workdir: str) -> None:
  try:
    runs, outcomes = run_study(config, workdir)
  except KeyboardInterrupt:
    raise UserError(f"interrupted; rerun the same command to continue the study in {workdir}") from None
  failed = sorted(rid for rid, o in outcomes.items() if o.status == "failed")
  print(
    f"[{config.study}] {len(runs) - len(failed)}/{len(runs)} runs complete; results in {Path(workdir) / 'results.csv'}",
    file=sys.stderr,
  )
  if failed:
    raise UserError(
      f"{len(failed)} of {len(runs)} runs failed ({', '.join(failed[:3])}"
      f"{', ...' if len(failed) > 3 else ''}); see {Path(workdir) / 'failures.json'}"
    )
