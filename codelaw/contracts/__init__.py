"""The files jobs hand each other (design.md §5), one frozen dataclass per file with `to_json`/`from_json`,
so that the writer and every reader of a file share one definition and cannot drift apart:

- `result`: a training run's result.json (and each cooldown branch's),
- `results_row`: one row of a study's results.csv,
- `evaluation`: the evaluate job's evaluation.json,
- `fit`, `allocation`, `report`: fit.json, allocation.json and report.json.

`from_json` refuses a missing required key and an unknown key with a `ValueError` naming it; readers of
users' files turn that into a `UserError` naming the file.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping


def check_keys(cls: type, data: Any, where: str) -> Mapping[str, Any]:
  """`data` as a mapping holding every required field of dataclass `cls` and nothing it does not know."""
  if not isinstance(data, Mapping):
    raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
  fields = dataclasses.fields(cls)
  known = {f.name for f in fields}
  unknown = sorted(set(data) - known)
  if unknown:
    raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")
  required = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
  missing = [k for k in required if k not in data]
  if missing:
    raise ValueError(f"{where}: missing key {missing[0]!r}")
  return data


def fields_of(obj: Any) -> dict[str, Any]:
  """A dataclass's fields by name, values as they are (not recursively converted like `dataclasses.asdict`)."""
  return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


def without_none(obj: Mapping[str, Any]) -> dict[str, Any]:
  """Optional blocks that are absent stay absent in the file (no `null` keys)."""
  return {k: v for k, v in obj.items() if v is not None}


def with_extra(core: dict[str, Any], extra: Mapping[str, Any], reserved: tuple[str, ...], name: str) -> dict[str, Any]:
  """`core` plus the free-form `extra` keys a writer added; an extra key may not shadow a `reserved` one."""
  clash = set(extra) & set(reserved)
  if clash:
    raise ValueError(f"{name} extra keys {sorted(clash)} collide with the contract's own")
  return {**core, **extra}


def extra_of(obj: Mapping[str, Any], reserved: tuple[str, ...]) -> dict[str, Any]:
  """The keys of a read file that the contract does not define itself (kept, and written back as they were)."""
  return {k: v for k, v in obj.items() if k not in reserved}


class Flat:
  """Mixin for a contract whose fields are all plain JSON values (numbers, strings, None)."""

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, data: Any, where: str = ""):
    check_keys(cls, data, where or cls.__name__)
    return cls(**{k: data[k] for k in (f.name for f in dataclasses.fields(cls)) if k in data})
