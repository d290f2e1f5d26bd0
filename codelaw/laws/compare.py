"""Which multilingual law predicts a results table best: leave-one-mixture-out error of every family.

Each multi-language mixture (a distinct proportion vector with >= 2 languages) is held out in turn: all its
runs are removed, every family is refitted on the rest from cold random starts (never from a fit that has
seen the held-out runs; all folds of a family in one vmapped call), and the held-out runs are predicted.

Every family is scored on the same held-out rows: the (run, eval language) rows that every per-language
family can predict (He et al.'s law cannot predict a language absent from the mix; Ye et al.'s holds at one
(N, D)), and for the mixture-level score the held-out runs every family, paper_aggregate included, predicts
(a run's loss on its own training mixture, p-weighted over its evaluated languages). "ranking" orders the
per-language families by RMSE of log loss on the common rows; "ranking_mixture" orders every family on the
common runs. "paired" gives, for each family against the best one, the difference of RMSE on those same
rows with a bootstrap interval that resamples held-out runs (a run's rows together): an interval that
excludes 0 says the difference is real at that level, one that straddles it says it is not shown.
"""

from __future__ import annotations

import numpy as np

from codelaw.laws import multilingual as ml
from codelaw.laws.bootstrap import cluster_resample_weights
from codelaw.laws.runs_io import ResultsTable

PAIRED_RESAMPLES = 2000
LEVEL = 0.95


def mixtures(table: ResultsTable) -> list[tuple[float, ...]]:
  keys = {tuple(np.round(p, 6)) for p in table.P if np.sum(p > 1e-9) >= 2}
  return sorted(keys)


def _run_loss(rows_run, P_rows, lang_rows, values) -> dict:
  """p-weighted loss of each run over its evaluated languages with p_i > 0 (NaN if any such row lacks a value)."""
  out = {}
  for run in np.unique(rows_run):
    sel = rows_run == run
    p = P_rows[sel, lang_rows[sel]]
    v = values[sel]
    keep = p > 0
    out[run] = float(np.sum(p[keep] * v[keep]) / p[keep].sum()) if keep.any() else np.nan
  return out


def _held_out_predictions(
  family: ml.Family, table: ResultsTable, folds, starts: int, num_steps: int, seed: int
) -> tuple[np.ndarray | None, dict]:
  """(per table row: held-out prediction or NaN [language-level families; None for mixture-level],
  {run: held-out predicted run loss or NaN})."""
  K = len(table.languages)
  ds = ml.build_dataset(family, table)
  fold_of = np.array([folds.index(k) if k in folds else -1 for k in (tuple(np.round(p, 6)) for p in ds.P)])
  weights = np.stack([ds.mask * (fold_of != f) for f in range(len(folds))])
  cold = ml.random_starts(family, K, len(folds), starts, seed)
  params, _ = ml.minimize(family, ds, weights, cold, num_steps)
  if family.level == "mixture":
    runs = {}
    for f in range(len(folds)):
      pred = np.exp(ml.predict_log(family, ds, {k: v[f] for k, v in params.items()}))
      for r in np.nonzero((fold_of == f) & (ds.mask > 0))[0]:
        runs[ds.run_id[r]] = float(pred[r])
    return None, runs
  rows = np.full(table.num_rows, np.nan)
  for f in range(len(folds)):
    pred = np.exp(ml.predict_log(family, ds, {k: v[f] for k, v in params.items()}))
    held = (fold_of == f) & (ds.mask > 0)
    rows[held] = pred[held]
  held_any = fold_of >= 0
  return rows, _run_loss(ds.run_id[held_any], ds.P[held_any], ds.data["lang"][held_any], rows[held_any])


def _rmse(sq: np.ndarray, weights: np.ndarray) -> np.ndarray:
  return np.sqrt((weights * sq).sum(-1) / weights.sum(-1))


def _paired(sq: dict[str, np.ndarray], run_of: np.ndarray, order: list[str], seed: int) -> list[dict]:
  """Each family against the best: RMSE difference on the same rows, run-resampled percentile interval."""
  if len(order) < 2 or len(run_of) == 0:
    return []
  w = cluster_resample_weights(np.random.default_rng(seed), run_of, PAIRED_RESAMPLES)
  best = order[0]
  q = (1 - LEVEL) / 2
  out = []
  for name in order[1:]:
    diff = _rmse(sq[name], np.ones(len(run_of))) - _rmse(sq[best], np.ones(len(run_of)))
    draws = _rmse(sq[name][None], w) - _rmse(sq[best][None], w)
    lo, hi = np.quantile(draws, [q, 1 - q])
    out.append(
      {
        "family": name,
        "against": best,
        "rmse_difference": float(diff),
        "interval": [float(lo), float(hi)],
        "level": LEVEL,
        "better": best if lo > 0 else "inconclusive",
      }
    )
  return out


def compare_families(
  table: ResultsTable, families=ml.FAMILIES, *, starts: int = 256, num_steps: int = 300, seed: int = 0
) -> dict:
  """{"folds", "families": {name: {...}}, "ranking", "ranking_mixture", "paired", "scored"}; lower is better."""
  folds = mixtures(table)
  obs_run = _run_loss(table.run_id, table.P, table.lang_idx, table.loss)
  K = len(table.languages)
  rows, runs = {}, {}
  for name in families:
    rows[name], runs[name] = _held_out_predictions(ml.get_family(name), table, folds, starts, num_steps, seed)
  language_level = [n for n in families if rows[n] is not None]
  common_rows = np.all([np.isfinite(rows[n]) for n in language_level], axis=0) if language_level else None
  held_runs = sorted(set().union(*(set(r) for r in runs.values())))
  common_runs = [r for r in held_runs if all(np.isfinite(runs[n].get(r, np.nan)) for n in families)]

  sq_lang = {n: (np.log(rows[n][common_rows]) - np.log(table.loss[common_rows])) ** 2 for n in language_level}
  sq_mix = {n: np.array([np.log(runs[n][r] / obs_run[r]) ** 2 for r in common_runs]) for n in families}
  results = {}
  for name in families:
    results[name] = {
      "num_params": ml.num_params(ml.get_family(name), K),
      "lomo_rmse_log_mixture": float(np.sqrt(np.mean(sq_mix[name]))) if common_runs else None,
      "lomo_rmse_log_language": (
        float(np.sqrt(np.mean(sq_lang[name]))) if name in sq_lang and sq_lang[name].size else None
      ),
      "held_out_runs_scored": len(common_runs),
      "held_out_runs_unpredictable": sum(1 for r in held_runs if not np.isfinite(runs[name].get(r, np.nan))),
    }
  rank = lambda key: sorted((n for n in results if results[n][key] is not None), key=lambda n: results[n][key])
  ranking, ranking_mixture = rank("lomo_rmse_log_language"), rank("lomo_rmse_log_mixture")
  paired = {
    "language": _paired(sq_lang, table.run_id[common_rows], ranking, seed) if language_level else [],
    "mixture": _paired(sq_mix, np.asarray(common_runs), ranking_mixture, seed),
  }
  return {
    "folds": [dict(zip(table.languages, k)) for k in folds],
    "families": results,
    "ranking": ranking,
    "ranking_mixture": ranking_mixture,
    "paired": paired,
    "scored": {"rows": int(common_rows.sum()) if language_level else 0, "runs": len(common_runs)},
    "starts": starts,
    "num_steps": num_steps,
    "start": "cold",
  }


def to_markdown(comparison: dict) -> str:
  lines = [
    "| rank | law | params | LOMO RMSE log loss (mixture) | LOMO RMSE log loss (per language) | runs scored |",
    "|---|---|---|---|---|---|",
  ]
  fmt = lambda x: "n/a" if x is None else f"{x:.4g}"
  order = comparison["ranking"] + [n for n in comparison["ranking_mixture"] if n not in comparison["ranking"]]
  for rank, name in enumerate(order, 1):
    r = comparison["families"][name]
    lines.append(
      f"| {rank} | {name} | {r['num_params']} | {fmt(r['lomo_rmse_log_mixture'])} | "
      f"{fmt(r['lomo_rmse_log_language'])} | {r['held_out_runs_scored']} |"
    )
  s = comparison["scored"]
  lines.append(
    f"\nLeave-one-mixture-out over {len(comparison['folds'])} mixtures, folds fitted cold; every family "
    f"scored on the same {s['rows']} held-out rows ({s['runs']} runs for the mixture score); ranked by the "
    "per-language error, mixture-only laws after."
  )
  for level, pairs in comparison["paired"].items():
    if pairs:
      lines += [
        "",
        f"Paired RMSE difference against the best ({level} score; 95% interval, runs resampled):",
        "",
        "| law | minus | difference | interval | verdict |",
        "|---|---|---|---|---|",
      ]
      lines += [
        f"| {p['family']} | {p['against']} | {p['rmse_difference']:.3g} | [{p['interval'][0]:.3g}, "
        f"{p['interval'][1]:.3g}] | {p['better'] + ' better' if p['better'] != 'inconclusive' else 'inconclusive'} |"
        for p in pairs
      ]
  return "\n".join(lines) + "\n"
