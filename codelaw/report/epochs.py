"""How often each language's training documents were seen: per study and language, the most epochs any run
made (its result.json `epochs`, codelaw.data.accounting.epochs_per_language) and the run that made them.

A law fitted on heavily repeated data describes a different regime from one on fresh data, and the CPU scales
promise that no language is seen more than 4 epochs in any run (configs/scales.py), so every run above that is
named. A run whose result.json records no epochs (written before the field, or none beside results.csv) is
"not recorded", never 0.
"""

from __future__ import annotations

from typing import Any

from codelaw import languages
from codelaw.contracts.report import Epochs, RunEpochs, StudyEpochs
from codelaw.report.figures import Section, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.tables import Table
from codelaw.study.studies import EXPANDERS

LIMIT = 4.0  # the scales' promise (configs/scales.py docstring)
NOT_RECORDED = "not recorded"


def _trained(rows: list[dict[str, Any]]) -> set[str]:
  """Languages a run trains on, from its results rows' mixture columns (the eval language where they lack them)."""
  langs = {l for r in rows for l in languages.NAMES if r.get(f"p_{l}", 0) > 0}
  return langs or {r["language"] for r in rows}


def _runs(inputs: StudyInputs) -> dict[str, tuple[str, dict[str, float | None]]]:
  """run_id -> (study, {language trained: epochs, None where not recorded})."""
  rows: dict[str, list[dict[str, Any]]] = {}
  for r in inputs.results:
    rows.setdefault(r["run_id"], []).append(r)
  out = {}
  for run_id, rs in sorted(rows.items()):
    study = str(rs[0].get("study") or "") or "—"
    recorded = inputs.epochs.get(run_id)
    if recorded is None:
      out[run_id] = (study, dict.fromkeys(_trained(rs)))
    else:
      # A language at 0 epochs has proportion 0: the run does not train it.
      out[run_id] = (study, {l: e for l, e in recorded.items() if e > 0})
  return out


def _order(study: str) -> tuple[int, str]:
  names = list(EXPANDERS)
  return (names.index(study), "") if study in names else (len(names), study)


def _studies(runs: dict[str, tuple[str, dict[str, float | None]]]) -> list[StudyEpochs]:
  cells: dict[tuple[str, str], list[tuple[str, float | None]]] = {}
  for run_id, (study, per_lang) in runs.items():
    for lang, e in per_lang.items():
      cells.setdefault((study, lang), []).append((run_id, e))
  rank = {l: i for i, l in enumerate(languages.NAMES)}
  out = []
  for (study, lang), entries in sorted(cells.items(), key=lambda kv: (_order(kv[0][0]), rank.get(kv[0][1], 99))):
    recorded = [(e, run_id) for run_id, e in entries if e is not None]
    # The highest epochs, the first run id among equals (entries are in run id order).
    top = max(recorded, key=lambda x: x[0]) if recorded else (None, None)
    out.append(StudyEpochs(study, lang, len(entries), len(entries) - len(recorded), top[0], top[1]))
  return out


def _listed(above: list[RunEpochs] | tuple[RunEpochs, ...]) -> str:
  return "; ".join(f"{a.run_id} ({a.study}): {display(a.language)} {a.epochs:.2f}" for a in above)


def _summary(runs: dict, above: list[RunEpochs], missing: list[str]) -> str:
  if not runs:
    return "No complete runs in results.csv: no epochs to show."
  unknown = f"not recorded for {len(missing)} of the {len(runs)} run(s)"
  if len(missing) == len(runs):
    return (
      f"Epochs {unknown} (their result.json predates `epochs`, or there is none beside results.csv): whether any "
      f"language was seen more than {LIMIT:g} epochs is unknown."
    )
  if above:
    return f"Above {LIMIT:g} epochs: {_listed(above)}" + (f"; epochs {unknown}." if missing else ".")
  if missing:
    return f"No language above {LIMIT:g} epochs in any run that recorded them; epochs {unknown}."
  return f"No language above {LIMIT:g} epochs in any run."


def compute(inputs: StudyInputs) -> Epochs:
  runs = _runs(inputs)
  above = [
    RunEpochs(run_id, study, lang, e)
    for run_id, (study, per_lang) in runs.items()
    for lang, e in sorted(per_lang.items(), key=lambda kv: languages.NAMES.index(kv[0]))
    if e is not None and e > LIMIT
  ]
  missing = [run_id for run_id in runs if inputs.epochs.get(run_id) is None]
  return Epochs(LIMIT, tuple(_studies(runs)), tuple(above), tuple(missing), _summary(runs, above, missing))


def warnings(epochs: Epochs) -> list[str]:
  """The runs above the limit, for the report's warnings: their losses rest on data repeated more than promised."""
  if not epochs.above:
    return []
  return [
    f"{len(epochs.above)} (run, language) pair(s) above the scales' {LIMIT:g}-epoch promise, so their losses rest "
    f"on repeated data: {_listed(epochs.above)}"
  ]


def _cell(s: StudyEpochs) -> str:
  if s.max_epochs is None:
    return NOT_RECORDED
  return f"**{s.max_epochs:.2f}**" if s.max_epochs > LIMIT else f"{s.max_epochs:.2f}"


def section(epochs: Epochs) -> Section:
  sec = Section("epochs", "Epochs: how often each language's training documents were seen", intro=epochs.summary)
  if not epochs.studies:
    sec.missing.append("no complete runs in results.csv: no epochs to show")
    return sec
  rows = [
    [s.study, display(s.language), s.runs, _cell(s), s.run_id or "—", s.not_recorded or "—"] for s in epochs.studies
  ]
  sec.tables.append(
    Table(
      "epochs",
      "Per study and language: the most epochs any run made, and the run that made them",
      ["study", "language", "runs", "max epochs", "run", "runs not recorded"],
      rows,
      "Expected epochs over the language's training documents after the run's tokens (result.json `epochs`, "
      "codelaw.data.accounting.epochs_per_language; a capped language counts the documents its stream draws "
      f"from). The CPU scales promise at most {LIMIT:g} epochs of any language in any run (configs/scales.py); "
      "bold: above. "
      f"'{NOT_RECORDED}': the run's result.json has no `epochs` (written before the field) or there is none "
      "beside results.csv; such a run is left out of the maximum, not counted as 0.",
    )
  )
  return sec
