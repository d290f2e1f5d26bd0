"""Chinchilla fit speed: the same data and the same starts through scipy L-BFGS-B (one start at a time, the
usual way, with an analytic gradient) and through codelaw's vmapped JAX fit (all starts in one call).

Prints one JSON line per method, then a summary line with the speed-up and both best objectives. Then the
cost of uncertainty on the same data: the 200-resample run-level bootstrap (every resample refitted cold from
`per_language.bootstrap_grid`, one vmapped call) against the point fit (`--starts` grid), their wall-time
ratio (target <= 3), and whether the bootstrap grid reaches the point fit's optimum on the full data.
  python benchmarks/fit_speed.py [--starts epoch|small] [--steps 100] [--resamples 200] [--skip-scipy]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import numpy as np
import scipy.optimize
import scipy.special

from codelaw.laws import lbfgs, per_language
from codelaw.laws.runs_io import LanguageRuns

# Epoch AI's Chinchilla estimates, used as the truth for the synthetic problem.
TRUTH = dict(E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)


def problem(seed: int = 0, noise: float = 0.01):
  rng = np.random.default_rng(seed)
  N, D = (x.ravel() for x in np.meshgrid(np.geomspace(5e7, 1.6e10, 8), np.geomspace(1e9, 5e11, 8)))
  L = TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"]
  return np.log(N), np.log(D), np.log(L * np.exp(rng.normal(0.0, noise, N.shape)))


def numpy_objective(x, logN, logD, logL, delta=per_language.HUBER_DELTA):
  """Summed Huber of log residuals and its gradient in (e, a, b, alpha, beta), as scipy users write it."""
  e, a, b, alpha, beta = x
  terms = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])
  pred = scipy.special.logsumexp(terms, axis=0)
  r = pred - logL
  soft = np.exp(terms - pred)
  dr = np.clip(r, -delta, delta)  # d huber / d r
  grad = np.array(
    [
      np.sum(dr * soft[2]),
      np.sum(dr * soft[0]),
      np.sum(dr * soft[1]),
      -np.sum(dr * soft[0] * logN),
      -np.sum(dr * soft[1] * logD),
    ]
  )
  return float(np.sum(scipy.special.huber(delta, r))), grad


def run_scipy(starts: np.ndarray, data) -> tuple[float, float]:
  t0 = time.perf_counter()
  best = np.inf
  for x0 in starts:
    res = scipy.optimize.minimize(numpy_objective, x0, args=data, jac=True, method="L-BFGS-B")
    if np.isfinite(res.fun):
      best = min(best, res.fun)
  return time.perf_counter() - t0, best


def run_jax(starts: np.ndarray, data, steps: int) -> tuple[float, float, float]:
  logN, logD, logL = data
  batch = {"logN": logN[None], "logD": logD[None], "logL": logL[None]}
  weights = np.ones((1, len(logN)))
  params0 = {k: starts[None, :, i] for i, k in enumerate(("e", "a", "b", "alpha", "beta"))}
  with jax.enable_x64(True):
    t0 = time.perf_counter()
    _, values = lbfgs.multistart_minimize(per_language.objective, steps, params0, batch, weights)
    values.block_until_ready()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, values = lbfgs.multistart_minimize(per_language.objective, steps, params0, batch, weights)
    best = float(np.nanmin(np.asarray(values)))
    return time.perf_counter() - t0, first, best


def run_bootstrap_cost(data, steps: int, point_s: float, point_best: float, resamples: int) -> dict:
  """Wall time of the run-level bootstrap of one language (8 sizes x 8 budgets; each size one run), timed
  after a first compiling call, and the cold grid's optimum on the full data."""
  logN, logD, logL = data
  runs = LanguageRuns(np.exp(logN), np.exp(logD), np.exp(logL), np.asarray([f"N{n:.0f}" for n in np.exp(logN)]))
  batch = {"logN": logN[None], "logD": logD[None], "logL": logL[None]}
  with jax.enable_x64(True):
    per_language.run_bootstrap([runs], batch, resamples, np.random.default_rng(0), steps)
    t0 = time.perf_counter()
    per_language.run_bootstrap([runs], batch, resamples, np.random.default_rng(1), steps)
    boot_s = time.perf_counter() - t0
    _, values = lbfgs.multistart_minimize(
      per_language.objective,
      steps,
      per_language.tile_starts(per_language.bootstrap_grid(), 1),
      batch,
      np.ones((1, len(logN))),
    )
    grid_best = float(np.nanmin(np.asarray(values)))
  return {
    "method": "run_bootstrap_cold",
    "resamples": resamples,
    "starts_per_resample": per_language.BOOTSTRAP_STARTS,
    "wall_s": round(boot_s, 3),
    "point_fit_wall_s": round(point_s, 3),
    "bootstrap_over_point_fit": round(boot_s / point_s, 2),
    "target_max_ratio": 3.0,
    "bootstrap_grid_best_minus_point_best": grid_best - point_best,
    "bootstrap_grid_reaches_optimum": bool(grid_best <= point_best * (1 + 1e-6) + 1e-12),
  }


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--starts", choices=("epoch", "small"), default="epoch")
  parser.add_argument("--steps", type=int, default=100)
  parser.add_argument("--resamples", type=int, default=200)
  parser.add_argument("--skip-scipy", action="store_true", help="only the JAX point fit and the bootstrap")
  args = parser.parse_args()
  grid = per_language.epoch_grid() if args.starts == "epoch" else per_language.small_grid()
  starts = np.stack([grid[k] for k in ("e", "a", "b", "alpha", "beta")], axis=1)
  data = problem()
  machine = f"{platform.machine()} CPU x{jax.device_count('cpu')}, jax {jax.__version__}"
  j_time, j_first, j_best = run_jax(starts, data, args.steps)
  print(
    json.dumps(
      {
        "method": "jax_vmapped_lbfgs",
        "starts": len(starts),
        "steps": args.steps,
        "wall_s": round(j_time, 3),
        "first_call_s_incl_compile": round(j_first, 3),
        "best_objective": j_best,
        "machine": machine,
      }
    ),
    flush=True,
  )
  print(
    json.dumps({**run_bootstrap_cost(data, args.steps, j_time, j_best, args.resamples), "machine": machine}), flush=True
  )
  if args.skip_scipy:
    return
  s_time, s_best = run_scipy(starts, data)
  print(
    json.dumps(
      {
        "method": "scipy_lbfgsb_loop",
        "starts": len(starts),
        "wall_s": round(s_time, 3),
        "best_objective": s_best,
        "machine": machine,
      }
    ),
    flush=True,
  )
  print(
    json.dumps(
      {
        "summary": "fit_speed",
        "speedup": round(s_time / j_time, 2),
        "speedup_incl_compile": round(s_time / j_first, 2),
        "jax_best_minus_scipy_best": j_best - s_best,
        "jax_not_worse": bool(j_best <= s_best * (1 + 1e-9)),
      }
    ),
    flush=True,
  )


if __name__ == "__main__":
  main()
