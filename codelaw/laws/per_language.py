"""Per-language Chinchilla law L = E + A/N^alpha + B/D^beta, fitted as Hoffmann et al. approach 3 (Epoch's replication).

Objective: summed Huber (delta 1e-3) between log L and LSE(a - alpha log N, b - beta log D, e), with
A = e^a, B = e^b, E = e^e; L-BFGS from Epoch's 4,500-point grid; the best start is kept. All languages,
all starts, all bootstrap resamples and the leave-largest-out refits are vmapped rows of one compiled
call (`lbfgs.multistart_minimize`), in float64.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import numpy as np

from codelaw.laws import forms, lbfgs
from codelaw.laws.bootstrap import percentile_intervals, resample_weights
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
  pts = np.array(list(itertools.product([-1.0, 0.0, 1.0], [0.0, 10.0, 20.0], [0.0, 10.0, 20.0],
                                        [0.0, 0.5, 1.0, 2.0], [0.0, 0.5, 1.0, 2.0])), np.float64)
  return {k: pts[:, i] for i, k in enumerate(("e", "a", "b", "alpha", "beta"))}


def objective(params, data, weights, delta: float = HUBER_DELTA):
  pred = forms.chinchilla_log(data["logN"], data["logD"], params["e"], params["a"], params["b"],
                              params["alpha"], params["beta"])
  return lbfgs.huber_sum(pred - data["logL"], weights, delta)


@dataclasses.dataclass
class LanguageFit:
  """One language's fit: best parameters, intervals, bootstrap draws and diagnostics."""
  params: dict[str, float]
  ci: dict[str, list[float]]
  bootstrap: dict[str, list[float]]
  diagnostics: dict


def _pad(runs: dict[str, LanguageRuns]):
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


def _tile_starts(grid: dict[str, np.ndarray], G: int):
  return {k: np.broadcast_to(v, (G,) + v.shape).copy() for k, v in grid.items()}


def _to_public(p) -> dict[str, float]:
  return {"E": float(np.exp(p["e"])), "A": float(np.exp(p["a"])), "B": float(np.exp(p["b"])),
          "alpha": float(p["alpha"]), "beta": float(p["beta"])}


def fit_chinchilla(runs: dict[str, LanguageRuns], *, grid: dict[str, np.ndarray] | None = None,
                   num_steps: int = 100, bootstrap: int = 200, ci: float = 0.95, seed: int = 0,
                   delta: float = HUBER_DELTA) -> dict[str, LanguageFit]:
  """Fits every language's law (best of the grid), bootstraps runs, and measures leave-largest-N-out error."""
  for name, r in runs.items():
    check_language_runs(name, r)
  grid = epoch_grid() if grid is None else grid
  names, data, mask = _pad(runs)
  G = len(names)
  obj = _objective_with_delta(delta)
  with jax.enable_x64(True):
    # 1) best fit per language from the whole grid.
    params, values = lbfgs.multistart_minimize(obj, num_steps, _tile_starts(grid, G), data, mask)
    best, best_val = jax.device_get(lbfgs.best_start(params, values))
    grad_norms = _grad_norms(obj, best, data, mask)

    # 2) bootstrap: resample each language's runs R times (weights = counts), warm-started from its best fit.
    rng = np.random.default_rng(seed)
    weights_b = np.concatenate([resample_weights(rng, mask[g], bootstrap) for g in range(G)]) if bootstrap else None
    if bootstrap:
      starts = _warm_starts(best, rng, bootstrap)
      data_b = {k: np.repeat(v, bootstrap, axis=0) for k, v in data.items()}
      pb, vb = lbfgs.multistart_minimize(obj, num_steps, starts, data_b, weights_b)
      boot, _ = jax.device_get(lbfgs.best_start(pb, vb))

    # 3) leave-largest-N-out: refit without each language's largest model, predict it (same compiled shapes).
    held = np.zeros_like(mask)
    for g, name in enumerate(names):
      held[g, :len(runs[name].N)] = runs[name].N == runs[name].N.max()
    train_mask = mask * (1 - held)
    pl, vl = lbfgs.multistart_minimize(obj, num_steps, _tile_starts(grid, G), data, train_mask)
    llo, _ = jax.device_get(lbfgs.best_start(pl, vl))

  out = {}
  for g, name in enumerate(names):
    p = {k: v[g] for k, v in best.items()}
    n = int(mask[g].sum())
    pred = np.asarray(forms.chinchilla_log(data["logN"][g, :n], data["logD"][g, :n], p["e"], p["a"], p["b"],
                                           p["alpha"], p["beta"]))
    resid = (data["logL"][g, :n] - pred)
    diag = {"objective": float(best_val[g]), "n_runs": n, "grad_norm": float(grad_norms[g]),
            "residuals_log": resid.tolist(), "rmse_log": float(np.sqrt(np.mean(resid**2))),
            "num_starts": int(len(next(iter(grid.values())))), "num_steps": num_steps, "huber_delta": delta,
            "leave_largest_out": _extrapolation(runs[name], {k: v[g] for k, v in llo.items()}, train_mask[g, :n])}
    draws, intervals = {}, {}
    if bootstrap:
      b = {k: v[g * bootstrap:(g + 1) * bootstrap] for k, v in boot.items()}
      pub = {"E": np.exp(b["e"]), "A": np.exp(b["a"]), "B": np.exp(b["b"]), "alpha": b["alpha"], "beta": b["beta"]}
      draws = {k: np.asarray(v).tolist() for k, v in pub.items()}
      intervals = percentile_intervals(pub, ci)
      diag["bootstrap"] = {"resamples": bootstrap, "ci_level": ci}
    out[name] = LanguageFit(_to_public(p), intervals, draws, diag)
  return out


def _objective_with_delta(delta: float):
  if delta == HUBER_DELTA:
    return objective  # the same function object keeps one jit cache entry across calls
  return _DELTA_OBJECTIVES.setdefault(delta, lambda p, d, w: objective(p, d, w, delta))


_DELTA_OBJECTIVES: dict = {}


def _grad_norms(obj, best, data, mask):
  g = jax.vmap(jax.grad(obj))(best, data, mask)
  return np.sqrt(sum(np.asarray(v) ** 2 for v in g.values()))


def _warm_starts(best, rng: np.random.Generator, repeats: int, jitter: int = 3):
  """Each resample starts at its language's best fit and at `jitter` small perturbations of it."""
  starts = {}
  scale = {"e": 0.3, "a": 1.0, "b": 1.0, "alpha": 0.05, "beta": 0.05}
  for k, v in best.items():
    base = np.repeat(np.asarray(v), repeats)[:, None]                       # [G*R, 1]
    noise = rng.normal(0.0, scale[k], size=(base.shape[0], jitter))
    starts[k] = np.concatenate([base, base + noise], axis=1)
  return starts


def _extrapolation(runs: LanguageRuns, p, train_mask: np.ndarray) -> dict:
  held = train_mask == 0
  pred = np.exp(np.asarray(forms.chinchilla_log(np.log(runs.N[held]), np.log(runs.D[held]), p["e"], p["a"], p["b"],
                                                p["alpha"], p["beta"])))
  rel = (pred - runs.loss[held]) / runs.loss[held]
  return {"held_out_N": float(runs.N.max()), "held_out_runs": int(held.sum()),
          "mean_abs_rel_error": float(np.mean(np.abs(rel))), "max_abs_rel_error": float(np.max(np.abs(rel))),
          "rmse_log": float(np.sqrt(np.mean(np.log1p(rel) ** 2))), "params": _to_public(p)}
