"""A small CPU run for scaling-law points: cpu-200k on the sample corpus, WSD with 4 cooldown budgets.

    python -m codelaw.launch --config configs/train/cpu_small.py --workdir /tmp/small
    python -m codelaw.launch --config configs/train/cpu_small.py:size=cpu-500k,tokens=4e6 --workdir /tmp/s2

About 10-20 minutes on 2 cores at the defaults (2M tokens).
"""

from __future__ import annotations

import ml_collections

from codelaw.train.defaults import train_config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = dict(item.partition("=")[::2] for item in filter(None, (arg or "").split(",")))
  size = args.pop("size", "cpu-200k")
  tokens = int(float(args.pop("tokens", 2e6)))
  if args:
    raise ValueError(f"configs/train/cpu_small.py: unknown arguments {sorted(args)}; expected size, tokens")
  config = ml_collections.ConfigDict(train_config(
      model=dict(size=size, seq_len=256),
      optim=dict(warmup_steps=50),
      train=dict(global_batch_size=8, tokens=tokens, eval_every=200, eval_tokens=32768, checkpoint_every=200,
                 log_every=20, cooldown_budgets=tuple(tokens // 2 ** k for k in range(3, 0, -1)))))
  return config
