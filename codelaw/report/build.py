"""Job `report`: the paper's figures and tables from a study workdir.

  python -m codelaw.launch --config configs/report.py --config.study=DIR --workdir OUT

Reads DIR/results.csv (and, where present, translation.csv, fit.json, allocation.json, prediction.json and the
runs' result.json, in DIR or one level below it) and writes OUT/index.html, OUT/figures/*.png, OUT/tables/*.md
and OUT/report.json (codelaw.contracts.report: the regime panel, the epochs each language was seen per study,
every claim with its interval and verdict, warnings, what was drawn and what was missing). Parts the study
lacks are named in the report instead of failing the job; a law the design cannot identify is shown as "not
identifiable" and no claim rests on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from codelaw.contracts.report import Report
from codelaw.errors import UserError
from codelaw.io import atomic_write_bytes, atomic_write_text
from codelaw.report import (
  allocation,
  claims,
  epochs,
  figures,
  html,
  inputs,
  regime,
  scaling,
  synergy,
  translation,
  units,
)
from codelaw.report.figures import Section


def _check(config) -> tuple[str, float, int]:
  study = str(config.get("study") or config.get("inputs") or "")
  if not study:
    raise UserError("config.study is required: the study workdir holding results.csv")
  try:
    level = float(config.ci_level)
  except (TypeError, ValueError):
    raise UserError(f"config.ci_level = {config.ci_level!r}: expected a number in (0, 1)") from None
  if not 0 < level < 1:
    raise UserError(f"config.ci_level = {level}: expected a number in (0, 1)")
  dpi = config.dpi
  if not isinstance(dpi, int) or isinstance(dpi, bool) or not 40 <= dpi <= 400:
    raise UserError(f"config.dpi = {dpi!r}: expected a whole number in [40, 400]")
  return study, level, dpi


def _meta(data: inputs.StudyInputs) -> list[tuple[str, str]]:
  p = data.provenance
  corpus = ", ".join(p["corpus"]) or "not recorded (no run result.json found beside the results)"
  if p["corpus"] == ["sample"]:
    corpus = "sample (the bundled third_party/sample_corpus)"
  sizes = ", ".join(f"{s} (N={figures.count_label(n)})" for s, n in p["sizes"].items()) or "—"
  lo, hi = p["tokens"]
  out = [
    ("study directory", str(data.root)),
    ("scale", ", ".join(p["scale"]) or "not recorded (no study.json)"),
    ("corpus", corpus),
    ("studies", ", ".join(p["studies"]) or "—"),
    ("runs / result rows", f"{p['runs']} runs, {len(data.results)} rows"),
    ("model sizes", sizes),
    ("training tokens", f"{figures.count_label(lo)} – {figures.count_label(hi)}"),
  ]
  if p["seq_len"]:
    out.append(("sequence length / dtype", f"{', '.join(map(str, p['seq_len']))} / {', '.join(p['dtype'])}"))
  for kind, files in data.files.items():
    out.append((f"{kind} files", ", ".join(files) or "none"))
  return out


def build(data: inputs.StudyInputs, level: float) -> tuple[list[Section], Report]:
  problems = list(data.problems)
  reg = regime.compute(data, problems)
  seen = epochs.compute(data)
  ev = scaling.evidence(data)
  bpb = units.bpb_per_nat(data)
  syn = synergy.compute(data)
  summary = translation.summarise(data)
  fig5, fig1, facts = allocation.section(data)
  gaps = {w: claims.translation_gaps(data.translation, w) for w in ("seen", "unseen")}
  found = claims.evaluate(claims.laws_from(ev, bpb), syn, gaps, facts.get("validation"))
  warnings = [
    f"{figures.display(n)}: {why}; shown as such and used by no claim" for n, why in (ev.excluded.items() if ev else ())
  ]
  if data.allocation is not None and ev is not None and ev.excluded:
    warnings.append(
      "the allocation rests on laws that include non-identifiable languages "
      f"({', '.join(figures.display(n) for n in ev.excluded)}): its p* is not evidence"
    )
  warnings += epochs.warnings(seen)
  warnings += facts.get("warnings", [])
  sections = [
    regime.section(reg),
    epochs.section(seen),
    scaling.section(data, level),
    synergy.section(data, syn),
    translation.section(data, summary),
    fig5,
    fig1,
    claims.section(found),
  ]
  report = Report(
    study=str(data.root),
    regime=reg,
    claims=tuple(found),
    claims_tested=claims.tested(found),
    warnings=tuple(warnings),
    provenance=data.provenance,
    files=data.files,
    problems=tuple(problems),
    epochs=seen,
    sections=tuple(
      {
        "key": s.key,
        "title": s.title,
        "figures": [f"figures/{f.name}.png" for f in s.figures],
        "tables": [f"tables/{t.name}.md" for t in s.tables],
        "missing": s.missing,
      }
      for s in sections
    ),
  )
  return sections, report


def main(config, workdir: str) -> None:
  study, level, dpi = _check(config)
  figures.DPI = dpi
  data = inputs.load(study)
  sections, report = build(data, level)
  out = Path(workdir)
  title = str(config.title or "") or f"codelaw report: {data.root.name or data.root}"
  for sec in sections:
    for fig in sec.figures:
      atomic_write_bytes(out / "figures" / f"{fig.name}.png", fig.png)
    for table in sec.tables:
      atomic_write_text(out / "tables" / f"{table.name}.md", table.to_markdown())
  atomic_write_text(out / "report.json", report.dumps() + "\n")
  atomic_write_text(out / "index.html", html.render(title, _meta(data), sections, report.problems, report.warnings))
  n_fig = sum(len(s.figures) for s in sections)
  n_tab = sum(len(s.tables) for s in sections)
  gaps = sum(len(s.missing) for s in sections)
  print(
    f"wrote {out / 'index.html'}: {n_fig} figures, {n_tab} tables"
    + (f", {gaps} missing part(s) named in the report" if gaps else "")
    + (f", {len(report.warnings)} warning(s)" if report.warnings else ""),
    file=sys.stderr,
  )
