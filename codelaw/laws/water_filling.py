"""Water-filling for separable power-law objectives: minimise sum_i c_i p_i^-e_i over the box-simplex.

Each language's marginal utility -d/dp_i = k_i p_i^-(e_i+1) (k_i = c_i e_i) falls with its share; at the
optimum every active language has the same marginal utility lambda, languages pinned at a bound excepted.
So p_i(lambda) = clip((k_i / lambda)^(1/(e_i+1)), lo_i, hi_i) and one scalar, log lambda, is found by
root-finding on sum_i p_i(lambda) = 1 (monotone in lambda).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize


def shares_at(log_lam: float, k: np.ndarray, e: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
  """Each language's share at marginal utility exp(log_lam), clipped to its box."""
  with np.errstate(divide="ignore", over="ignore"):
    raw = np.exp((np.log(np.where(k > 0, k, 1.0)) - log_lam) / (e + 1.0))
  raw = np.where(k > 0, raw, 0.0)  # zero weight: no utility, stays at its lower bound unless needed
  return np.clip(raw, lo, hi)


def water_fill(k: np.ndarray, e: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, float]:
  """Returns (p, lambda). Assumes sum(lo) <= 1 <= sum(hi) (checked by the caller); k >= 0, e > 0."""
  k, e, lo, hi = (np.asarray(x, dtype=np.float64) for x in (k, e, lo, hi))
  pos = k > 0
  if not pos.any():
    return _fill_rest(lo.copy(), lo, hi, np.ones_like(pos)), 0.0
  # Saturated: every useful language at its upper bound still leaves mass; the rest goes to zero-utility ones.
  top = np.where(pos, hi, lo)
  if top.sum() <= 1.0:
    return _fill_rest(top, lo, hi, ~pos), 0.0

  def excess(log_lam: float) -> float:
    return shares_at(log_lam, k, e, lo, hi).sum() - 1.0

  # Bracket log lambda: start where the unconstrained shares are ~1/K and widen until the sign changes.
  center = float(np.median(np.log(k[pos]) + (e[pos] + 1.0) * np.log(len(k))))
  a, b, width = center - 1.0, center + 1.0, 1.0
  while excess(a) < 0:
    width *= 2
    a = center - width
  while excess(b) > 0:
    width *= 2
    b = center + width
  log_lam = optimize.brentq(excess, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
  p = shares_at(log_lam, k, e, lo, hi)
  # Root-finding leaves |sum - 1| ~ 1e-15; put the remainder on the free languages so p is exactly feasible.
  free = (p > lo) & (p < hi)
  if free.any():
    p[free] += (1.0 - p.sum()) / free.sum()
  return p, float(np.exp(log_lam))


def _fill_rest(p: np.ndarray, lo: np.ndarray, hi: np.ndarray, who: np.ndarray) -> np.ndarray:
  # Any split of the remaining mass among indifferent languages is optimal; spread it by their headroom.
  rest = 1.0 - p.sum()
  room = np.where(who, hi - p, 0.0)
  if rest > 0 and room.sum() > 0:
    p = p + room * min(1.0, rest / room.sum())
  return p
