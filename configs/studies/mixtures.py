"""Random Dirichlet mixtures over the languages, for fitting multilingual (proportion-dependent) laws.
`--config configs/studies/mixtures.py:scale=cpu-tiny`."""

from codelaw.study.studies import base


def get_config(arg=None):
  # Sizes, budgets, languages and seeds: the `mixtures` section of configs/scales.py at the chosen scale.
  return base.study_config("mixtures", base.parse_scale(arg))
