"""Compute-optimal planning: for a FLOP budget C, the best (N, D) per language and for the mix.

C = 6 N D by default (Kaplan/Hoffmann approximation), or C = flops_per_token(N) * D when the exact training
FLOPs per token of a size-N model are given. Per language (trained alone, p_i = 1) with C = 6 N D the
Chinchilla closed form applies: N* = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)).
Otherwise, and for the mix, log N is searched by bounded 1-D minimisation with D = C / flops_per_token(N)
and, for the mix, the allocation re-solved at each N.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
from scipy import optimize

from codelaw.errors import UserError
from codelaw.laws import allocation
from codelaw.laws.fit_file import LawParams

FlopsPerToken = Callable[[float], float]


def _check_budget(C: float) -> None:
  if not (isinstance(C, (int, float)) and math.isfinite(C) and C > 0):
    raise UserError(f"flops = {C}: the compute budget must be a finite number > 0")


def _fpt(flops_per_token: FlopsPerToken | None) -> FlopsPerToken:
  return flops_per_token if flops_per_token is not None else (lambda N: 6.0 * N)


def _search_log_n(loss_at: Callable[[float], float], C: float) -> float:
  # N between ~1e-6 and ~1e6 times the C = 6 N D balance point covers every sensible plan.
  mid = 0.5 * math.log(C / 6.0)
  res = optimize.minimize_scalar(
    loss_at, bounds=(mid - 14.0, mid + 14.0), method="bounded", options={"xatol": 1e-10, "maxiter": 500}
  )
  return float(res.x)


def per_language(law: LawParams, C: float, flops_per_token: FlopsPerToken | None = None) -> dict[str, dict]:
  """{lang: {N, D, loss, tokens_per_param}} for each language trained alone on budget C."""
  _check_budget(C)
  out = {}
  for i, name in enumerate(law.langs):
    E, A, B, a, b = (float(getattr(law, k)[i]) for k in ("E", "A", "B", "alpha", "beta"))
    nu, du = law.n_unit, law.d_unit

    def loss(N: float, D: float) -> float:
      return E + A / (N / nu) ** a + B / (D / du) ** b

    if flops_per_token is None:
      # Closed form in the law's units, where C' = C / (nu du) = 6 n d.
      c_units = C / (nu * du)
      G = (a * A / (b * B)) ** (1.0 / (a + b))
      n = G * (c_units / 6.0) ** (b / (a + b))
      N = n * nu
      D = C / (6.0 * N)
    else:
      logn = _search_log_n(lambda x: loss(math.exp(x), C / flops_per_token(math.exp(x))), C)
      N = math.exp(logn)
      D = C / flops_per_token(N)
    out[name] = {"N": N, "D": D, "loss": loss(N, D), "tokens_per_param": D / N}
  return out


@dataclasses.dataclass(frozen=True)
class MixPlan:
  N: float
  D: float
  solution: allocation.Solution


def for_mix(
  law: LawParams,
  C: float,
  *,
  weights: np.ndarray | None = None,
  min_share=None,
  max_share=None,
  max_epochs: float | None = None,
  unique_tokens=None,
  flops_per_token: FlopsPerToken | None = None,
  method: str = "auto",
) -> MixPlan:
  """The (N, D, p) minimising sum_i w_i L_i(N, D, p) subject to flops_per_token(N) * D = C."""
  _check_budget(C)
  fpt = _fpt(flops_per_token)
  w = allocation.normalise_weights(None, law.langs) if weights is None else np.asarray(weights, dtype=np.float64)

  def solve_at(logn: float) -> allocation.Solution:
    N = math.exp(logn)
    D = C / fpt(N)
    cons = allocation.build_constraints(
      law, D, min_share=min_share, max_share=max_share, max_epochs=max_epochs, unique_tokens=unique_tokens
    )
    return allocation.solve(law, N, D, weights=w, constraints=cons, method=method)

  def obj(logn: float) -> float:
    try:
      return solve_at(logn).objective
    except UserError:  # unique-token caps can make large-D plans infeasible: exclude them from the search
      return math.inf

  logn = _search_log_n(obj, C)
  N = math.exp(logn)
  return MixPlan(N=N, D=C / fpt(N), solution=solve_at(logn))
