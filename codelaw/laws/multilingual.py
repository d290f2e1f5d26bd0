"""Proportion-dependent multilingual laws: one fitting machinery, four families.

A family is a parameter box (random starts are drawn in it), a log-loss prediction per data row, and a
conversion to the published parameters. Every family is fitted by the same vmapped multi-start L-BFGS on the
summed Huber loss of log losses (`lbfgs.multistart_minimize`), in float64. The three per-language families
are separable (a row of language i depends on language i's parameters only), so they are fitted as K small
problems, each with its own best start and line searches, rather than one K times larger: from the same
starts this reaches a lower objective (benchmarks/multilingual_fit.py).

Families (forms in `codelaw.laws.forms`):
  effective_data   L_i = E_i + A_i/N^alpha_i + B_i/Deff_i^beta_i, Deff_i = D (p_i + sum_j tau_ij p_j)
                   (+ Muennighoff repetition discount when unique tokens are given)
  he               L_i = (E_i + A_i/N^alpha_i + B_i/D^beta_i) p_i^-gamma_i       (He et al. 2024; p_i > 0 rows)
  data_mixing      L_i = c_i + k_i exp(sum_j t_ij p_j), at one (N, D)                 (Ye et al. 2024)
  paper_aggregate  L = A N^-alpha_N(p) + B D_x^-alpha_D(p) + L_inf(p)  (paper Eq. 6-7; one loss per run)
Constraints: E, A, B, c, k, exponents, L_inf and gamma (paper) are exp of free parameters (positive);
tau = tanh(free) in (-1, 1): a source language can at most count as much as the target's own data, and at
worst remove as much. He's gamma and Ye's t are free reals.
Internally N and D are divided by a scale (data geometric mean; powers of ten for paper_aggregate, whose
A, B cannot be converted back because its exponents depend on p) so one start box suits any run scale.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from codelaw.errors import UserError
from codelaw.laws import forms, identifiability, lbfgs
from codelaw.laws.bootstrap import cluster_resample_weights, percentile_intervals
from codelaw.laws.runs_io import ResultsTable

HUBER_DELTA = 1e-3
# Muennighoff et al. (2023) fitted R*_D = 15.4 (repeated tokens decay to worthless after ~15 epochs).
REPETITION_DECAY = 15.4
FAMILIES = ("effective_data", "he", "data_mixing", "paper_aggregate")
# Random starts of each cold bootstrap refit (the point fit uses config.starts).
BOOTSTRAP_STARTS = 32


@dataclasses.dataclass(frozen=True)
class Family:
  name: str
  level: str  # "language" (one row per run x eval language) or "mixture"
  box: Callable[[int], dict]  # K -> {leaf: (shape, lo, hi)}
  predict_log: Callable  # (params, data) -> log loss per row
  # Every leaf has a leading language axis and a row of language i reads only the slice [i] of each leaf
  # (tests/test_multilingual.py checks it), so the fit is K independent problems.
  separable: bool = False


# Where the runs leave a direction flat (a size effect they do not show), an L-BFGS step can go any distance
# along it: in a quickstart bootstrap refit exp(log_alpha) underflowed to 0 and A overflowed. So the
# predictions read these leaves held inside limits far wider than any start box (log coefficients in the
# data's units: e^-30..e^30; exponents 0.001..10); a parameter that ends at a limit is reported there, and
# an exponent whose interval reaches a limit is weakly determined.
_EXPONENT_LIMITS = (float(np.log(1e-3)), float(np.log(10.0)))
_EXPONENT_BOUNDS = tuple(float(np.exp(x)) for x in _EXPONENT_LIMITS)  # an interval reaching one is weak
LIMITS = {
  "e": (-30.0, 30.0),
  "a": (-30.0, 30.0),
  "b": (-30.0, 30.0),
  "log_alpha": _EXPONENT_LIMITS,
  "log_beta": _EXPONENT_LIMITS,
  "log_alpha_N": _EXPONENT_LIMITS,
  "log_alpha_D": _EXPONENT_LIMITS,
}


def within_limits(params: dict, xp=jnp) -> dict:
  """The parameters as the law reads them: every leaf named in LIMITS clipped to its limits."""
  return {k: xp.clip(v, *LIMITS[k]) if k in LIMITS else v for k, v in params.items()}


def _limited(predict: Callable) -> Callable:
  return lambda params, data: predict(within_limits(params), data)


def _lse3(e, a, b):
  return jnp.logaddexp(jnp.logaddexp(a, b), e)


def _effective_box(K):
  return {
    "e": ((K,), -2.0, 1.0),
    "a": ((K,), -3.0, 1.0),
    "b": ((K,), -3.0, 1.0),
    "log_alpha": ((K,), np.log(0.1), np.log(1.5)),
    "log_beta": ((K,), np.log(0.1), np.log(1.5)),
    "tau_raw": ((K, K), -0.5, 1.0),
  }


def _effective_predict(params, data):
  i = data["lang"]
  deff = forms.effective_data(
    data["P"],
    data["D"][:, None],
    jnp.tanh(params["tau_raw"]),
    data.get("unique"),
    None if data.get("unique") is None else REPETITION_DECAY,
  )
  log_deff = jnp.log(jnp.take_along_axis(deff, i[:, None], 1)[:, 0])
  alpha, beta = jnp.exp(params["log_alpha"])[i], jnp.exp(params["log_beta"])[i]
  return _lse3(params["e"][i], params["a"][i] - alpha * data["logN"], params["b"][i] - beta * log_deff)


def _he_box(K):
  box = {k: v for k, v in _effective_box(K).items() if k != "tau_raw"}
  box["gamma"] = ((K,), -0.2, 0.5)
  return box


def _he_predict(params, data):
  i = data["lang"]
  alpha, beta = jnp.exp(params["log_alpha"])[i], jnp.exp(params["log_beta"])[i]
  p_i = jnp.take_along_axis(data["P"], i[:, None], 1)[:, 0]
  log_chin = _lse3(params["e"][i], params["a"][i] - alpha * data["logN"], params["b"][i] - beta * data["logD"])
  # log of forms.he_multilingual_law; rows with p_i = 0 are masked out of the fit (the law is infinite there).
  return log_chin - params["gamma"][i] * jnp.log(jnp.maximum(p_i, 1e-300))


def _dml_box(K):
  return {"log_c": ((K,), -2.0, 1.0), "log_k": ((K,), -3.0, 0.0), "t": ((K, K), -3.0, 3.0)}


def _dml_predict(params, data):
  loss = forms.data_mixing_law(data["P"], jnp.exp(params["log_c"]), jnp.exp(params["log_k"]), params["t"])
  return jnp.log(jnp.take_along_axis(loss, data["lang"][:, None], 1)[:, 0])


def _paper_box(K):
  return {
    "a": ((), -3.0, 1.0),
    "b": ((), -3.0, 1.0),
    "log_alpha_N": ((K,), np.log(0.1), np.log(1.5)),
    "log_alpha_D": ((K,), np.log(0.1), np.log(1.5)),
    "log_L_inf": ((K,), -2.0, 1.0),
    "log_gamma": ((), -3.0, 1.0),
    "tau_raw": ((K, K), -0.5, 1.0),
  }


def _paper_predict(params, data):
  loss = forms.paper_aggregate_law(
    jnp.exp(data["logN"]),
    data["D"],
    data["P"],
    jnp.exp(params["a"]),
    jnp.exp(params["b"]),
    jnp.exp(params["log_alpha_N"]),
    jnp.exp(params["log_alpha_D"]),
    jnp.exp(params["log_L_inf"]),
    jnp.exp(params["log_gamma"]),
    jnp.tanh(params["tau_raw"]),
  )
  return jnp.log(loss)


FAMILY: dict[str, Family] = {
  "effective_data": Family("effective_data", "language", _effective_box, _limited(_effective_predict), separable=True),
  "he": Family("he", "language", _he_box, _limited(_he_predict), separable=True),
  "data_mixing": Family("data_mixing", "language", _dml_box, _limited(_dml_predict), separable=True),
  "paper_aggregate": Family("paper_aggregate", "mixture", _paper_box, _limited(_paper_predict)),
}


def get_family(name: str) -> Family:
  if name not in FAMILY:
    raise UserError(f"unknown law {name!r}; expected chinchilla or one of {', '.join(FAMILIES)}")
  return FAMILY[name]


def num_params(family: Family, K: int) -> int:
  return sum(int(np.prod(shape)) - (K if leaf in ("tau_raw",) else 0) for leaf, (shape, _, _) in family.box(K).items())


@dataclasses.dataclass
class Dataset:
  """One family's rows (internal units), their validity mask and the run each row belongs to."""

  data: dict
  mask: np.ndarray
  run_id: np.ndarray
  P: np.ndarray
  scale_N: float
  scale_D: float
  fixed_ND: tuple[float, float] | None = None


def build_dataset(family: Family, table: ResultsTable, unique_tokens: dict[str, float] | None = None) -> Dataset:
  K = len(table.languages)
  if family.level == "mixture":
    runs, first = np.unique(table.run_id, return_index=True)
    loss = np.full(len(runs), np.nan)
    for r, run in enumerate(runs):
      rows = np.nonzero(table.run_id == run)[0]
      p = table.P[rows, table.lang_idx[rows]]
      if p.sum() > 0:  # the run's loss on its own training mixture: p-weighted over its evaluated languages
        loss[r] = np.sum(p * table.loss[rows]) / p.sum()
    N, D, P, lang, run_id = table.N[first], table.D[first], table.P[first], np.zeros(len(runs), np.int32), runs
    scale_N, scale_D = 10.0 ** np.round(np.mean(np.log10(N))), 10.0 ** np.round(np.mean(np.log10(D)))
  else:
    N, D, P, lang, loss, run_id = table.N, table.D, table.P, table.lang_idx, table.loss, table.run_id
    scale_N, scale_D = float(np.exp(np.mean(np.log(N)))), float(np.exp(np.mean(np.log(D))))
  mask = np.isfinite(loss).astype(np.float64)
  fixed = None
  if family.name == "he":
    mask *= P[np.arange(len(lang)), lang] > 0
  if family.name == "data_mixing":
    # Ye et al.'s law holds at one (N, D): fit it at the (N, D) with the most distinct mixtures.
    keys = list(zip(N, D))
    counts = {k: len({tuple(np.round(P[m], 6)) for m in range(len(keys)) if keys[m] == k}) for k in set(keys)}
    fixed = max(counts, key=lambda k: (counts[k], k))
    mask *= np.array([k == fixed for k in keys])
  data = {
    "logN": np.log(N / scale_N),
    "logD": np.log(D / scale_D),
    "D": D / scale_D,
    "P": P,
    "lang": lang.astype(np.int32),
    "logL": np.log(np.where(np.isfinite(loss), loss, 1.0)),
  }
  if unique_tokens and family.name == "effective_data":
    data["unique"] = np.array([unique_tokens.get(n, np.inf) for n in table.languages]) / scale_D
  n_rows, n_par = int(mask.sum()), num_params(family, K)
  if n_rows <= n_par:
    raise UserError(
      f"law {family.name!r}: {n_rows} usable rows, fewer than needed to fit its {n_par} parameters for {K} languages"
    )
  return Dataset(data, mask, run_id, P, scale_N, scale_D, fixed)


def make_objective(family: Family):
  return _OBJECTIVES.setdefault(
    family.name,
    lambda params, data, weights: lbfgs.huber_sum(
      family.predict_log(params, data) - data["logL"], weights, HUBER_DELTA
    ),
  )


def _language_objective(family: Family):
  """The objective of one language's slice of a separable family: the slice stands in for every language."""

  full = make_objective(family)

  def objective(params_i, data, weights):
    K = data["P"].shape[-1]
    return full(jax.tree.map(lambda x: jnp.broadcast_to(x, (K,) + x.shape), params_i), data, weights)

  return _OBJECTIVES.setdefault(family.name + "/language", objective)


_OBJECTIVES: dict = {}
# Dataset entries indexed by language rather than by row.
_LANGUAGE_KEYS = ("unique",)


def random_starts(family: Family, K: int, G: int, S: int, seed: int) -> dict:
  rng = np.random.default_rng(seed)
  return {leaf: rng.uniform(lo, hi, size=(G, S) + shape) for leaf, (shape, lo, hi) in family.box(K).items()}


def minimize(family: Family, ds: Dataset, weights_GxM: np.ndarray, starts: dict, num_steps: int):
  """Best start of each of G weightings: (params with leaves [G, ...], objective [G])."""
  if family.separable:
    return _minimize_by_language(family, ds, weights_GxM, starts, num_steps)
  G = weights_GxM.shape[0]
  data_G = {k: np.broadcast_to(v, (G,) + np.shape(v)) for k, v in ds.data.items()}
  with jax.enable_x64(True):
    params, values = lbfgs.multistart_minimize(make_objective(family), num_steps, starts, data_G, weights_GxM)
    return jax.device_get(lbfgs.best_start(params, values))


def _minimize_by_language(family: Family, ds: Dataset, weights_GxM: np.ndarray, starts: dict, num_steps: int):
  """`minimize` for a separable family: each (language, weighting) is its own group over that language's rows
  (padded with zero-weight rows to the longest), started from its slice of every start, and keeps its own best
  start. A joint fit would have to find one start that suits all K languages at once and share each line
  search's step across them."""
  G, K = weights_GxM.shape[0], ds.P.shape[1]
  rows = [np.nonzero(ds.data["lang"] == i)[0] for i in range(K)]
  width = max(1, max(len(r) for r in rows))
  index = np.zeros((K, width), np.int64)
  present = np.zeros((K, width))
  for i, r in enumerate(rows):
    index[i, : len(r)], present[i, : len(r)] = r, 1.0
  flat = lambda x: x.reshape((K * G,) + x.shape[2:])  # [K, G, ...] -> [K*G, ...]
  per_group = lambda x: flat(np.broadcast_to(x[:, None], (K, G) + x.shape[1:]))
  data = {
    k: per_group(np.broadcast_to(v, (K,) + v.shape) if k in _LANGUAGE_KEYS else v[index]) for k, v in ds.data.items()
  }
  weights = flat(np.moveaxis(weights_GxM[:, index] * present, 0, 1))
  starts_i = {k: flat(np.moveaxis(v, 2, 0)) for k, v in starts.items()}  # [G, S, K, ...] -> [K*G, S, ...]
  with jax.enable_x64(True):
    params, values = lbfgs.multistart_minimize(_language_objective(family), num_steps, starts_i, data, weights)
    params, values = jax.device_get(lbfgs.best_start(params, values))
  unflat = lambda x: np.moveaxis(x.reshape((K, G) + x.shape[1:]), 0, 1)  # [K*G, ...] -> [G, K, ...]
  return {k: unflat(v) for k, v in params.items()}, unflat(values).sum(axis=1)


def predict_log(family: Family, ds: Dataset, params) -> np.ndarray:
  with jax.enable_x64(True):
    return np.asarray(family.predict_log(params, ds.data))


def to_public(family: Family, ds: Dataset, params, names: tuple[str, ...], evaluated: set[int]) -> dict:
  """Fitted parameters in raw N, D units (paper_aggregate: in its stated units)."""
  p = within_limits({k: np.asarray(v) for k, v in params.items()}, np)
  out: dict = {}
  if family.name in ("effective_data", "he"):
    alpha, beta = np.exp(p["log_alpha"]), np.exp(p["log_beta"])
    langs = {}
    for i, name in enumerate(names):
      if i in evaluated:
        langs[name] = {
          "E": float(np.exp(p["e"][i])),
          "A": float(np.exp(p["a"][i]) * ds.scale_N ** alpha[i]),
          "B": float(np.exp(p["b"][i]) * ds.scale_D ** beta[i]),
          "alpha": float(alpha[i]),
          "beta": float(beta[i]),
        }
        if family.name == "he":
          langs[name]["gamma"] = float(p["gamma"][i])
    out["languages"] = langs
    if family.name == "effective_data":
      out["tau"] = _matrix(np.tanh(p["tau_raw"]), names, evaluated, diagonal=1.0)
  elif family.name == "data_mixing":
    out["languages"] = {
      name: {"c": float(np.exp(p["log_c"][i])), "k": float(np.exp(p["log_k"][i]))}
      for i, name in enumerate(names)
      if i in evaluated
    }
    out["t"] = _matrix(p["t"], names, evaluated, diagonal=None)
    out["fitted_at"] = {"N": float(ds.fixed_ND[0]), "D": float(ds.fixed_ND[1])}
  else:
    out.update(
      {
        "A": float(np.exp(p["a"])),
        "B": float(np.exp(p["b"])),
        "gamma": float(np.exp(p["log_gamma"])),
        "units": {"N": ds.scale_N, "D": ds.scale_D},
        "languages": {
          name: {
            "alpha_N": float(np.exp(p["log_alpha_N"][i])),
            "alpha_D": float(np.exp(p["log_alpha_D"][i])),
            "L_inf": float(np.exp(p["log_L_inf"][i])),
          }
          for i, name in enumerate(names)
        },
        "tau": _matrix(np.tanh(p["tau_raw"]), names, set(range(len(names))), diagonal=1.0),
      }
    )
  return out


def _matrix(m: np.ndarray, names, rows: set[int], diagonal: float | None) -> dict:
  return {
    names[i]: {names[j]: float(diagonal if (i == j and diagonal is not None) else m[i, j]) for j in range(len(names))}
    for i in sorted(rows)
  }


def fit_multilingual(
  table: ResultsTable,
  law: str,
  *,
  starts: int = 512,
  num_steps: int = 300,
  bootstrap: int = 200,
  ci: float = 0.95,
  seed: int = 0,
  unique_tokens: dict[str, float] | None = None,
) -> dict:
  """Fits one family to a results table. Returns the fit.json body: {"law", parameters..., "bootstrap",
  "diagnostics"}. Bootstrap resamples whole runs (all eval rows of a run together), warm-started."""
  family = get_family(law)
  ds = build_dataset(family, table, unique_tokens)
  K = len(table.languages)
  evaluated = set(np.unique(table.lang_idx).tolist()) if family.level == "language" else set(range(K))
  best, value = minimize(family, ds, ds.mask[None], random_starts(family, K, 1, starts, seed), num_steps)
  best1 = jax.tree.map(lambda x: x[0], best)
  out = {"law": law, **to_public(family, ds, best1, table.languages, evaluated)}
  resid = (predict_log(family, ds, best1) - ds.data["logL"])[ds.mask > 0]
  diag = {
    "objective": float(value[0]),
    "rows": int(ds.mask.sum()),
    "num_params": num_params(family, K),
    "rmse_log": float(np.sqrt(np.mean(resid**2))),
    "residuals_log": resid.tolist(),
    "starts": starts,
    "num_steps": num_steps,
    "huber_delta": HUBER_DELTA,
    "languages_in_table": list(table.languages),
  }
  if bootstrap:
    rng = np.random.default_rng(seed + 1)
    weights = cluster_resample_weights(rng, ds.run_id, bootstrap, ds.mask)
    # Cold: each resample from its own random starts in the family's box, never from the all-data optimum.
    cold = random_starts(family, K, bootstrap, min(starts, BOOTSTRAP_STARTS), seed + 2)
    boot, _ = minimize(family, ds, weights, cold, num_steps)
    draws = [
      to_public(family, ds, jax.tree.map(lambda x: x[r], boot), table.languages, evaluated) for r in range(bootstrap)
    ]
    out["bootstrap"] = [{k: d[k] for k in ("languages", "tau") if k in d} for d in draws]
    for name, entry in out.get("languages", {}).items():
      params = [k for k in entry if k != "ci"]
      entry["ci"] = percentile_intervals({k: np.array([d["languages"][name][k] for d in draws]) for k in params}, ci)
    diag["bootstrap"] = {
      "resamples": bootstrap,
      "ci_level": ci,
      "unit": "run",
      "start": "cold",
      "starts": min(starts, BOOTSTRAP_STARTS),
    }
  if unique_tokens and law == "effective_data":
    out["unique_tokens"] = {k: float(v) for k, v in unique_tokens.items() if k in table.languages}
    out["repetition_decay"] = {k: REPETITION_DECAY for k in out["unique_tokens"]}
  for i in sorted(evaluated):
    name = table.languages[i]
    ci = out["languages"][name].get("ci", {}) if name in out.get("languages", {}) else {}
    weak = identifiability.weak(ci, {"alpha": _EXPONENT_BOUNDS, "beta": _EXPONENT_BOUNDS})
    diag[name] = identifiability.summary(
      language_design(family, ds, i, K), weak, scaling=family.name != "data_mixing"
    )  # Ye et al.: one (N, D)
  out["diagnostics"] = diag
  return out


def language_design(family: Family, ds: Dataset, i: int, K: int) -> dict[str, int]:
  """Design counts of language i's rows (mixture-level families: all runs) against its share of parameters:
  the per-language parameters, and for paper_aggregate the whole law (its rows are shared)."""
  rows = ds.mask > 0
  if family.level == "language":
    rows &= ds.data["lang"] == i
    n_par = num_params(family, K) // K
  else:
    n_par = num_params(family, K)
  N = np.exp(ds.data["logN"][rows]) * ds.scale_N
  return identifiability.design(N, ds.data["D"][rows] * ds.scale_D, ds.run_id[rows], n_par)
