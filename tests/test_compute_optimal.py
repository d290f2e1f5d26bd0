"""Compute-optimal planning: closed form vs numerical search, optimality, and the mix plan."""

import math

import numpy as np
import pytest

from codelaw.errors import UserError
from codelaw.laws import allocation, compute_optimal
from codelaw.laws.fit_file import load_fit

EPOCH = {"E": 1.82, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}  # Epoch AI's Chinchilla fit


def _law(langs=("python", "java"), scale=None):
  scale = scale or (1.0,) * len(langs)
  block = {l: {**EPOCH, "B": EPOCH["B"] * s} for l, s in zip(langs, scale)}
  return load_fit({"law": "chinchilla", "languages": block}).law


def test_closed_form_matches_search_and_is_optimal():
  law = _law(scale=(1.0, 3.0))
  C = 1e21
  closed = compute_optimal.per_language(law, C)
  searched = compute_optimal.per_language(law, C, flops_per_token=lambda n: 6.0 * n)
  for lang in law.langs:
    assert closed[lang]["N"] == pytest.approx(searched[lang]["N"], rel=1e-5)
    assert closed[lang]["N"] * closed[lang]["D"] * 6 == pytest.approx(C, rel=1e-12)
    q = EPOCH if lang == "python" else {**EPOCH, "B": EPOCH["B"] * 3}
    loss = lambda n: q["E"] + q["A"] / n ** q["alpha"] + q["B"] / (C / (6 * n)) ** q["beta"]
    n = closed[lang]["N"]
    assert closed[lang]["loss"] == pytest.approx(loss(n), rel=1e-12)
    assert loss(n) < loss(n * 1.05) and loss(n) < loss(n / 1.05)
  # Epoch's Chinchilla parameters at 5.76e23 FLOPs (Chinchilla's budget) give ~ tens of billions of params.
  big = compute_optimal.per_language(law, 5.76e23)["python"]
  assert 1e10 < big["N"] < 1e11 and 10 < big["tokens_per_param"] < 40
  # More data-hungry language (larger B) wants more tokens per parameter.
  assert closed["java"]["tokens_per_param"] > closed["python"]["tokens_per_param"]


def test_exact_flops_per_token_shifts_the_plan():
  law = _law()
  C = 1e20
  plain = compute_optimal.per_language(law, C)["python"]
  # An attention term makes each token costlier; the plan must respect C = fpt(N) * D exactly.
  fpt = lambda n: 6.0 * n + 6.0 * 2048 * 512 * 12
  exact = compute_optimal.per_language(law, C, flops_per_token=fpt)["python"]
  assert fpt(exact["N"]) * exact["D"] == pytest.approx(C, rel=1e-12)
  assert exact["D"] < plain["D"]


def test_mix_plan_identical_languages_and_uniform():
  law = _law(langs=("python", "java", "go"))
  C = 1e20
  plan = compute_optimal.for_mix(law, C)
  # Identical languages, no transfer: uniform mix, each language sees D/3 tokens, i.e. the plan of one
  # language whose B is scaled by 3^beta (closed form).
  one = compute_optimal.per_language(_law(("python",), scale=(3 ** EPOCH["beta"],)), C)["python"]
  np.testing.assert_allclose(plan.solution.p, np.full(3, 1 / 3), atol=1e-9)
  assert plan.N == pytest.approx(one["N"], rel=1e-4)
  assert plan.solution.objective == pytest.approx(one["loss"], rel=1e-9)


def test_mix_plan_beats_neighbours():
  law = _law(scale=(1.0, 4.0))
  C = 1e20
  plan = compute_optimal.for_mix(law, C, weights=np.asarray([0.3, 0.7]))
  for f in (0.9, 1.1):
    n = plan.N * f
    other = allocation.solve(law, n, C / (6 * n), weights=np.asarray([0.3, 0.7]))
    assert plan.solution.objective < other.objective


def test_bad_budget():
  for bad in (0.0, -1.0, math.inf, math.nan):
    with pytest.raises(UserError, match="flops"):
      compute_optimal.per_language(_law(), bad)
