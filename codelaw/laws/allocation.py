"""Token allocation: the mixture p that minimises sum_i w_i L_i(N, D, p) under a fitted multilingual law.

Feasible set: the simplex with per-language boxes lo_i <= p_i <= hi_i, where hi_i also carries the
unique-token cap p_i D <= max_epochs * U_i. Without transfer (tau = identity, or He et al.'s form) the problem
is separable and solved by water-filling; with transfer by scaled gradient projection in JAX (a diagonal
projected-Newton step with Armijo backtracking; the projection onto the box-simplex is exact, by bisection
on its one multiplier). Every solution reports its KKT residual and its active constraints, and says whether
it converged: the relative KKT residual within `KKT_TOL`, iterations not exhausted; a failed line search is
named as the cause where the residual stays above the tolerance.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from codelaw.errors import UserError
from codelaw.laws import forms
from codelaw.laws.fit_file import LawParams
from codelaw.laws.water_filling import water_fill

ACTIVE_TOL = 1e-9
# Stated tolerance on the KKT residual relative to the largest gradient entry: above it, p* is not an optimum.
KKT_TOL = 1e-6
MAX_ITER = 3000
# The He et al. form is infinite at p_i = 0; keep shares strictly positive for it.
HE_MIN_SHARE = 1e-9


@dataclasses.dataclass(frozen=True)
class Constraints:
  lower: np.ndarray
  upper: np.ndarray
  upper_kind: tuple[str, ...]  # "max_share" | "unique_tokens" | "none" per language
  lower_kind: tuple[str, ...]  # "min_share" | "nonnegative" per language


@dataclasses.dataclass(frozen=True)
class Solution:
  p: np.ndarray
  objective: float
  losses: np.ndarray
  kkt_residual: float
  kkt_residual_relative: float
  marginal_utility: float  # the common -dF/dp_i over free languages (lambda)
  active: list[dict]
  method: str
  iterations: int
  converged: bool = True
  reason: str = ""  # why not converged ("" when converged)
  kkt_tolerance: float = KKT_TOL


def _per_lang(values: Mapping[str, float] | None, langs: tuple[str, ...], default: float, what: str) -> np.ndarray:
  out = np.full(len(langs), default, dtype=np.float64)
  for name, v in (values or {}).items():
    if name not in langs:
      raise UserError(f"{what}.{name}: language not in the fitted law ({', '.join(langs)})")
    try:
      x = float(v)
    except (TypeError, ValueError):
      raise UserError(f"{what}.{name} = {v!r}: expected a number") from None
    if not math.isfinite(x) or x < 0:
      raise UserError(f"{what}.{name} = {v}: expected a finite number >= 0")
    out[langs.index(name)] = x
  return out


def normalise_weights(weights: Mapping[str, float] | None, langs: tuple[str, ...]) -> np.ndarray:
  """Objective weights; default 1/K (the paper's equal-weighted average)."""
  if not weights:
    return np.full(len(langs), 1.0 / len(langs))
  w = _per_lang(weights, langs, 0.0, "weights")
  if w.sum() <= 0:
    raise UserError("weights: all zero; at least one language needs a positive weight")
  return w / w.sum()


def build_constraints(
  law: LawParams,
  D: float,
  *,
  min_share: Mapping[str, float] | None = None,
  max_share: Mapping[str, float] | None = None,
  max_epochs: float | None = None,
  unique_tokens: Mapping[str, float] | None = None,
) -> Constraints:
  """Boxes from min/max shares and unique-token caps; raises UserError when no mixture satisfies them."""
  langs = law.langs
  lo = _per_lang(min_share, langs, 0.0, "min_share")
  hi = _per_lang(max_share, langs, 1.0, "max_share")
  hi = np.minimum(hi, 1.0)
  upper_kind = ["max_share" if max_share and n in max_share else "none" for n in langs]
  lower_kind = ["min_share" if min_share and n in min_share else "nonnegative" for n in langs]
  if max_epochs is not None and max_epochs > 0:
    U = law.unique_tokens.copy() if law.unique_tokens is not None else np.full(len(langs), np.nan)
    for name, v in (unique_tokens or {}).items():
      if name not in langs:
        raise UserError(f"unique_tokens.{name}: language not in the fitted law ({', '.join(langs)})")
      if not float(v) > 0:
        raise UserError(f"unique_tokens.{name} = {v}: expected a token count > 0")
      U[langs.index(name)] = float(v)
    cap = np.where(np.isfinite(U), max_epochs * U / D, np.inf)
    for i, c in enumerate(cap):
      if c < hi[i]:
        hi[i], upper_kind[i] = c, "unique_tokens"
  elif max_epochs is not None and max_epochs < 0:
    raise UserError(f"max_epochs = {max_epochs}: expected >= 0 (0 = no cap)")
  if law.family == "he":
    lo = np.maximum(lo, HE_MIN_SHARE)
  for i, n in enumerate(langs):
    if lo[i] > hi[i] + 1e-15:
      raise UserError(f"infeasible bounds for {n}: lower {lo[i]:.6g} > upper {hi[i]:.6g} ({upper_kind[i]})")
  if lo.sum() > 1 + 1e-12:
    raise UserError(f"infeasible: min_share values sum to {lo.sum():.6g} > 1")
  if hi.sum() < 1 - 1e-12:
    detail = ", ".join(f"{n}<={h:.4g}" for n, h in zip(langs, hi))
    raise UserError(f"infeasible: upper bounds (max_share / unique-token caps) sum to {hi.sum():.6g} < 1 ({detail})")
  return Constraints(lo, hi, tuple(upper_kind), tuple(lower_kind))


def law_losses(law: LawParams, N, D, p):
  """Per-language losses L_i(N, D, p) as a jnp array (works under jit/vmap; p may be batched)."""
  n, d = N / law.n_unit, D / law.d_unit
  if law.family == "he":
    return forms.he_multilingual_law(n, d, p, law.E, law.A, law.B, law.alpha, law.beta, law.gamma)
  unique = None if law.repetition_decay is None else law.unique_tokens / law.d_unit
  return forms.effective_data_law(
    n, d, p, law.E, law.A, law.B, law.alpha, law.beta, law.tau, unique, law.repetition_decay
  )


def objective(law: LawParams, N: float, D: float, weights: np.ndarray, p) -> float:
  """sum_i w_i L_i(N, D, p), evaluated in float64."""
  with _x64():
    return float(np.dot(weights, np.asarray(law_losses(law, N, D, jnp.asarray(p, jnp.float64)), np.float64)))


def separable_coefficients(
  law: LawParams, N: float, D: float, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
  """(k, e) such that the objective is const + sum_i k_i/e_i p_i^-e_i, or None when it is not of that form."""
  n, d = N / law.n_unit, D / law.d_unit
  if law.family == "he":
    c = weights * (law.E + law.A / n**law.alpha + law.B / d**law.beta)
    return c * law.gamma, law.gamma
  if law.has_transfer or law.repetition_decay is not None:
    return None
  c = weights * law.B * d**-law.beta
  return c * law.beta, law.beta


def _project(y, h, lo, hi):
  """argmin_p sum h_i (p_i - y_i)^2 over {lo <= p <= hi, sum p = 1}: p = clip(y - nu/h), nu by bisection."""
  a = jnp.min(h * (y - hi))  # sum at nu=a is sum(hi) >= 1
  b = jnp.max(h * (y - lo))  # sum at nu=b is sum(lo) <= 1

  def body(_, ab):
    a, b = ab
    m = 0.5 * (a + b)
    big = jnp.sum(jnp.clip(y - m / h, lo, hi)) > 1.0
    return jnp.where(big, m, a), jnp.where(big, b, m)

  a, b = jax.lax.fori_loop(0, 200, body, (a, b))
  return jnp.clip(y - 0.5 * (a + b) / h, lo, hi)


def _gradient_projection(f, p0, lo, hi, max_iter: int, tol: float):
  grad = jax.grad(f)
  hdiag = lambda p: jnp.diagonal(jax.hessian(f)(p))

  def step(state):
    p, it, _, _ = state
    g = grad(p)
    h = hdiag(p)
    h = jnp.maximum(h, 1e-12 * jnp.maximum(jnp.max(jnp.abs(h)), 1e-30))
    fp = f(p)

    def try_t(carry):
      t, _, _ = carry
      q = _project(p - t * g / h, h, lo, hi)
      ok = f(q) <= fp + 1e-4 * jnp.dot(g, q - p)
      return t * 0.5, q, ok

    _, q, ok = jax.lax.while_loop(lambda c: (~c[2]) & (c[0] > 1e-12), try_t, (1.0, p, False))
    q = jnp.where(ok, q, p)  # no sufficient decrease at any step size: stay, and stop
    delta = jnp.where(ok, jnp.max(jnp.abs(q - p)), 0.0)
    return q, it + 1, delta, ~ok

  def cond(state):
    _, it, delta, _ = state
    return (it < max_iter) & (delta > tol)

  p, it, _, failed = jax.lax.while_loop(cond, step, (p0, 0, jnp.inf, False))
  return p, it, failed


def _x64():
  return jax.enable_x64(True)


@functools.lru_cache(maxsize=32)
def _compiled_solver(
  family: str, K: int, n_unit: float, d_unit: float, fields: tuple[str, ...], max_iter: int, tol: float
):
  """One jitted, vmapped solver per law shape; N, D, weights and bounds are traced so re-solves don't recompile."""

  def one(params, N, D, w, lo, hi):
    law = LawParams(
      family=family,
      langs=("",) * K,
      n_unit=n_unit,
      d_unit=d_unit,
      gamma=params.get("gamma"),
      unique_tokens=params.get("unique_tokens"),
      repetition_decay=params.get("repetition_decay"),
      **{k: params[k] for k in ("E", "A", "B", "alpha", "beta", "tau")},
    )
    f = lambda p: jnp.dot(w, law_losses(law, N, D, p))
    p0 = _project(jnp.full(lo.shape, 1.0 / lo.shape[0]), jnp.ones(lo.shape), lo, hi)
    return _gradient_projection(f, p0, lo, hi, max_iter, tol)

  return jax.jit(jax.vmap(one, in_axes=(0, None, None, None, None, None)))


def numerical_solve_batch(
  laws: list[LawParams],
  N: float,
  D: float,
  weights: np.ndarray,
  lo: np.ndarray,
  hi: np.ndarray,
  *,
  max_iter: int = MAX_ITER,
  tol: float = 1e-13,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Solves several laws of one family at once (vmapped over their parameters).
  Returns (p [S, K], iterations [S], line search failed at the last iteration [S])."""
  first = laws[0]
  fields = ("E", "A", "B", "alpha", "beta", "tau")
  if first.family == "he":
    fields += ("gamma",)
  if first.repetition_decay is not None:
    fields += ("unique_tokens", "repetition_decay")
  solver = _compiled_solver(
    first.family, len(first.langs), float(first.n_unit), float(first.d_unit), fields, max_iter, tol
  )
  with _x64():
    stacked = {k: jnp.asarray(np.stack([getattr(l, k) for l in laws]), jnp.float64) for k in fields}
    p, it, failed = solver(
      stacked,
      jnp.float64(N),
      jnp.float64(D),
      jnp.asarray(weights, jnp.float64),
      jnp.asarray(lo, jnp.float64),
      jnp.asarray(hi, jnp.float64),
    )
    return np.asarray(p, dtype=np.float64), np.asarray(it), np.asarray(failed)


def kkt(
  law: LawParams, N: float, D: float, weights: np.ndarray, p: np.ndarray, cons: Constraints
) -> tuple[float, float, float, list[dict]]:
  """(residual, relative residual, lambda, active constraints) of the box-simplex KKT conditions at p.

  Stationarity: dF/dp_i = -lambda on free languages, >= -lambda at a lower bound, <= -lambda at an upper bound.
  """
  with _x64():
    g = np.asarray(jax.grad(lambda q: jnp.dot(weights, law_losses(law, N, D, q)))(jnp.asarray(p)), dtype=np.float64)
  at_lo = p <= cons.lower + ACTIVE_TOL
  at_hi = (p >= cons.upper - ACTIVE_TOL) & ~at_lo
  free = ~at_lo & ~at_hi
  if free.any():
    mu = float(np.mean(g[free]))
  else:  # any mu in [max g over upper-active, min g over lower-active] satisfies stationarity
    top = np.max(g[at_hi]) if at_hi.any() else -np.inf
    bot = np.min(g[at_lo]) if at_lo.any() else np.inf
    mu = top if not np.isfinite(bot) else bot if not np.isfinite(top) else 0.5 * (top + bot)
  viol = np.where(free, np.abs(g - mu), np.where(at_lo, np.maximum(0.0, mu - g), np.maximum(0.0, g - mu)))
  res = float(np.max(viol))
  scale = float(np.max(np.abs(g))) or 1.0
  active = []
  for i, name in enumerate(law.langs):
    if at_lo[i] and cons.lower[i] > 0 and cons.lower_kind[i] == "min_share":
      active.append({"language": name, "bound": "lower", "kind": "min_share", "value": float(cons.lower[i])})
    elif at_lo[i]:
      active.append({"language": name, "bound": "lower", "kind": "nonnegative", "value": float(cons.lower[i])})
    elif at_hi[i]:
      active.append({"language": name, "bound": "upper", "kind": cons.upper_kind[i], "value": float(cons.upper[i])})
  return res, res / scale, -mu, active


def convergence(
  kkt_relative: float, *, exhausted: bool = False, line_search_failed: bool = False, kkt_tol: float = KKT_TOL
) -> tuple[bool, str]:
  """(converged, reason): the relative KKT residual within kkt_tol and iterations left; reason "" if converged."""
  reasons = []
  if not kkt_relative <= kkt_tol:
    reasons.append(f"KKT residual {kkt_relative:.3g} (relative) above the tolerance {kkt_tol:.3g}")
    if line_search_failed:
      reasons.append("line search failed: no step along the projected Newton direction decreased the objective")
  if exhausted:
    reasons.append("iterations exhausted")
  return not reasons, "; ".join(reasons)


def solve(
  law: LawParams,
  N: float,
  D: float,
  *,
  weights: np.ndarray | None = None,
  constraints: Constraints | None = None,
  method: str = "auto",
  max_iter: int = MAX_ITER,
  kkt_tol: float = KKT_TOL,
) -> Solution:
  """Minimises sum_i w_i L_i(N, D, p). method: "auto" (water-filling when separable), "water_filling", "numerical".
  The Solution says whether it converged (see `convergence`); callers must not recommend an unconverged p."""
  if not (N > 0 and D > 0 and math.isfinite(N) and math.isfinite(D)):
    raise UserError(f"N = {N}, D = {D}: both must be finite and > 0")
  K = len(law.langs)
  w = np.full(K, 1.0 / K) if weights is None else np.asarray(weights, dtype=np.float64)
  cons = constraints or build_constraints(law, D)
  if method not in ("auto", "water_filling", "numerical"):
    raise UserError(f"method = {method!r}: expected auto, water_filling or numerical")
  sep = separable_coefficients(law, N, D, w)
  if method == "water_filling" and sep is None:
    raise UserError("method = 'water_filling' needs a law without transfer (tau = identity) or the 'he' law")
  iters, ls_failed = 0, False
  if sep is not None and method != "numerical":
    p, _ = water_fill(sep[0], sep[1], cons.lower, cons.upper)
    used = "water_filling"
  else:
    P, it, failed = numerical_solve_batch([law], N, D, w, cons.lower, cons.upper, max_iter=max_iter)
    p, iters, ls_failed, used = P[0], int(it[0]), bool(failed[0]), "gradient_projection"
  with _x64():
    losses = np.asarray(law_losses(law, N, D, jnp.asarray(p)), dtype=np.float64)
  res, rel, lam, active = kkt(law, N, D, w, p, cons)
  ok, reason = convergence(
    rel, exhausted=used != "water_filling" and iters >= max_iter, line_search_failed=ls_failed, kkt_tol=kkt_tol
  )
  return Solution(
    p=p,
    objective=float(w @ losses),
    losses=losses,
    kkt_residual=res,
    kkt_residual_relative=rel,
    marginal_utility=lam,
    active=active,
    method=used,
    iterations=iters,
    converged=ok,
    reason=reason,
    kkt_tolerance=kkt_tol,
  )


def solve_many(laws: list[LawParams], N: float, D: float, weights: np.ndarray, cons: Constraints) -> np.ndarray:
  """p* for each law (bootstrap resamples); vmapped in one compiled call when the solver is numerical."""
  if not laws:
    return np.zeros((0, len(cons.lower)))
  seps = [separable_coefficients(l, N, D, weights) for l in laws]
  if all(s is not None for s in seps):
    return np.stack([water_fill(k, e, cons.lower, cons.upper)[0] for k, e in seps])
  return numerical_solve_batch(laws, N, D, weights, cons.lower, cons.upper)[0]


def uniform(cons: Constraints) -> np.ndarray:
  """The uniform mixture (1/K each), as given to the user even when it violates their bounds."""
  return np.full(len(cons.lower), 1.0 / len(cons.lower))
