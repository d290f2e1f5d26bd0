"""The one verdict rule of the report, and the intervals it is applied to.

A claim is a statistic with a null value and a direction (docs/science.md §5). `supported` when the 95%
interval lies entirely on the claimed side of the null, `contradicted` when it lies entirely on the other
side, `inconclusive` when it straddles it. A claim without the runs it needs, or resting on a law that is not
identifiable, is `not enough data` and has no interval.

Intervals: paired comparisons over seeds use Student's t on the per-seed differences (the arms share seeds
and evaluation tokens, so the differences carry the noise); fitted parameters use the fit's run-level
bootstrap draws (percentile interval). A statistic that is monotone in several estimates (a minimum, an
ordering margin, a difference of means) gets its interval by evaluating it at the ends of theirs.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from codelaw.contracts.report import CONTRADICTED, INCONCLUSIVE, NO_DATA, SUPPORTED, Claim
from codelaw.study.studies.paired import seed_interval

LEVEL = 0.95
MIN_DRAWS = 40  # at least one draw in each 2.5% tail
NO_INTERVAL = "the paper publishes no interval, so its point value stands as [x, x]"


def decide(interval: Sequence[float] | None, null: float = 0.0, alternative: str = "greater") -> str:
  if interval is None or not all(math.isfinite(v) for v in interval):
    return NO_DATA
  lo, hi = interval
  if lo > null or hi < null:
    holds = (lo > null) == (alternative == "greater")
    return SUPPORTED if holds else CONTRADICTED
  return INCONCLUSIVE


def paired(diffs: Sequence[float], level: float = LEVEL) -> tuple[float, tuple[float, float] | None]:
  """Mean of per-seed paired differences and its t interval (None with fewer than 2 seeds)."""
  stat = seed_interval({i: x for i, x in enumerate(diffs) if math.isfinite(x)}, level)
  return stat.estimate, stat.interval


def percentile(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float] | None:
  """Percentile interval; None with fewer than MIN_DRAWS finite draws (a 95% interval from a handful of
  resamples is an interpolation between the extremes, not an interval)."""
  d = np.asarray(draws, np.float64)
  d = d[np.isfinite(d)]
  if d.size < MIN_DRAWS:
    return None
  q = 100 * (1 - level) / 2
  return float(np.percentile(d, q)), float(np.percentile(d, 100 - q))


Estimate = tuple[float, tuple[float, float] | None]  # (point, interval or None)


def monotone(
  f: Callable[[Mapping[str, float]], float], parts: Mapping[str, Estimate], signs: Mapping[str, int]
) -> Estimate:
  """f at the point estimates, with the interval from f at the interval ends (signs: +1 where f increases
  with that part, -1 where it decreases). No interval when any part lacks one."""
  point = f({k: v[0] for k, v in parts.items()})
  if any(v[1] is None for v in parts.values()):
    return point, None
  end = lambda side: {k: v[1][side if signs[k] > 0 else 1 - side] for k, v in parts.items()}
  return point, (f(end(0)), f(end(1)))


def exact(x: float) -> Estimate:
  """A published point value with no interval: the interval is the point itself."""
  return x, (x, x)


def claim(
  id: str,
  text: str,
  statistic: str,
  est: Estimate | None,
  reason: str,
  *,
  null: float = 0.0,
  alternative: str = "greater",
  source: str = "ours",
  section: str = "",
) -> Claim:
  """A claim with the verdict the rule gives its interval; `est` None = the data are missing."""
  point, interval = est if est is not None else (None, None)
  verdict = decide(interval, null, alternative)
  if verdict == NO_DATA and est is not None and point is not None and math.isfinite(point):
    reason += f" (no interval: fewer than 2 seeds or {MIN_DRAWS} bootstrap draws)"
  if source == "paper" and interval is not None and interval[0] == interval[1]:
    reason += f"; {NO_INTERVAL}"
  return Claim(
    id=id,
    claim=text,
    statistic=statistic,
    estimate=point,
    interval=interval,
    null=null,
    verdict=verdict,
    reason=reason,
    alternative=alternative,
    source=source,
    section=section,
  )
