"""Allocation solver: against SLSQP, closed forms, constraints, infeasibility and bad input."""

import json

import numpy as np
import pytest
from scipy import optimize

from codelaw.errors import UserError
from codelaw.languages import NAMES
from codelaw.laws import allocation
from codelaw.laws.fit_file import load_fit

N, D = 1e8, 1e10


def _fit_dict(rng, K, *, family="effective_data", tau_scale=0.4, same=False):
  langs = list(NAMES[:K])
  block = {}
  for i, lang in enumerate(langs):
    r = (lambda lo, hi: (lo + hi) / 2) if same else (lambda lo, hi: float(rng.uniform(lo, hi)))
    block[lang] = {"E": r(0.5, 2.0), "A": r(200, 800), "B": r(500, 5000), "alpha": r(0.25, 0.45), "beta": r(0.2, 0.5)}
    if family == "he":
      block[lang]["gamma"] = r(0.05, 0.3)
  obj = {"law": family, "languages": block}
  if family == "effective_data":
    obj["tau"] = {
      t: {s: (1.0 if s == t else (0.0 if same else float(rng.uniform(0, tau_scale)))) for s in langs} for t in langs
    }
  return obj


def _np_losses(obj, p, n=N, d=D):
  """Independent numpy evaluation of the law (not through codelaw.laws.forms)."""
  langs = [l for l in NAMES if l in obj["languages"]]
  out = []
  for i, t in enumerate(langs):
    q = obj["languages"][t]
    if obj["law"] == "he":
      out.append((q["E"] + q["A"] / n ** q["alpha"] + q["B"] / d ** q["beta"]) * p[i] ** -q["gamma"])
    else:
      deff = d * sum(p[j] * (1.0 if i == j else obj["tau"][t][s]) for j, s in enumerate(langs))
      out.append(q["E"] + q["A"] / n ** q["alpha"] + q["B"] / max(deff, 1e-6 * d) ** q["beta"])
  return np.asarray(out)


def _slsqp(obj, w, lo, hi):
  K = len(w)
  f = lambda p: float(w @ _np_losses(obj, p))
  best = None
  for x0 in [np.full(K, 1.0 / K)] + [np.random.default_rng(s).dirichlet(np.ones(K)) for s in range(3)]:
    x0 = np.clip(x0, lo, hi)
    r = optimize.minimize(
      f,
      x0,
      method="SLSQP",
      bounds=list(zip(lo, hi)),
      constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1.0}],
      options={"ftol": 1e-14, "maxiter": 1000},
    )
    if r.success and abs(r.x.sum() - 1) < 1e-8 and (best is None or r.fun < best.fun):
      best = r
  return best


@pytest.mark.parametrize("seed", range(6))
def test_random_instances_match_slsqp(seed):
  rng = np.random.default_rng(seed)
  K = 4 if seed % 2 == 0 else 7  # two sizes only: each new size compiles the solver once
  family = "he" if seed % 3 == 2 else "effective_data"
  obj = _fit_dict(rng, K, family=family)
  law = load_fit(obj).law
  w = rng.dirichlet(np.ones(K))
  max_share = {l: float(rng.uniform(0.25, 0.6)) for l in law.langs[:2]} if seed % 2 else None
  min_share = {law.langs[-1]: 0.1} if seed % 2 else None
  cons = allocation.build_constraints(law, D, min_share=min_share, max_share=max_share)
  sol = allocation.solve(law, N, D, weights=w, constraints=cons)
  ref = _slsqp(obj, w, cons.lower, cons.upper)
  assert ref is not None
  ours = float(w @ _np_losses(obj, sol.p))
  assert abs(ours - sol.objective) < 1e-9  # our law evaluation agrees with an independent one
  assert abs(ours - ref.fun) < 1e-4
  assert ours <= ref.fun + 1e-8  # and is never worse than SLSQP
  assert sol.kkt_residual_relative < 1e-7
  assert np.all(sol.p >= cons.lower - 1e-12) and np.all(sol.p <= cons.upper + 1e-12)
  assert abs(sol.p.sum() - 1) < 1e-12
  assert sol.method == ("water_filling" if family == "he" else "gradient_projection")


def test_identical_languages_give_uniform():
  obj = _fit_dict(np.random.default_rng(0), 7, same=True)
  law = load_fit(obj).law
  for method in ("water_filling", "numerical"):
    sol = allocation.solve(law, N, D, method=method)
    np.testing.assert_allclose(sol.p, np.full(7, 1 / 7), atol=1e-10)
  # identical languages with symmetric transfer: still uniform
  for t in obj["tau"]:
    for s in obj["tau"][t]:
      obj["tau"][t][s] = 1.0 if s == t else 0.3
  sol = allocation.solve(load_fit(obj).law, N, D)
  np.testing.assert_allclose(sol.p, np.full(7, 1 / 7), atol=1e-9)


def test_water_filling_closed_form_equal_exponents():
  # With one beta for all languages and no bounds, p_i is proportional to (w_i B_i)^(1/(beta+1)).
  rng = np.random.default_rng(1)
  obj = _fit_dict(rng, 5, same=True)
  B = rng.uniform(100, 5000, 5)
  w = rng.dirichlet(np.ones(5))
  for b, lang in zip(B, obj["languages"]):
    obj["languages"][lang]["B"] = float(b)
  law = load_fit(obj).law
  beta = law.beta[0]
  expect = (w * B) ** (1 / (beta + 1))
  expect /= expect.sum()
  sol = allocation.solve(law, N, D, weights=w)
  assert sol.method == "water_filling"
  np.testing.assert_allclose(sol.p, expect, rtol=1e-10)
  assert sol.kkt_residual_relative < 1e-10
  # A cap on the largest: it sits at the cap, the others keep their ratios over the remaining mass.
  big = int(np.argmax(expect))
  cap = float(expect[big] * 0.5)
  cons = allocation.build_constraints(law, D, max_share={law.langs[big]: cap})
  sol = allocation.solve(law, N, D, weights=w, constraints=cons)
  assert sol.p[big] == pytest.approx(cap, abs=1e-12)
  rest = np.delete(expect, big)
  np.testing.assert_allclose(np.delete(sol.p, big), rest / rest.sum() * (1 - cap), rtol=1e-9)
  assert sol.active == [{"language": law.langs[big], "bound": "upper", "kind": "max_share", "value": cap}]


def test_no_transfer_numerical_matches_water_filling():
  obj = _fit_dict(np.random.default_rng(2), 7, tau_scale=0.0)
  law = load_fit(obj).law
  assert not law.has_transfer
  a = allocation.solve(law, N, D, method="water_filling")
  b = allocation.solve(law, N, D, method="numerical")
  np.testing.assert_allclose(a.p, b.p, atol=1e-7)
  assert abs(a.objective - b.objective) < 1e-12


def test_unique_token_caps_respected_and_active():
  # No transfer: every language's marginal utility is infinite at 0, so both capped languages sit at their caps.
  obj = _fit_dict(np.random.default_rng(3), 4, tau_scale=0.0)
  obj["unique_tokens"] = {"python": 1e9, "java": 5e8}
  law = load_fit(obj).law
  cons = allocation.build_constraints(law, D, max_epochs=2.0)
  np.testing.assert_allclose(cons.upper[:2], [2 * 1e9 / D, 2 * 5e8 / D])
  sol = allocation.solve(law, N, D, constraints=cons)
  assert np.all(sol.p[:2] * D <= 2.0 * np.asarray([1e9, 5e8]) * (1 + 1e-9))
  kinds = {(a["language"], a["kind"]) for a in sol.active}
  assert ("python", "unique_tokens") in kinds and ("java", "unique_tokens") in kinds
  assert sol.kkt_residual_relative < 1e-7
  # with transfer (numerical solver) the caps still hold
  obj_t = _fit_dict(np.random.default_rng(3), 4)
  obj_t["unique_tokens"] = obj["unique_tokens"]
  law_t = load_fit(obj_t).law
  sol_t = allocation.solve(law_t, N, D, constraints=allocation.build_constraints(law_t, D, max_epochs=2.0))
  assert sol_t.method == "gradient_projection"
  assert np.all(sol_t.p[:2] <= cons.upper[:2] + 1e-12) and sol_t.kkt_residual_relative < 1e-7
  # unique_tokens given directly override/extend the fit's
  cons2 = allocation.build_constraints(law, D, max_epochs=1.0, unique_tokens={"javascript": 1e9})
  assert cons2.upper[law.langs.index("javascript")] == pytest.approx(0.1)


def test_infeasible_constraints_raise():
  obj = _fit_dict(np.random.default_rng(4), 3)
  obj["unique_tokens"] = {l: 1e9 for l in obj["languages"]}
  law = load_fit(obj).law
  with pytest.raises(UserError, match="infeasible.*sum to 0.3"):
    allocation.build_constraints(law, D, max_epochs=1.0)
  with pytest.raises(UserError, match="min_share values sum"):
    allocation.build_constraints(law, D, min_share={"python": 0.7, "java": 0.5})
  with pytest.raises(UserError, match="infeasible bounds for python"):
    allocation.build_constraints(law, D, min_share={"python": 0.5}, max_share={"python": 0.4})
  with pytest.raises(UserError, match="max_share.rust"):
    allocation.build_constraints(law, D, max_share={"rust": 0.5})
  with pytest.raises(UserError, match="min_share.python"):
    allocation.build_constraints(law, D, min_share={"python": -0.1})
  with pytest.raises(UserError, match="N = 0"):
    allocation.solve(law, 0, D)
  with pytest.raises(UserError, match="weights: all zero"):
    allocation.normalise_weights({"python": 0.0}, law.langs)
  with pytest.raises(UserError, match="water_filling"):
    allocation.solve(law, N, D, method="water_filling")  # this law has transfer


def test_bad_fit_files(tmp_path):
  good = _fit_dict(np.random.default_rng(5), 3)
  cases = [
    ({**good, "law": "paper_aggregate"}, "vertex-seeking"),
    ({**good, "law": "nope"}, "law = 'nope'"),
    ({k: v for k, v in good.items() if k != "tau"}, "missing key 'tau'"),
    ({**good, "languages": {**good["languages"], "cobol": good["languages"]["python"]}}, "languages.cobol"),
    ({**good, "languages": {**good["languages"], "java": {**good["languages"]["java"], "B": -1}}}, "languages.java.B"),
    ({**good, "languages": {**good["languages"], "java": {"E": 1.0}}}, "languages.java.A: missing"),
    ({**good, "tau": {**good["tau"], "java": {"java": 1.0}}}, "tau.java.python: missing"),
    (
      {**good, "bootstrap": [{"languages": {"python": good["languages"]["python"]}, "tau": good["tau"]}]},
      r"bootstrap\[0\].languages",
    ),
  ]
  for obj, msg in cases:
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(UserError, match=msg) as e:
      load_fit(path)
    assert "\n" not in str(e.value)
  (tmp_path / "bad.json").write_text("{not json")
  with pytest.raises(UserError, match="bad.json: is not valid JSON"):
    load_fit(tmp_path / "bad.json")
  with pytest.raises(UserError, match="does not exist"):
    load_fit(tmp_path / "missing.json")


def test_bootstrap_formats_and_batched_solve():
  rng = np.random.default_rng(6)
  obj = _fit_dict(rng, 4)
  obj["bootstrap"] = []
  for _ in range(5):
    b = json.loads(json.dumps(obj))
    b.pop("bootstrap")
    for q in b["languages"].values():
      q["B"] *= float(rng.uniform(0.8, 1.2))
    obj["bootstrap"].append(b)
  fit = load_fit(obj)
  assert len(fit.bootstrap) == 5
  w = np.full(4, 0.25)
  cons = allocation.build_constraints(fit.law, D)
  P = allocation.solve_many(list(fit.bootstrap), N, D, w, cons)
  for b, p in zip(fit.bootstrap, P):  # the vmapped batch gives what one-at-a-time solves give
    np.testing.assert_allclose(p, allocation.solve(b, N, D, weights=w).p, atol=1e-8)
  # per-language (chinchilla) bootstrap: {lang: {param: [values]}}
  chin = {
    "law": "chinchilla",
    "languages": obj["languages"],
    "bootstrap": {l: {k: [v, v * 1.1] for k, v in q.items()} for l, q in obj["languages"].items()},
  }
  fit = load_fit(chin)
  assert len(fit.bootstrap) == 2 and not fit.law.has_transfer
  np.testing.assert_allclose(fit.bootstrap[1].B, fit.law.B * 1.1)


def test_repetition_discount_matches_slsqp():
  # Muennighoff-style discount beyond the unique tokens makes the problem non-separable: numerical solver.
  rng = np.random.default_rng(7)
  obj = _fit_dict(rng, 4, tau_scale=0.0)
  U = {l: float(u) for l, u in zip(obj["languages"], [1e9, 2e9, 4e9, 8e9])}
  R = {l: 5.0 for l in obj["languages"]}
  obj["unique_tokens"], obj["repetition_decay"] = U, R
  law = load_fit(obj).law
  assert law.repetition_decay is not None

  def np_obj(p):
    out = []
    for i, (t, q) in enumerate(obj["languages"].items()):
      own = p[i] * D
      if own > U[t]:
        own = U[t] + U[t] * R[t] * (1 - np.exp(-(own / U[t] - 1) / R[t]))
      out.append(q["E"] + q["A"] / N ** q["alpha"] + q["B"] / max(own, 1e-6 * D) ** q["beta"])
    return float(np.mean(out))

  sol = allocation.solve(law, N, D)
  assert sol.method == "gradient_projection"
  ref = optimize.minimize(
    np_obj,
    np.full(4, 0.25),
    method="SLSQP",
    bounds=[(0, 1)] * 4,
    constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1.0}],
    options={"ftol": 1e-14},
  )
  assert abs(np_obj(sol.p) - sol.objective) < 1e-9
  assert abs(sol.objective - ref.fun) < 1e-4 and sol.objective <= ref.fun + 1e-8
  # Repetition makes small corpora less attractive than without the discount.
  plain = allocation.solve(load_fit({k: v for k, v in obj.items() if k != "repetition_decay"}).law, N, D)
  assert sol.p[0] < plain.p[0]
