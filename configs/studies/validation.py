"""Guided p* (from allocation.json) vs uniform at equal compute.
`--config configs/studies/validation.py:scale=cpu-tiny --config.allocation=DIR/allocation.json`."""

from codelaw.study.studies import base


def get_config(arg=None):
  # Sizes, budgets, languages and seeds: the `validation` section of configs/scales.py at the chosen scale.
  return base.study_config("validation", base.parse_scale(arg))
