"""Job `fit`: runs CSV -> OUT/fit.json + OUT/fit.md (or OUT/comparison.{json,md} for law "compare").

Python API: `fit(runs_path, law, **options) -> dict` returns what the job writes to fit.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


from codelaw.data.corpus_format import read_manifest
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, atomic_write_text, read_csv
from codelaw.laws import compare, multilingual, per_language, runs_io, synergy

LAWS = ("chinchilla",) + multilingual.FAMILIES + ("compare",)


def _unique_tokens(spec: str) -> dict[str, float] | None:
  if not spec:
    return None
  path = Path(spec)
  if path.is_dir():
    manifest = read_manifest(path)
    return {lang: float(splits["train"].tokens) for lang, splits in manifest.splits.items() if "train" in splits}
  if not path.is_file():
    raise UserError(f"config.unique_tokens = {spec!r}: no such file or corpus directory")
  try:
    data = json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise UserError(f"config.unique_tokens file {spec!r} is not valid JSON: {e}") from None
  if not isinstance(data, dict) or not all(isinstance(v, (int, float)) and v > 0 for v in data.values()):
    raise UserError(f"config.unique_tokens file {spec!r} must map languages to positive token counts")
  return {str(k): float(v) for k, v in data.items()}


def _is_results_table(path: str) -> bool:
  header, _ = read_csv(path, "config.runs")
  return all(c in header for c in runs_io.RESULTS_COLUMNS)


def fit(runs: str, law: str, *, grid: str = "epoch", starts: int = 512, num_steps: int = 0, bootstrap: int = 200,
        ci: float = 0.95, seed: int = 0, unique_tokens: str = "", with_synergy: bool = True) -> dict:
  """Reads and validates `runs`, fits `law`; returns the fit.json (or comparison) dict. Raises UserError."""
  if law not in LAWS:
    raise UserError(f"config.law = {law!r}: expected one of {', '.join(LAWS)}")
  if not runs:
    raise UserError("config.runs is required: a CSV of runs")
  if not os.path.isfile(runs):
    raise UserError(f"config.runs = {runs!r}: file does not exist")
  if grid not in ("epoch", "small"):
    raise UserError(f"config.grid = {grid!r}: expected 'epoch' or 'small'")
  if bootstrap < 0 or starts < 1 or num_steps < 0 or not 0 < ci < 1:
    raise UserError("config.bootstrap/starts/num_steps must be >= 0 (starts >= 1) and 0 < config.ci < 1")
  if law == "chinchilla":
    if _is_results_table(runs):
      data = runs_io.language_runs_from_table(runs_io.load_results_table(runs))
      for name, r in data.items():
        runs_io.check_language_runs(name, r, f"runs file {runs!r} (monolingual rows)")
    else:
      data = runs_io.load_language_runs(runs)
    fits = per_language.fit_chinchilla(data, grid=per_language.epoch_grid() if grid == "epoch" else
                                       per_language.small_grid(), num_steps=num_steps or 100,
                                       bootstrap=bootstrap, ci=ci, seed=seed)
    return {"law": "chinchilla",
            "languages": {n: {**f.params, "ci": f.ci} for n, f in fits.items()},
            "diagnostics": {n: f.diagnostics for n, f in fits.items()},
            "bootstrap": {n: f.bootstrap for n, f in fits.items()}}
  table = runs_io.load_results_table(runs)
  if law == "compare":
    return compare.compare_families(table, starts=starts, num_steps=num_steps or 300, seed=seed)
  out = multilingual.fit_multilingual(table, law, starts=starts, num_steps=num_steps or 300, bootstrap=bootstrap,
                                      ci=ci, seed=seed, unique_tokens=_unique_tokens(unique_tokens))
  if with_synergy:
    try:
      out["synergy"] = synergy.synergy_matrix(table, level=ci)
    except UserError:
      pass  # no bilingual design in this table
  return out


def summary_markdown(result: dict) -> str:
  if "ranking" in result:
    return "# Multilingual law comparison\n\n" + compare.to_markdown(result)
  lines = [f"# Fit: {result['law']}", ""]
  langs = result.get("languages", {})
  if langs:
    keys = [k for k in next(iter(langs.values())) if k != "ci"]
    lines += ["| language | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, p in langs.items():
      cells = []
      for k in keys:
        ci = p.get("ci", {}).get(k)
        cells.append(f"{p[k]:.4g}" + (f" [{ci[0]:.4g}, {ci[1]:.4g}]" if ci else ""))
      lines.append(f"| {name} | " + " | ".join(cells) + " |")
  diag = result.get("diagnostics", {})
  if result["law"] == "chinchilla":
    lines += ["", "| language | runs | objective | RMSE log | leave-largest-N-out mean abs rel. error |",
              "|---|---|---|---|---|"]
    for name, d in diag.items():
      lines.append(f"| {name} | {d['n_runs']} | {d['objective']:.4g} | {d['rmse_log']:.4g} | "
                   f"{d['leave_largest_out']['mean_abs_rel_error']:.4g} |")
  else:
    lines += ["", f"objective {diag['objective']:.4g}, RMSE log loss {diag['rmse_log']:.4g} over {diag['rows']} rows, "
              f"{diag['num_params']} parameters."]
  if "tau" in result:
    names = list(next(iter(result["tau"].values())))
    lines += ["", "tau (row = target, column = source)", "", "| | " + " | ".join(names) + " |",
              "|---" * (len(names) + 1) + "|"]
    lines += [f"| {t} | " + " | ".join(f"{row[s]:.3f}" for s in names) + " |" for t, row in result["tau"].items()]
  return "\n".join(lines) + "\n"


def main(config, workdir: str) -> None:
  result = fit(config.runs, config.law, grid=config.grid, starts=int(config.starts), num_steps=int(config.num_steps),
               bootstrap=int(config.bootstrap), ci=float(config.ci), seed=int(config.seed),
               unique_tokens=config.unique_tokens, with_synergy=bool(config.synergy))
  name = "comparison" if config.law == "compare" else "fit"
  atomic_write_json(Path(workdir) / f"{name}.json", result)
  atomic_write_text(Path(workdir) / f"{name}.md", summary_markdown(result))
  print(summary_markdown(result))
