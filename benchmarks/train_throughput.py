"""Train-step throughput on CPU: the real JAX train step vs a PyTorch eager model of the same shapes.

Prints JSON lines: the measured f32 matmul peak (`jnp.dot` 2048^3), then per size the JAX step
(tokens/s, MFU against that peak, with FLOPs from `codelaw.model.counting.flops_per_token`) and the torch
eager step, measured alternately so the machine's noise hits both alike, with the user/sys CPU split of
each. torch (==2.13.0, CPU) is a benchmark-only dependency.

Each framework runs in its own worker process (started with the allocator settings training runs get,
`codelaw.train.host.training_env`; `--allocator default` keeps glibc's defaults), warmed up by 5 steps,
then asked for `--steps` steps at a time, alternately, with half a second idle before each request. So
neither framework's threads, heap or page faults count against the other: in one shared process, torch's
OpenMP threads still spin after their step while the JAX step starts. User/sys time is the worker's own.

  python benchmarks/train_throughput.py [--sizes cpu-200k,cpu-1m,cpu-5m] [--steps 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np

from codelaw.model import counting, sizes
from codelaw.train import host, optim, step
from codelaw.train import mesh as mesh_lib

SEQ, BATCH, VOCAB = 256, 8, 4096
OPTIM = dict(peak_lr=1e-3, warmup_steps=10, schedule="wsd", weight_decay=0.1, grad_clip=1.0)


def emit(**record) -> None:
  print(json.dumps(record), flush=True)


def matmul_peak(n: int = 2048, repeats: int = 10) -> float:
  a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
  dot = jax.jit(jnp.dot)
  dot(a, a).block_until_ready()
  times = []
  for _ in range(repeats):
    t = time.perf_counter()
    dot(a, a).block_until_ready()
    times.append(time.perf_counter() - t)
  return 2 * n**3 / float(np.median(times))


def packed_batch(seed: int) -> dict[str, np.ndarray]:
  """Documents of random length packed into rows, as the pipeline emits them."""
  rng = np.random.default_rng(seed)
  out = {k: np.zeros((BATCH, SEQ), np.int32) for k in ("inputs", "targets", "segment_ids", "positions")}
  out["weights"] = np.ones((BATCH, SEQ), np.float32)
  for row in range(BATCH):
    start, seg = 0, 1
    while start < SEQ:
      length = min(int(rng.integers(32, 200)), SEQ - start)
      out["segment_ids"][row, start : start + length] = seg
      out["positions"][row, start : start + length] = np.arange(length)
      out["weights"][row, start + length - 1] = 0.0
      start, seg = start + length, seg + 1
  out["inputs"][:] = rng.integers(2, VOCAB, (BATCH, SEQ))
  out["targets"][:] = rng.integers(2, VOCAB, (BATCH, SEQ))
  return out


class JaxRunner:
  def __init__(self, cfg):
    mesh = mesh_lib.make_mesh(dict(data=1, fsdp=1, tensor=1), devices=jax.devices()[:1])
    tx = optim.make_optimizer(OPTIM)
    self.state, shardings = step.init_train_state(cfg, tx, mesh, seed=0)
    self.train_step = step.make_train_step(cfg, tx, mesh, shardings)
    self.batch = step.shard_batch(packed_batch(0), mesh)

  def __call__(self, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
      self.state, metrics = self.train_step(self.state, self.batch, OPTIM["peak_lr"])
    jax.block_until_ready(metrics["loss"])
    return time.perf_counter() - t


class TorchRunner:
  """The same decoder in PyTorch eager: RMSNorm, RoPE, GQA-capable attention with the packed-segment mask,
  SwiGLU, tied embeddings, weighted cross-entropy, AdamW + clipping."""

  def __init__(self, cfg):
    import torch
    import torch.nn.functional as F

    self.torch, self.F, self.cfg = torch, F, cfg
    torch.manual_seed(0)
    d, h, g, k, f, v = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff, cfg.vocab_size
    p = lambda *shape, fan_in: torch.nn.Parameter(torch.randn(*shape) * fan_in**-0.5)
    self.params = {"embed": torch.nn.Parameter(torch.randn(v, d) * 0.02), "final": torch.nn.Parameter(torch.ones(d))}
    for i in range(cfg.n_layers):
      self.params.update(
        {
          f"{i}.n1": torch.nn.Parameter(torch.ones(d)),
          f"{i}.n2": torch.nn.Parameter(torch.ones(d)),
          f"{i}.wq": p(d, h * k, fan_in=d),
          f"{i}.wk": p(d, g * k, fan_in=d),
          f"{i}.wv": p(d, g * k, fan_in=d),
          f"{i}.wo": p(h * k, d, fan_in=h * k),
          f"{i}.wg": p(d, f, fan_in=d),
          f"{i}.wu": p(d, f, fan_in=d),
          f"{i}.wd": p(f, d, fan_in=f),
        }
      )
    self.opt = torch.optim.AdamW(self.params.values(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    b = packed_batch(0)
    self.batch = {key: torch.from_numpy(val) for key, val in b.items()}
    seg = self.batch["segment_ids"]
    causal = torch.tril(torch.ones(SEQ, SEQ, dtype=torch.bool))
    self.mask = (causal[None] & (seg[:, :, None] == seg[:, None, :]) & (seg != 0)[:, :, None])[:, None]
    half = k // 2
    inv = cfg.rope_theta ** (-torch.arange(half, dtype=torch.float32) / half)
    angle = self.batch["positions"].float()[:, :, None, None] * inv
    self.sin, self.cos = torch.sin(angle), torch.cos(angle)

  def _norm(self, x, w):
    return x * self.torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.cfg.norm_eps) * w

  def _rope(self, x):
    x1, x2 = x.chunk(2, dim=-1)
    return self.torch.cat([x1 * self.cos - x2 * self.sin, x2 * self.cos + x1 * self.sin], dim=-1)

  def _loss(self):
    cfg, P, F = self.cfg, self.params, self.F
    b, l = BATCH, SEQ
    x = P["embed"][self.batch["inputs"]]
    for i in range(cfg.n_layers):
      y = self._norm(x, P[f"{i}.n1"])
      q = self._rope((y @ P[f"{i}.wq"]).view(b, l, cfg.n_heads, cfg.head_dim))
      kk = self._rope((y @ P[f"{i}.wk"]).view(b, l, cfg.n_kv_heads, cfg.head_dim))
      vv = (y @ P[f"{i}.wv"]).view(b, l, cfg.n_kv_heads, cfg.head_dim)
      o = F.scaled_dot_product_attention(
        q.transpose(1, 2),
        kk.transpose(1, 2),
        vv.transpose(1, 2),
        attn_mask=self.mask,
        enable_gqa=cfg.n_heads != cfg.n_kv_heads,
      )
      x = x + o.transpose(1, 2).reshape(b, l, -1) @ P[f"{i}.wo"]
      y = self._norm(x, P[f"{i}.n2"])
      x = x + (F.silu(y @ P[f"{i}.wg"]) * (y @ P[f"{i}.wu"])) @ P[f"{i}.wd"]
    logits = self._norm(x, P["final"]) @ P["embed"].T
    token_loss = F.cross_entropy(
      logits.view(-1, cfg.vocab_size), self.batch["targets"].view(-1).long(), reduction="none"
    )
    w = self.batch["weights"].view(-1)
    return (token_loss * w).sum() / w.sum()

  def __call__(self, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
      self.opt.zero_grad(set_to_none=True)
      loss = self._loss()
      loss.backward()
      self.torch.nn.utils.clip_grad_norm_(self.params.values(), 1.0)
      self.opt.step()
    return time.perf_counter() - t


WARMUP_STEPS = 5  # compilation, then the first steps that still grow the allocator's heap
SETTLE_S = 0.5  # idle time before each measurement: torch's OpenMP threads spin a while after their work


def worker(impl: str, size: str) -> None:
  """Child process: one framework at one size. Warms up, says "ready", then times `N` steps per stdin line."""
  cfg = sizes.model_config(size, VOCAB, dtype="float32")
  if impl == "torch_eager":
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    runner = TorchRunner(cfg)
  else:
    runner = JaxRunner(cfg)
  runner(WARMUP_STEPS)
  print("ready", flush=True)
  for line in sys.stdin:
    n = int(line)
    before = os.times()
    wall = runner(n)
    after = os.times()
    print(json.dumps(dict(step_s=wall / n, user_s=after.user - before.user, sys_s=after.system - before.system)))
    sys.stdout.flush()


def _start(impl: str, size: str) -> subprocess.Popen:
  cmd = [sys.executable, os.path.abspath(__file__), "--worker", impl, "--sizes", size]
  proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
  if proc.stdout.readline().strip() != "ready":
    raise SystemExit(f"{impl} worker for {size} exited before it was ready (exit status {proc.wait()})")
  return proc


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--sizes", default="cpu-200k,cpu-1m,cpu-5m")
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--no-torch", action="store_true")
  parser.add_argument("--allocator", choices=("keep_mapped", "default"), default="keep_mapped")
  parser.add_argument("--worker", choices=("jax", "torch_eager"), help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    return worker(args.worker, args.sizes)
  wanted = host.training_env(os.environ) if args.allocator == "keep_mapped" else os.environ
  if os.environ.get("GLIBC_TUNABLES", "") != wanted.get("GLIBC_TUNABLES", ""):
    os.execve(sys.executable, [sys.executable, *sys.argv], dict(wanted))  # glibc reads them at start only
  import multiprocessing

  emit(
    kind="machine",
    cpus=multiprocessing.cpu_count(),
    jax=jax.__version__,
    devices=jax.device_count(),
    load_avg=os.getloadavg(),
    allocator=args.allocator,
  )
  impls = ("jax",) if args.no_torch else ("jax", "torch_eager")
  for size in args.sizes.split(","):
    # The peak is re-measured next to every size: on a shared machine it drifts as much as the steps do.
    peak = matmul_peak()
    emit(kind="matmul_peak", n=2048, dtype="float32", flops_per_s=peak, size=size)
    cfg = sizes.model_config(size, VOCAB, dtype="float32")
    flops = counting.flops_per_token(cfg, SEQ)
    # Each framework in its own process, so neither's threads, heap or page faults count against the other.
    workers = {impl: _start(impl, size) for impl in impls}
    times = {impl: [] for impl in impls}
    cpu = {impl: [0.0, 0.0] for impl in impls}
    for _ in range(args.repeats):  # alternate so both see the same background load
      for impl, proc in workers.items():
        time.sleep(SETTLE_S)
        proc.stdin.write(f"{args.steps}\n")
        proc.stdin.flush()
        record = json.loads(proc.stdout.readline())
        times[impl].append(record["step_s"])
        cpu[impl][0] += record["user_s"]
        cpu[impl][1] += record["sys_s"]
    for proc in workers.values():
      proc.stdin.close()
      proc.wait()
    tok = {impl: BATCH * SEQ / float(np.median(t)) for impl, t in times.items()}
    for impl in impls:
      steps = args.steps * args.repeats
      emit(
        kind="train_step",
        impl=impl,
        size=size,
        n_params=counting.n_params(cfg),
        seq_len=SEQ,
        batch=BATCH,
        vocab=VOCAB,
        dtype="float32",
        step_s=float(np.median(times[impl])),
        tokens_per_s=tok[impl],
        mfu=tok[impl] * flops / peak,
        flops_per_token=flops,
        user_s=cpu[impl][0],
        sys_s=cpu[impl][1],
        cpu_s_per_step=sum(cpu[impl]) / steps,
        sys_frac=cpu[impl][1] / max(sum(cpu[impl]), 1e-9),
      )
    if "torch_eager" in tok:
      emit(kind="ratio", size=size, jax_over_torch=tok["jax"] / tok["torch_eager"])


if __name__ == "__main__":
  main()
