"""Which multilingual law predicts a results table best: leave-one-mixture-out error of every family.

Each multi-language mixture (a distinct proportion vector with >= 2 languages) is held out in turn: all its
runs are removed, every family is refitted on the rest (all folds of a family in one vmapped call), and
the held-out runs are predicted. The ranking metric is the RMSE of log loss on the held-out runs' own
training mixture (p-weighted over the languages evaluated), the one quantity every family predicts;
per-language families also get a per-(run, language) RMSE.
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
  fold_of_row = [folds.index(k) if k in folds else -1 for k in (tuple(np.round(p, 6)) for p in table.P)]
  K = len(table.languages)
  results = {}
  for name in families:
    family = ml.get_family(name)
    ds = ml.build_dataset(family, table)
    ds_fold = np.array([folds.index(k) if k in folds else -1 for k in (tuple(np.round(p, 6)) for p in ds.P)])
    weights = np.stack([ds.mask * (ds_fold != f) for f in range(len(folds))])
    params, _ = ml.minimize(family, ds, weights, ml.random_starts(family, K, len(folds), starts, seed), num_steps)
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
  ranking = sorted((n for n in results if results[n]["lomo_rmse_log_mixture"] is not None),
                   key=lambda n: results[n]["lomo_rmse_log_mixture"])
  return {"folds": [dict(zip(table.languages, k)) for k in folds], "families": results, "ranking": ranking,
          "starts": starts, "num_steps": num_steps}


def to_markdown(comparison: dict) -> str:
  lines = ["| rank | law | params | LOMO RMSE log loss (mixture) | LOMO RMSE log loss (per language) | runs scored |",
           "|---|---|---|---|---|---|"]
  fmt = lambda x: "n/a" if x is None else f"{x:.4g}"
  order = comparison["ranking"] + [n for n in comparison["families"] if n not in comparison["ranking"]]
  for rank, name in enumerate(order, 1):
    r = comparison["families"][name]
    lines.append(f"| {rank} | {name} | {r['num_params']} | {fmt(r['lomo_rmse_log_mixture'])} | "
                 f"{fmt(r['lomo_rmse_log_language'])} | {r['held_out_runs_scored']} |")
  return "\n".join(lines) + f"\n\nLeave-one-mixture-out over {len(comparison['folds'])} mixtures.\n"
