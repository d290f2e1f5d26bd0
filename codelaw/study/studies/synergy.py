"""Bilingual synergy (paper §4), three arms per (target, auxiliary) cell, every arm at the same total tokens T:

  self_capped  the target alone, its unique tokens capped at T / 2 so they are seen twice: the paper's
               self-repetition baseline L_i(i+i) (64B x 2)
  self_fresh   the target alone on T fresh tokens: separates the repetition penalty from the auxiliary's value
  pair         target + auxiliary at 50:50 (64B + 64B), evaluated on both languages

The self arms of a target serve every cell of that target, and one pair run serves both of its directions.
Every arm runs with every seed of config.seeds, so cells compare runs of the same seeds (paired intervals).
"""

from __future__ import annotations

import copy
import itertools

from codelaw.errors import UserError
from codelaw.study.spec import Run, make_run
from codelaw.study.studies import common

KINDS = ("self_capped", "self_fresh", "pair")


def expand(config) -> list[Run]:
  langs = common.get_languages(config)
  if len(langs) < 2:
    raise UserError(f"config.languages = {list(langs)}: the synergy study needs at least two languages")
  size = common.get_size(config)
  tokens = common.get_positive_int(config, "tokens")
  common.check_tokens(config, "tokens", tokens)
  runs = []
  for seed in common.seeds(config):
    for lang in langs:
      fresh = common.train_config(config, size=size, proportions={lang: 1.0}, tokens=tokens, seed=seed)
      capped = copy.deepcopy(fresh)
      capped["data"]["unique_tokens"] = {lang: tokens // 2}
      runs.append(
        make_run(
          config.study,
          f"capped-{lang}-{size}-s{seed}",
          capped,
          eval_languages=(lang,),
          kind="self_capped",
          size=size,
          seed=seed,
          pair=f"{lang}+{lang}",
        )
      )
      # The label of the fresh arm is the one the single-baseline design used, so its runs are reused.
      runs.append(
        make_run(
          config.study,
          f"self-{lang}-{size}-s{seed}",
          fresh,
          eval_languages=(lang,),
          kind="self_fresh",
          size=size,
          seed=seed,
          pair=f"{lang}+{lang}",
        )
      )
    for a, b in itertools.combinations(langs, 2):
      cfg = common.train_config(config, size=size, proportions={a: 0.5, b: 0.5}, tokens=tokens, seed=seed)
      runs.append(
        make_run(
          config.study,
          f"pair-{a}-{b}-{size}-s{seed}",
          cfg,
          eval_languages=(a, b),
          kind="pair",
          size=size,
          seed=seed,
          pair=f"{a}+{b}",
        )
      )
  return runs
