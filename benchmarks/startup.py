"""Start-up of a study worker's process: what a process pays before its first train step.

A local study's worker (codelaw.study.worker) is a fresh Python process that imports the executor and the
trainer and initialises the CPU backend before its first run; until the worker pool, every run paid this. This starts that process `--repeats` times and prints JSON lines: each
start's wall, user and sys time, then the median, and the cumulative import time (`python -X importtime`)
of the packages that dominate it.

  python benchmarks/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

# What a worker imports before training (codelaw.study.executor.RunJob -> train_run -> trainer).
RUN_IMPORTS = "import submitit, tensorboardX, codelaw.study.executor, codelaw.train.trainer; import jax; jax.devices()"
PACKAGES = ("ml_dtypes", "jax", "flax", "grain", "orbax.checkpoint", "optax", "tensorboardX", "submitit")


def emit(**record) -> None:
  print(json.dumps(record), flush=True)


def start_once(env: dict) -> dict:
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  t = time.perf_counter()
  subprocess.run([sys.executable, "-c", RUN_IMPORTS], env=env, check=True)
  wall = time.perf_counter() - t
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  return dict(wall_s=wall, user_s=after.ru_utime - before.ru_utime, sys_s=after.ru_stime - before.ru_stime)


def import_times(env: dict) -> dict[str, float]:
  """Cumulative seconds of each of PACKAGES, from the first time the process imports it."""
  out = subprocess.run(
    [sys.executable, "-X", "importtime", "-c", RUN_IMPORTS], env=env, capture_output=True, text=True, check=True
  )
  times = {}
  for line in out.stderr.splitlines():
    if not line.startswith("import time:") or line.count("|") != 2:
      continue
    _, cumulative, name = line.split("|")
    name = name.strip()
    if name in PACKAGES and name not in times and cumulative.strip().isdigit():
      times[name] = int(cumulative) / 1e6
  return times


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  emit(
    kind="machine",
    cpus=os.cpu_count(),
    load_avg=os.getloadavg(),
    versions={p: importlib.metadata.version(p.split(".")[0].replace("_", "-")) for p in ("ml_dtypes", "numpy", "jax")},
  )
  starts = [start_once(env) for _ in range(args.repeats)]
  for record in starts:
    emit(kind="start", **record)
  emit(kind="median", repeats=args.repeats, **{k: float(np.median([s[k] for s in starts])) for k in starts[0]})
  emit(kind="import_s", **import_times(env))


if __name__ == "__main__":
  main()
