"""The report page: one static HTML file with the figures as PNG files beside it and the tables inline."""

from __future__ import annotations

import html as _html
from typing import Any, Sequence

from codelaw.report.figures import Section

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; } .missing { color: #8a4b00; background: #fff6e5; padding: 0.5em 1em; }
.warning { color: #8a0000; background: #ffecec; border: 1px solid #e0a0a0; padding: 0.5em 1em; }
.meta td:first-child { font-weight: 600; white-space: nowrap; } .note { font-size: 0.9em; color: #444; }
"""

# Counts the figures the browser actually decoded and writes the result into the page, so a reader (or a
# headless browser dumping the DOM) sees when a figure file is missing or broken.
IMAGE_CHECK = """
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.querySelectorAll("figure img"));
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  var el = document.getElementById("image-check");
  el.setAttribute("data-loaded", String(imgs.length - bad.length));
  el.setAttribute("data-total", String(imgs.length));
  el.setAttribute("data-widths", imgs.map(function (i) { return i.naturalWidth; }).join(","));
  el.textContent = bad.length ? "Figures that failed to load: " + bad.map(function (i) { return i.getAttribute("src"); }).join(", ")
                              : "All " + imgs.length + " figures loaded.";
});
</script>
"""


def esc(text: Any) -> str:
  return _html.escape(str(text))


def _meta_table(items: Sequence[tuple[str, str]]) -> str:
  rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in items)
  return f'<table class="meta">{rows}</table>'


def _section(sec: Section) -> str:
  parts = [f'<section id="{esc(sec.key)}"><h2>{esc(sec.title)}</h2>']
  if sec.intro:
    parts.append(f"<p>{esc(sec.intro)}</p>")
  if sec.missing:
    items = "".join(f"<li>{esc(m)}</li>" for m in sec.missing)
    parts.append(f'<div class="missing"><strong>Missing from this study:</strong><ul>{items}</ul></div>')
  for note in sec.notes:
    parts.append(f'<p class="note">{esc(note)}</p>')
  for fig in sec.figures:
    parts.append(
      f'<figure><img src="figures/{esc(fig.name)}.png" alt="{esc(fig.caption)}">'
      f"<figcaption>{esc(fig.caption)}</figcaption></figure>"
    )
  for table in sec.tables:
    parts.append(
      f'<h3 id="table-{esc(table.name)}">{esc(table.title)}</h3>'
      f'<div class="table" data-table="{esc(table.name)}">{table.to_html()}</div>'
    )
  parts.append("</section>")
  return "\n".join(parts)


def render(
  title: str,
  meta: Sequence[tuple[str, str]],
  sections: Sequence[Section],
  problems: Sequence[str],
  warnings: Sequence[str] = (),
) -> str:
  toc = "".join(
    f'<li><a href="#{esc(s.key)}">{esc(s.title)}</a>{" (incomplete)" if s.missing else ""}</li>' for s in sections
  )
  prob = ""
  if problems:
    prob = (
      '<div class="missing"><strong>Files that could not be used:</strong><ul>'
      + "".join(f"<li>{esc(p)}</li>" for p in problems)
      + "</ul></div>"
    )
  if warnings:
    prob = (
      '<div class="warning" id="warnings"><strong>Warnings:</strong><ul>'
      + "".join(f"<li>{esc(w)}</li>" for w in warnings)
      + "</ul></div>"
    ) + prob
  body = "\n".join(_section(s) for s in sections)
  return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{esc(title)}</title><style>{CSS}</style></head>
<body>
<h1>{esc(title)}</h1>
{_meta_table(meta)}
{prob}
<p id="image-check" data-loaded="" data-total="">Checking figures…</p>
<nav><ol>{toc}</ol></nav>
{body}
{IMAGE_CHECK}
</body>
</html>
"""
