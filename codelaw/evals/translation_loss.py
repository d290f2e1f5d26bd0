"""Aggregates of the translation loss (nats per target token of y given x) over every direction.

The per-direction numbers come from `codelaw.train.evaluation.direction_losses`, the routine the trainer
uses too, so for a run's trained directions they equal the `translation` block of its result.json.

Aggregates are unweighted means of per-direction losses (every direction counts once, as in the paper's
tables), over the directions that have held-out pairs:
    by_source[s] = mean over s->t,  by_target[t] = mean over s->t,
    seen = mean over the directions the model was trained on (pivot <-> others), unseen = the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from codelaw import languages
from codelaw.data import translation


def _mean(values: list[float]) -> float | None:
  return float(np.mean(values)) if values else None


def aggregate(losses: dict[str, dict[str, float]], seen: Sequence[str]) -> dict[str, Any]:
  """by_source / by_target / seen / unseen means of per-direction losses (None where no direction has data)."""
  seen_set = set(seen)
  pairs = {d: translation.parse_direction(d) for d in losses}
  by_source = {lang: _mean([v["loss"] for d, v in losses.items() if pairs[d][0] == lang]) for lang in languages.NAMES}
  by_target = {lang: _mean([v["loss"] for d, v in losses.items() if pairs[d][1] == lang]) for lang in languages.NAMES}
  seen_dirs = [d for d in losses if d in seen_set]
  unseen_dirs = [d for d in losses if d not in seen_set]
  return {
    "by_source": {k: v for k, v in by_source.items() if v is not None},
    "by_target": {k: v for k, v in by_target.items() if v is not None},
    "seen": {"loss": _mean([losses[d]["loss"] for d in seen_dirs]), "directions": seen_dirs},
    "unseen": {"loss": _mean([losses[d]["loss"] for d in unseen_dirs]), "directions": unseen_dirs},
    "all": {"loss": _mean([v["loss"] for v in losses.values()]), "directions": list(losses)},
  }
