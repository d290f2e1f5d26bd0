"""Translation data organisation (paper §5): random shuffling vs direct concatenation vs parallel pairing.
Parallel data covers only the directions to and from the pivot language ("seen"); the trainer reports
translation loss for every direction, so the unseen ones (no pivot) measure zero-shot transfer."""

from __future__ import annotations

import itertools

from codelaw.errors import UserError
from codelaw.study.spec import Run
from codelaw.study.studies import common

STRATEGIES = ("shuffle", "concat", "paired")


def directions(langs: tuple[str, ...], pivot: str) -> tuple[list[str], list[str]]:
  """(seen, unseen) "src->tgt" directions: seen = to and from the pivot."""
  seen, unseen = [], []
  for a, b in itertools.permutations(langs, 2):
    (seen if pivot in (a, b) else unseen).append(f"{a}->{b}")
  return seen, unseen


def expand(config) -> list[Run]:
  langs = common.get_languages(config)
  if config.pivot not in langs:
    raise UserError(f"config.pivot = {config.pivot!r}: must be one of config.languages ({', '.join(langs)})")
  for s in config.strategies:
    if s not in STRATEGIES:
      raise UserError(f"config.strategies: unknown strategy {s!r}; expected {', '.join(STRATEGIES)}")
  if not 0.0 < config.weight < 1.0:
    raise UserError(f"config.weight = {config.weight}: the share of parallel data must be in (0, 1)")
  tokens = common.get_positive_int(config, "tokens")
  common.check_tokens(config, "tokens", tokens)
  seen, _ = directions(langs, config.pivot)
  uniform = {lang: 1.0 / len(langs) for lang in langs}
  runs = []
  for strategy in config.strategies:
    for size in common.get_sizes(config):
      for seed in common.seeds(config):
        spec = dict(strategy=strategy, directions=seen, weight=float(config.weight))
        meta = dict(kind="translation", strategy=strategy, size=size, seed=seed)
        train = dict(size=size, proportions=uniform, tokens=tokens, seed=seed, translation=spec)
        runs.append(common.study_run(config, f"{strategy}-{size}-s{seed}", langs, meta, **train))
  return runs
