"""The SwiGLU MLP's forward + backward pass with its projections as einsums over [batch, length, ...] vs as
one 2-D matmul over all tokens (`codelaw.model.layers.project`, what the model uses).

Same values, different HLO: the einsum's weight gradient contracts batch and length at once, and XLA:CPU
rewrites it with a transposed copy of the output gradient. Prints one JSON line per (size, form) with the
median time of a jitted fwd+bwd, then the ratio; the two forms alternate so the machine's noise hits both.

  python benchmarks/projection_layout.py [--sizes cpu-200k,cpu-5m] [--steps 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np

from codelaw.model import sizes
from codelaw.model.layers import project

SEQ, BATCH = 256, 8


def _einsum(x, w):
  return jnp.einsum("bld,df->blf", x, w)


FORMS = {"einsum": _einsum, "project": project}


def mlp_grad(dense):
  def loss(x, w_gate, w_up, w_down):
    return dense(jax.nn.silu(dense(x, w_gate)) * dense(x, w_up), w_down).sum()

  return jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3)))


def timed(fn, args, steps: int) -> float:
  t = time.perf_counter()
  for _ in range(steps):
    out = fn(*args)
  jax.block_until_ready(out)
  return (time.perf_counter() - t) / steps


def main() -> None:
  parser = argparse.ArgumentParser()
  parser.add_argument("--sizes", default="cpu-200k,cpu-5m")
  parser.add_argument("--steps", type=int, default=20)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  for size in args.sizes.split(","):
    shape = sizes.SIZES[size]
    d, f = shape.d_model, shape.d_ff
    inputs = (
      jnp.asarray(rng.normal(size=(BATCH, SEQ, d)), jnp.float32),
      jnp.asarray(rng.normal(size=(d, f)) * d**-0.5, jnp.float32),
      jnp.asarray(rng.normal(size=(d, f)) * d**-0.5, jnp.float32),
      jnp.asarray(rng.normal(size=(f, d)) * f**-0.5, jnp.float32),
    )
    fns = {name: mlp_grad(dense) for name, dense in FORMS.items()}
    grads = {name: fn(*inputs) for name, fn in fns.items()}  # compiles
    err = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(grads["einsum"], grads["project"]))
    times = {name: [] for name in fns}
    for _ in range(args.repeats):
      for name, fn in fns.items():
        times[name].append(timed(fn, inputs, args.steps))
    for name in fns:
      ms = 1e3 * float(np.median(times[name]))
      print(json.dumps(dict(kind="mlp_fwd_bwd", size=size, form=name, d_model=d, d_ff=f, tokens=BATCH * SEQ, ms=ms)))
    ratio = float(np.median(times["einsum"]) / np.median(times["project"]))
    print(json.dumps(dict(kind="ratio", size=size, einsum_over_project=ratio, max_abs_grad_diff=err)), flush=True)


if __name__ == "__main__":
  main()
