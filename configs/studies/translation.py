"""Translation data organisation: shuffle vs concat vs paired parallel data, Python as the pivot (seen
directions), evaluated on seen and unseen directions. `--config configs/studies/translation.py:scale=cpu-tiny`."""

from codelaw.study.studies import base


def get_config(arg=None):
  # Sizes, budgets, languages and seeds: the `translation` section of configs/scales.py at the chosen scale.
  return base.study_config("translation", base.parse_scale(arg))
