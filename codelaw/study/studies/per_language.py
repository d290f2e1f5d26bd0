"""Per-language grid (design.md §2): one WSD run per (language, size, seed) whose cooldown branches give
every token budget D, so the grid costs one run per size instead of one per budget."""

from __future__ import annotations

from codelaw.study.spec import Run, make_run
from codelaw.study.studies import common


def expand(config) -> list[Run]:
  langs = common.get_languages(config)
  sizes = common.get_sizes(config)
  budgets = sorted(set(common.get_positive_ints(config, "budgets")))
  common.check_tokens(config, "budgets", budgets[0])
  runs = []
  for lang in langs:
    for size in sizes:
      for seed in common.seeds(config):
        cfg = common.train_config(config, size=size, proportions={lang: 1.0}, tokens=budgets[-1], seed=seed,
                                  cooldown_budgets=budgets[:-1])
        runs.append(make_run(config.study, f"{lang}-{size}-s{seed}", cfg, eval_languages=(lang,),
                             kind="monolingual", size=size, seed=seed, target=lang))
  return runs
