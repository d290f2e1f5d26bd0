"""Bilingual synergy: 21 pairs at 50:50 + 7 self-repetition baselines at equal tokens, one model size.
`--config configs/studies/synergy.py:scale=cpu-tiny`."""

from codelaw import languages
from codelaw.study.studies import base


def get_config(arg=None):
  scale = base.parse_arg(arg, {"scale": "cpu-tiny"})["scale"]
  p = base.preset(scale)
  # The paper's baseline is 64B of the target seen twice vs 64B target + 64B auxiliary: 2x the largest budget.
  tokens = 2 * max(p["budgets"]) if scale == "paper" else max(p["budgets"])
  return base.study_config("synergy", arg, languages=languages.NAMES, size=p["sizes"][-1], tokens=tokens,
                           seeds=(0,))
