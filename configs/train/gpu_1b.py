"""A paper-scale run on GPUs: a 1.1B model on a built corpus, WSD with cooldown branches at 6 budgets.

    python -m codelaw.launch --config configs/train/gpu_1b.py --workdir /runs/1b \
        --config.data.corpus=/data/codelaw_corpus
    # other sizes: configs/train/gpu_1b.py:size=0.4B ; multi-host under SLURM: see launch/

The budgets follow the paper's 2-64B grid, scaled to `tokens` (the largest budget = the run).
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
  config = ml_collections.ConfigDict(train_config(
      model=dict(size=size, seq_len=2048, dtype="bfloat16"),
      data=dict(corpus=""),
      optim=dict(peak_lr=3e-4, warmup_steps=1000, min_lr_ratio=0.1),
      train=dict(global_batch_size=512, tokens=tokens, eval_every=2000, eval_tokens=2 ** 22,
                 checkpoint_every=1000, log_every=50,
                 cooldown_budgets=tuple(tokens // 2 ** k for k in range(5, 0, -1))),
      mesh=dict(data=1, fsdp=-1)))
  return config
