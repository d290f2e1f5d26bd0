"""Cooldown branches for the WSD schedule: L(N, D_k) at several token budgets from one stable run.

A WSD run's learning rate is flat after warmup until its decay starts, so every budget D_k shares the
stable prefix of the longest run. For each budget the plan says where its cooldown starts:

    steps_k       = ceil(D_k / tokens_per_step)                 (the budget in whole steps)
    decay_start_k = steps_k - max(1, round_half_up(cooldown_fraction * steps_k))

The main run trains stable up to the largest budget, whose own decay is the last `cooldown_fraction` of
it. At `decay_start_k` of each smaller budget a branch copies the main run's state (parameters,
optimizer, data position), decays the learning rate to its minimum over the remaining
`steps_k - decay_start_k` steps on the same data an independent run would see, and is evaluated. Total
cost: steps_max + sum_k cooldown_k, i.e. about (1 + cooldown_fraction) x the largest run when the budgets
are spread out, instead of sum_k steps_k for independent runs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

from codelaw.errors import UserError


@dataclasses.dataclass(frozen=True)
class Budget:
  """One token budget of a WSD run: `steps` in total, the decay starting after step `decay_start`."""

  tokens: int  # the budget as requested (config.train.tokens or a cooldown_budgets entry)
  steps: int
  decay_start: int
  final: bool  # the main run itself (the largest budget), not a branch

  @property
  def cooldown_steps(self) -> int:
    return self.steps - self.decay_start


def steps_for(tokens: int, tokens_per_step: int) -> int:
  return max(1, math.ceil(tokens / tokens_per_step))


def decay_start(steps: int, fraction: float) -> int:
  # Half rounds up (not Python's round-half-even): 0.25 x 10 steps gives a 3-step cooldown.
  return steps - max(1, math.floor(fraction * steps + 0.5))


def plan(
  budgets: Sequence[float], total_tokens: int, tokens_per_step: int, cooldown_fraction: float, warmup_steps: int = 0
) -> list[Budget]:
  """The branches (ascending) plus the final budget (`total_tokens`), validated. A budget is a number of
  tokens, or a fraction of `total_tokens` when in (0, 1), so budgets written as fractions follow train.tokens."""
  if not 0.0 < cooldown_fraction < 1.0:
    raise UserError(f"train.cooldown_fraction = {cooldown_fraction!r}: expected a number in (0, 1)")
  total_steps = steps_for(total_tokens, tokens_per_step)
  out: dict[int, Budget] = {}
  for tokens in budgets:
    if not isinstance(tokens, (int, float)) or isinstance(tokens, bool) or not math.isfinite(tokens) or tokens <= 0:
      raise UserError(f"train.cooldown_budgets: {tokens!r} is not a positive number of tokens")
    if tokens < 1:
      tokens = tokens * total_tokens
    if tokens > total_tokens:
      raise UserError(
        f"train.cooldown_budgets: {tokens:g} tokens exceeds train.tokens = {total_tokens}; "
        "the main run must reach the largest budget"
      )
    steps = steps_for(tokens, tokens_per_step)
    if steps >= total_steps:
      continue  # the same number of steps as the main run: the main run's own decay measures it
    start = decay_start(steps, cooldown_fraction)
    if start < max(warmup_steps, 1):
      raise UserError(
        f"train.cooldown_budgets: {tokens:g} tokens ({steps} steps) is too small for "
        f"optim.warmup_steps = {warmup_steps} and train.cooldown_fraction = {cooldown_fraction}"
      )
    out.setdefault(steps, Budget(tokens=int(tokens), steps=steps, decay_start=start, final=False))
  final = Budget(
    tokens=int(total_tokens), steps=total_steps, decay_start=decay_start(total_steps, cooldown_fraction), final=True
  )
  return [out[s] for s in sorted(out)] + [final]


def cost(budgets: Sequence[Budget]) -> dict[str, float]:
  """Steps trained with branches vs independent runs to every budget, and their ratio."""
  branched = max(b.steps for b in budgets) + sum(b.cooldown_steps for b in budgets if not b.final)
  independent = sum(b.steps for b in budgets)
  return {"branched_steps": branched, "independent_steps": independent, "ratio": branched / independent}
