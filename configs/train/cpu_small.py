"""A small CPU run for scaling-law points: cpu-200k on the sample corpus, WSD with 4 cooldown budgets.

    python -m codelaw.launch --config configs/train/cpu_small.py --workdir /tmp/small
    python -m codelaw.launch --config configs/train/cpu_small.py:size=cpu-500k,tokens=4e6 --workdir /tmp/s2

About 10-20 minutes on 2 cores at the defaults (2M tokens).
"""

from __future__ import annotations

import ml_collections

from codelaw import languages


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = dict(item.partition("=")[::2] for item in filter(None, (arg or "").split(",")))
  size = args.pop("size", "cpu-200k")
  tokens = int(float(args.pop("tokens", 2e6)))
  if args:
    raise ValueError(f"configs/train/cpu_small.py: unknown arguments {sorted(args)}; expected size, tokens")
  config = ml_collections.ConfigDict()
  config.job = "train"
  config.seed = 0
  config.model = dict(size=size, seq_len=256, dtype="float32", attention="xla", tie_embeddings=True)
  config.data = dict(corpus="sample", proportions={name: 1.0 for name in languages.NAMES}, translation=None)
  config.optim = dict(peak_lr=3e-3, warmup_steps=50, schedule="wsd", decay_fraction=0.2, min_lr_ratio=0.0,
                      b1=0.9, b2=0.95, weight_decay=0.1, grad_clip=1.0)
  config.train = dict(global_batch_size=8, tokens=tokens, eval_every=200, eval_tokens=32768,
                      checkpoint_every=200, keep_checkpoints=3, log_every=20, peak_flops=0.0,
                      cooldown_budgets=tuple(tokens // 2 ** k for k in range(3, 0, -1)), cooldown_fraction=0.2)
  config.mesh = dict(data=-1, fsdp=1, tensor=1)
  config.distributed = dict(coordinator="", num_processes=0, process_id=-1)
  return config
