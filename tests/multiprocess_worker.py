"""Child program of tests/test_multiprocess.py (and the synthetic batch the sharding tests share).

Run as `python tests/multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT OUT_JSON`: joins a CPU cluster
on 127.0.0.1 through `codelaw.train.distributed.maybe_initialize`, trains `STEPS` steps of a tiny model on
a 4-device global mesh from this process's slice of the batch, and writes the losses.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

MESH = dict(data=2, fsdp=1, tensor=2)
STEPS = 3
GLOBAL_BATCH = 8
SEQ_LEN = 32
VOCAB = 128


def tiny_config(**overrides):
  from codelaw.model.config import ModelConfig

  fields = dict(d_model=32, n_layers=1, n_heads=4, n_kv_heads=2, d_ff=64, vocab_size=VOCAB, tie_embeddings=False)
  fields.update(overrides)
  return ModelConfig(**fields)


def synthetic_batch(batch: int, seq_len: int, vocab: int, seed: int) -> dict[str, np.ndarray]:
  """A packed batch in the pipeline's layout: 1-4 documents per row, positions restarting per document,
  trailing padding (segment 0) in some rows, weights 0 on padding and on each document's last token."""
  rng = np.random.default_rng(seed)
  out = {k: np.zeros((batch, seq_len), np.int32) for k in ("inputs", "targets", "segment_ids", "positions")}
  out["weights"] = np.zeros((batch, seq_len), np.float32)
  out["language_ids"] = np.full((batch, seq_len), -1, np.int32)
  for row in range(batch):
    used = seq_len - int(rng.integers(0, seq_len // 4)) if row % 2 else seq_len
    cuts = np.sort(rng.choice(np.arange(2, used - 1), size=int(rng.integers(0, 4)), replace=False))
    bounds = [0, *cuts.tolist(), used]
    for seg, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]), start=1):
      doc = rng.integers(2, vocab, b - a + 1).astype(np.int32)
      out["inputs"][row, a:b] = doc[:-1]
      out["targets"][row, a:b] = doc[1:]
      out["segment_ids"][row, a:b] = seg
      out["positions"][row, a:b] = np.arange(b - a)
      out["weights"][row, a:b] = 1.0
      out["language_ids"][row, a:b] = seg % 7
  return out


def optim_config() -> dict:
  return dict(peak_lr=1e-2, warmup_steps=1, schedule="wsd", decay_fraction=0.5, weight_decay=0.1, grad_clip=1.0)


def train_losses(mesh, process_index: int = 0, process_count: int = 1) -> list[float]:
  """Losses of STEPS steps on `mesh`, feeding this process's rows of each global batch."""
  from codelaw.train import optim, step

  cfg = tiny_config()
  tx = optim.make_optimizer(optim_config())
  schedule = optim.make_schedule(optim_config(), STEPS)
  state, shardings = step.init_train_state(cfg, tx, mesh, seed=0)
  train_step = step.make_train_step(cfg, tx, mesh, shardings)
  local = GLOBAL_BATCH // process_count
  losses = []
  for i in range(STEPS):
    full = synthetic_batch(GLOBAL_BATCH, SEQ_LEN, VOCAB, seed=i)
    mine = {k: v[process_index * local : (process_index + 1) * local] for k, v in full.items()}
    state, metrics = train_step(state, step.shard_batch(mine, mesh), schedule(i))
    losses.append(float(metrics["loss"]))
  return losses


def main(argv: list[str]) -> None:
  process_id, num_processes, port, out_path = int(argv[1]), int(argv[2]), int(argv[3]), argv[4]
  import jax

  from codelaw.train import distributed
  from codelaw.train import mesh as mesh_lib

  distributed.maybe_initialize(
    dict(coordinator=f"127.0.0.1:{port}", num_processes=num_processes, process_id=process_id)
  )
  mesh = mesh_lib.make_mesh(MESH)
  losses = train_losses(mesh, jax.process_index(), jax.process_count())
  with open(out_path, "w") as f:
    json.dump(
      {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "global_devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "losses": losses,
      },
      f,
    )
  jax.distributed.shutdown()


if __name__ == "__main__":
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  main(sys.argv)
