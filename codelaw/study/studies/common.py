"""Helpers the study expansions share: checked reads of study keys and building one run (its training config,
label, evaluated languages and results-table columns)."""

from __future__ import annotations

import copy
import importlib
from typing import Any, Iterable, Mapping

from codelaw import languages
from codelaw.errors import UserError
from codelaw.study.spec import Run, make_run, to_plain
from codelaw.study.studies import base as study_base


def get_languages(config, key: str = "languages") -> tuple[str, ...]:
  names = tuple(config[key])
  if not names:
    raise UserError(f"config.{key} is empty: name at least one language")
  for name in names:
    try:
      languages.get(name)
    except UserError as e:
      raise UserError(f"config.{key}: {e}") from None
  if len(set(names)) != len(names):
    raise UserError(f"config.{key} = {list(names)}: a language is listed twice")
  return names


def get_sizes(config, key: str = "sizes") -> tuple[str, ...]:
  sizes = (config[key],) if isinstance(config[key], str) else tuple(config[key])
  if not sizes:
    raise UserError(f"config.{key} is empty: name at least one model size")
  known = _known_sizes()
  for size in sizes:
    if known is not None and size not in known:
      raise UserError(f"config.{key}: unknown model size {size!r}; known: {', '.join(known)}")
  return sizes


def get_size(config, key: str = "size") -> str:
  sizes = get_sizes(config, key)
  if len(sizes) != 1:
    raise UserError(f"config.{key} = {list(sizes)}: this study trains one model size")
  return sizes[0]


def _known_sizes() -> tuple[str, ...] | None:
  # The size table belongs to the model code; without it (a partial install) sizes are checked at train time.
  try:
    return tuple(importlib.import_module("codelaw.model.sizes").SIZES)
  except ImportError:
    return None


def get_positive_ints(config, key: str) -> tuple[int, ...]:
  values = (config[key],) if isinstance(config[key], (int, float)) else tuple(config[key])
  if not values:
    raise UserError(f"config.{key} is empty")
  out = []
  for v in values:
    if not float(v).is_integer() or v <= 0:
      raise UserError(f"config.{key} = {v}: expected a positive whole number")
    out.append(int(v))
  return tuple(out)


def get_positive_int(config, key: str) -> int:
  values = get_positive_ints(config, key)
  if len(values) != 1:
    raise UserError(f"config.{key} = {list(values)}: expected one number")
  return values[0]


def check_tokens(config, key: str, tokens: int) -> None:
  """A run must be at least a few optimizer steps long, or it trains nothing measurable."""
  step_tokens = config.base.model.seq_len * config.base.train.global_batch_size
  min_steps = config.base.optim.warmup_steps + 2
  if tokens < step_tokens * min_steps:
    raise UserError(
      f"config.{key} = {tokens}: shorter than {min_steps} steps of {step_tokens} tokens "
      f"(warmup + 2) at base.model.seq_len x base.train.global_batch_size"
    )


def train_config(
  config,
  *,
  size: str,
  proportions: Mapping[str, float],
  tokens: int,
  seed: int,
  cooldown_budgets: Iterable[int] = (),
  translation: Mapping[str, Any] | None = None,
  unique_tokens: Mapping[str, int] | None = None,
) -> dict[str, Any]:
  """The base training config of a study with one run's size, mixture, length, seed and learning rate filled
  in (and, given `unique_tokens`, a cap on the distinct tokens of some languages). A base that already holds
  one of those keys is refused: the study would overwrite it unseen."""
  base = to_plain(config.base)
  present = study_base.per_run_overrides(base)
  if present:
    key = present[0]
    raise UserError(
      f"config.base.{key}: set per run by the {config.study} study "
      f"(from {study_base.PER_RUN_KEYS[tuple(key.split('.'))]}); remove it from config.base"
    )
  cfg = copy.deepcopy(base)
  cfg["seed"] = int(seed)
  cfg["model"]["size"] = size
  cfg["data"]["proportions"] = {k: round(float(v), 6) for k, v in proportions.items() if v > 0}
  cfg["data"]["translation"] = to_plain(translation) if translation else None
  if unique_tokens:
    cfg["data"]["unique_tokens"] = dict(unique_tokens)
  cfg["optim"]["peak_lr"] = peak_lr(config, size)
  cfg["train"]["tokens"] = int(tokens)
  cfg["train"]["cooldown_budgets"] = sorted(int(b) for b in cooldown_budgets)
  steps = max(1, tokens // (cfg["model"]["seq_len"] * cfg["train"]["global_batch_size"]))
  cfg["train"]["log_every"] = max(1, min(cfg["train"]["log_every"], steps // 10 or 1))
  return cfg


def study_run(config, label: str, eval_languages: Iterable[str], meta: Mapping[str, Any], **train: Any) -> Run:
  """One run of the study: `train_config(config, **train)` under `label`, its validation loss taken on
  `eval_languages`, with the results-table columns `meta` (kind, size, seed, ...) in their order."""
  cfg = train_config(config, **train)
  # The trainer evaluates only what the results table takes from the run.
  cfg["train"]["eval_languages"] = tuple(eval_languages)
  return make_run(config.study, label, cfg, eval_languages=eval_languages, **meta)


def peak_lr(config, size: str) -> float:
  """The learning rate of a model size, from the study's `peak_lr` table ((size, rate) pairs)."""
  pairs = to_plain(config.get("peak_lr")) or ()
  try:
    table = {str(k): v for k, v in pairs}
  except (TypeError, ValueError):
    raise UserError(f"config.peak_lr = {pairs!r}: expected (size, learning rate) pairs") from None
  if size not in table:
    raise UserError(
      f"config.peak_lr has no learning rate for size {size!r} (sizes in it: {', '.join(table) or 'none'})"
    )
  lr = table[size]
  if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 1:
    raise UserError(f"config.peak_lr: {size} = {lr!r}: expected a learning rate in (0, 1)")
  return float(lr)


def seeds(config) -> tuple[int, ...]:
  values = tuple(config.seeds)
  if not values or any(not float(s).is_integer() or s < 0 for s in values):
    raise UserError(f"config.seeds = {list(values)}: expected one or more whole numbers >= 0")
  return tuple(int(s) for s in values)
