"""Bootstrap helpers: resamples as row-weight vectors (so a vmapped fit runs them all at once) and intervals."""

from __future__ import annotations

import numpy as np


def resample_weights(rng: np.random.Generator, mask_M: np.ndarray, resamples: int) -> np.ndarray:
  """[resamples, M] counts: each resample draws n rows with replacement among the rows where mask > 0."""
  rows = np.nonzero(mask_M > 0)[0]
  counts = rng.multinomial(len(rows), np.full(len(rows), 1.0 / len(rows)), size=resamples)
  out = np.zeros((resamples, len(mask_M)))
  out[:, rows] = counts
  return out


def cluster_resample_weights(
  rng: np.random.Generator, groups_M: np.ndarray, resamples: int, mask_M: np.ndarray | None = None
) -> np.ndarray:
  """[resamples, M] weights resampling whole groups (e.g. runs: all eval rows of a run move together)."""
  mask_M = np.ones(len(groups_M)) if mask_M is None else mask_M
  uniq, inverse = np.unique(groups_M, return_inverse=True)
  counts = rng.multinomial(len(uniq), np.full(len(uniq), 1.0 / len(uniq)), size=resamples)  # [R, groups]
  return counts[:, inverse] * mask_M[None, :]


def percentile_intervals(draws: dict[str, np.ndarray], level: float) -> dict[str, list[float]]:
  """Percentile intervals {name: [lo, hi]} at `level` (e.g. 0.95 -> 2.5th and 97.5th percentiles)."""
  q = 100 * (1 - level) / 2
  return {k: [float(np.percentile(v, q)), float(np.percentile(v, 100 - q))] for k, v in draws.items()}
