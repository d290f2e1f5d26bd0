"""Per-run overhead of a training run: wall time minus train-step time, and its user/sys CPU split.

Runs one quickstart-shaped training run (WSD with cooldown branches, per-language evaluation, checkpoints)
through the real CLI in a child process, several ways, and prints one JSON line each:
  cold    an empty persistent compilation cache (what the first run of a study pays)
  warm    the same shapes again (another seed: another run id) on the cache the cold run filled
and each with the allocator as glibc leaves it (`default`) and with `codelaw.train.host.training_env`
(`keep_mapped`, what the local study executor gives its runs).

Train-step time = optimizer steps x the median steady step time the run itself logged (tokens/s between
log lines, compilation excluded); overhead = wall - train-step time (start-up, compilation, evaluation,
checkpoints, branch set-up).

  python benchmarks/train_overhead.py [--size cpu-100k] [--tokens 524288] [--budgets 131072,262144]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from study_overhead import train_step_time  # noqa: E402  (benchmarks/, the script's own folder)

from codelaw.train import host  # noqa: E402


def emit(**record) -> None:
  print(json.dumps(record), flush=True)


def run_once(args, workdir: Path, cache: Path, seed: int, env: dict) -> dict:
  cmd = [
    sys.executable,
    "-m",
    "codelaw.launch",
    "--config",
    f"{ROOT / 'configs/train/tiny.py'}:size={args.size},tokens={args.tokens},seq_len={args.seq_len},batch={args.batch}",
    "--workdir",
    str(workdir),
    f"--config.seed={seed}",
    f"--config.data.corpus={args.corpus}",
    f"--config.train.eval_tokens={args.eval_tokens}",
    f"--config.train.cooldown_budgets=({args.budgets},)",
    "--config.train.log_every=10",
    f"--config.train.eval_every={args.eval_every}",
    f"--config.train.checkpoint_every={args.checkpoint_every}",
    "--config.optim.warmup_steps=10",
  ]
  env = dict(env, JAX_COMPILATION_CACHE_DIR=str(cache), JAX_PLATFORMS="cpu")
  start = time.perf_counter()
  proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  _, status, usage = os.wait4(proc.pid, 0)
  wall = time.perf_counter() - start
  stderr = proc.stderr.read()
  if os.waitstatus_to_exitcode(status) != 0:
    raise SystemExit(f"training run failed:\n{stderr[-3000:]}")
  steps, step_s = train_step_time(workdir, args.seq_len * args.batch)
  train_s = steps * step_s
  cpu = usage.ru_utime + usage.ru_stime
  return dict(
    wall_s=wall,
    steps=steps,
    step_s=step_s,
    train_step_s=train_s,
    overhead_s=wall - train_s,
    overhead_frac=(wall - train_s) / wall,
    user_s=usage.ru_utime,
    sys_s=usage.ru_stime,
    sys_frac=usage.ru_stime / cpu,
    minor_faults=usage.ru_minflt,
  )


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--size", default="cpu-100k")
  parser.add_argument("--tokens", type=int, default=524288)
  parser.add_argument("--budgets", default="131072,262144")
  parser.add_argument("--seq-len", type=int, default=256)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--eval-tokens", type=int, default=16384)
  parser.add_argument("--eval-every", type=int, default=0)
  parser.add_argument("--checkpoint-every", type=int, default=100)
  parser.add_argument("--corpus", default="sample")
  parser.add_argument("--allocators", default="default,keep_mapped")
  args = parser.parse_args()
  emit(
    kind="machine",
    cpus=os.cpu_count(),
    load_avg=os.getloadavg(),
    size=args.size,
    tokens=args.tokens,
    budgets=args.budgets,
    eval_tokens=args.eval_tokens,
  )
  base_env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
  envs = {"default": base_env, "keep_mapped": host.training_env(base_env)}
  with tempfile.TemporaryDirectory() as tmp:
    for seed, allocator in enumerate(args.allocators.split(",")):
      cache = Path(tmp) / f"cache-{allocator}"
      for phase, run_seed in (("cold", 2 * seed), ("warm", 2 * seed + 1)):
        record = run_once(args, Path(tmp) / f"{allocator}-{phase}", cache, run_seed, envs[allocator])
        emit(kind="run", allocator=allocator, cache=phase, **record)


if __name__ == "__main__":
  main()
