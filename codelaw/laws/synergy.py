"""Bilingual synergy (paper §4) from the synergy study's three arms, with paired intervals over seeds.

    Delta_ij = L_i(i+i) - L_i(i+j)        rel_ij = Delta_ij / L_i(i+i)        (positive = j helps i)

L_i(i+i): target i's validation loss after the `self_capped` arm (i alone, its unique tokens capped at half
the run, so seen twice: the paper's baseline); L_i(i+j): after the `pair` arm (50:50 of i and j, same N and
D). Delta splits into two parts through the `self_fresh` arm (i alone on fresh data):

    repetition_penalty_i = L_i(capped) - L_i(fresh)    what seeing the target twice costs
    aux_vs_fresh_ij      = L_i(fresh)  - L_i(i+j)      what the auxiliary is worth against fresh target data
    Delta_ij = repetition_penalty_i + aux_vs_fresh_ij

Every statistic is a mean over seeds of per-seed differences (same seed = same initialisation, same
evaluation tokens) with a paired t-interval; one seed gives no interval ("not enough data"). Each is given in
nats per token (`loss`) and in bits per byte (`bpb`, comparable across languages whose tokenizers compress
differently). Input: a study's results.csv (its `kind`, `aux`, `seed` and `final` columns).
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np

from codelaw import languages
from codelaw.errors import UserError
from codelaw.study.studies.paired import METHOD, SeedInterval, paired_difference, seed_interval

KINDS = ("self_capped", "self_fresh", "pair")
UNITS = {"loss": "nats per token", "bpb": "bits per byte"}


def _number(value: Any) -> float:
  try:
    return float(value)
  except (TypeError, ValueError):
    return math.nan


def _final_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
  """The synergy arms' rows at each run's final budget."""
  out = []
  for r in rows:
    if r.get("kind") not in KINDS or str(r.get("status", "complete")) not in ("", "complete"):
      continue
    if str(r.get("final", "1")) not in ("1", "1.0", "True"):
      continue
    out.append(
      {
        "language": r["language"],
        "aux": r.get("aux") or r["language"],
        "kind": r["kind"],
        "seed": str(r.get("seed", "")),
        "N": _number(r["N"]),
        "D": _number(r["D"]),
        "loss": _number(r["loss"]),
        "bpb": _number(r.get("bpb")),
      }
    )
  return out


def _means(arm: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
  """An arm's mean over seeds per unit (None without runs) and its seed count."""
  out: dict[str, Any] = {unit: float(np.mean(list(v.values()))) if (v := arm.get(unit)) else None for unit in UNITS}
  out["n_seeds"] = len(arm.get("loss", {}))
  return out


def _both(f, *arms: Mapping[str, Mapping[str, float]]) -> dict[str, dict]:
  return {unit: f(*(a.get(unit, {}) for a in arms)).to_json() for unit in UNITS}


def _relative(capped: Mapping[str, float], pair: Mapping[str, float], level: float) -> SeedInterval:
  return seed_interval({s: (capped[s] - pair[s]) / capped[s] for s in set(capped) & set(pair)}, level)


def synergy(rows: Sequence[Mapping[str, Any]], *, level: float = 0.95) -> dict:
  """The synergy matrix with its decomposition, from results rows (dicts as csv.DictReader gives them).

  Returns {"N", "D", "ci_level", "method", "units", "targets": {i: {"self_capped", "self_fresh" (means and
  seed counts), "repetition_penalty" {unit: stat}, "aux": {j: {"pair", "delta" {unit: stat}, "rel" stat,
  "aux_vs_fresh" {unit: stat}}}}}}, stat = {"estimate", "interval", "n_seeds", "status", ...}. Uses the
  (N, D) with the most synergy rows (the study trains one size at one budget).
  """
  data = [r for r in _final_rows(rows) if math.isfinite(r["loss"])]
  if not data:
    raise UserError(f"synergy: no complete runs of kind {', '.join(KINDS)} in the results")
  counts: dict[tuple[float, float], int] = {}
  for r in data:
    counts[(r["N"], r["D"])] = counts.get((r["N"], r["D"]), 0) + 1
  nd = max(counts, key=lambda k: (counts[k], k))
  # arms[(kind, target, aux)][unit][seed] = value
  arms: dict[tuple[str, str, str], dict[str, dict[str, float]]] = {}
  for r in data:
    if (r["N"], r["D"]) != nd:
      continue
    arm = arms.setdefault((r["kind"], r["language"], r["aux"]), {})
    for unit in UNITS:
      if math.isfinite(r[unit]):
        arm.setdefault(unit, {})[r["seed"]] = r[unit]
  pairs = {(t, a) for kind, t, a in arms if kind == "pair" and a != t}
  targets = sorted({t for _, t, _ in arms}, key=languages.NAMES.index)
  if not pairs:
    raise UserError("synergy: no 50:50 pair runs (kind pair) in the results")
  diff = lambda a, b: paired_difference(a, b, level)
  out: dict[str, dict] = {}
  for t in targets:
    capped, fresh = arms.get(("self_capped", t, t), {}), arms.get(("self_fresh", t, t), {})
    cell: dict[str, Any] = {
      "self_capped": _means(capped),
      "self_fresh": _means(fresh),
      "repetition_penalty": _both(diff, capped, fresh),
      "aux": {},
    }
    for a in sorted((a for tt, a in pairs if tt == t), key=languages.NAMES.index):
      pair = arms[("pair", t, a)]
      cell["aux"][a] = {
        "pair": _means(pair),
        "delta": _both(diff, capped, pair),
        "rel": _relative(capped.get("loss", {}), pair.get("loss", {}), level).to_json(),
        "aux_vs_fresh": _both(diff, fresh, pair),
      }
    out[t] = cell
  return {"N": nd[0], "D": nd[1], "ci_level": level, "method": METHOD, "units": dict(UNITS), "targets": out}


def load_synergy(path: str | os.PathLike, *, level: float = 0.95) -> dict:
  """`synergy` of a results.csv (a synergy study's, or the quickstart's table of every study)."""
  if not os.path.isfile(path):
    raise UserError(f"synergy: results file {str(path)!r} does not exist")
  with open(path, newline="") as f:
    reader = csv.DictReader(f)
    missing = [c for c in ("language", "N", "D", "loss", "kind", "seed") if c not in (reader.fieldnames or [])]
    if missing:
      raise UserError(f"synergy: results file {str(path)!r} is missing column(s) {', '.join(missing)}")
    return synergy(list(reader), level=level)
