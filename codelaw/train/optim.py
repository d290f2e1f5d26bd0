"""AdamW with global-norm clipping and the learning-rate schedules (cosine, WSD).

WSD = linear warmup, a stable plateau at the peak rate, then a linear decay to `min_lr_ratio * peak_lr`.
The decay start can be given explicitly, so one stable run can branch cooldowns at several token budgets:
a branch ending at step T_k follows `make_schedule(cfg, T_k, decay_start_step=T_k - cooldown_steps)`.

The schedule is evaluated on the host and the rate handed to the train step as an argument, so the
optimizer, and with it the compiled step, does not depend on the schedule: the main run, its cooldown
branches and every run of a study at the same model size and batch share one compilation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import optax

from codelaw.errors import UserError

SCHEDULES = ("wsd", "cosine")


def _get(cfg: Mapping[str, Any], key: str, default: Any) -> Any:
  return cfg[key] if key in cfg else default


def _number(
  cfg: Mapping[str, Any], key: str, default: float, lo: float, hi: float = float("inf"), lo_open: bool = False
) -> float:
  value = _get(cfg, key, default)
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise UserError(f"optim.{key} = {value!r}: expected a number")
  if not (lo < value <= hi if lo_open else lo <= value <= hi):
    raise UserError(f"optim.{key} = {value!r}: expected a value in {'(' if lo_open else '['}{lo}, {hi}]")
  return float(value)


def make_schedule(
  optim_cfg: Mapping[str, Any], total_steps: int, decay_start_step: int | None = None
) -> Callable[[int], float]:
  """The learning rate as a function of the step (0-based), evaluated on the host."""
  peak = _number(optim_cfg, "peak_lr", 3e-3, 0.0, lo_open=True)
  warmup = int(_number(optim_cfg, "warmup_steps", 0, 0))
  min_ratio = _number(optim_cfg, "min_lr_ratio", 0.0, 0.0, 1.0)
  kind = _get(optim_cfg, "schedule", "wsd")
  if kind not in SCHEDULES:
    raise UserError(f"optim.schedule = {kind!r}: expected one of {', '.join(SCHEDULES)}")
  if not isinstance(total_steps, int) or total_steps <= 0:
    raise UserError(f"total steps = {total_steps!r}: training needs at least one step")
  warmup = min(warmup, total_steps)
  end = peak * min_ratio
  if kind == "cosine":
    if decay_start_step is not None:
      raise UserError("an explicit decay start only applies to optim.schedule = 'wsd'")
    decay_start = warmup
  else:
    if decay_start_step is None:
      fraction = _number(optim_cfg, "decay_fraction", 0.2, 0.0, 1.0)
      decay_start = total_steps - int(round(fraction * total_steps))
    else:
      decay_start = int(decay_start_step)
    if not warmup <= decay_start <= total_steps:
      raise UserError(f"WSD decay start step {decay_start} must lie in [warmup_steps={warmup}, total={total_steps}]")

  def schedule(step: int) -> float:
    if step < warmup:
      return peak * min(1.0, (step + 1.0) / max(warmup, 1))
    frac = min(max((step - decay_start) / max(total_steps - decay_start, 1), 0.0), 1.0)
    if kind == "cosine":
      return end + (peak - end) * 0.5 * (1.0 + math.cos(math.pi * frac))
    return peak + (end - peak) * frac

  return schedule


def decay_mask(params: Any) -> Any:
  """Weight decay on matrices (embeddings included), not on RMSNorm scales."""
  return jax.tree.map(lambda p: p.ndim >= 2, params)


def make_optimizer(optim_cfg: Mapping[str, Any]) -> optax.GradientTransformation:
  """AdamW + global-norm clipping (grad_clip 0 = off). The learning rate is a hyperparameter in the state
  (`optax.tree_utils.tree_get(opt_state, "learning_rate")`), which the train step sets before each update
  (`with_learning_rate`) and reports after it; it starts at optim.peak_lr."""
  peak = _number(optim_cfg, "peak_lr", 3e-3, 0.0, lo_open=True)
  b1 = _number(optim_cfg, "b1", 0.9, 0.0, 1.0)
  b2 = _number(optim_cfg, "b2", 0.95, 0.0, 1.0)
  weight_decay = _number(optim_cfg, "weight_decay", 0.1, 0.0)
  clip = _number(optim_cfg, "grad_clip", 1.0, 0.0)
  eps = _number(optim_cfg, "eps", 1e-8, 0.0, lo_open=True)
  adamw = optax.inject_hyperparams(optax.adamw, static_args=("mask",))(
    learning_rate=peak, b1=b1, b2=b2, eps=eps, weight_decay=weight_decay, mask=decay_mask
  )
  return optax.chain(optax.clip_by_global_norm(clip), adamw) if clip > 0 else adamw


def with_learning_rate(opt_state: Any, lr: Any) -> Any:
  """`opt_state` of `make_optimizer` with the rate of the next update set to `lr`."""
  return optax.tree_utils.tree_set(opt_state, learning_rate=lr)
