"""Can the data determine the law? Design counts per language, and the parameters the data leave loose.

A Chinchilla-type law has an N term and a D term; each needs at least three distinct values of its variable
to separate an exponent from a scale and the irreducible loss (two sizes fit alpha, A and E exactly for any
alpha), and the fit needs residual degrees of freedom left over to measure its own noise. A parameter is
weakly determined when its interval reaches a bound of the box the fits start from (the data do not pin it
inside the region searched) or spans more than a decade.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

MIN_DISTINCT = 3
MIN_DOF = 3
DECADE = 10.0
EXPONENTS = ("alpha", "beta")


def weak_exponents(weak: Sequence[str]) -> tuple[str, ...]:
  """The exponents among a language's weakly determined parameters."""
  return tuple(p for p in EXPONENTS if p in weak)


def design(N: np.ndarray, D: np.ndarray, run_id: np.ndarray, num_params: int) -> dict[str, int]:
  """{distinct_N, distinct_D, runs, rows, dof} of one language's rows (dof = rows - fitted parameters)."""
  rows = int(len(N))
  return {
    "distinct_N": int(len(np.unique(N))),
    "distinct_D": int(len(np.unique(D))),
    "runs": int(len(np.unique(run_id))),
    "rows": rows,
    "dof": rows - int(num_params),
  }


def problems(d: Mapping[str, int], *, scaling: bool = True) -> list[str]:
  """One line per reason the design cannot identify the law; [] when it can. scaling=False for a law fitted
  at one (N, D) by construction (Ye et al.'s data-mixing law): then only the degrees of freedom count."""
  out = []
  if scaling and d["distinct_N"] < MIN_DISTINCT:
    out.append(f"{d['distinct_N']} distinct model size(s) N (need >= {MIN_DISTINCT}): alpha, A and E are not separable")
  if scaling and d["distinct_D"] < MIN_DISTINCT:
    out.append(
      f"{d['distinct_D']} distinct token budget(s) D (need >= {MIN_DISTINCT}): beta, B and E are not separable"
    )
  if d["dof"] < MIN_DOF:
    out.append(
      f"{d['dof']} residual degree(s) of freedom (need >= {MIN_DOF}): {d['rows']} rows for "
      f"{d['rows'] - d['dof']} parameters"
    )
  return out


def weak(intervals: Mapping[str, Sequence[float]], box: Mapping[str, tuple[float, float]]) -> list[str]:
  """Parameters whose interval touches a bound of the start box or is wider than a decade (hi/lo > 10).

  box: {public parameter: (lo, hi)} in public units (E, A, B as values, exponents as they are)."""
  out = []
  for name, (lo, hi) in intervals.items():
    if not (math.isfinite(lo) and math.isfinite(hi)):
      out.append(name)
      continue
    b = box.get(name)
    at_bound = b is not None and (lo <= b[0] or hi >= b[1])
    wide = lo <= 0 or hi / lo > DECADE
    if at_bound or wide:
      out.append(name)
  return out


def summary(d: Mapping[str, int], weak_params: Sequence[str], *, scaling: bool = True) -> dict:
  """The diagnostics block every fit writes per language: identifiable, problems, design, weak."""
  p = problems(d, scaling=scaling)
  return {"identifiable": not p, "problems": p, "design": dict(d), "weak": list(weak_params)}
