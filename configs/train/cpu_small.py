"""A small CPU run for scaling-law points: cpu-200k on the sample corpus, WSD with 4 budgets (3 cooldown
branches at 1/8, 1/4 and 1/2 of train.tokens, so they follow `--config.train.tokens` too).

    python -m codelaw.launch --config configs/train/cpu_small.py --workdir /tmp/small
    python -m codelaw.launch --config configs/train/cpu_small.py:size=cpu-500k,tokens=4e6 --workdir /tmp/s2

About 10-20 minutes on 2 cores at the defaults (2M tokens).
"""

from __future__ import annotations

import ml_collections

from codelaw.study.studies.base import parse_arg
from codelaw.train.defaults import train_config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = parse_arg(arg, size="cpu-200k", tokens=2_000_000)
  return ml_collections.ConfigDict(
    train_config(
      model=dict(size=a.size, seq_len=256),
      optim=dict(warmup_steps=50),
      train=dict(
        global_batch_size=8,
        tokens=a.tokens,
        eval_every=200,
        eval_tokens=32768,
        checkpoint_every=200,
        log_every=20,
        cooldown_budgets=(0.125, 0.25, 0.5),
      ),
    )
  )
