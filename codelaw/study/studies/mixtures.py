"""Random mixtures (Dirichlet over the languages) for fitting proportion-dependent multilingual laws; each
run has cooldown branches at the smaller budgets, so one run gives several (N, D, p) points."""

from __future__ import annotations

import numpy as np

from codelaw.errors import UserError
from codelaw.study.spec import Run
from codelaw.study.studies import common


def sample_mixtures(langs: tuple[str, ...], n: int, alpha: float, seed: int) -> list[dict[str, float]]:
  """n Dirichlet(alpha) mixtures, rounded to 4 decimals so that ids do not depend on float printing."""
  rng = np.random.default_rng(seed)
  out = []
  for p in rng.dirichlet(np.full(len(langs), alpha), size=n):
    p = np.round(p, 4)
    p[np.argmax(p)] += 1.0 - p.sum()  # keep the rounded mixture on the simplex
    out.append({lang: float(v) for lang, v in zip(langs, p)})
  return out


def expand(config) -> list[Run]:
  langs = common.get_languages(config)
  if not float(config.n_mixtures).is_integer() or config.n_mixtures < 1:
    raise UserError(f"config.n_mixtures = {config.n_mixtures}: expected a whole number >= 1")
  if not config.alpha > 0:
    raise UserError(f"config.alpha = {config.alpha}: the Dirichlet concentration must be > 0")
  budgets = sorted(set(common.get_positive_ints(config, "budgets")))
  common.check_tokens(config, "budgets", budgets[0])
  runs = []
  for i, p in enumerate(sample_mixtures(langs, int(config.n_mixtures), float(config.alpha), int(config.mixture_seed))):
    for size in common.get_sizes(config):
      for seed in common.seeds(config):
        meta = dict(kind="mixture", size=size, seed=seed, mixture=i)
        train = dict(size=size, proportions=p, tokens=budgets[-1], seed=seed, cooldown_budgets=budgets[:-1])
        runs.append(common.study_run(config, f"mix{i}-{size}-s{seed}", langs, meta, **train))
  return runs
