"""Attention forward+backward time and memory: our Pallas kernel vs cuDNN vs the XLA path (GPU).

    python benchmarks/attention.py [--seq-lens 2048,8192,16384] [--head-dims 128]
                                   [--impls pallas,cudnn,cudnn_causal,xla] [--tokens 16384] [--d-model 2048]
                                   [--docs 4] [--pallas-blocks "block_q=128,block_k=128 num_warps_dq=8"]

Each case is one jitted fwd+bwd of `codelaw.model.attention.attention` in bfloat16 on packed rows
(`--docs` documents per row, so the segment mask is live), batch = tokens // seq_len, heads = d_model //
head_dim (MHA; `--kv-heads` for GQA). `cudnn_causal` is cuDNN with `is_causal` only and no segment mask:
not a correct model path for packed rows, but the speed ceiling of a causal kernel. Prints one JSON line
per case: median time, achieved TFLOP/s (causal fwd+bwd = 3.5 x the causal forward's 2 * B * H * L^2 * K
FLOPs, whatever the kernel skips), and XLA's compiled memory of the call (`peak_mib` = arguments +
outputs + temporaries, `temp_mib` alone); then one summary line per (seq_len, head_dim) with the
pallas / cudnn, pallas / cudnn_causal and pallas / xla speed ratios (targets: >= 0.8 of cuDNN causal,
> 1 vs XLA from 2k tokens, memory linear in length). Cases that fail (e.g. XLA out of memory at 16k) print
an "error" line and the run goes on. `--pallas-blocks` adds kernel variants, each a comma-separated list
of `BlockSizes` fields (tiles, warps and stages of the fwd, dq and dkv kernels) to tune the defaults.

On CPU the compiled kernels do not exist: the script refuses (exit 2) unless `--interpret`, which runs a
tiny fwd+bwd of the kernel in Pallas interpret mode against XLA as a correctness/sanity check only (interpret
timings mean nothing for GPU speed).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from codelaw.model import attention as attention_lib
from codelaw.model.kernels import flash_attention


def packed_segments(batch: int, length: int, docs: int, seed: int = 0) -> np.ndarray:
  """`docs` documents of random lengths per row, ids 1..docs, a short padded tail in every row."""
  rng = np.random.default_rng(seed)
  seg = np.zeros((batch, length), np.int32)
  used = length - length // 64
  for row in range(batch):
    cuts = np.sort(rng.choice(np.arange(1, used), size=docs - 1, replace=False))
    for doc, (a, b) in enumerate(zip([0, *cuts], [*cuts, used]), start=1):
      seg[row, a:b] = doc
  return seg


def parse_blocks(spec: str) -> flash_attention.BlockSizes:
  """ "block_q=128,num_warps_dq=8" -> BlockSizes with those fields (the rest default)."""
  fields = {}
  for item in filter(None, spec.split(",")):
    key, _, value = item.partition("=")
    fields[key.strip()] = None if value.strip() == "None" else int(value)
  return flash_attention.BlockSizes(**fields)


def cudnn_causal_only(q, k, v, segments):
  """cuDNN's causal kernel with no segment mask: the speed ceiling, not a correct packed-row path."""
  del segments
  return jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation="cudnn")


def fwd_bwd(impl: str, blocks: flash_attention.BlockSizes | None = None):
  """Jitted value-and-grad of the summed output; `blocks` runs the Pallas kernel with those BlockSizes."""
  if blocks:
    attend = functools.partial(flash_attention.flash_attention, block_sizes=blocks)
  elif impl == "cudnn_causal":
    attend = cudnn_causal_only
  else:
    attend = functools.partial(attention_lib.attention, impl=impl)

  def loss(q, k, v, segments):
    return jnp.sum(attend(q, k, v, segments).astype(jnp.float32))

  return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))


def bench_case(
  impl: str,
  batch: int,
  length: int,
  heads: int,
  kv_heads: int,
  head_dim: int,
  docs: int,
  repeats: int,
  dtype=jnp.bfloat16,
  blocks: str = "",
) -> dict:
  key_q, key_k, key_v = jax.random.split(jax.random.key(0), 3)
  q = jax.random.normal(key_q, (batch, length, heads, head_dim), dtype)
  k = jax.random.normal(key_k, (batch, length, kv_heads, head_dim), dtype)
  v = jax.random.normal(key_v, (batch, length, kv_heads, head_dim), dtype)
  segments = jnp.asarray(packed_segments(batch, length, docs))
  row = {
    "bench": "attention",
    "impl": impl,
    "seq_len": length,
    "head_dim": head_dim,
    "batch": batch,
    "heads": heads,
    "kv_heads": kv_heads,
    "dtype": jnp.dtype(dtype).name,
    "docs_per_row": docs,
  }
  if blocks:
    row["blocks"] = blocks
  try:
    fn = fwd_bwd(impl, parse_blocks(blocks) if blocks else None)
    compiled = fn.lower(q, k, v, segments).compile()
    memory = compiled.memory_analysis()
    jax.block_until_ready(compiled(q, k, v, segments))
    times = []
    for _ in range(repeats):
      start = time.perf_counter()
      jax.block_until_ready(compiled(q, k, v, segments))
      times.append(time.perf_counter() - start)
  except Exception as e:  # noqa: BLE001 - an OOM or an unsupported shape is a result, not a crash
    return dict(row, error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")
  seconds = statistics.median(times)
  flops = 3.5 * 2 * batch * heads * length * length * head_dim  # causal fwd (half of 4BHL^2K) x 3.5
  row.update(ms=round(seconds * 1e3, 3), tflops=round(flops / seconds / 1e12, 1))
  if memory is not None:
    row["temp_mib"] = round(memory.temp_size_in_bytes / 2**20, 1)
    total = memory.temp_size_in_bytes + memory.argument_size_in_bytes + memory.output_size_in_bytes
    row["peak_mib"] = round((total - memory.alias_size_in_bytes) / 2**20, 1)
  return row


def interpret_sanity() -> list[dict]:
  """CPU: the kernel in interpret mode on a tiny packed case, checked against XLA."""
  rows = []
  key = jax.random.key(0)
  q = jax.random.normal(key, (1, 128, 2, 64), jnp.float32)
  segments = jnp.asarray(packed_segments(1, 128, 3))
  out = {}
  for impl in ("xla", "pallas_interpret"):
    fn = fwd_bwd(impl)
    jax.block_until_ready(fn(q, q, q, segments))
    start = time.perf_counter()
    out[impl] = jax.block_until_ready(fn(q, q, q, segments))
    rows.append(
      {
        "bench": "attention",
        "impl": impl,
        "seq_len": 128,
        "head_dim": 64,
        "dtype": "float32",
        "ms": round((time.perf_counter() - start) * 1e3, 1),
        "note": "CPU interpret-mode sanity check; not a GPU speed measurement",
      }
    )
  (_, g_ref), (_, g_pal) = out["xla"], out["pallas_interpret"]
  err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(g_ref, g_pal))
  rows.append({"bench": "attention_sanity", "max_grad_abs_err": err, "ok": err < 1e-4})
  return rows


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--seq-lens", default="2048,8192,16384")
  parser.add_argument("--head-dims", default="128")
  parser.add_argument("--impls", default="pallas,cudnn,cudnn_causal,xla")
  parser.add_argument("--tokens", type=int, default=16384, help="tokens per batch (batch = tokens // seq_len)")
  parser.add_argument("--d-model", type=int, default=2048, help="heads = d_model // head_dim")
  parser.add_argument("--kv-heads", type=int, default=0, help="0 = as many as query heads")
  parser.add_argument("--docs", type=int, default=4, help="packed documents per row")
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument(
    "--pallas-blocks",
    default="",
    help="kernel variants for tuning: space-separated specs, "
    "each comma-separated BlockSizes fields, e.g. 'block_q=64,block_k=128,num_warps_fwd=4'",
  )
  parser.add_argument("--interpret", action="store_true", help="CPU: tiny interpret-mode sanity check")
  args = parser.parse_args(argv)

  backend = jax.default_backend()
  if backend != "gpu":
    if not args.interpret:
      print(
        json.dumps(
          {
            "bench": "attention",
            "error": f"needs a GPU (backend is {backend!r}); --interpret runs a tiny CPU sanity check instead",
          }
        )
      )
      return 2
    for row in interpret_sanity():
      print(json.dumps(row), flush=True)
    return 0

  device = jax.devices()[0].device_kind
  results: dict[tuple[int, int, str], dict] = {}
  for head_dim in map(int, args.head_dims.split(",")):
    heads = args.d_model // head_dim
    kv_heads = args.kv_heads or heads
    for length in map(int, args.seq_lens.split(",")):
      batch = max(1, args.tokens // length)
      for impl in args.impls.split(","):
        row = dict(bench_case(impl, batch, length, heads, kv_heads, head_dim, args.docs, args.repeats), device=device)
        results[(length, head_dim, impl)] = row
        print(json.dumps(row), flush=True)
      for spec in args.pallas_blocks.split():
        row = dict(
          bench_case("pallas", batch, length, heads, kv_heads, head_dim, args.docs, args.repeats, blocks=spec),
          device=device,
        )
        print(json.dumps(row), flush=True)
      summary = {"bench": "attention_summary", "seq_len": length, "head_dim": head_dim, "device": device}
      mine = results.get((length, head_dim, "pallas"), {})
      for other in ("cudnn", "cudnn_causal", "xla"):
        theirs = results.get((length, head_dim, other), {})
        if "ms" in mine and "ms" in theirs:
          summary[f"speed_vs_{other}"] = round(theirs["ms"] / mine["ms"], 3)
      print(json.dumps(summary), flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
