"""Per-language scaling grid: `--config configs/studies/per_language.py:scale=cpu-tiny` (smoke | cpu-tiny |
cpu-study | gpu-small | paper). One WSD run per (language, size) with cooldown branches at every budget."""

from codelaw.study.studies import base


def get_config(arg=None):
  # Sizes, budgets, languages and seeds: the `per_language` section of configs/scales.py at the chosen scale.
  return base.study_config("per_language", base.parse_scale(arg))
