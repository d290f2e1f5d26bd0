"""A paper-scale run on GPUs: a 1.1B model on a built corpus, WSD with cooldown branches at 6 budgets.

    python -m codelaw.launch --config configs/train/gpu_1b.py --workdir /runs/1b \
        --config.data.corpus=/data/codelaw_corpus
    # other sizes: configs/train/gpu_1b.py:size=0.4B ; multi-host under SLURM: see launch/

The budgets follow the paper's 2-64B grid, scaled to `tokens` (the largest budget = the run).

Memory (1.1B, seq 2048, 80 GB cards): bf16 compute on float32 parameters, attention "auto" (the Pallas
kernel on GPU/TPU: linear-memory, ~123 KiB saved per token and layer instead of XLA's ~635 KiB), each
block rematerialised keeping only its matmul outputs (remat "dots", ~50 KiB per token and layer), gradient
accumulation over micro-batches of 8 rows per device, and the cross-entropy over 8192-token vocabulary
chunks so the float32 logits of a micro-batch are never materialised at once. Estimated (not yet measured
on a GPU; benchmarks/gpu_suite.sh does): ~17 GB of activations plus 17.6 GB of float32 parameters,
gradients and AdamW moments per device, unsharded (fsdp shards the latter).
"""

from __future__ import annotations

import ml_collections

from codelaw.train.defaults import train_config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = dict(item.partition("=")[::2] for item in filter(None, (arg or "").split(",")))
  size = args.pop("size", "1.1B")
  tokens = int(float(args.pop("tokens", 64e9)))
  if args:
    raise ValueError(f"configs/train/gpu_1b.py: unknown arguments {sorted(args)}; expected size, tokens")
  config = ml_collections.ConfigDict(
    train_config(
      model=dict(size=size, seq_len=2048, dtype="bfloat16", attention="auto", remat="dots"),
      data=dict(corpus=""),
      optim=dict(peak_lr=3e-4, warmup_steps=1000, min_lr_ratio=0.1),
      train=dict(
        global_batch_size=512,
        microbatch_per_device=8,
        loss_vocab_chunk=8192,
        tokens=tokens,
        eval_every=2000,
        eval_tokens=2**22,
        checkpoint_every=1000,
        log_every=50,
        cooldown_budgets=tuple(tokens // 2**k for k in range(5, 0, -1)),
      ),
      mesh=dict(data=1, fsdp=-1),
    )
  )
  return config
