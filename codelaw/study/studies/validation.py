"""Validation (paper §6): the guided mixture p* from allocation.json against the uniform mixture, at equal
compute (same model size, same tokens), evaluated on every language."""

from __future__ import annotations

import json
from pathlib import Path

from codelaw import checks, languages
from codelaw.errors import UserError
from codelaw.study.spec import Run, make_run
from codelaw.study.studies import common


def read_allocation(path: str) -> dict[str, dict[str, float]]:
  """{"guided": p_star, "uniform": p_uniform} from an allocation.json, each checked and normalised."""
  if not path:
    raise UserError("config.allocation is empty: give the allocation.json written by the allocate job")
  try:
    data = json.loads(Path(path).read_text())
  except FileNotFoundError:
    raise UserError(f"config.allocation = {path}: file not found (run the allocate job first)") from None
  except (OSError, ValueError) as e:
    raise UserError(f"config.allocation = {path}: not a readable JSON file ({e})") from None
  out = {}
  for arm, key in (("guided", "p_star"), ("uniform", "p_uniform")):
    if not isinstance(data.get(key), dict):
      raise UserError(f"config.allocation = {path}: no {key} mixture in it")
    out[arm] = checks.proportions(data[key], f"{path}:{key}")
  return out


def expand(config) -> list[Run]:
  mixtures = read_allocation(config.allocation)
  size = common.get_size(config)
  tokens = common.get_positive_int(config, "tokens")
  common.check_tokens(config, "tokens", tokens)
  # Both arms are evaluated on every language either mixture covers (the languages the allocation is about).
  covered = set(mixtures["guided"]) | set(mixtures["uniform"])
  eval_languages = tuple(name for name in languages.NAMES if name in covered)
  runs = []
  for arm, p in mixtures.items():
    for seed in common.seeds(config):
      cfg = common.train_config(config, size=size, proportions=p, tokens=tokens, seed=seed)
      runs.append(make_run(config.study, f"{arm}-{size}-s{seed}", cfg, eval_languages=eval_languages,
                           kind="validation", arm=arm, size=size, seed=seed))
  return runs
