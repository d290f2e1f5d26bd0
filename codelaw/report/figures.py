"""What every report section is made of (figures, tables, notes, named gaps) and the matplotlib plumbing."""

from __future__ import annotations

import dataclasses
import io

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt  # noqa: E402

from codelaw import languages  # noqa: E402
from codelaw.report.tables import Table  # noqa: E402

DPI = 110
# One fixed colour per language across every figure (tab10 order), so a reader can follow a language.
COLORS = dict(zip(languages.NAMES, plt.get_cmap("tab10").colors))


@dataclasses.dataclass
class Figure:
  name: str  # file stem: OUT/figures/<name>.png
  caption: str
  png: bytes


@dataclasses.dataclass
class Section:
  key: str
  title: str
  intro: str = ""
  figures: list[Figure] = dataclasses.field(default_factory=list)
  tables: list[Table] = dataclasses.field(default_factory=list)
  notes: list[str] = dataclasses.field(default_factory=list)
  missing: list[str] = dataclasses.field(default_factory=list)  # parts that could not be drawn, and why


def display(lang: str) -> str:
  return languages.BY_NAME[lang].display if lang in languages.BY_NAME else lang


def to_png(fig, dpi: int | None = None) -> bytes:
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=dpi or DPI)  # every figure is laid out with tight_layout
  plt.close(fig)
  return buf.getvalue()


def subplots(n: int, ncols: int = 4, size: tuple[float, float] = (3.6, 2.9), **kw):
  """A grid with n used panels; spare panels are hidden. Returns (fig, flat list of the n axes)."""
  ncols = max(1, min(ncols, n))
  nrows = (n + ncols - 1) // ncols
  fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False, **kw)
  flat = list(axes.ravel())
  for ax in flat[n:]:
    ax.set_visible(False)
  return fig, flat[:n]


def count_label(x: float) -> str:
  """Raw counts for axis labels and legends: 4.1e+04 -> '41k', 2.6e8 -> '260M'."""
  for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
    if abs(x) >= div:
      return f"{x / div:.3g}{unit}"
  return f"{x:.3g}"


def log_count_axis(axis) -> None:
  """A log axis of raw counts labelled at 1, 2, 5 x 10^k as '100k', '200k', ... (minor labels would collide)."""
  from matplotlib import ticker

  axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
  axis.set_major_formatter(ticker.FuncFormatter(lambda x, _: count_label(x)))
  axis.set_minor_formatter(ticker.NullFormatter())
