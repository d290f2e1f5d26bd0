"""Checks for values that arrive from users (config keys, job inputs, files), in one wording.

Each check returns the value converted to its type or raises `UserError` whose one-line message names the
key (or file) and says what was expected: `train.tokens = -5: expected an integer >= 1`. They run at the
edges (config resolution, job readers); code below them trusts its typed inputs.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from codelaw import languages
from codelaw.errors import UserError


def _bound(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
  if lo is not None and hi is not None:
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
  if lo is not None:
    return f"{'>' if lo_open else '>='} {lo:g}"
  if hi is not None:
    return f"{'<' if hi_open else '<='} {hi:g}"
  return ""


def _within(x: float, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> bool:
  if lo is not None and (x <= lo if lo_open else x < lo):
    return False
  if hi is not None and (x >= hi if hi_open else x > hi):
    return False
  return True


def number(
  value: Any,
  key: str,
  *,
  lo: float | None = None,
  hi: float | None = None,
  lo_open: bool = False,
  hi_open: bool = False,
) -> float:
  """A finite real number (bools and strings refused: a quoted "1e9" is a typo), optionally bounded."""
  expected = " ".join(x for x in ("a finite number", _bound(lo, hi, lo_open, hi_open)) if x)
  if isinstance(value, (bool, str, bytes)) or not isinstance(value, numbers.Real):
    raise UserError(f"{key} = {value!r}: expected {expected}")
  x = float(value)
  if not math.isfinite(x) or not _within(x, lo, hi, lo_open, hi_open):
    raise UserError(f"{key} = {value!r}: expected {expected}")
  return x


def finite(value: Any, key: str) -> float:
  return number(value, key)


def positive(value: Any, key: str) -> float:
  """A finite number > 0."""
  return number(value, key, lo=0, lo_open=True)


def nonneg(value: Any, key: str) -> float:
  """A finite number >= 0."""
  return number(value, key, lo=0)


def fraction(value: Any, key: str) -> float:
  """A number strictly inside (0, 1): a confidence level, a share of a run."""
  return number(value, key, lo=0, hi=1, lo_open=True, hi_open=True)


def integer(value: Any, key: str, *, lo: int | None = None, hi: int | None = None) -> int:
  """A whole number (an integral float such as 1e9 is accepted; bools and 2.5 are refused), bounded."""
  expected = " ".join(x for x in ("an integer", _bound(lo, hi, False, False)) if x)
  if isinstance(value, numbers.Integral) and not isinstance(value, bool):
    value = int(value)
  elif isinstance(value, float) and value.is_integer():
    value = int(value)
  if isinstance(value, bool) or not isinstance(value, int) or not _within(value, lo, hi, False, False):
    raise UserError(f"{key} = {value!r}: expected {expected}")
  return value


def positive_int(value: Any, key: str) -> int:
  return integer(value, key, lo=1)


def nonneg_int(value: Any, key: str) -> int:
  return integer(value, key, lo=0)


def language(name: Any, key: str) -> str:
  """One of the studied languages, by canonical name."""
  if name not in languages.BY_NAME:
    raise UserError(f"{key}: unknown language {name!r}; expected one of {', '.join(languages.NAMES)}")
  return name


def language_list(value: Any, key: str) -> tuple[str, ...]:
  """Languages given as "python,go" or a sequence; order kept, each checked."""
  items: Iterable[Any] = str(value or "").split(",") if value is None or isinstance(value, str) else value
  names = tuple(str(x).strip() for x in items if str(x).strip())
  for name in names:
    language(name, key)
  return names


def proportions(value: Any, key: str, *, normalise: bool = True) -> dict[str, float]:
  """`{language: weight}` with finite weights >= 0, at least one positive; normalised to sum 1 by default."""
  if not isinstance(value, Mapping) or not value:
    raise UserError(f"{key} = {value!r}: expected {{language: weight}}")
  out = {}
  for name, w in value.items():
    if name not in languages.BY_NAME:
      raise UserError(f"{key}.{name}: unknown language; expected one of {', '.join(languages.NAMES)}")
    out[name] = number(w, f"{key}.{name}", lo=0)
  total = sum(out.values())
  if total <= 0:
    raise UserError(f"{key}: all weights are zero; at least one language needs a positive weight")
  return {name: w / total for name, w in out.items()} if normalise else out


def readable_file(path: Any, key: str) -> Path:
  """An existing regular file this process may read."""
  if not path:
    raise UserError(f"{key} is empty: expected a file")
  p = Path(os.fspath(path)).expanduser()
  if not p.exists():
    raise UserError(f"{key} = {str(path)}: {p} does not exist")
  if not p.is_file():
    raise UserError(f"{key} = {str(path)}: {p} is not a regular file")
  if not os.access(p, os.R_OK):
    raise UserError(f"{key} = {str(path)}: {p} is not readable (permission denied)")
  return p
