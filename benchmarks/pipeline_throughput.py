"""Packed tokens/s of the mixture pipeline on one CPU core, against what the trainer consumes.

    python benchmarks/pipeline_throughput.py [--corpus sample|DIR] [--seconds 20] [--trainer-sizes cpu-50k,cpu-200k]

Prints JSON lines: one per pipeline variant ({"bench": "pipeline", ...}), one per trainer size
({"bench": "train_step", ...}, measured with the project's jitted train step on all cores, batch 8 x 256) and a
summary with the ratio pipeline / smallest model's consumption (target >= 10). `--trainer-sizes ''` skips the
trainer and uses `--assumed-consumption` (default 5000 tokens/s, the upper end measured for the smallest
models on 2 cores) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from codelaw import languages
from codelaw.data import pipeline, translation
from codelaw.data.sample import resolve_corpus


def _corpus(name: str) -> Path:
  try:
    return resolve_corpus(name)
  except Exception as e:  # no sample corpus yet: real text (the Python stdlib) as byte tokens
    print(json.dumps({"note": f"corpus {name!r} unavailable ({e}); using stdlib byte corpus"}), file=sys.stderr)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_pipeline import build_corpus

    return build_corpus(Path(tempfile.mkdtemp()) / "corpus", docs_per_lang=200)


def bench_pipeline(corpus: Path, props: dict, seq_len: int, batch: int, seconds: float, spec=None) -> dict:
  t0 = time.perf_counter()
  it = iter(
    pipeline.mixture_dataset(
      corpus,
      props,
      seq_len=seq_len,
      global_batch_size=batch,
      seed=0,
      process_index=0,
      process_count=1,
      translation=spec,
    )
  )
  next(it)
  setup = time.perf_counter() - t0
  n = weighted = 0
  t0 = time.perf_counter()
  while time.perf_counter() - t0 < seconds:
    b = next(it)
    n += b["inputs"].size
    weighted += float(b["weights"].sum())
  dt = time.perf_counter() - t0
  return {
    "bench": "pipeline",
    "seq_len": seq_len,
    "global_batch": batch,
    "translation": None if spec is None else spec.strategy,
    "packed_tokens_per_s": round(n / dt),
    "weighted_tokens_per_s": round(weighted / dt),
    "setup_s": round(setup, 2),
    "tokens": n,
  }


def bench_train_step(size: str, corpus: Path, seq_len: int, batch: int, steps: int) -> dict:
  import jax

  from codelaw.data import corpus_format
  from codelaw.model import sizes
  from codelaw.train import mesh as mesh_lib
  from codelaw.train import optim
  from codelaw.train import step as step_lib

  vocab = corpus_format.read_manifest(corpus).vocab_size
  cfg = sizes.model_config(size, vocab)
  mesh = mesh_lib.make_mesh({"data": -1, "fsdp": 1, "tensor": 1}, jax.devices()[:1])
  tx = optim.make_optimizer({"peak_lr": 1e-3})
  state, shardings = step_lib.init_train_state(cfg, tx, mesh, 0)
  train_step = step_lib.make_train_step(cfg, tx, mesh, shardings)
  it = iter(
    pipeline.mixture_dataset(
      corpus,
      {n: 1.0 for n in languages.NAMES},
      seq_len=seq_len,
      global_batch_size=batch,
      seed=0,
      process_index=0,
      process_count=1,
    )
  )
  data = [step_lib.shard_batch(next(it), mesh) for _ in range(4)]
  state, m = train_step(state, data[0], 1e-3)  # compile
  jax.block_until_ready(m["loss"])
  times = []
  for i in range(steps):
    t0 = time.perf_counter()
    state, m = train_step(state, data[i % len(data)], 1e-3)
    jax.block_until_ready(m["loss"])
    times.append(time.perf_counter() - t0)
  return {
    "bench": "train_step",
    "size": size,
    "seq_len": seq_len,
    "global_batch": batch,
    "tokens_per_s": round(batch * seq_len / float(np.median(times))),
    "steps": steps,
  }


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--corpus", default="sample")
  ap.add_argument("--seconds", type=float, default=15.0)
  ap.add_argument("--seq-len", type=int, default=256)
  ap.add_argument("--batch", type=int, default=8)
  ap.add_argument("--trainer-sizes", default="cpu-50k,cpu-200k")
  ap.add_argument("--train-steps", type=int, default=10)
  ap.add_argument("--assumed-consumption", type=float, default=5000.0)
  args = ap.parse_args()
  corpus = _corpus(args.corpus)

  trainer = []
  for size in filter(None, args.trainer_sizes.split(",")):
    trainer.append(bench_train_step(size, corpus, args.seq_len, args.batch, args.train_steps))
    print(json.dumps(trainer[-1]), flush=True)

  if hasattr(os, "sched_setaffinity"):  # the pipeline itself on one core
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
  uniform = {n: 1.0 for n in languages.NAMES}
  skewed = {"python": 0.4, "java": 0.2, "javascript": 0.1, "typescript": 0.1, "csharp": 0.1, "go": 0.05, "rust": 0.05}
  results = [
    bench_pipeline(corpus, uniform, args.seq_len, args.batch, args.seconds),
    bench_pipeline(corpus, skewed, args.seq_len, 64, args.seconds),
  ]
  if (corpus / "tokenizer.json").exists():
    results.append(
      bench_pipeline(
        corpus,
        uniform,
        args.seq_len,
        args.batch,
        args.seconds,
        translation.TranslationSpec(strategy="paired", weight=0.1),
      )
    )
  for r in results:
    r["cores"] = 1
    print(json.dumps(r), flush=True)

  consumption = min((t["tokens_per_s"] for t in trainer), default=None)
  smallest = max((t["tokens_per_s"] for t in trainer), default=args.assumed_consumption)
  slowest_pipeline = min(r["packed_tokens_per_s"] for r in results)
  print(
    json.dumps(
      {
        "bench": "summary",
        "slowest_pipeline_tokens_per_s": slowest_pipeline,
        "smallest_model_tokens_per_s": smallest,
        "consumption_source": "measured" if trainer else "assumed",
        "largest_measured_model_tokens_per_s": consumption,
        "ratio_vs_smallest_model": round(slowest_pipeline / smallest, 1),
        "target_ratio": 10,
        "ok": slowest_pipeline >= 10 * smallest,
      }
    )
  )


if __name__ == "__main__":
  main()
