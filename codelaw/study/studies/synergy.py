"""Bilingual synergy (paper §4): every pair of languages at 50:50 and every language alone at the same total
tokens (the self-repetition baseline L_i(i+i)); pairs are evaluated on both of their languages."""

from __future__ import annotations

import itertools

from codelaw.errors import UserError
from codelaw.study.spec import Run, make_run
from codelaw.study.studies import common


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
      cfg = common.train_config(config, size=size, proportions={lang: 1.0}, tokens=tokens, seed=seed)
      runs.append(make_run(config.study, f"self-{lang}-{size}-s{seed}", cfg, eval_languages=(lang,),
                           kind="self", size=size, seed=seed, pair=f"{lang}+{lang}"))
    for a, b in itertools.combinations(langs, 2):
      cfg = common.train_config(config, size=size, proportions={a: 0.5, b: 0.5}, tokens=tokens, seed=seed)
      runs.append(make_run(config.study, f"pair-{a}-{b}-{size}-s{seed}", cfg, eval_languages=(a, b),
                           kind="pair", size=size, seed=seed, pair=f"{a}+{b}"))
  return runs

