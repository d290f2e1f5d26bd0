"""The one layout of a training config, with its defaults. Train configs and study presets start here and
change only what differs, so a key added to the layout reaches every config."""

from __future__ import annotations

import copy
from typing import Any

from codelaw import languages

# The larger sections are put together from these groups, in this order.
_SCHEDULE = dict(peak_lr=3e-3, warmup_steps=20, schedule="wsd", decay_fraction=0.2, min_lr_ratio=0.0)
_ADAMW = dict(b1=0.9, b2=0.95, weight_decay=0.1, grad_clip=1.0)
_BATCH = dict(global_batch_size=16, microbatch_per_device=0, loss_vocab_chunk=0, tokens=300_000)
# Evaluation, checkpoints and logs (the *_every keys count steps); peak_flops is the MFU denominator (0: looked
# up for the device, or measured); eval_languages () = every language with a validation split.
_CADENCE = dict(
  eval_every=50,
  eval_tokens=8192,
  eval_languages=(),
  checkpoint_every=50,
  keep_checkpoints=3,
  log_every=10,
  peak_flops=0.0,
)
_COOLDOWN = dict(cooldown_budgets=(), cooldown_fraction=0.2)

_DEFAULTS: dict[str, Any] = dict(
  job="train",
  seed=0,
  model=dict(size="cpu-50k", seq_len=128, dtype="float32", attention="xla", remat="none", tie_embeddings=True),
  data=dict(corpus="sample", proportions={name: 1.0 for name in languages.NAMES}, translation=None),
  optim={**_SCHEDULE, **_ADAMW},
  train={**_BATCH, **_CADENCE, **_COOLDOWN},
  mesh=dict(data=-1, fsdp=1, tensor=1),
  distributed=dict(coordinator="", num_processes=0, process_id=-1),
)


def train_config(**sections: dict[str, Any]) -> dict[str, Any]:
  """The default training config with `sections` (e.g. `model=dict(size="cpu-200k")`) updating single keys.

  A key outside the layout raises KeyError: a misspelt override must not pass silently.
  """
  config = copy.deepcopy(_DEFAULTS)
  for name, values in sections.items():
    if not isinstance(config.get(name), dict):
      raise KeyError(f"training config has no section {name!r}")
    unknown = sorted(set(values) - set(config[name]))
    if unknown:
      raise KeyError(f"training config section {name!r} has no key(s) {', '.join(unknown)}")
    config[name].update(values)
  return config
