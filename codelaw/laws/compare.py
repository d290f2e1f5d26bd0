"""Which multilingual law predicts a results table best: leave-one-mixture-out error of every family.

Each multi-language mixture (a distinct proportion vector with >= 2 languages) is held out in turn: all its
runs are removed, every family is refitted on the rest (all folds of a family in one vmapped call), and
the held-out runs are predicted. "ranking" orders the per-language families by RMSE of log loss over the
held-out (run, eval language) rows; "ranking_mixture" orders every family (paper_aggregate included: it
predicts one loss per run) by RMSE of the log of each held-out run's loss on its own training mixture
(p-weighted over the evaluated languages). Averaging over languages hides per-language errors, so the
per-language ranking is the stricter one.
"""

from __future__ import annotations

import numpy as np

from codelaw.laws import multilingual as ml
from codelaw.laws.runs_io import ResultsTable


def mixtures(table: ResultsTable) -> list[tuple[float, ...]]:
  keys = {tuple(np.round(p, 6)) for p in table.P if np.sum(p > 1e-9) >= 2}
  return sorted(keys)


def _run_loss(run_ids, rows_run, P_rows, lang_rows, values) -> dict:
  """p-weighted loss of each run over its evaluated languages with p_i > 0 (NaN if any such row lacks a value)."""
  out = {}
  for run in np.unique(run_ids):
    sel = rows_run == run
    p = P_rows[sel, lang_rows[sel]]
    v = values[sel]
    keep = p > 0
    out[run] = float(np.sum(p[keep] * v[keep]) / p[keep].sum()) if keep.any() else np.nan
  return out


def compare_families(table: ResultsTable, families=ml.FAMILIES, *, starts: int = 256, num_steps: int = 300,
                     seed: int = 0) -> dict:
  """{"folds", "families": {name: {...}}, "ranking": [...]}; lower lomo_rmse_log_mixture is better."""
  folds = mixtures(table)
  obs_run = _run_loss(table.run_id, table.run_id, table.P, table.lang_idx, table.loss)
  K = len(table.languages)
  results = {}
  for name in families:
    family = ml.get_family(name)
    ds = ml.build_dataset(family, table)
    ds_fold = np.array([folds.index(k) if k in folds else -1 for k in (tuple(np.round(p, 6)) for p in ds.P)])
    weights = np.stack([ds.mask * (ds_fold != f) for f in range(len(folds))])
    # Folds start from the all-data fit (and jittered copies): the refit only has to adjust to one missing
    # mixture, and the fold batch stays small.
    best, _ = ml.minimize(family, ds, ds.mask[None], ml.random_starts(family, K, 1, starts, seed), num_steps)
    rng = np.random.default_rng(seed)
    warm = {k: np.concatenate([np.broadcast_to(v, (len(folds), 1) + v.shape[1:]),
                               v[:, None] + rng.normal(0, 0.1, (len(folds), 3) + v.shape[1:])], axis=1)
            for k, v in best.items()}
    params, _ = ml.minimize(family, ds, weights, warm, num_steps)
    sq_mix, sq_lang, missing = [], [], 0
    for f in range(len(folds)):
      pred = np.exp(ml.predict_log(family, ds, {k: v[f] for k, v in params.items()}))
      held = ds_fold == f
      if family.level == "mixture":
        for r in np.nonzero(held & (ds.mask > 0))[0]:
          sq_mix.append(np.log(pred[r] / obs_run[ds.run_id[r]]) ** 2)
        continue
      rows = held & (ds.mask > 0)
      sq_lang.extend((np.log(pred[rows]) - ds.data["logL"][rows]) ** 2)
      valid = np.where(ds.mask > 0, pred, np.nan)
      for run, value in _run_loss(ds.run_id[held], ds.run_id[held], ds.P[held], ds.data["lang"][held],
                                  valid[held]).items():
        if np.isfinite(value):
          sq_mix.append(np.log(value / obs_run[run]) ** 2)
        else:
          missing += 1
    results[name] = {"num_params": ml.num_params(family, K),
                     "lomo_rmse_log_mixture": float(np.sqrt(np.mean(sq_mix))) if sq_mix else None,
                     "lomo_rmse_log_language": float(np.sqrt(np.mean(sq_lang))) if sq_lang else None,
                     "held_out_runs_scored": len(sq_mix), "held_out_runs_unpredictable": missing}
  rank = lambda key: sorted((n for n in results if results[n][key] is not None), key=lambda n: results[n][key])
  return {"folds": [dict(zip(table.languages, k)) for k in folds], "families": results,
          "ranking": rank("lomo_rmse_log_language"), "ranking_mixture": rank("lomo_rmse_log_mixture"),
          "starts": starts, "num_steps": num_steps}


def to_markdown(comparison: dict) -> str:
  lines = ["| rank | law | params | LOMO RMSE log loss (mixture) | LOMO RMSE log loss (per language) | runs scored |",
           "|---|---|---|---|---|---|"]
  fmt = lambda x: "n/a" if x is None else f"{x:.4g}"
  order = comparison["ranking"] + [n for n in comparison["ranking_mixture"] if n not in comparison["ranking"]]
  for rank, name in enumerate(order, 1):
    r = comparison["families"][name]
    lines.append(f"| {rank} | {name} | {r['num_params']} | {fmt(r['lomo_rmse_log_mixture'])} | "
                 f"{fmt(r['lomo_rmse_log_language'])} | {r['held_out_runs_scored']} |")
  return "\n".join(lines) + (f"\n\nLeave-one-mixture-out over {len(comparison['folds'])} mixtures; ranked by the "
                             "per-language error, mixture-only laws after.\n")
