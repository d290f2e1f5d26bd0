"""Per-language scaling grid: `--config configs/studies/per_language.py:scale=cpu-tiny` (smoke | cpu-tiny |
gpu-small | paper). One WSD run per (language, size) with cooldown branches at every budget."""

from codelaw import languages
from codelaw.study.studies import base


def get_config(arg=None):
  scale = base.parse_arg(arg, {"scale": "cpu-tiny"})["scale"]
  p = base.preset(scale)
  return base.study_config("per_language", arg, languages=languages.NAMES, sizes=p["sizes"],
                           budgets=p["budgets"], seeds=(0,))
