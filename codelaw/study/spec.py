"""A run of a study: its resolved training config and a stable id derived from it.

The id is a hash of the resolved training config, so expanding the same study config twice (or on another
machine) names every run the same way, and a run whose config changes gets a new id instead of silently
reusing an old result.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any, Mapping

import ml_collections

from codelaw.errors import UserError


def to_plain(value: Any) -> Any:
  """ConfigDicts, tuples and numpy scalars as plain JSON-able Python (dicts, lists, numbers, strings)."""
  if isinstance(value, (ml_collections.ConfigDict, ml_collections.FrozenConfigDict)):
    value = value.to_dict()
  if isinstance(value, Mapping):
    return {str(k): to_plain(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [to_plain(v) for v in value]
  if hasattr(value, "item") and not isinstance(value, (str, bytes)):
    return value.item()
  return value


def config_hash(train_config: Mapping[str, Any]) -> str:
  """First 10 hex digits of the SHA-256 of the config's canonical JSON (sorted keys, no whitespace)."""
  canonical = json.dumps(to_plain(train_config), sort_keys=True, separators=(",", ":"))
  return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]


def _slug(text: str) -> str:
  return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run of a study.

  run_id: `<readable label>-<config hash>`; only the hash part decides identity, the label helps humans.
  config: the resolved training config (job "train"), a plain dict.
  eval_languages: languages whose validation loss this run contributes to the results table
    (empty = every language the trainer evaluated).
  meta: extra columns for the results table (size, seed, kind, strategy, pair, ...).
  """

  run_id: str
  study: str
  config: dict[str, Any]
  eval_languages: tuple[str, ...] = ()
  meta: dict[str, Any] = dataclasses.field(default_factory=dict)


def make_run(study: str, label: str, config: Mapping[str, Any], *, eval_languages=(), **meta: Any) -> Run:
  config = to_plain(config)
  if config.get("job") != "train":
    raise UserError(f"study {study}: run {label!r} has job {config.get('job')!r}, expected 'train'")
  run_id = f"{_slug(label)}-{config_hash(config)}"
  return Run(run_id=run_id, study=study, config=config, eval_languages=tuple(eval_languages), meta=dict(meta))


def check_unique(runs: list[Run]) -> list[Run]:
  """Two runs of one study with the same config would train twice into one directory: refuse."""
  seen: dict[str, str] = {}
  for run in runs:
    h = run.run_id.rsplit("-", 1)[-1]
    if h in seen:
      raise UserError(f"study {run.study}: runs {seen[h]} and {run.run_id} have identical training configs")
    seen[h] = run.run_id
  return runs
