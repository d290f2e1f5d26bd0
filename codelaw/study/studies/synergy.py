"""Bilingual synergy (paper §4), three arms per (target, auxiliary) cell, every arm at the same total tokens T:

  self_capped  the target alone, its unique tokens capped at T / 2 so they are seen twice: the paper's
               self-repetition baseline L_i(i+i) (64B x 2)
  self_fresh   the target alone on T fresh tokens: separates the repetition penalty from the auxiliary's value
  pair         target + auxiliary at 50:50 (64B + 64B), evaluated on both languages

The self arms of a target serve every cell of that target, and one pair run serves both of its directions.
Every arm runs with every seed of config.seeds, so cells compare runs of the same seeds (paired intervals).
"""

from __future__ import annotations

import itertools
from typing import Any

from codelaw.errors import UserError
from codelaw.study.spec import Run
from codelaw.study.studies import common

KINDS = ("self_capped", "self_fresh", "pair")


def expand(config) -> list[Run]:
  langs = common.get_languages(config)
  if len(langs) < 2:
    raise UserError(f"config.languages = {list(langs)}: the synergy study needs at least two languages")
  size = common.get_size(config)
  tokens = common.get_positive_int(config, "tokens")
  common.check_tokens(config, "tokens", tokens)

  def arm(kind: str, label: str, seed: int, mixture: dict[str, float], pair: str, **train: Any) -> Run:
    """One arm's run: `mixture` at the study's size and tokens, evaluated on the languages it trains on."""
    meta = dict(kind=kind, size=size, seed=seed, pair=pair)
    train = dict(size=size, proportions=mixture, tokens=tokens, seed=seed, **train)
    return common.study_run(config, f"{label}-{size}-s{seed}", tuple(mixture), meta, **train)

  runs = []
  for seed in common.seeds(config):
    for lang in langs:
      alone = ({lang: 1.0}, f"{lang}+{lang}")
      runs.append(arm("self_capped", f"capped-{lang}", seed, *alone, unique_tokens={lang: tokens // 2}))
      # The label of the fresh arm is the one the single-baseline design used, so its runs are reused.
      runs.append(arm("self_fresh", f"self-{lang}", seed, *alone))
    for a, b in itertools.combinations(langs, 2):
      runs.append(arm("pair", f"pair-{a}-{b}", seed, {a: 0.5, b: 0.5}, f"{a}+{b}"))
  return runs
