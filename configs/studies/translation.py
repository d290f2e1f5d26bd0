"""Translation data organisation: shuffle vs concat vs paired parallel data, Python as the pivot (seen
directions), evaluated on seen and unseen directions. `--config configs/studies/translation.py:scale=cpu-tiny`."""

from codelaw import languages
from codelaw.study.studies import base


def get_config(arg=None):
  scale = base.parse_arg(arg, {"scale": "cpu-tiny"})["scale"]
  p = base.preset(scale)
  return base.study_config("translation", arg, languages=languages.NAMES, pivot="python",
                           strategies=("shuffle", "concat", "paired"), weight=0.25,
                           sizes=p["translation_sizes"], tokens=max(p["budgets"]), seeds=(0,))
