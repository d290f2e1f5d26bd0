"""A paper-scale run on GPUs: a 1.1B model on a built corpus, WSD with cooldown branches at 6 budgets.

    python -m codelaw.launch --config configs/train/gpu_1b.py --workdir /runs/1b \
        --config.data.corpus=/data/codelaw_corpus
    # other sizes: configs/train/gpu_1b.py:size=0.4B ; multi-host under SLURM: see launch/

The budgets follow the paper's 2-64B grid, scaled to `tokens` (the largest budget = the run).
"""

from __future__ import annotations

import ml_collections

from codelaw import languages


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  args = dict(item.partition("=")[::2] for item in filter(None, (arg or "").split(",")))
  size = args.pop("size", "1.1B")
  tokens = int(float(args.pop("tokens", 64e9)))
  if args:
    raise ValueError(f"configs/train/gpu_1b.py: unknown arguments {sorted(args)}; expected size, tokens")
  config = ml_collections.ConfigDict()
  config.job = "train"
  config.seed = 0
  config.model = dict(size=size, seq_len=2048, dtype="bfloat16", attention="xla", tie_embeddings=True)
  config.data = dict(corpus="", proportions={name: 1.0 for name in languages.NAMES}, translation=None)
  config.optim = dict(peak_lr=3e-4, warmup_steps=1000, schedule="wsd", decay_fraction=0.2, min_lr_ratio=0.1,
                      b1=0.9, b2=0.95, weight_decay=0.1, grad_clip=1.0)
  config.train = dict(global_batch_size=512, tokens=tokens, eval_every=2000, eval_tokens=2 ** 22,
                      checkpoint_every=1000, keep_checkpoints=3, log_every=50, peak_flops=0.0,
                      cooldown_budgets=tuple(tokens // 2 ** k for k in range(5, 0, -1)), cooldown_fraction=0.2)
  config.mesh = dict(data=1, fsdp=-1, tensor=1)
  config.distributed = dict(coordinator="", num_processes=0, process_id=-1)
  return config
