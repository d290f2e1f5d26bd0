"""Per-language Chinchilla law L = E + A/N^alpha + B/D^beta, fitted as Hoffmann et al. approach 3 (Epoch's replication).

Objective: summed Huber (delta 1e-3) between log L and LSE(a - alpha log N, b - beta log D, e), with
A = e^a, B = e^b, E = e^e; L-BFGS from Epoch's 4,500-point grid; the best start is kept. All languages,
all starts, all bootstrap resamples and the leave-largest-out refits are vmapped rows of one compiled
call (`lbfgs.multistart_minimize`), in float64.

Uncertainty is measured at the unit that is independent: the run. A WSD trunk and its cooldown branches
share initialisation, data order and most of training, so all rows with one run_id resample together
(`LanguageRuns.runs`), and every resample is refitted cold from `bootstrap_grid` (never from the all-data
optimum, which would pin weakly determined directions to the start). Profile-likelihood intervals for
alpha and beta (`codelaw.laws.profile`) stand beside the bootstrap; `codelaw.laws.identifiability` says
whether the design can determine the law at all.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import numpy as np

from codelaw.laws import forms, identifiability, lbfgs
from codelaw.laws.bootstrap import cluster_resample_weights, percentile_intervals
from codelaw.laws.profile import profile_intervals
from codelaw.laws.runs_io import LanguageRuns, check_language_runs

PARAMS = ("E", "A", "B", "alpha", "beta")
HUBER_DELTA = 1e-3


def epoch_grid() -> dict[str, np.ndarray]:
  """Epoch AI's initialisation grid: alpha, beta in 0..2 step .5; e in -1..1 step .5; a, b in 0..25 step 5."""
  exps = np.arange(0.0, 2.01, 0.5)
  es = np.arange(-1.0, 1.01, 0.5)
  ab = np.arange(0.0, 25.01, 5.0)
  pts = np.array(list(itertools.product(es, ab, ab, exps, exps)), np.float64)
  return {k: pts[:, i] for i, k in enumerate(("e", "a", "b", "alpha", "beta"))}


def small_grid() -> dict[str, np.ndarray]:
  """A 3*3*3*4*4 = 432-point subgrid of the same box, for tests and quick looks."""
  pts = np.array(
    list(
      itertools.product(
        [-1.0, 0.0, 1.0], [0.0, 10.0, 20.0], [0.0, 10.0, 20.0], [0.0, 0.5, 1.0, 2.0], [0.0, 0.5, 1.0, 2.0]
      )
    ),
    np.float64,
  )
  return {k: pts[:, i] for i, k in enumerate(("e", "a", "b", "alpha", "beta"))}


def bootstrap_grid() -> dict[str, np.ndarray]:
  """Cold starts for bootstrap refits: a 2^5 = 32-point grid inside Epoch's box (32 starts keep 200
  resamples near the cost of the 4,500-start point fit). tests/test_fit_bootstrap.py checks that on full
  data it reaches the optimum the whole grid reaches."""
  pts = np.array(list(itertools.product([-0.5, 0.5], [5.0, 15.0], [5.0, 15.0], [0.3, 1.0], [0.3, 1.0])), np.float64)
  return {k: pts[:, i] for i, k in enumerate(("e", "a", "b", "alpha", "beta"))}


BOOTSTRAP_STARTS = 32

# The box every grid above lies in, in public units: an interval reaching its edge means the data do not
# pin the parameter inside the region searched.
START_BOX = {
  "E": (float(np.exp(-1.0)), float(np.exp(1.0))),
  "A": (1.0, float(np.exp(25.0))),
  "B": (1.0, float(np.exp(25.0))),
  "alpha": (0.0, 2.0),
  "beta": (0.0, 2.0),
}


def objective(params, data, weights, delta: float = HUBER_DELTA):
  pred = forms.chinchilla_log(
    data["logN"], data["logD"], params["e"], params["a"], params["b"], params["alpha"], params["beta"]
  )
  return lbfgs.huber_sum(pred - data["logL"], weights, delta)


@dataclasses.dataclass
class LanguageFit:
  """One language's fit: best parameters, intervals, bootstrap draws and diagnostics."""

  params: dict[str, float]
  ci: dict[str, list[float]]
  bootstrap: dict[str, list[float]]
  diagnostics: dict
  profile: dict[str, list[float]] | None = None  # {"alpha": [lo, hi], "beta": [lo, hi]}


def pad(runs: dict[str, LanguageRuns]):
  """(names, data {logN, logD, logL: [G, M]}, mask [G, M]): the languages' rows, zero-padded to one length."""
  names = list(runs)
  M = max(len(r.loss) for r in runs.values())
  data = {k: np.zeros((len(names), M)) for k in ("logN", "logD", "logL")}
  mask = np.zeros((len(names), M))
  for g, name in enumerate(names):
    r = runs[name]
    n = len(r.loss)
    data["logN"][g, :n], data["logD"][g, :n], data["logL"][g, :n] = np.log(r.N), np.log(r.D), np.log(r.loss)
    mask[g, :n] = 1.0
  return names, data, mask


def tile_starts(grid: dict[str, np.ndarray], G: int):
  return {k: np.broadcast_to(v, (G,) + v.shape).copy() for k, v in grid.items()}


def _to_public(p) -> dict[str, float]:
  return {
    "E": float(np.exp(p["e"])),
    "A": float(np.exp(p["a"])),
    "B": float(np.exp(p["b"])),
    "alpha": float(p["alpha"]),
    "beta": float(p["beta"]),
  }


def fit_chinchilla(
  runs: dict[str, LanguageRuns],
  *,
  grid: dict[str, np.ndarray] | None = None,
  num_steps: int = 100,
  bootstrap: int = 200,
  ci: float = 0.95,
  seed: int = 0,
  delta: float = HUBER_DELTA,
  profile: bool = True,
) -> dict[str, LanguageFit]:
  """Fits every language's law (best of the grid), bootstraps runs (cold refits from `bootstrap_grid`),
  profiles alpha and beta, measures leave-largest-N-out error and records identifiability."""
  for name, r in runs.items():
    check_language_runs(name, r)
  grid = epoch_grid() if grid is None else grid
  names, data, mask = pad(runs)
  G = len(names)
  obj = _objective_with_delta(delta)
  with jax.enable_x64(True):
    # 1) best fit per language from the whole grid.
    params, values = lbfgs.multistart_minimize(obj, num_steps, tile_starts(grid, G), data, mask)
    best, best_val = jax.device_get(lbfgs.best_start(params, values))
    grad_norms = _grad_norms(obj, best, data, mask)

    # 2) bootstrap: resample each language's runs (a run's rows move together) R times, every resample
    #    refitted cold from the bootstrap grid, all languages and resamples in one call.
    if bootstrap:
      boot = run_bootstrap([runs[n] for n in names], data, bootstrap, np.random.default_rng(seed), num_steps, obj)

    # 3) leave-largest-N-out: refit without each language's largest model, predict it (same compiled shapes).
    held = np.zeros_like(mask)
    for g, name in enumerate(names):
      held[g, : len(runs[name].N)] = runs[name].N == runs[name].N.max()
    train_mask = mask * (1 - held)
    pl, vl = lbfgs.multistart_minimize(obj, num_steps, tile_starts(grid, G), data, train_mask)
    llo, _ = jax.device_get(lbfgs.best_start(pl, vl))
    profiles = (
      profile_intervals(data, mask, best, run_groups=[runs[n].runs() for n in names], level=ci, num_steps=num_steps)
      if profile
      else None
    )

  out = {}
  for g, name in enumerate(names):
    p = {k: v[g] for k, v in best.items()}
    n = int(mask[g].sum())
    pred = np.asarray(
      forms.chinchilla_log(data["logN"][g, :n], data["logD"][g, :n], p["e"], p["a"], p["b"], p["alpha"], p["beta"])
    )
    resid = data["logL"][g, :n] - pred
    diag = {
      "objective": float(best_val[g]),
      "n_runs": n,
      "grad_norm": float(grad_norms[g]),
      "residuals_log": resid.tolist(),
      "rmse_log": float(np.sqrt(np.mean(resid**2))),
      "num_starts": int(len(next(iter(grid.values())))),
      "num_steps": num_steps,
      "huber_delta": delta,
      "leave_largest_out": _extrapolation(runs[name], {k: v[g] for k, v in llo.items()}, train_mask[g, :n]),
    }
    draws, intervals = {}, {}
    if bootstrap:
      b = {k: v[g * bootstrap : (g + 1) * bootstrap] for k, v in boot.items()}
      with np.errstate(over="ignore"):  # a draw at the edge of the box has A or B = inf: kept, it is part of the spread
        pub = {"E": np.exp(b["e"]), "A": np.exp(b["a"]), "B": np.exp(b["b"]), "alpha": b["alpha"], "beta": b["beta"]}
      draws = {k: np.asarray(v).tolist() for k, v in pub.items()}
      intervals = percentile_intervals(pub, ci)
      diag["bootstrap"] = {
        "resamples": bootstrap,
        "ci_level": ci,
        "unit": "run",
        "starts": BOOTSTRAP_STARTS,
        "start": "cold",
      }
    prof = None if profiles is None else {k: v[g] for k, v in profiles.items()}
    r = runs[name]
    d = identifiability.design(r.N, r.D, r.runs(), len(PARAMS))
    weak = identifiability.weak(intervals, START_BOX) if intervals else []
    weak += [k for k, v in (prof or {}).items() if v["open"] and k not in weak]
    diag.update(identifiability.summary(d, weak))
    if prof is not None:
      diag["profile"] = {k: {"open": v["open"], "n_eff": v["n_eff"], "ci_level": ci} for k, v in prof.items()}
    out[name] = LanguageFit(
      _to_public(p), intervals, draws, diag, None if prof is None else {k: v["interval"] for k, v in prof.items()}
    )
  return out


def run_bootstrap(
  runs: list[LanguageRuns], data: dict, resamples: int, rng: np.random.Generator, num_steps: int = 100, obj=objective
) -> dict[str, np.ndarray]:
  """Run-level bootstrap of G padded groups (data leaves [G, M]): each resample draws the group's runs with
  replacement (a run's rows move together) and is refitted cold from `bootstrap_grid`, all G * resamples
  refits in one vmapped call. Returns internal parameters with leaves [G * resamples] (group-major)."""
  G, M = data["logL"].shape
  weights = np.concatenate([_run_weights(rng, r, M, resamples) for r in runs])
  data_b = {k: np.repeat(v, resamples, axis=0) for k, v in data.items()}
  pb, vb = lbfgs.multistart_minimize(obj, num_steps, tile_starts(bootstrap_grid(), G * resamples), data_b, weights)
  return jax.device_get(lbfgs.best_start(pb, vb))[0]


def _run_weights(rng: np.random.Generator, runs: LanguageRuns, M: int, resamples: int) -> np.ndarray:
  """[resamples, M] row weights drawing the language's runs with replacement (padding rows weigh 0)."""
  w = np.zeros((resamples, M))
  w[:, : len(runs.loss)] = cluster_resample_weights(rng, runs.runs(), resamples)
  return w


def _objective_with_delta(delta: float):
  if delta == HUBER_DELTA:
    return objective  # the same function object keeps one jit cache entry across calls
  return _DELTA_OBJECTIVES.setdefault(delta, lambda p, d, w: objective(p, d, w, delta))


_DELTA_OBJECTIVES: dict = {}


def _grad_norms(obj, best, data, mask):
  g = jax.vmap(jax.grad(obj))(best, data, mask)
  return np.sqrt(sum(np.asarray(v) ** 2 for v in g.values()))


def _extrapolation(runs: LanguageRuns, p, train_mask: np.ndarray) -> dict:
  held = train_mask == 0
  pred = np.exp(
    np.asarray(
      forms.chinchilla_log(np.log(runs.N[held]), np.log(runs.D[held]), p["e"], p["a"], p["b"], p["alpha"], p["beta"])
    )
  )
  rel = (pred - runs.loss[held]) / runs.loss[held]
  return {
    "held_out_N": float(runs.N.max()),
    "held_out_runs": int(held.sum()),
    "mean_abs_rel_error": float(np.mean(np.abs(rel))),
    "max_abs_rel_error": float(np.max(np.abs(rel))),
    "rmse_log": float(np.sqrt(np.mean(np.log1p(rel) ** 2))),
    "params": _to_public(p),
  }
