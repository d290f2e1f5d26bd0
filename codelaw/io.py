"""Files in and out of jobs, in one place.

Writes are atomic: a reader never sees a half-written result. Reads turn every way a user's file can be
wrong (missing, a directory, unreadable, not UTF-8, not JSON, not CSV) into a one-line `UserError` naming
the file and the config key it came from, so no job shows a traceback for a bad input file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from codelaw.errors import UserError

# mkstemp creates its file 0600; a result renamed from it would be unreadable to the user's group (a shared
# cluster project). Read the umask once, at import, because reading it means setting it.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
  """Writes `data` to a temp file in the same directory, then renames it over `path`.

  The file gets the mode a plain `open(path, "w")` would give it (0666 less the umask).
  """
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    os.fchmod(fd, 0o666 & ~_UMASK)
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
  atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(x: Any) -> Any:
  # numpy / jax scalars and arrays end up in results; store them as plain numbers and lists.
  if hasattr(x, "tolist"):
    return x.tolist()
  raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _where(path: str | os.PathLike, what: str) -> str:
  return f"{what} = {os.fspath(path)}" if what else os.fspath(path)


def read_bytes(path: str | os.PathLike, what: str = "") -> bytes:
  """The bytes of a user's file; `what` names the config key it came from (e.g. "config.runs")."""
  where = _where(path, what)
  try:
    return Path(path).read_bytes()
  except FileNotFoundError:
    raise UserError(f"{where}: file does not exist") from None
  except IsADirectoryError:
    raise UserError(f"{where}: is a directory, expected a file") from None
  except PermissionError:
    raise UserError(f"{where}: not readable (permission denied)") from None
  except OSError as e:
    raise UserError(f"{where}: cannot be read ({e.strerror or e})") from None


def read_text(path: str | os.PathLike, what: str = "") -> str:
  """A user's file as UTF-8 text (a binary file is refused, not half-decoded)."""
  data = read_bytes(path, what)
  try:
    return data.decode("utf-8")
  except UnicodeDecodeError as e:
    raise UserError(
      f"{_where(path, what)}: not UTF-8 text (byte {e.start} is {data[e.start]:#04x}); is it the right file?"
    ) from None


def read_json(path: str | os.PathLike, what: str = "") -> Any:
  """A user's JSON file, parsed."""
  text = read_text(path, what)
  try:
    return json.loads(text)
  except json.JSONDecodeError as e:
    raise UserError(f"{_where(path, what)}: is not valid JSON (line {e.lineno} column {e.colno}: {e.msg})") from None


def read_csv(path: str | os.PathLike, what: str = "") -> tuple[list[str], list[dict[str, str]]]:
  """A user's CSV file with a header line: (column names, rows as {column: text})."""
  text = read_text(path, what)
  try:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    header = list(reader.fieldnames or [])
  except csv.Error as e:
    raise UserError(f"{_where(path, what)}: is not a valid CSV file ({e})") from None
  return header, rows
