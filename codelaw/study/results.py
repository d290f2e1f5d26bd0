"""The results table of a study (design.md §5): `<study dir>/results.csv`, one row per (run, evaluated
language, token budget) from each run's result.json; translation losses go to translation.csv (one row per
run and direction) so that results.csv holds only language losses for the law fitters."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable

from codelaw import languages
from codelaw.contracts.result import BudgetResult, Result
from codelaw.contracts.results_row import COLUMNS, ResultsRow
from codelaw.io import atomic_write_text
from codelaw.study.spec import Run

TRANSLATION_COLUMNS = [
  "run_id",
  "study",
  "strategy",
  "size",
  "seed",
  "N",
  "D",
  "direction",
  "source",
  "target",
  "seen",
  "loss",
]


def read_result(run_dir: Path) -> Result | None:
  """The run's result.json if the run completed (None while it is missing, unreadable or incomplete)."""
  try:
    result = Result.from_json(json.loads((run_dir / "result.json").read_text()), str(run_dir / "result.json"))
  except (OSError, ValueError):
    return None
  return result if result.complete else None


def _aux(run: Run, language: str) -> str:
  pair = run.meta.get("pair", "")
  if not pair:
    return ""
  a, b = pair.split("+")
  return b if language == a else a


def run_rows(run: Run, result: Result) -> list[ResultsRow]:
  """Rows of one run: every cooldown branch and the final budget, for each language it is evaluated on."""
  proportions = result.proportions or run.config["data"]["proportions"]
  budgets = list(result.budgets)
  if not any(b.tokens == result.tokens for b in budgets):
    budgets.append(BudgetResult(tokens=result.tokens, flops=result.flops, eval=result.eval))
  budgets.sort(key=lambda b: b.tokens)
  rows = []
  for budget in budgets:
    for lang in run.eval_languages or sorted(budget.eval):
      if lang not in budget.eval:
        continue
      evaluated = budget.eval[lang]
      rows.append(
        ResultsRow(
          run_id=run.run_id,
          study=run.study,
          language=lang,
          N=result.n_params,
          D=budget.tokens,
          loss=evaluated.loss,
          bpb=evaluated.bits_per_byte,
          proportions={name: float(proportions.get(name, 0.0)) for name in languages.NAMES},
          size=run.meta.get("size", run.config["model"]["size"]),
          seed=str(run.meta.get("seed", "")),
          kind=run.meta.get("kind", ""),
          aux=_aux(run, lang),
          strategy=run.meta.get("strategy", ""),
          arm=run.meta.get("arm", ""),
          mixture=run.meta.get("mixture", ""),
          final=int(budget.tokens == result.tokens),
          flops=budget.flops,
          n_params_total=result.n_params_total,
        )
      )
  return rows


def translation_rows(run: Run, result: Result) -> list[dict[str, Any]]:
  seen = set((run.config["data"].get("translation") or {}).get("directions") or ())
  rows = []
  for direction, loss in sorted((result.translation or {}).items()):
    source, _, target = direction.partition("->")
    rows.append(
      {
        "run_id": run.run_id,
        "study": run.study,
        "strategy": run.meta.get("strategy", ""),
        "size": run.meta.get("size", ""),
        "seed": run.meta.get("seed", ""),
        "N": result.n_params,
        "D": result.tokens,
        "direction": direction,
        "source": source,
        "target": target,
        "seen": int(direction in seen),
        "loss": loss,
      }
    )
  return rows


def _csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> str:
  buf = io.StringIO()
  writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
  writer.writeheader()
  writer.writerows(rows)
  return buf.getvalue()


def write_results(runs: list[Run], study_dir: str | Path, runs_dir: str | Path | None = None) -> Path:
  """Writes study_dir/results.csv (and translation.csv when any run measured translation) from the complete
  runs, whose directories are in runs_dir (default study_dir/runs)."""
  study_dir = Path(study_dir)
  runs_dir = Path(runs_dir) if runs_dir is not None else study_dir / "runs"
  rows, t_rows = [], []
  for run in runs:
    result = read_result(runs_dir / run.run_id)
    if result is not None:
      rows.extend(row.to_json() for row in run_rows(run, result))
      t_rows.extend(translation_rows(run, result))
  path = study_dir / "results.csv"
  atomic_write_text(path, _csv(list(COLUMNS), rows))
  if t_rows:
    atomic_write_text(study_dir / "translation.csv", _csv(TRANSLATION_COLUMNS, t_rows))
  return path
