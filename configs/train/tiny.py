"""A tiny CPU training run on the bundled sample corpus (about a minute on 2 cores).

    python -m codelaw.launch --config configs/train/tiny.py --workdir /tmp/tiny
    python -m codelaw.launch --config configs/train/tiny.py:size=cpu-200k,tokens=2e6 --workdir /tmp/t2

`arg` takes comma-separated `size=`, `tokens=`, `seq_len=`, `batch=` (other keys: `--config.x.y=...`).
"""

from __future__ import annotations

import ml_collections

from codelaw.study.studies.base import parse_arg
from codelaw.train.defaults import train_config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = parse_arg(arg, size="cpu-50k", tokens=300_000, seq_len=128, batch=16)
  return ml_collections.ConfigDict(
    train_config(model=dict(size=a.size, seq_len=a.seq_len), train=dict(global_batch_size=a.batch, tokens=a.tokens))
  )
