"""One row of a study's results.csv (design.md §5): one (run, evaluated language, token budget), written by
`codelaw.study.results` from the runs' result.json and read by the law fitters and the report.

Cells are text in the file; `to_json` gives the row as {column: value} in `COLUMNS` order (None -> empty
cell), `from_json` reads such a row back (from `csv.DictReader`, all strings) into typed fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from codelaw import languages

P_COLUMNS = tuple(f"p_{name}" for name in languages.NAMES)
_HEAD = ("run_id", "study", "language", "N", "D", "loss", "bpb")
_TAIL = ("size", "seed", "kind", "aux", "strategy", "arm", "mixture", "final", "flops", "n_params_total", "status")
COLUMNS = _HEAD + P_COLUMNS + _TAIL


def _opt(x: Any, parse) -> Any:
  return None if x is None or x == "" else parse(x)


def _int(x: Any) -> int:
  return int(float(x))  # "1e6" and "1000000.0" are whole numbers too


@dataclasses.dataclass(frozen=True)
class ResultsRow:
  run_id: str
  study: str
  language: str
  N: int  # non-embedding parameters
  D: int  # training tokens at this budget
  loss: float  # validation nats per token
  proportions: Mapping[str, float]  # the run's training mixture, every language (0 where absent)
  bpb: float | None = None  # bits per byte of the same evaluation
  size: str = ""
  seed: str = ""
  kind: str = ""
  aux: str = ""
  strategy: str = ""
  arm: str = ""
  mixture: str = ""
  final: int = 1  # 1 on the run's own (last) budget, 0 on its cooldown branches
  flops: float | None = None
  n_params_total: int | None = None
  status: str = "complete"

  def to_json(self) -> dict[str, Any]:
    out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "proportions"}
    out.update({f"p_{name}": float(self.proportions.get(name, 0.0)) for name in languages.NAMES})
    return {col: ("" if out[col] is None else out[col]) for col in COLUMNS}

  @classmethod
  def from_json(cls, row: Mapping[str, Any], where: str = "results.csv") -> "ResultsRow":
    missing = [c for c in _HEAD[:6] if c not in row]
    if missing:
      raise ValueError(f"{where}: missing column {missing[0]!r}")
    unknown = sorted(set(row) - set(COLUMNS))
    if unknown:
      raise ValueError(f"{where}: unknown column {unknown[0]!r}")
    text = lambda k, default="": "" if row.get(k) is None else str(row.get(k, default))
    return cls(
      run_id=str(row["run_id"]),
      study=str(row["study"]),
      language=str(row["language"]),
      N=_int(row["N"]),
      D=_int(row["D"]),
      loss=float(row["loss"]),
      proportions={name: float(row.get(f"p_{name}") or 0.0) for name in languages.NAMES},
      bpb=_opt(row.get("bpb"), float),
      size=text("size"),
      seed=text("seed"),
      kind=text("kind"),
      aux=text("aux"),
      strategy=text("strategy"),
      arm=text("arm"),
      mixture=text("mixture"),
      final=_int(row.get("final") or 1),
      flops=_opt(row.get("flops"), float),
      n_params_total=_opt(row.get("n_params_total"), _int),
      status=text("status") or "complete",
    )
