"""Reading and validating fit inputs: a per-language CSV (language,N,D,loss) or a study's results table.

Every check raises `UserError` naming the file, column, row or language, before anything is fitted.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Sequence

import numpy as np

from codelaw import checks, languages
from codelaw.errors import UserError
from codelaw.io import read_csv as read_csv_file

PER_LANGUAGE_COLUMNS = ("language", "N", "D", "loss")
RESULTS_COLUMNS = ("run_id", "language", "N", "D", "loss") + tuple(f"p_{name}" for name in languages.NAMES)
CHINCHILLA_PARAMS = 5


@dataclasses.dataclass(frozen=True)
class LanguageRuns:
  """One language's rows: N non-embedding params, D tokens, validation loss (nats/token; raw counts).

  run_id groups rows that come from one training run: a WSD trunk and all its cooldown branches (every
  budget D of one (language, size, seed)) carry the trunk's run_id, as a study's results.csv writes it;
  different seeds are different runs. Rows without a run_id are their own run. bpb: bits per byte of the
  same evaluation, where known (NaN otherwise)."""

  N: np.ndarray
  D: np.ndarray
  loss: np.ndarray
  run_id: np.ndarray | None = None
  bpb: np.ndarray | None = None

  def runs(self) -> np.ndarray:
    """The resampling unit of every row: its run_id, or a unique id of its own where it has none."""
    own = np.asarray([f"\x00row{i}" for i in range(len(self.loss))])
    if self.run_id is None:
      return own
    ids = np.asarray(self.run_id, str)
    return np.where(ids == "", own, ids)

  def in_bits_per_byte(self) -> "LanguageRuns":
    """The same rows with bits per byte as the loss; callers check `has_bpb` first."""
    return dataclasses.replace(self, loss=np.asarray(self.bpb, np.float64))

  @property
  def has_bpb(self) -> bool:
    return self.bpb is not None and bool(np.all(np.isfinite(self.bpb))) and bool(np.all(np.asarray(self.bpb) > 0))


@dataclasses.dataclass(frozen=True)
class ResultsTable:
  """Rows = (run, eval language). `languages` = every language evaluated or trained on, in NAMES order;
  `lang_idx` indexes it; `P` [rows, K] are the run's training proportions over `languages` (rows sum to 1)."""

  run_id: np.ndarray
  lang_idx: np.ndarray
  N: np.ndarray
  D: np.ndarray
  loss: np.ndarray
  P: np.ndarray
  languages: tuple[str, ...]
  seed: np.ndarray | None = None
  bpb: np.ndarray | None = None

  @property
  def num_rows(self) -> int:
    return len(self.loss)


def read_csv(path: str | os.PathLike, required: Sequence[str]) -> dict[str, list[str]]:
  if not os.path.isfile(path):
    raise UserError(f"runs file {str(path)!r} does not exist")
  header, rows = read_csv_file(path, "config.runs")
  missing = [c for c in required if c not in header]
  if missing:
    raise UserError(f"runs file {str(path)!r} is missing column(s) {', '.join(missing)}")
  if "status" in header:
    # Studies record failed / pending runs too; only completed ones are data.
    rows = [r for r in rows if r["status"] in ("", "complete")]
  if not rows:
    raise UserError(f"runs file {str(path)!r} has no (completed) rows")
  return {c: [r[c] for r in rows] for c in header}


def _floats(values: Sequence[str], column: str, where: str, *, positive: bool) -> np.ndarray:
  out = np.empty(len(values), np.float64)
  for i, v in enumerate(values):
    try:
      x = float(v)
    except (TypeError, ValueError):
      raise UserError(f"{where}: column {column!r} row {i + 1} = {v!r} is not a number") from None
    if not math.isfinite(x):
      raise UserError(f"{where}: column {column!r} row {i + 1} = {v!r} is not finite (NaN/inf)")
    if positive and x <= 0:
      raise UserError(f"{where}: column {column!r} row {i + 1} = {v!r} must be > 0")
    out[i] = x
  return out


def check_language_runs(name: str, runs: LanguageRuns, where: str = "runs") -> None:
  languages.get(name)
  for col in ("N", "D", "loss"):
    x = np.asarray(getattr(runs, col), np.float64)
    if not np.all(np.isfinite(x)):
      raise UserError(f"{where}: language {name!r} column {col!r} has NaN/inf values")
    if np.any(x <= 0):
      raise UserError(f"{where}: language {name!r} column {col!r} has values <= 0")
  n = len(runs.loss)
  if n <= CHINCHILLA_PARAMS:
    raise UserError(
      f"{where}: language {name!r} has {n} runs, fewer than needed to fit the "
      f"{CHINCHILLA_PARAMS} parameters of the chinchilla law (need > {CHINCHILLA_PARAMS})"
    )
  if len(np.unique(runs.N)) < 2:
    raise UserError(f"{where}: language {name!r} has one N value only; the N exponent cannot be fitted")
  if len(np.unique(runs.D)) < 2:
    raise UserError(f"{where}: language {name!r} has one D value only; the D exponent cannot be fitted")


def _optional_bpb(cols: dict[str, list[str]], where: str) -> np.ndarray | None:
  """The bpb column as floats (NaN where empty: not every evaluation measures bytes), or None if absent."""
  if "bpb" not in cols:
    return None
  out = np.empty(len(cols["bpb"]), np.float64)
  for i, v in enumerate(cols["bpb"]):
    try:
      out[i] = float(v) if v not in ("", None) else np.nan
    except (TypeError, ValueError):
      raise UserError(f"{where}: column 'bpb' row {i + 1} = {v!r} is not a number") from None
  return out


def _run_ids(cols: dict[str, list[str]]) -> np.ndarray | None:
  return None if "run_id" not in cols else np.asarray([s.strip() for s in cols["run_id"]], str)


def load_language_runs(path: str | os.PathLike) -> dict[str, LanguageRuns]:
  """Reads a CSV with columns language,N,D,loss (optional run_id, bpb; extra columns ignored) into validated
  per-language runs."""
  cols = read_csv(path, PER_LANGUAGE_COLUMNS)
  where = f"runs file {str(path)!r}"
  N = _floats(cols["N"], "N", where, positive=True)
  D = _floats(cols["D"], "D", where, positive=True)
  loss = _floats(cols["loss"], "loss", where, positive=True)
  run_id, bpb = _run_ids(cols), _optional_bpb(cols, where)
  names = [s.strip() for s in cols["language"]]
  for i, name in enumerate(names):
    if name not in languages.BY_NAME:
      raise UserError(
        f"{where}: row {i + 1} has unknown language {name!r}; expected one of {', '.join(languages.NAMES)}"
      )
  out = {}
  for name in languages.NAMES:
    sel = np.array([n == name for n in names])
    if sel.any():
      out[name] = LanguageRuns(
        N[sel], D[sel], loss[sel], None if run_id is None else run_id[sel], None if bpb is None else bpb[sel]
      )
      check_language_runs(name, out[name], where)
  return out


def make_results_table(
  run_id: Sequence[str],
  language: Sequence[str],
  N,
  D,
  loss,
  proportions: dict[str, Sequence[float]],
  seed=None,
  where: str = "results",
  bpb=None,
) -> ResultsTable:
  """Validates column arrays (proportions: {lang: per-row weight}) into a ResultsTable."""
  n = len(loss)
  for name in proportions:
    languages.get(name)
  for name in language:
    if name not in languages.BY_NAME:
      raise UserError(f"{where}: unknown language {name!r}; expected one of {', '.join(languages.NAMES)}")
  arrays = {"N": np.asarray(N, np.float64), "D": np.asarray(D, np.float64), "loss": np.asarray(loss, np.float64)}
  for col, x in arrays.items():
    if len(x) != n:
      raise UserError(f"{where}: column {col!r} has {len(x)} rows, expected {n}")
    if not np.all(np.isfinite(x)):
      raise UserError(f"{where}: column {col!r} has NaN/inf values")
    if np.any(x <= 0):
      raise UserError(f"{where}: column {col!r} has values <= 0")
  P_all = np.stack([np.asarray(proportions.get(name, np.zeros(n)), np.float64) for name in languages.NAMES], 1)
  for row, p in enumerate(P_all):
    checks.proportions(dict(zip(languages.NAMES, p.tolist())), f"{where}: row {row + 1} p", normalise=False)
  P_all = P_all / P_all.sum(1, keepdims=True)
  used = {languages.NAMES.index(x) for x in language} | set(np.nonzero(P_all.sum(0) > 0)[0].tolist())
  keep = sorted(used)
  names = tuple(languages.NAMES[i] for i in keep)
  lang_idx = np.array([names.index(x) for x in language], np.int32)
  return ResultsTable(
    np.asarray(run_id, str),
    lang_idx,
    arrays["N"],
    arrays["D"],
    arrays["loss"],
    P_all[:, keep],
    names,
    None if seed is None else np.asarray(seed, str),
    None if bpb is None else np.asarray(bpb, np.float64),
  )


def load_results_table(path: str | os.PathLike) -> ResultsTable:
  """Reads a study's results.csv (design §5 columns; rows with status other than complete are skipped)."""
  cols = read_csv(path, RESULTS_COLUMNS)
  where = f"runs file {str(path)!r}"
  props = {name: _floats(cols[f"p_{name}"], f"p_{name}", where, positive=False) for name in languages.NAMES}
  return make_results_table(
    cols["run_id"],
    [s.strip() for s in cols["language"]],
    _floats(cols["N"], "N", where, positive=True),
    _floats(cols["D"], "D", where, positive=True),
    _floats(cols["loss"], "loss", where, positive=True),
    props,
    seed=cols.get("seed"),
    where=where,
    bpb=_optional_bpb(cols, where),
  )


def language_runs_from_table(table: ResultsTable) -> dict[str, LanguageRuns]:
  """Monolingual rows (the run trains only on the language it is evaluated on) as per-language runs."""
  out = {}
  for i, name in enumerate(table.languages):
    sel = (table.lang_idx == i) & (table.P[:, i] > 1 - 1e-9)
    if sel.any():
      out[name] = LanguageRuns(
        table.N[sel], table.D[sel], table.loss[sel], table.run_id[sel], None if table.bpb is None else table.bpb[sel]
      )
  return out
