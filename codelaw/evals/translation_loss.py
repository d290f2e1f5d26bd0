"""Translation loss (nats per target token of y given x) over every direction, and its aggregates.

The per-direction numbers come from the held-out parallel pairs (`translation_eval_batches`: weights on
the y tokens and the final EOS only) in the prompt format of the strategy the model was trained with, so
for a run's trained directions they equal the `translation` block of its result.json.

Aggregates are unweighted means of per-direction losses (every direction counts once, as in the paper's
tables), over the directions that have held-out pairs:
    by_source[s] = mean over s->t,  by_target[t] = mean over s->t,
    seen = mean over the directions the model was trained on (pivot <-> others), unseen = the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

from codelaw import languages
from codelaw.data import translation
from codelaw.evals.loss import local_rows

EvalStep = Callable[[Any, Any], tuple[Any, Any]]  # (params, batch) -> (sum_loss, sum_weight)


def direction_losses(eval_step: EvalStep, params: Any, directions: Sequence[str], *, seq_len: int,
                     batch_size: int, strategy: str, corpus_dir: str | os.PathLike, data: str = "sample",
                     mesh: jax.sharding.Mesh | None = None, max_pairs: int | None = None
                     ) -> dict[str, dict[str, float]]:
  """`{direction: {"loss", "tokens"}}` for the directions with held-out pairs that fit `seq_len`.

  Directions without such pairs are left out (the caller lists them as missing).
  """
  from codelaw.train.step import shard_batch
  out = {}
  for direction in directions:
    batches = translation.translation_eval_batches(direction, seq_len=seq_len, batch_size=batch_size,
                                                   strategy=strategy, corpus_dir=corpus_dir, data=data,
                                                   max_pairs=max_pairs)
    sums = [eval_step(params, shard_batch(local_rows(b), mesh) if mesh is not None else b) for b in batches]
    if not sums:
      continue
    # One host transfer per direction, summed in float64 like the per-language eval.
    total_loss, total_weight = (float(np.sum(np.asarray(jax.device_get(x), dtype=np.float64))) for x in zip(*sums))
    if total_weight <= 0:
      continue
    out[direction] = {"loss": total_loss / total_weight, "tokens": int(round(total_weight))}
  return out


def _mean(values: list[float]) -> float | None:
  return float(np.mean(values)) if values else None


def aggregate(losses: dict[str, dict[str, float]], seen: Sequence[str]) -> dict[str, Any]:
  """by_source / by_target / seen / unseen means of per-direction losses (None where no direction has data)."""
  seen_set = set(seen)
  pairs = {d: translation.parse_direction(d) for d in losses}
  by_source = {lang: _mean([v["loss"] for d, v in losses.items() if pairs[d][0] == lang])
               for lang in languages.NAMES}
  by_target = {lang: _mean([v["loss"] for d, v in losses.items() if pairs[d][1] == lang])
               for lang in languages.NAMES}
  seen_dirs = [d for d in losses if d in seen_set]
  unseen_dirs = [d for d in losses if d not in seen_set]
  return {
      "by_source": {k: v for k, v in by_source.items() if v is not None},
      "by_target": {k: v for k, v in by_target.items() if v is not None},
      "seen": {"loss": _mean([losses[d]["loss"] for d in seen_dirs]), "directions": seen_dirs},
      "unseen": {"loss": _mean([losses[d]["loss"] for d in unseen_dirs]), "directions": unseen_dirs},
      "all": {"loss": _mean([v["loss"] for v in losses.values()]), "directions": list(losses)},
  }
