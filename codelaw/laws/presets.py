"""The paper's published numbers as data (codelaw/laws/data/*.json) and a law built from them.

The paper publishes per-language exponents and irreducible losses (Figure 2) and a synergy table (Table 1),
but not the scale constants A_i, B_i nor how Table 1 maps to transfer coefficients. `paper_law` therefore
makes two documented choices: A_i = B_i = 1 (in the paper's units: N and D in billions), and
tau_ij = rel_ij / 100 (Table 1's relative improvement as a fraction), the reading of Eq. 7 that
docs/paper.md §2.5 suggests. Results on this preset illustrate the solver on the paper's numbers;
they are not a re-derivation of the paper's allocation, which the paper does not specify.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np

from codelaw import languages
from codelaw.errors import UserError
from codelaw.laws.fit_file import LawParams

BILLION = 1e9
TAU_MAPPINGS = ("relative", "delta", "none")


@functools.cache
def _load(name: str) -> dict:
  return json.loads(resources.files("codelaw.laws").joinpath("data", name).read_text())


def figure2() -> dict:
  """{"languages": {lang: {alpha_N, alpha_D, L_inf}}, "units": ...}; N, D in billions."""
  return _load("paper_figure2.json")


def table1() -> dict:
  """{"loss": {target: {aux: loss}}, "relative_percent": {target: {aux: %}}, "units": ...}."""
  return _load("paper_table1_synergy.json")


def figure5() -> dict:
  """Uniform vs guided token allocation (billions of tokens), with the two readings of the lost labels."""
  return _load("paper_figure5_guided.json")


def synergy_delta() -> dict[str, dict[str, float]]:
  """Delta_ij = L_i(i+i) - L_i(i+j) from Table 1's losses (positive = j helps i)."""
  loss = table1()["loss"]
  return {t: {a: loss[t][t] - loss[t][a] for a in loss[t] if a != t} for t in loss}


def synergy_relative() -> dict[str, dict[str, float]]:
  """rel_ij = Delta_ij / L_i(i+i), recomputed from the losses (a fraction, not percent)."""
  loss = table1()["loss"]
  return {t: {a: d / loss[t][t] for a, d in row.items()} for t, row in synergy_delta().items()}


def tau_matrix(mapping: str = "relative") -> np.ndarray:
  """[K, K] transfer matrix in languages.NAMES order, diagonal 1, from Table 1."""
  if mapping not in TAU_MAPPINGS:
    raise UserError(f"tau mapping {mapping!r}: expected one of {', '.join(TAU_MAPPINGS)}")
  tau = np.eye(len(languages.NAMES))
  if mapping == "none":
    return tau
  src = synergy_relative() if mapping == "relative" else synergy_delta()
  for i, t in enumerate(languages.NAMES):
    for j, a in enumerate(languages.NAMES):
      if i != j:
        tau[i, j] = src[t][a]
  return tau


def paper_law(*, tau_mapping: str = "relative", A: float = 1.0, B: float = 1.0) -> LawParams:
  """Per-language effective-data law on the paper's Figure 2 exponents and Table 1 transfer (see module doc)."""
  fig = figure2()["languages"]
  col = lambda k: np.asarray([fig[n][k] for n in languages.NAMES], dtype=np.float64)
  K = len(languages.NAMES)
  return LawParams(
    family="effective_data",
    langs=languages.NAMES,
    E=col("L_inf"),
    A=np.full(K, float(A)),
    B=np.full(K, float(B)),
    alpha=col("alpha_N"),
    beta=col("alpha_D"),
    tau=tau_matrix(tau_mapping),
    n_unit=BILLION,
    d_unit=BILLION,
  )


def paper_guided_shares(reading: str = "H1") -> dict[str, float]:
  """The paper's guided allocation as shares of the code tokens (reading H1 or H2 of Figure 5)."""
  readings = figure5()["readings"]
  if reading not in readings:
    raise UserError(f"paper reading {reading!r}: expected one of {', '.join(readings)}")
  tokens = readings[reading]["tokens"]
  total = sum(tokens.values())
  return {n: tokens[n] / total for n in languages.NAMES}
