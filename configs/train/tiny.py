"""A tiny CPU training run on the bundled sample corpus (about a minute on 2 cores).

    python -m codelaw.launch --config configs/train/tiny.py --workdir /tmp/tiny
    python -m codelaw.launch --config configs/train/tiny.py:size=cpu-200k,tokens=2e6 --workdir /tmp/t2

`arg` takes comma-separated `size=`, `tokens=`, `seq_len=`, `batch=` (other keys: `--config.x.y=...`).
"""

from __future__ import annotations

import ml_collections

from codelaw import languages

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
  config = ml_collections.ConfigDict()
  config.job = "train"
  config.seed = 0
  config.model = dict(size=a["size"], seq_len=a["seq_len"], dtype="float32", attention="xla", tie_embeddings=True)
  config.data = dict(corpus="sample", proportions={name: 1.0 for name in languages.NAMES}, translation=None)
  config.optim = dict(peak_lr=3e-3, warmup_steps=20, schedule="wsd", decay_fraction=0.2, min_lr_ratio=0.0,
                      b1=0.9, b2=0.95, weight_decay=0.1, grad_clip=1.0)
  config.train = dict(global_batch_size=a["batch"], tokens=a["tokens"], eval_every=50, eval_tokens=8192,
                      checkpoint_every=50, keep_checkpoints=3, log_every=10, peak_flops=0.0,
                      cooldown_budgets=(), cooldown_fraction=0.2)
  config.mesh = dict(data=-1, fsdp=1, tensor=1)
  config.distributed = dict(coordinator="", num_processes=0, process_id=-1)
  return config
