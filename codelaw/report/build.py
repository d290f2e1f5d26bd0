"""Job `report`: the paper's figures and tables from a study workdir.

  python -m codelaw.launch --config configs/report.py --config.study=DIR --workdir OUT

Reads DIR/results.csv (and, where present, translation.csv, fit.json, allocation.json, in DIR or one level
below it) and writes OUT/index.html, OUT/figures/*.png, OUT/tables/*.md and OUT/report.json (what was drawn
and what was missing). Parts the study lacks are named in the report instead of failing the job.
"""

from __future__ import annotations

import sys
from pathlib import Path

from codelaw.errors import UserError
from codelaw.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from codelaw.report import allocation, claims, figures, html, inputs, scaling, synergy, translation
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
  out = [("study directory", str(data.root)), ("scale", ", ".join(p["scale"]) or "not recorded (no study.json)"),
         ("corpus", corpus), ("studies", ", ".join(p["studies"]) or "—"),
         ("runs / result rows", f"{p['runs']} runs, {len(data.results)} rows"),
         ("model sizes", sizes), ("training tokens", f"{figures.count_label(lo)} – {figures.count_label(hi)}")]
  if p["seq_len"]:
    out.append(("sequence length / dtype", f"{', '.join(map(str, p['seq_len']))} / {', '.join(p['dtype'])}"))
  for kind, files in data.files.items():
    out.append((f"{kind} files", ", ".join(files) or "none"))
  return out


def build(data: inputs.StudyInputs, level: float) -> list[Section]:
  scale_sec = scaling.section(data, level)
  found = scaling.per_language_law(data)
  params = scaling.law_params(found[1]) if found else {}
  syn = synergy.compute(data)
  summary = translation.summarise(data)
  fig5, fig1, facts = allocation.section(data)
  claims_sec, _ = claims.section(claims.to_params(params), syn, summary, facts.get("validation"))
  return [scale_sec, synergy.section(data, syn), translation.section(data, summary), fig5, fig1, claims_sec]


def main(config, workdir: str) -> None:
  study, level, dpi = _check(config)
  figures.DPI = dpi
  data = inputs.load(study)
  sections = build(data, level)
  out = Path(workdir)
  title = str(config.title or "") or f"codelaw report: {data.root.name or data.root}"
  for sec in sections:
    for fig in sec.figures:
      atomic_write_bytes(out / "figures" / f"{fig.name}.png", fig.png)
    for table in sec.tables:
      atomic_write_text(out / "tables" / f"{table.name}.md", table.to_markdown())
  atomic_write_json(out / "report.json", {
      "study": str(data.root), "provenance": data.provenance, "files": data.files, "problems": data.problems,
      "sections": [{"key": s.key, "title": s.title, "figures": [f"figures/{f.name}.png" for f in s.figures],
                    "tables": [f"tables/{t.name}.md" for t in s.tables], "missing": s.missing}
                   for s in sections]})
  atomic_write_text(out / "index.html", html.render(title, _meta(data), sections, data.problems))
  n_fig = sum(len(s.figures) for s in sections)
  n_tab = sum(len(s.tables) for s in sections)
  gaps = sum(len(s.missing) for s in sections)
  print(f"wrote {out / 'index.html'}: {n_fig} figures, {n_tab} tables"
        + (f", {gaps} missing part(s) named in the report" if gaps else ""), file=sys.stderr)
