"""Bilingual synergy: every pair of config.languages at 50:50 and the self baselines at equal tokens, one
model size.
`--config configs/studies/synergy.py:scale=cpu-tiny`."""

from codelaw.study.studies import base


def get_config(arg=None):
  # Sizes, budgets, languages and seeds: the `synergy` section of configs/scales.py at the chosen scale.
  return base.study_config("synergy", base.parse_scale(arg))
