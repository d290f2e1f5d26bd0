"""Paired comparisons over seeds, which the synergy and validation studies share.

Two arms trained with the same seeds (same initialisation, same evaluation tokens) differ run by run much
less than their seed-to-seed spread, so their difference is measured per seed and its interval is a
Student-t interval on those per-seed differences (the paired t-test's interval). One seed gives an estimate
and no interval: "not enough data".
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

import numpy as np
from scipy.special import stdtrit  # Student-t quantiles; lighter to import than scipy.stats

METHOD = "paired t over seeds"
NOT_ENOUGH = "not enough data"


@dataclasses.dataclass(frozen=True)
class SeedInterval:
  """The mean over seeds of a per-seed quantity (usually a difference of two arms) and its t-interval.

  estimate: NaN without seeds. interval: (lo, hi) at `level`, None with fewer than 2 seeds.
  """

  estimate: float
  interval: tuple[float, float] | None
  seeds: tuple[str, ...]
  values: tuple[float, ...]
  level: float

  @property
  def status(self) -> str:
    """ "positive" / "negative" where the interval excludes 0, else "inconclusive" (or "not enough data")."""
    if self.interval is None:
      return NOT_ENOUGH
    lo, hi = self.interval
    return "positive" if lo > 0 else "negative" if hi < 0 else "inconclusive"

  def to_json(self) -> dict[str, Any]:
    return {
      "estimate": self.estimate if math.isfinite(self.estimate) else None,
      "interval": list(self.interval) if self.interval is not None else None,
      "level": self.level,
      "method": METHOD,
      "n_seeds": len(self.seeds),
      "seeds": list(self.seeds),
      "per_seed": list(self.values),
      "status": self.status,
    }


def seed_interval(values: Mapping[Any, float], level: float = 0.95) -> SeedInterval:
  """Mean and t-interval of one value per seed (keys: seeds)."""
  seeds = tuple(sorted(str(s) for s in values))
  x = np.asarray([float(values[s]) for s in sorted(values, key=str)], np.float64)
  if len(x) == 0:
    return SeedInterval(math.nan, None, (), (), level)
  mean = float(x.mean())
  interval = None
  if len(x) >= 2:
    half = float(stdtrit(len(x) - 1, 0.5 + level / 2) * x.std(ddof=1) / math.sqrt(len(x)))
    interval = (mean - half, mean + half)
  return SeedInterval(mean, interval, seeds, tuple(float(v) for v in x), level)


def paired_difference(a: Mapping[Any, float], b: Mapping[Any, float], level: float = 0.95) -> SeedInterval:
  """a - b, seed by seed, over the seeds both arms have (a seed missing from one arm is left out)."""
  common = set(a) & set(b)
  return seed_interval({s: a[s] - b[s] for s in common}, level)
