"""Multilingual families: each recovers its own synthetic truth; leave-one-mixture-out ranks the true family first."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from codelaw.laws import compare, forms, identifiability
from codelaw.laws import multilingual as ml
from codelaw.laws.runs_io import make_results_table

LANGS = ("python", "java", "go")  # NAMES order: python, java, go
K = 3
NOISE = 0.003
E = np.array([0.6, 0.4, 0.45])
A = np.array([30.0, 50.0, 20.0])
B = np.array([300.0, 800.0, 500.0])
ALPHA = np.array([0.3, 0.4, 0.35])
BETA = np.array([0.35, 0.4, 0.38])
TAU = np.array([[1.0, 0.2, 0.05], [0.3, 1.0, 0.1], [0.1, 0.4, 1.0]])
GAMMA = np.array([0.1, 0.25, 0.05])
T = np.array([[-1.5, 0.5, 0.0], [0.3, -2.0, -0.5], [0.0, 0.4, -1.0]])

TRUTH = {
  "effective_data": lambda N, D, p: forms.effective_data_law(N, D, p, E, A, B, ALPHA, BETA, TAU),
  "he": lambda N, D, p: forms.he_multilingual_law(N, D, p, E, A, B, ALPHA, BETA, GAMMA),
  "data_mixing": lambda N, D, p: forms.data_mixing_law(p, E, np.array([0.8, 1.0, 0.9]), T),
  "paper_aggregate": lambda N, D, p: np.full(
    K,
    forms.paper_aggregate_law(
      N / 1e6, D / 1e8, p, 1.0, 0.8, np.array([0.3, 0.5, 0.4]), np.array([0.6, 0.9, 0.7]), E, 0.5, TAU
    ),
  ),
}
FAST = dict(starts=48, num_steps=200)


def _design(rng):
  runs = []
  for N in (1e6, 4e6, 1.6e7):
    for D in (2e7, 8e7, 3.2e8):
      runs += [(N, D, np.eye(K)[k]) for k in range(K)]
  N, D = 4e6, 8e7  # bilingual 50:50 runs and random mixtures at one (N, D)
  runs += [(N, D, (np.eye(K)[i] + np.eye(K)[j]) / 2) for i in range(K) for j in range(i + 1, K)]
  runs += [(N, D, rng.dirichlet(np.ones(K))) for _ in range(8)]
  return runs


def make_table(law, seed=0):
  rng = np.random.default_rng(seed)
  cols = {"run_id": [], "language": [], "N": [], "D": [], "loss": []}
  props = {name: [] for name in LANGS}
  for r, (N, D, p) in enumerate(_design(rng)):
    with np.errstate(divide="ignore"):
      L = np.asarray(TRUTH[law](N, D, p))
    for i, lang in enumerate(LANGS):
      if law == "he" and p[i] == 0:
        continue  # He's law is infinite for a language absent from the mix
      cols["run_id"].append(f"r{r}")
      cols["language"].append(lang)
      cols["N"].append(N)
      cols["D"].append(D)
      cols["loss"].append(float(L[i]) * np.exp(rng.normal(0, NOISE)))
      for k, name in enumerate(LANGS):
        props[name].append(p[k])
  return make_results_table(cols["run_id"], cols["language"], cols["N"], cols["D"], cols["loss"], props)


@pytest.fixture(scope="module")
def effective_fit():
  return ml.fit_multilingual(make_table("effective_data"), "effective_data", bootstrap=20, **FAST)


def test_effective_data_recovers_tau_and_exponents(effective_fit):
  fit = effective_fit
  for i, target in enumerate(LANGS):
    for j, source in enumerate(LANGS):
      assert fit["tau"][target][source] == pytest.approx(TAU[i, j], abs=0.05), (target, source)
    assert fit["languages"][target]["beta"] == pytest.approx(BETA[i], rel=0.1)
    # E and A/N^alpha trade off over 1.5 decades of N; tau and beta are what mixtures identify.
  assert fit["diagnostics"]["rmse_log"] < 2 * NOISE


def test_effective_data_bootstrap_schema(effective_fit):
  boot = effective_fit["bootstrap"]
  assert len(boot) == 20
  assert set(boot[0]) == {"languages", "tau"}
  assert set(boot[0]["languages"]["java"]) == {"E", "A", "B", "alpha", "beta"}
  lo, hi = effective_fit["languages"]["java"]["ci"]["beta"]
  assert lo <= effective_fit["languages"]["java"]["beta"] <= hi


@pytest.mark.parametrize("law", ["he", "data_mixing", "paper_aggregate"])
def test_family_fits_its_own_truth(law):
  fit = ml.fit_multilingual(make_table(law), law, bootstrap=0, **FAST)
  assert fit["diagnostics"]["rmse_log"] < 2 * NOISE
  if law == "he":
    for i, lang in enumerate(LANGS):
      assert fit["languages"][lang]["gamma"] == pytest.approx(GAMMA[i], abs=0.03)
  if law == "paper_aggregate":
    # its A, B are reported in power-of-ten units of N and D (the exponents depend on p)
    assert all(float(np.log10(u)).is_integer() for u in fit["units"].values())


def test_repetition_discount_changes_the_fit():
  table = make_table("effective_data")
  plain = ml.build_dataset(ml.get_family("effective_data"), table)
  capped = ml.build_dataset(ml.get_family("effective_data"), table, unique_tokens={"python": 1e7})
  params = ml.random_starts(ml.get_family("effective_data"), K, 1, 1, 0)
  params = {k: v[0, 0] for k, v in params.items()}
  a = ml.predict_log(ml.get_family("effective_data"), plain, params)
  b = ml.predict_log(ml.get_family("effective_data"), capped, params)
  py_big = (table.lang_idx == 0) & (table.P[:, 0] * table.D > 1e7)
  assert np.all(b[py_big] > a[py_big])  # repeated Python tokens are worth less: higher predicted loss
  assert np.allclose(a[~py_big & (table.lang_idx != 0)], b[~py_big & (table.lang_idx != 0)])


@pytest.mark.parametrize("law", [f for f in ml.FAMILIES if ml.get_family(f).separable])
def test_separable_family_rows_read_only_their_languages_slice(law):
  family = ml.get_family(law)
  ds = ml.build_dataset(family, make_table(law), unique_tokens={"java": 1e7} if law == "effective_data" else None)
  params = {k: jnp.asarray(v[0, 0]) for k, v in ml.random_starts(family, K, 1, 1, 3).items()}
  with jax.enable_x64(True):
    jac = jax.jacrev(lambda q: family.predict_log(q, {k: jnp.asarray(v) for k, v in ds.data.items()}))(params)
  for leaf, d in jac.items():  # d: [rows, K, ...]
    d = np.abs(np.asarray(d)).reshape(d.shape[0], K, -1).sum(-1)
    own = np.eye(K, dtype=bool)[ds.data["lang"]]
    assert np.all(d[~own] == 0), leaf
    assert np.any(d[own] > 0), leaf


def test_fit_by_language_beats_the_joint_fit_from_the_same_starts():
  family = ml.get_family("effective_data")
  joint = dataclasses.replace(family, name="effective_data_joint", separable=False)
  ds = ml.build_dataset(family, make_table("effective_data"))
  weights = np.stack([ds.mask, ds.mask * (ds.data["lang"] != 1)])  # all rows; all but Java's
  starts = ml.random_starts(family, K, 2, 8, 0)
  by_language, v = ml.minimize(family, ds, weights, starts, 200)
  _, v_joint = ml.minimize(joint, ds, weights, starts, 200)
  assert v.shape == (2,) and np.all(v <= v_joint * (1 + 1e-9))
  assert by_language["tau_raw"].shape == (2, K, K) and by_language["e"].shape == (2, K)
  # The objective it reports is the objective of the parameters it returns.
  obj = ml.make_objective(family)
  for g in range(2):
    with jax.enable_x64(True):
      value = float(obj({k: x[g] for k, x in by_language.items()}, ds.data, weights[g]))
    assert value == pytest.approx(v[g], rel=1e-9)
  # Java's rows left out: its parameters stay at their start.
  assert np.isclose(starts["e"][1, :, 1], by_language["e"][1, 1]).any()


def test_parameters_that_ran_off_along_a_flat_direction_are_read_at_their_limits():
  family = ml.get_family("effective_data")
  table = make_table("effective_data")
  ds = ml.build_dataset(family, table)
  params = {k: v[0, 0] for k, v in ml.random_starts(family, K, 1, 1, 0).items()}
  ran_off = {**params, "log_alpha": np.array([-800.0, 0.0, 0.0]), "a": np.array([800.0, 0.0, 0.0])}
  at_limits = {**params, "log_alpha": np.array([np.log(1e-3), 0.0, 0.0]), "a": np.array([30.0, 0.0, 0.0])}
  assert np.allclose(ml.predict_log(family, ds, ran_off), ml.predict_log(family, ds, at_limits))
  public = ml.to_public(family, ds, ran_off, table.languages, {0, 1, 2})["languages"]["python"]
  assert public["alpha"] == pytest.approx(1e-3) and 0 < public["A"] < np.inf  # was 0.0 and inf
  # Every resample at the limit: a narrow interval, still weakly determined.
  at = [public["alpha"], public["alpha"]]
  assert identifiability.weak({"alpha": at}, {"alpha": ml._EXPONENT_BOUNDS}) == ["alpha"]


def test_comparison_ranks_the_true_family_first():
  result = compare.compare_families(make_table("effective_data"), **FAST)
  assert result["ranking"][0] == "effective_data", result["families"]
  assert len(result["folds"]) == 11
  assert "| 1 | effective_data |" in compare.to_markdown(result)
  # One set of held-out rows for every family (He cannot predict a language absent from the mix, so those
  # rows are out for all), and each other family's paired difference from the best, with its interval.
  assert result["start"] == "cold" and 0 < result["scored"]["rows"] < make_table("effective_data").num_rows
  pairs = result["paired"]["language"]
  assert [p["family"] for p in pairs] == result["ranking"][1:]
  for p in pairs:
    assert p["against"] == "effective_data" and p["interval"][0] <= p["rmse_difference"] <= p["interval"][1]
    assert p["better"] == ("effective_data" if p["interval"][0] > 0 else "inconclusive")
  assert "Paired RMSE difference" in compare.to_markdown(result)


@pytest.mark.slow
@pytest.mark.parametrize("law", ["he", "data_mixing"])
def test_comparison_ranks_other_truths_first(law):
  result = compare.compare_families(make_table(law), **FAST)
  assert result["ranking"][0] == law, result["families"]


@pytest.mark.slow
def test_comparison_ranks_paper_aggregate_first_on_mixtures():
  result = compare.compare_families(make_table("paper_aggregate"), **FAST)
  assert result["ranking_mixture"][0] == "paper_aggregate", result["families"]


def test_fit_json_loads_in_the_allocation_reader(effective_fit):
  from codelaw.laws.fit_file import load_fit

  fit = load_fit(effective_fit)
  assert fit.law.langs == LANGS
  assert fit.unidentifiable == {}  # 3 sizes x 3 budgets: every language's law is identified
  d = effective_fit["diagnostics"]["go"]
  assert d["design"]["distinct_N"] == 3 and d["design"]["distinct_D"] == 3 and d["design"]["dof"] > 3
  assert effective_fit["diagnostics"]["bootstrap"]["start"] == "cold"
  assert len(fit.bootstrap) == 20
  assert np.allclose(fit.law.tau, TAU, atol=0.05)
