"""Cooldown branches vs independent runs: same L(N, D_k) at a fraction of the cost?

One WSD run to the largest budget with cooldown branches at the smaller ones, then one independent WSD run
per budget (same seed, data order and decay fraction). Prints JSON lines: one per budget (branch vs
independent mean/max eval-loss difference) and a summary (steps and wall-time cost ratio).

    python benchmarks/cooldown_branches.py [--size cpu-50k] [--steps 40,80,160] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "configs" / "train"))

import jax  # noqa: E402
import tiny  # noqa: E402

from codelaw.train import cooldown, trainer  # noqa: E402


def _config(args, tokens: int, budgets: tuple[int, ...]):
  config = tiny.get_config(f"size={args.size},tokens={tokens},seq_len={args.seq_len},batch={args.batch}")
  config.train.update(
    eval_every=0,
    eval_tokens=args.eval_tokens,
    checkpoint_every=10**6,
    log_every=10,
    cooldown_budgets=budgets,
    cooldown_fraction=args.fraction,
  )
  # An independent run decays over the same last fraction as a branch of the same budget.
  config.optim.update(decay_fraction=args.fraction, warmup_steps=args.warmup)
  return config


def _timed(config, workdir: Path) -> tuple[dict, float]:
  start = time.perf_counter()
  with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON lines
    result = trainer.main(config, str(workdir))
  return result, time.perf_counter() - start


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--size", default="cpu-50k")
  parser.add_argument("--steps", default="40,80,160", help="budgets in steps, comma-separated; the last is the run")
  parser.add_argument("--seq_len", type=int, default=128)
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--fraction", type=float, default=0.2)
  parser.add_argument("--warmup", type=int, default=10)
  parser.add_argument("--eval_tokens", type=int, default=16384)
  parser.add_argument("--workdir", default=None)
  args = parser.parse_args()
  tokens_per_step = args.seq_len * args.batch
  steps = sorted(int(s) for s in args.steps.split(","))
  budgets = [s * tokens_per_step for s in steps]
  root = Path(args.workdir or tempfile.mkdtemp(prefix="cooldown_bench_"))
  machine = f"{os.cpu_count()}-core {jax.devices()[0].platform}"

  branched, branched_s = _timed(_config(args, budgets[-1], tuple(budgets[:-1])), root / "branched")
  independent_s = 0.0
  for budget, record in zip(budgets, branched["budgets"]):
    alone, seconds = _timed(_config(args, budget, ()), root / f"independent_{budget}")
    independent_s += seconds
    diffs = [record["eval"][lang]["loss"] - alone["eval"][lang]["loss"] for lang in alone["eval"]]
    mean = lambda r: sum(v["loss"] for v in r.values()) / len(r)  # noqa: E731
    print(
      json.dumps(
        {
          "bench": "cooldown_branches",
          "size": args.size,
          "budget_tokens": budget,
          "steps": budget // tokens_per_step,
          "branch_mean_loss": mean(record["eval"]),
          "independent_mean_loss": mean(alone["eval"]),
          "mean_abs_diff": sum(abs(d) for d in diffs) / len(diffs),
          "max_abs_diff": max(abs(d) for d in diffs),
          "machine": machine,
        }
      ),
      flush=True,
    )
  plan = cooldown.plan(budgets[:-1], budgets[-1], tokens_per_step, args.fraction)
  print(
    json.dumps(
      {
        "bench": "cooldown_branches_cost",
        "size": args.size,
        "budgets": budgets,
        **cooldown.cost(plan),
        "branched_wall_s": branched_s,
        "independent_wall_s": independent_s,
        "wall_ratio": branched_s / independent_s,
        "machine": machine,
      }
    ),
    flush=True,
  )


if __name__ == "__main__":
  main()
