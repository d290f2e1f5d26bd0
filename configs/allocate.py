"""Allocation job: the token mixture minimising the weighted multilingual loss under a fitted law.

  python -m codelaw.launch --config configs/allocate.py --config.fit=OUT/fit.json \
      --config.N=1.5e9 --config.D=350e9 --workdir OUT/alloc
  python -m codelaw.launch --config configs/allocate.py --config.fit=paper --workdir OUT/alloc_paper

N (non-embedding parameters) and D (tokens) are raw counts. With fit=paper and N = D = 0 the paper's guided
run is used (1.5B parameters, 350B code tokens). flops > 0 adds compute-optimal planning (C = k N D, k =
flops_per_param_token); with N = D = 0 the planned (N, D) is then also the one allocated at.
"""

from ml_collections import ConfigDict

from codelaw.languages import NAMES


def get_config(arg: str | None = None) -> ConfigDict:
  c = ConfigDict()
  c.job = "allocate"
  c.fit = "paper" if arg == "paper" else ""  # path to fit.json, or "paper" for the paper preset
  c.N = 0.0
  c.D = 0.0
  c.flops = 0.0
  c.flops_per_param_token = 6.0
  c.weights = {n: 1.0 for n in NAMES}  # relative objective weights, normalised over the fitted languages
  c.min_share = {n: 0.0 for n in NAMES}
  c.max_share = {n: 1.0 for n in NAMES}
  c.max_epochs = 0.0  # > 0: p_i D <= max_epochs * unique_tokens_i
  c.unique_tokens = {n: 0.0 for n in NAMES}  # 0 = take it from fit.json (if there)
  c.method = "auto"  # auto | water_filling | numerical
  c.confidence = 0.95  # bootstrap interval level
  c.allow_unidentifiable = False  # True: allocate on a law its data do not identify (with warnings)
  c.max_iter = 3000  # numerical solver iterations; reaching it = not converged
  c.kkt_tol = 1e-6  # relative KKT residual above this = not converged (no p* written)
  c.paper_tau = "relative"  # paper preset: tau from Table 1 as relative | delta | none
  c.paper_reading = "H1"  # paper preset: which reading of Figure 5's labels (H1 | H2)
  return c
