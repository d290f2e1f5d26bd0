"""The multilingual law's fit on a study's results.csv: one problem over all languages (the former procedure)
against one problem per language (`multilingual.minimize` for a separable family), the same random starts.

For each procedure and start count: the point fit (its objective, the sum over languages) and the run-level
bootstrap (the same resamples for every procedure, every resample refitted cold), with wall and CPU time.
Quality is measured against the best objective any procedure reached on each resample: the share of
resamples within 1e-3 (relative) of it, the largest relative excess, and (effective_data) per language the
largest shift of a 95% bootstrap interval, its beta's or one of its tau's, against the last procedure listed
(both ends' absolute moves, summed).
Prints one JSON line per procedure.
  python benchmarks/multilingual_fit.py RUNS.csv [--law effective_data] [--resamples 200]
      [--procedures joint:512:32,language:512:32,language:128:8:600]
      (procedure:point starts:bootstrap starts[:L-BFGS steps, default --num-steps])
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time

import numpy as np

from codelaw.laws import multilingual as ml
from codelaw.laws import runs_io
from codelaw.laws.bootstrap import cluster_resample_weights, percentile_intervals

TOLERANCE = 1e-3


def _fit(family, ds, K, weights, starts, seed, num_steps):
  t0, c0 = time.perf_counter(), time.process_time()
  params, values = ml.minimize(family, ds, weights, ml.random_starts(family, K, len(weights), starts, seed), num_steps)
  return params, values, time.perf_counter() - t0, time.process_time() - c0


def _draws(boot: dict, i: int, languages: tuple[str, ...]) -> dict[str, np.ndarray]:
  """Language i's beta and tau draws (effective_data)."""
  out = {"beta": np.exp(boot["log_beta"][:, i])}
  out.update({f"tau<-{s}": np.tanh(boot["tau_raw"][:, i, j]) for j, s in enumerate(languages) if j != i})
  return out


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("runs")
  parser.add_argument("--law", default="effective_data")
  parser.add_argument("--resamples", type=int, default=200)
  parser.add_argument("--num-steps", type=int, default=300)
  parser.add_argument("--procedures", default="joint:512:32,language:512:32,language:128:8")
  args = parser.parse_args()
  table = runs_io.load_results_table(args.runs)
  family = ml.get_family(args.law)
  K = len(table.languages)
  ds = ml.build_dataset(family, table)
  weights = cluster_resample_weights(np.random.default_rng(1), ds.run_id, args.resamples, ds.mask)
  results = []
  for spec in args.procedures.split(","):
    kind, point_starts, boot_starts, *steps = spec.split(":")
    num_steps = int(steps[0]) if steps else args.num_steps
    fam = family if kind == "language" else dataclasses.replace(family, name=f"{family.name}_joint", separable=False)
    _, point, point_wall, point_cpu = _fit(fam, ds, K, ds.mask[None], int(point_starts), 0, num_steps)
    boot, values, boot_wall, boot_cpu = _fit(fam, ds, K, weights, int(boot_starts), 2, num_steps)
    results.append((spec, point[0], boot, values, point_wall, point_cpu, boot_wall, boot_cpu))
  best_point = min(r[1] for r in results)
  best_boot = np.min([r[3] for r in results], axis=0)
  reference = results[-1][2]
  for spec, point, boot, values, point_wall, point_cpu, boot_wall, boot_cpu in results:
    excess = (values - best_boot) / best_boot
    shifts = {}
    for i, name in enumerate(table.languages if args.law == "effective_data" else ()):
      ci = percentile_intervals(_draws(boot, i, table.languages), 0.95)
      ref = percentile_intervals(_draws(reference, i, table.languages), 0.95)
      shifts[name] = round(max(abs(ci[k][0] - ref[k][0]) + abs(ci[k][1] - ref[k][1]) for k in ci), 4)
    print(
      json.dumps(
        {
          "procedure": spec,
          "law": args.law,
          "rows": int(ds.mask.sum()),
          "resamples": args.resamples,
          "point_objective": float(point),
          "point_excess": float((point - best_point) / best_point),
          "point_wall_s": round(point_wall, 1),
          "point_cpu_s": round(point_cpu, 1),
          "bootstrap_wall_s": round(boot_wall, 1),
          "bootstrap_cpu_s": round(boot_cpu, 1),
          "resamples_at_best": float(np.mean(excess <= TOLERANCE)),
          "max_resample_excess": float(np.max(excess)),
          "largest_interval_shift_vs_reference": shifts,
          "machine": f"{platform.machine()} {platform.node()}",
        }
      ),
      flush=True,
    )


if __name__ == "__main__":
  main()
