"""Random Dirichlet mixtures over the languages, for fitting multilingual (proportion-dependent) laws.
`--config configs/studies/mixtures.py:scale=cpu-tiny`."""

from codelaw import languages
from codelaw.study.studies import base

N_MIXTURES = {"smoke": 2, "cpu-tiny": 6, "gpu-small": 12, "paper": 16}


def get_config(arg=None):
  scale = base.parse_arg(arg, {"scale": "cpu-tiny"})["scale"]
  p = base.preset(scale)
  return base.study_config("mixtures", arg, languages=languages.NAMES, n_mixtures=N_MIXTURES[scale],
                           alpha=1.0, mixture_seed=0, sizes=p["mixture_sizes"], budgets=p["budgets"],
                           seeds=(0,))
