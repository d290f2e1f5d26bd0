"""A tiny CPU training run on the bundled sample corpus (about a minute on 2 cores).

    python -m codelaw.launch --config configs/train/tiny.py --workdir /tmp/tiny
    python -m codelaw.launch --config configs/train/tiny.py:size=cpu-200k,tokens=2e6 --workdir /tmp/t2

`arg` takes comma-separated `size=`, `tokens=`, `seq_len=`, `batch=` (other keys: `--config.x.y=...`).
"""

from __future__ import annotations

import ml_collections

from codelaw.train.defaults import train_config

DEFAULTS = dict(size="cpu-50k", tokens=300_000, seq_len=128, batch=16)


def parse_arg(arg: str | None) -> dict:
  out = dict(DEFAULTS)
  for item in filter(None, (arg or "").split(",")):
    key, _, value = item.partition("=")
    if key not in out:
      raise ValueError(f"configs/train/tiny.py: unknown argument {key!r}; expected {', '.join(out)}")
    out[key] = value if key == "size" else int(float(value))
  return out


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = parse_arg(arg)
  config = ml_collections.ConfigDict(train_config(
      model=dict(size=a["size"], seq_len=a["seq_len"]),
      train=dict(global_batch_size=a["batch"], tokens=a["tokens"])))
  return config
