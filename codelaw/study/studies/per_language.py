"""Per-language grid (design.md §2): one WSD run per (language, size, seed) whose cooldown branches give
every token budget D, so the grid costs one run per size instead of one per budget.

`budget_scale` ((size, factor) pairs, default none) multiplies the budgets of a size: larger models reach a
given loss on fewer tokens, so shifting their budgets down keeps every point in the same regime for less
compute, and spreads the distinct D values of the grid.
"""

from __future__ import annotations

from codelaw.errors import UserError
from codelaw.study.spec import Run, to_plain
from codelaw.study.studies import common


def budget_scale(config, sizes: tuple[str, ...]) -> dict[str, float]:
  """{size: factor} from config.budget_scale, 1.0 for sizes it does not name."""
  pairs = to_plain(config.get("budget_scale")) or ()
  try:
    table = {str(k): v for k, v in pairs}
  except (TypeError, ValueError):
    raise UserError(f"config.budget_scale = {pairs!r}: expected (size, factor) pairs") from None
  for size, factor in table.items():
    if size not in sizes:
      raise UserError(f"config.budget_scale: {size} is not one of config.sizes ({', '.join(sizes)})")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 0:
      raise UserError(f"config.budget_scale: {size} = {factor!r}: expected a factor > 0")
  return {size: float(table.get(size, 1.0)) for size in sizes}


def expand(config) -> list[Run]:
  langs = common.get_languages(config)
  sizes = common.get_sizes(config)
  grid = sorted(set(common.get_positive_ints(config, "budgets")))
  factors = budget_scale(config, sizes)
  by_size = {size: [int(round(b * factors[size])) for b in grid] for size in sizes}
  for size in sizes:
    common.check_tokens(config, "budgets", by_size[size][0])
  runs = []
  for lang in langs:
    for size in sizes:
      budgets = by_size[size]
      for seed in common.seeds(config):
        meta = dict(kind="monolingual", size=size, seed=seed, target=lang)
        train = dict(size=size, proportions={lang: 1.0}, tokens=budgets[-1], seed=seed, cooldown_budgets=budgets[:-1])
        runs.append(common.study_run(config, f"{lang}-{size}-s{seed}", (lang,), meta, **train))
  return runs
