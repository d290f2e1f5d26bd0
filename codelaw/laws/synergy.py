"""Bilingual synergy (paper §4): Delta_ij = L_i(i+i) - L_i(i+j), rel_ij = Delta_ij / L_i(i+i).

L_i(i+i) is target i's validation loss after training on i alone (its data seen twice: the self-repetition
baseline); L_i(i+j) after a 50:50 mix of i and j at the same N and D. Positive = auxiliary j helps target i.
With several seeds per cell the interval is a Welch t-interval on the difference of means.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from codelaw.errors import UserError
from codelaw.laws.runs_io import ResultsTable

MIX_TOL = 1e-6


def synergy_matrix(table: ResultsTable, *, level: float = 0.95) -> dict:
  """{"targets": {i: {j: {"delta", "rel", "baseline", "mixed", "n_baseline", "n_mixed", "delta_ci", "rel_ci"}}},
  "N", "D"}, at the (N, D) with the most bilingual cells (the synergy design trains all at one budget)."""
  K = len(table.languages)
  cells: dict[tuple, dict[tuple[int, int], list[float]]] = {}
  for r in range(table.num_rows):
    i, p = int(table.lang_idx[r]), table.P[r]
    if p[i] > 1 - MIX_TOL:
      j = i
    else:
      others = [k for k in range(K) if k != i and p[k] > MIX_TOL]
      if len(others) != 1 or abs(p[i] - 0.5) > 1e-3:
        continue
      j = others[0]
    cells.setdefault((table.N[r], table.D[r]), {}).setdefault((i, j), []).append(float(table.loss[r]))
  scored = {nd: sum(1 for (i, j) in c if i != j and (i, i) in c) for nd, c in cells.items()}
  if not scored or max(scored.values()) == 0:
    raise UserError("synergy: no target has both a monolingual (self-repetition) run and a 50:50 bilingual run "
                    "at the same N and D")
  nd = max(scored, key=lambda k: (scored[k], k))
  c = cells[nd]
  out: dict[str, dict] = {}
  for (i, j), mixed in sorted(c.items()):
    if i == j or (i, i) not in c:
      continue
    base = np.asarray(c[(i, i)])
    mixed = np.asarray(mixed)
    delta = base.mean() - mixed.mean()
    cell = {"delta": float(delta), "rel": float(delta / base.mean()), "baseline": float(base.mean()),
            "mixed": float(mixed.mean()), "n_baseline": len(base), "n_mixed": len(mixed)}
    ci = _welch_interval(base, mixed, level)
    if ci is not None:
      cell["delta_ci"] = ci
      cell["rel_ci"] = [x / base.mean() for x in ci]
    out.setdefault(table.languages[i], {})[table.languages[j]] = cell
  return {"targets": out, "N": float(nd[0]), "D": float(nd[1]), "ci_level": level}


def _welch_interval(a: np.ndarray, b: np.ndarray, level: float) -> list[float] | None:
  if len(a) < 2 or len(b) < 2:
    return None
  va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
  se = np.sqrt(va + vb)
  if se == 0:
    return [float(a.mean() - b.mean())] * 2
  dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
  half = scipy.stats.t.ppf(0.5 + level / 2, dof) * se
  d = a.mean() - b.mean()
  return [float(d - half), float(d + half)]
