"""Guided p* (from allocation.json) vs uniform at equal compute.
`--config configs/studies/validation.py:scale=cpu-tiny --config.allocation=DIR/allocation.json`."""

from codelaw.study.studies import base


def get_config(arg=None):
  scale = base.parse_arg(arg, {"scale": "cpu-tiny"})["scale"]
  p = base.preset(scale)
  return base.study_config("validation", arg, allocation="", size=p["sizes"][-1], tokens=max(p["budgets"]),
                           seeds=(0, 1) if scale != "paper" else (0,))
