"""Coverage of the per-language law's 95% intervals on synthetic data with run-level noise.

Each dataset: Epoch's Chinchilla law as the truth, 5 sizes x 3 seeds = 15 WSD runs, 6 cooldown budgets per
run (90 rows). Every run gets one offset, log L_run = log L * (1 + 0.015 z_run) (about 1.5% of log L), and
every row its own noise of 0.1% of log L. Three intervals per dataset and parameter:
  row_bootstrap  the former procedure: rows resampled independently, refits warm-started at the point fit
  run_bootstrap  codelaw's: runs resampled (a run's rows together), every refit cold from bootstrap_grid
  profile        profile likelihood (alpha, beta only)
Prints one JSON line per dataset and a summary line with the coverage of the true alpha, beta and E.
  python benchmarks/fit_coverage.py [--datasets 21] [--first 0] [--resamples 200]
(--first splits the datasets over processes: dataset i is always generated from seed i.)
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import numpy as np

from codelaw.laws import lbfgs, per_language
from codelaw.laws.bootstrap import percentile_intervals, resample_weights
from codelaw.laws.profile import profile_intervals
from codelaw.laws.runs_io import LanguageRuns

TRUTH = dict(E=1.82, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)
SIZES = np.geomspace(5e7, 1.6e9, 5)
BUDGETS = np.geomspace(2e9, 6.4e10, 6)
SEEDS = 3
RUN_OFFSET, POINT_NOISE = 0.015, 0.001
CHECKED = ("alpha", "beta", "E")


def dataset(seed: int) -> LanguageRuns:
  rng = np.random.default_rng(seed)
  N, D, run = (
    np.array(x)
    for x in zip(*[(n, d, f"size{i}-seed{s}") for i, n in enumerate(SIZES) for s in range(SEEDS) for d in BUDGETS])
  )
  logL = np.log(TRUTH["E"] + TRUTH["A"] / N ** TRUTH["alpha"] + TRUTH["B"] / D ** TRUTH["beta"])
  offsets = dict(zip(np.unique(run), rng.normal(size=len(np.unique(run)))))
  z = np.array([offsets[r] for r in run])
  logL = logL * (1 + RUN_OFFSET * z) + POINT_NOISE * logL * rng.normal(size=len(logL))
  return LanguageRuns(N.astype(float), D.astype(float), np.exp(logL), run)


def public(p) -> dict[str, np.ndarray]:
  return {"E": np.exp(p["e"]), "alpha": np.asarray(p["alpha"]), "beta": np.asarray(p["beta"])}


def row_bootstrap(data, mask, best, resamples: int, rng) -> dict[str, np.ndarray]:
  """The former procedure: row resampling, each refit warm-started at the point fit (+3 jittered copies)."""
  weights = resample_weights(rng, mask[0], resamples)
  scale = {"e": 0.3, "a": 1.0, "b": 1.0, "alpha": 0.05, "beta": 0.05}
  starts = {
    k: np.concatenate([np.full((resamples, 1), v[0]), v[0] + rng.normal(0, scale[k], (resamples, 3))], 1)
    for k, v in best.items()
  }
  data_b = {k: np.repeat(v, resamples, axis=0) for k, v in data.items()}
  pb, vb = lbfgs.multistart_minimize(per_language.objective, 100, starts, data_b, weights)
  return public(jax.device_get(lbfgs.best_start(pb, vb))[0])


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--datasets", type=int, default=21)
  parser.add_argument("--first", type=int, default=0, help="index of the first dataset")
  parser.add_argument("--resamples", type=int, default=200)
  args = parser.parse_args()
  machine = f"{platform.machine()} CPU x{jax.device_count('cpu')}, jax {jax.__version__}"
  covered = {m: {k: [] for k in CHECKED} for m in ("row_bootstrap", "run_bootstrap", "profile")}
  t0 = time.perf_counter()
  for i in range(args.first, args.first + args.datasets):
    runs = dataset(i)
    _, data, mask = per_language.pad({"x": runs})
    with jax.enable_x64(True):
      p, v = lbfgs.multistart_minimize(
        per_language.objective, 100, per_language.tile_starts(per_language.small_grid(), 1), data, mask
      )
      best = jax.device_get(lbfgs.best_start(p, v))[0]
      rng = np.random.default_rng(1000 + i)
      draws = {
        "row_bootstrap": row_bootstrap(data, mask, best, args.resamples, rng),
        "run_bootstrap": public(per_language.run_bootstrap([runs], data, args.resamples, rng)),
      }
      prof = profile_intervals(data, mask, best, run_groups=[runs.runs()], level=0.95, num_steps=100)
    line = {"dataset": i, "estimate": {k: float(public(best)[k][0]) for k in CHECKED}}
    for method, d in draws.items():
      ci = percentile_intervals(d, 0.95)
      line[method] = ci
      for k in CHECKED:
        covered[method][k].append(ci[k][0] <= TRUTH[k] <= ci[k][1])
    line["profile"] = {k: prof[k][0]["interval"] for k in ("alpha", "beta")}
    for k in ("alpha", "beta"):
      covered["profile"][k].append(prof[k][0]["interval"][0] <= TRUTH[k] <= prof[k][0]["interval"][1])
    print(json.dumps(line), flush=True)
  print(
    json.dumps(
      {
        "summary": "fit_coverage",
        "datasets": args.datasets,
        "resamples": args.resamples,
        "level": 0.95,
        "truth": TRUTH,
        "run_offset": RUN_OFFSET,
        "point_noise": POINT_NOISE,
        "coverage": {m: {k: float(np.mean(v)) for k, v in c.items() if v} for m, c in covered.items()},
        "wall_s": round(time.perf_counter() - t0, 1),
        "machine": machine,
      }
    ),
    flush=True,
  )


if __name__ == "__main__":
  main()
