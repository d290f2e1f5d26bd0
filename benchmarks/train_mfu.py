"""Training MFU of a ~1B model on one accelerator, per attention implementation.

    python benchmarks/train_mfu.py [--size 1.1B] [--attention pallas,cudnn,xla] [--seq-len 2048]
                                   [--batch 8] [--microbatch 0] [--loss-chunk 8192] [--remat dots]
                                   [--steps 10] [--vocab 32768]

Runs the project's own jitted train step (`codelaw.train.step`, bf16 compute, f32 params + AdamW) on one
device with packed synthetic batches (4 documents per row), and prints one JSON line per attention
implementation: step time, tokens/s, peak device memory (`memory_stats()["peak_bytes_in_use"]`; it
covers the whole process, so measure one implementation per process for a per-path peak) and MFU =
flops_per_token * tokens/s / peak FLOP/s, with `codelaw.model.counting.flops_per_token(causal=True)` (6N
plus the causal half of attention, MaxText's convention) and the card's dense bf16 peak from
`codelaw.train.metrics.PEAK_FLOPS_BY_KIND` (H100 SXM / H200: 989, H100 PCIe: 756, H100/H200 NVL: 835
TFLOP/s; the matched card is printed). Target on one H100/H200: MFU >= 0.40 with the Pallas kernel. On
CPU it refuses (exit 2) unless `--allow-cpu` (a smoke test of the script with a tiny `--size cpu-200k`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import jax
import numpy as np

from codelaw.model import counting, sizes
from codelaw.train import mesh as mesh_lib
from codelaw.train import metrics as metrics_lib
from codelaw.train import optim
from codelaw.train import step as step_lib


def packed_batch(batch: int, length: int, vocab: int, seed: int, docs: int = 4) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  tokens = rng.integers(2, vocab, (batch, length + 1)).astype(np.int32)
  out = {"inputs": tokens[:, :-1], "targets": tokens[:, 1:], "weights": np.ones((batch, length), np.float32)}
  segments = np.zeros((batch, length), np.int32)
  positions = np.zeros((batch, length), np.int32)
  for row in range(batch):
    cuts = np.sort(rng.choice(np.arange(1, length), size=docs - 1, replace=False))
    for doc, (a, b) in enumerate(zip([0, *cuts], [*cuts, length]), start=1):
      segments[row, a:b] = doc
      positions[row, a:b] = np.arange(b - a)
  out.update(segment_ids=segments, positions=positions)
  return out


def card_peak() -> tuple[str, float]:
  """The matched row of the peak table for device 0 (name, dense bf16 FLOP/s), or the measured CPU rate."""
  kind = jax.devices()[0].device_kind.lower()
  for key, flops in metrics_lib.PEAK_FLOPS_BY_KIND:
    if key in kind and jax.devices()[0].platform != "cpu":
      return key, flops
  return "measured", metrics_lib.measured_matmul_flops()


def bench(
  size: str,
  attention: str,
  vocab: int,
  seq_len: int,
  batch: int,
  steps: int,
  warmup: int,
  *,
  remat: str,
  microbatch: int,
  loss_chunk: int,
) -> dict:
  cfg = sizes.model_config(size, vocab, dtype="bfloat16", attention=attention, remat=remat)
  mesh = mesh_lib.make_mesh(dict(data=1, fsdp=1, tensor=1), devices=jax.devices()[:1])
  tx = optim.make_optimizer(dict(peak_lr=3e-4, warmup_steps=10, weight_decay=0.1, grad_clip=1.0))
  card, peak = card_peak()
  row = {
    "bench": "train_mfu",
    "size": size,
    "attention": attention,
    "remat": remat,
    "seq_len": seq_len,
    "batch": batch,
    "microbatch_per_device": microbatch,
    "loss_vocab_chunk": loss_chunk,
    "n_params": counting.n_params(cfg),
    "n_params_total": counting.n_params_total(cfg),
    "device": jax.devices()[0].device_kind,
    "card": card,
    "peak_tflops": round(peak / 1e12, 1),
  }
  try:
    state, shardings = step_lib.init_train_state(cfg, tx, mesh, seed=0)
    train_step = step_lib.make_train_step(
      cfg, tx, mesh, shardings, microbatch_per_device=microbatch, loss_vocab_chunk=loss_chunk
    )
    batches = [step_lib.shard_batch(packed_batch(batch, seq_len, vocab, seed=i), mesh) for i in range(2)]
    times = []
    for i in range(warmup + steps):
      start = time.perf_counter()
      state, metrics = train_step(state, batches[i % 2], 3e-4)
      float(metrics["loss"])  # wait for the step
      if i >= warmup:
        times.append(time.perf_counter() - start)
  except Exception as e:  # noqa: BLE001 - OOM or an unsupported setting is a result for this row
    return dict(row, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
  seconds = statistics.median(times)
  tokens_per_s = batch * seq_len / seconds
  mfu = counting.flops_per_token(cfg, seq_len, causal=True) * tokens_per_s / peak
  stats = jax.devices()[0].memory_stats() or {}
  if "peak_bytes_in_use" in stats:
    row["peak_memory_gib"] = round(stats["peak_bytes_in_use"] / 2**30, 2)
  return dict(
    row,
    step_ms=round(seconds * 1e3, 1),
    tokens_per_s=round(tokens_per_s),
    mfu=round(mfu, 4),
    final_loss=round(float(metrics["loss"]), 4),
  )


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--size", default="1.1B")
  parser.add_argument("--attention", default="pallas,cudnn,xla", help="comma-separated implementations")
  parser.add_argument("--vocab", type=int, default=32768)
  parser.add_argument("--seq-len", type=int, default=2048)
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--microbatch", type=int, default=0, help="rows per micro-batch (0 = no accumulation)")
  parser.add_argument("--loss-chunk", type=int, default=8192, help="vocabulary chunk of the loss (0 = off)")
  parser.add_argument("--remat", default="dots", help="model.remat: none | full | dots")
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--warmup", type=int, default=3)
  parser.add_argument("--allow-cpu", action="store_true", help="smoke-test the script on CPU")
  args = parser.parse_args(argv)
  backend = jax.default_backend()
  if backend == "cpu" and not args.allow_cpu:
    print(
      json.dumps(
        {
          "bench": "train_mfu",
          "error": "needs a GPU or TPU; --allow-cpu --size cpu-200k "
          "--seq-len 64 --attention xla smoke-tests the script",
        }
      )
    )
    return 2
  # The options are named as `bench`'s parameters: every one but the implementation list passes through.
  options = {k: v for k, v in vars(args).items() if k not in ("attention", "allow_cpu")}
  for attention in args.attention.split(","):
    print(json.dumps(bench(attention=attention, **options)), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
