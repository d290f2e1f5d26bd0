"""Profile-likelihood intervals for the exponents alpha and beta of the per-language law.

For each exponent, a grid of fixed values (a factor of 10 either side of the estimate) is fitted with the
other four parameters free, every grid point of every language from a small cold grid in one vmapped call.
The profile uses the Gaussian likelihood of the log losses (sum of squares, sigma profiled out), so the
interval is {v : (RSS(v) - RSS_min) / RSS_min <= F(level; 1, n_eff - 5) / (n_eff - 5)}.

Rows of one run share its offset, so they are not independent observations: n_eff is the row count divided
by Kish's design effect 1 + (m - 1) rho, with rho the intraclass correlation of the least-squares residuals
within runs (one-way ANOVA estimate, clipped to [0, 1]) and m the mean rows per run. An interval that
reaches the end of the grid is open (`open: True`): the data do not bound the exponent there.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from codelaw.laws import forms, lbfgs

PROFILED = ("alpha", "beta")
POINTS = 81
SPAN = 10.0  # the grid runs from estimate / SPAN to estimate * SPAN (log-spaced)
MIN_CENTRE = 1e-2  # an exponent estimated at ~0 is profiled around this value instead
NUM_PARAMS = 5


def _sq(pred, data, weights):
  r = jnp.where(weights > 0, pred - data["logL"], 0.0)
  return jnp.sum(weights * r**2)


def _rss(params, data, weights):
  return _sq(
    forms.chinchilla_log(
      data["logN"], data["logD"], params["e"], params["a"], params["b"], params["alpha"], params["beta"]
    ),
    data,
    weights,
  )


# With an exponent fixed, its scale is fitted relative to the data's centre: a = a_c + alpha * mean(log N), so
# a_c is the log of the N term at the centre whatever alpha is, and one start box serves every grid value.
def _rss_fixed_alpha(params, data, weights):
  a = params["a"] + data["fixed"] * data["centre"]
  return _rss({**params, "a": a, "alpha": data["fixed"]}, data, weights)


def _rss_fixed_beta(params, data, weights):
  b = params["b"] + data["fixed"] * data["centre"]
  return _rss({**params, "b": b, "beta": data["fixed"]}, data, weights)


_FIXED = {"alpha": _rss_fixed_alpha, "beta": _rss_fixed_beta}


def _free_starts(fixed: str, groups: int) -> dict[str, np.ndarray]:
  """A 2^4 grid over the four free parameters, tiled over groups. The scale of the fixed exponent is centred
  (see above): its term at the data's centre starts at e^-3 or e^-1 of a loss."""
  levels = {"e": [-0.5, 0.5], "a": [5.0, 15.0], "b": [5.0, 15.0], "alpha": [0.3, 1.0], "beta": [0.3, 1.0]}
  levels[{"alpha": "a", "beta": "b"}[fixed]] = [-3.0, -1.0]
  free = [k for k in levels if k != fixed]
  pts = np.array(list(itertools.product(*(levels[k] for k in free))), np.float64)
  return {k: np.broadcast_to(pts[:, i], (groups, len(pts))).copy() for i, k in enumerate(free)}


def design_effect(resid: np.ndarray, run: np.ndarray) -> float:
  """Kish's 1 + (m - 1) rho with rho the ANOVA intraclass correlation of residuals within runs."""
  uniq, inv = np.unique(run, return_inverse=True)
  k, n = len(uniq), len(resid)
  if k in (1, n):
    return 1.0 if k == n else float(n)
  sizes = np.bincount(inv)
  means = np.bincount(inv, resid) / sizes
  msb = np.sum(sizes * (means - resid.mean()) ** 2) / (k - 1)
  msw = np.sum((resid - means[inv]) ** 2) / (n - k)
  m0 = (n - np.sum(sizes**2) / n) / (k - 1)
  denom = msb + (m0 - 1) * msw
  rho = 0.0 if denom <= 0 else float(np.clip((msb - msw) / denom, 0.0, 1.0))
  return 1.0 + (n / k - 1.0) * rho


def _interval(values: np.ndarray, rel: np.ndarray, crit: float) -> dict:
  """The connected region around the minimum where rel <= crit, ends interpolated in log(value)."""
  i0 = int(np.argmin(rel))
  lo_i, hi_i = i0, i0
  while lo_i > 0 and rel[lo_i - 1] <= crit:
    lo_i -= 1
  while hi_i < len(rel) - 1 and rel[hi_i + 1] <= crit:
    hi_i += 1
  lv = np.log(values)

  def cross(inside: int, outside: int) -> float:
    if not reached:
      return float(values[outside])  # the neighbour, not a line through two points that are both outside
    t = (crit - rel[inside]) / (rel[outside] - rel[inside])
    return float(np.exp(lv[inside] + t * (lv[outside] - lv[inside])))

  # No grid value within crit of the optimum: the fixed-exponent fits did not come down to the free fit's
  # RSS, so the profile does not bound the exponent; its ends are the grid values beside the minimum and the
  # interval counts as open (weakly determined).
  reached = bool(rel[i0] <= crit)
  open_lo, open_hi = lo_i == 0, hi_i == len(rel) - 1
  lo = float(values[0]) if open_lo else cross(lo_i, lo_i - 1)
  hi = float(values[-1]) if open_hi else cross(hi_i, hi_i + 1)
  return {"interval": [lo, hi], "open": bool(open_lo or open_hi or not reached)}


def profile_intervals(
  data: dict, mask: np.ndarray, best: dict, *, run_groups: list[np.ndarray], level: float, num_steps: int
) -> dict[str, list[dict]]:
  """{"alpha": [per group {"interval": [lo, hi], "open": bool, "n_eff": float}], "beta": [...]}.

  data/mask: the padded per-language arrays of the point fit ([G, M]); best: its parameters ([G] leaves);
  run_groups: each group's run id per (unpadded) row. Call inside `jax.enable_x64(True)`."""
  G, M = mask.shape
  # The least-squares optimum, warm-started at the Huber fit: RSS_min and the residuals for rho.
  warm = {k: np.asarray(v)[:, None] for k, v in best.items()}
  p_ls, rss_ls = jax.device_get(lbfgs.multistart_minimize(_rss, num_steps, warm, data, mask))
  rss_min = np.asarray(rss_ls)[:, 0]
  n_eff = np.empty(G)
  for g in range(G):
    n = len(run_groups[g])
    pred = forms.chinchilla_log(
      data["logN"][g, :n], data["logD"][g, :n], *(p_ls[k][g, 0] for k in ("e", "a", "b", "alpha", "beta"))
    )
    n_eff[g] = n / design_effect(np.asarray(pred) - data["logL"][g, :n], run_groups[g])
  out: dict[str, list[dict]] = {}
  for name in PROFILED:
    centre = np.maximum(np.asarray(best[name]), MIN_CENTRE)
    values = centre[:, None] * np.geomspace(1 / SPAN, SPAN, POINTS)[None, :]  # [G, P]
    data_p = {k: np.repeat(v, POINTS, axis=0) for k, v in data.items()}
    data_p["fixed"] = values.reshape(-1)
    log_x = data["logN" if name == "alpha" else "logD"]
    data_p["centre"] = np.repeat((log_x * mask).sum(1) / mask.sum(1), POINTS)
    _, vals = lbfgs.multistart_minimize(
      _FIXED[name], num_steps, _free_starts(name, G * POINTS), data_p, np.repeat(mask, POINTS, axis=0)
    )
    prof = np.nanmin(np.where(np.isfinite(vals), np.asarray(vals), np.inf), axis=1).reshape(G, POINTS)
    blocks = []
    for g in range(G):
      floor = min(rss_min[g], prof[g].min())
      dof = max(n_eff[g] - NUM_PARAMS, 1.0)
      crit = float(scipy.stats.f.ppf(level, 1, dof)) / dof
      rel = (prof[g] - floor) / max(floor, 1e-300)
      blocks.append({**_interval(values[g], rel, crit), "n_eff": float(n_eff[g])})
    out[name] = blocks
  return out
