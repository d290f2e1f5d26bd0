"""Report tables: one small value type rendered as a markdown pipe table (OUT/tables/*.md) and as HTML
(the same markdown through Python-Markdown's `tables` extension, so both always agree)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import markdown


@dataclasses.dataclass
class Table:
  name: str  # file stem: OUT/tables/<name>.md
  title: str
  header: list[str]
  rows: list[list[Any]]
  note: str = ""  # one paragraph under the table (units, sources, caveats)

  def to_markdown(self) -> str:
    lines = [f"### {self.title}", "", _row(self.header), _row(["---"] * len(self.header))]
    lines += [_row([fmt(v) for v in r]) for r in self.rows]
    if self.note:
      lines += ["", self.note]
    return "\n".join(lines) + "\n"

  def to_html(self) -> str:
    # The heading is rendered by the page (with an anchor); only the table and its note go through markdown.
    body = "\n".join(
      [_row(self.header), _row(["---"] * len(self.header))] + [_row([fmt(v) for v in r]) for r in self.rows]
    )
    out = markdown.markdown(body, extensions=["tables"], output_format="html")
    if self.note:
      out += "\n" + markdown.markdown(self.note, output_format="html")
    return out


def _row(cells: Sequence[str]) -> str:
  # A literal '|' inside a cell would split it; markdown reads '\|' as the character.
  return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def fmt(value: Any, digits: int = 4) -> str:
  """Numbers with `digits` significant digits (scientific for raw counts), None/NaN as an em dash."""
  if value is None:
    return "—"
  if isinstance(value, bool):
    return "yes" if value else "no"
  if isinstance(value, int):
    return f"{value:,}" if abs(value) < 1e6 else f"{value:.3g}"
  if isinstance(value, float):
    if math.isnan(value):
      return "—"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
      return f"{value:.3g}"
    return f"{value:.{digits}g}"
  return str(value)


def interval(x: float | None, ci: Sequence[float] | None, digits: int = 4) -> str:
  """'x [lo, hi]' (or just x when there is no interval)."""
  if x is None:
    return "—"
  if not ci:
    return fmt(x, digits)
  return f"{fmt(x, digits)} [{fmt(float(ci[0]), 3)}, {fmt(float(ci[1]), 3)}]"


def signed(x: float | None, digits: int = 4, suffix: str = "") -> str:
  if x is None or (isinstance(x, float) and math.isnan(x)):
    return "—"
  return f"{x:+.{digits}f}{suffix}"


def fixed(x: float | None, decimals: int = 4) -> str:
  """Losses: a fixed number of decimals so that a column lines up and compares by eye."""
  if x is None or (isinstance(x, float) and math.isnan(x)):
    return "—"
  return f"{float(x):.{decimals}f}"
