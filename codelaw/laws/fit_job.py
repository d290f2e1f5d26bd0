"""Job `fit`: runs CSV -> OUT/fit.json + OUT/fit.md (or OUT/comparison.{json,md} for law "compare").

Python API: `fit(runs_path, law, **options) -> dict` returns what the job writes to fit.json.

A fit takes minutes (bootstrap refits from many starts), so the job records what its result depends on in
OUT/fit.inputs.json: the runs file, the unique-token counts, the config and the fitting code, each by its
SHA-256. Rerun with all of them unchanged, it keeps the result on disk instead of refitting (so rerunning a
finished quickstart costs seconds, and its report does not move with the optimiser's start order).
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np

from codelaw.contracts.fit import FitResult
from codelaw.data.corpus_format import read_manifest
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, atomic_write_text, read_csv
from codelaw.laws import compare, multilingual, per_language, runs_io, synergy

LAWS = ("chinchilla",) + multilingual.FAMILIES + ("compare",)
LOSS_UNITS = {"nats": "nats/token", "bpb": "bits/byte"}


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


def fit(
  runs: str,
  law: str,
  *,
  grid: str = "epoch",
  starts: int = 512,
  num_steps: int = 0,
  bootstrap: int = 200,
  ci: float = 0.95,
  seed: int = 0,
  unique_tokens: str = "",
  with_synergy: bool = True,
  loss_unit: str = "nats",
) -> dict:
  """Reads and validates `runs`, fits `law`; returns the fit.json (or comparison) dict. Raises UserError.

  loss_unit: "nats" (nats/token, the default) or "bpb" (the per-language law fitted on bits per byte, which
  compares across tokenizers and languages). Either way a chinchilla fit of rows with bpb also reports E in
  bits per byte ("bits_per_byte")."""
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
  if loss_unit not in LOSS_UNITS or (loss_unit == "bpb" and law != "chinchilla"):
    raise UserError(f"config.loss_unit = {loss_unit!r}: expected 'nats', or 'bpb' with law 'chinchilla'")
  if law == "chinchilla":
    if _is_results_table(runs):
      data = runs_io.language_runs_from_table(runs_io.load_results_table(runs))
      for name, r in data.items():
        runs_io.check_language_runs(name, r, f"runs file {runs!r} (monolingual rows)")
    else:
      data = runs_io.load_language_runs(runs)
    if loss_unit == "bpb":
      lacking = [n for n, r in data.items() if not r.has_bpb]
      if lacking:
        raise UserError(
          f"config.loss_unit = 'bpb': runs file {runs!r} has no bpb value (column 'bpb') on every "
          f"row of {', '.join(lacking)}"
        )
      data = {n: r.in_bits_per_byte() for n, r in data.items()}
    fits = per_language.fit_chinchilla(
      data,
      grid=per_language.epoch_grid() if grid == "epoch" else per_language.small_grid(),
      num_steps=num_steps or 100,
      bootstrap=bootstrap,
      ci=ci,
      seed=seed,
    )
    extra = {"loss_unit": LOSS_UNITS[loss_unit]}
    bpb = {n: _e_in_bits_per_byte(f, data[n]) for n, f in fits.items() if loss_unit == "nats" and data[n].has_bpb}
    if bpb:
      extra["bits_per_byte"] = bpb
    return FitResult(
      law="chinchilla",
      languages={n: {**f.params, "ci": f.ci} for n, f in fits.items()},
      diagnostics={n: f.diagnostics for n, f in fits.items()},
      bootstrap={n: f.bootstrap for n, f in fits.items()},
      profile={n: f.profile for n, f in fits.items() if f.profile is not None} or None,
      extra=extra,
    ).to_json()
  table = runs_io.load_results_table(runs)
  if law == "compare":
    return compare.compare_families(table, starts=starts, num_steps=num_steps or 300, seed=seed)
  out = multilingual.fit_multilingual(
    table,
    law,
    starts=starts,
    num_steps=num_steps or 300,
    bootstrap=bootstrap,
    ci=ci,
    seed=seed,
    unique_tokens=_unique_tokens(unique_tokens),
  )
  if with_synergy:
    try:
      out["synergy"] = synergy.load_synergy(runs, level=ci)
    except UserError:
      pass  # no synergy study's runs in this table
  return out


def _e_in_bits_per_byte(fit: per_language.LanguageFit, runs: runs_io.LanguageRuns) -> dict:
  """E (and its interval) in bits per byte: bpb / loss is one constant per language (its evaluation set's
  bytes per token, over ln 2), so E_bpb = E * bpb / loss."""
  ratio = np.asarray(runs.bpb) / np.asarray(runs.loss)
  r = float(np.median(ratio))
  out = {
    "E": fit.params["E"] * r,
    "bytes_per_token": 1.0 / (r * math.log(2.0)),
    "ratio_spread": float(np.max(ratio) / np.min(ratio) - 1.0),
  }
  if "E" in fit.ci:
    out["ci"] = [fit.ci["E"][0] * r, fit.ci["E"][1] * r]
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
    lines += [
      "",
      "| language | runs | objective | RMSE log | leave-largest-N-out mean abs rel. error |",
      "|---|---|---|---|---|",
    ]
    for name, d in diag.items():
      lines.append(
        f"| {name} | {d['n_runs']} | {d['objective']:.4g} | {d['rmse_log']:.4g} | "
        f"{d['leave_largest_out']['mean_abs_rel_error']:.4g} |"
      )
    if result.get("profile"):
      lines += [
        "",
        f"Profile-likelihood intervals ({_level(diag)}), beside the run-level bootstrap above:",
        "",
        "| language | alpha | beta |",
        "|---|---|---|",
      ]
      lines += [
        f"| {n} | [{p['alpha'][0]:.4g}, {p['alpha'][1]:.4g}] | [{p['beta'][0]:.4g}, {p['beta'][1]:.4g}] |"
        for n, p in result["profile"].items()
      ]
    if result.get("bits_per_byte"):
      lines += [
        "",
        "Irreducible loss in bits per byte (comparable across languages):",
        "",
        "| language | E (bits/byte) | bytes/token |",
        "|---|---|---|",
      ]
      for n, b in result["bits_per_byte"].items():
        ci = f" [{b['ci'][0]:.4g}, {b['ci'][1]:.4g}]" if "ci" in b else ""
        lines.append(f"| {n} | {b['E']:.4g}{ci} | {b['bytes_per_token']:.3g} |")
  else:
    lines += [
      "",
      f"objective {diag['objective']:.4g}, RMSE log loss {diag['rmse_log']:.4g} over {diag['rows']} rows, "
      f"{diag['num_params']} parameters.",
    ]
  lines += _identifiability_markdown(result)
  if "tau" in result:
    names = list(next(iter(result["tau"].values())))
    lines += [
      "",
      "tau (row = target, column = source)",
      "",
      "| | " + " | ".join(names) + " |",
      "|---" * (len(names) + 1) + "|",
    ]
    lines += [f"| {t} | " + " | ".join(f"{row[s]:.3f}" for s in names) + " |" for t, row in result["tau"].items()]
  return "\n".join(lines) + "\n"


def _level(diag: dict) -> str:
  levels = {d["profile"]["alpha"]["ci_level"] for d in diag.values() if isinstance(d, dict) and "profile" in d}
  return ", ".join(f"{x:.0%}" for x in sorted(levels))


def _identifiability_markdown(result: dict) -> list[str]:
  diag = result.get("diagnostics", {})
  blocks = {n: diag[n] for n in result.get("languages", {}) if isinstance(diag.get(n), dict) and "design" in diag[n]}
  if not blocks:
    return []
  lines = [
    "",
    "## Can the data determine the law?",
    "",
    "| language | distinct N | distinct D | runs | rows | residual dof | identifiable | weakly determined |",
    "|---|---|---|---|---|---|---|---|",
  ]
  for n, d in blocks.items():
    g = d["design"]
    lines.append(
      f"| {n} | {g['distinct_N']} | {g['distinct_D']} | {g['runs']} | {g['rows']} | {g['dof']} | "
      f"{'yes' if d['identifiable'] else '**no**'} | {', '.join(d['weak']) or '-'} |"
    )
  for n, d in blocks.items():
    lines += [f"- {n}: {p}" for p in d["problems"]]
  return lines


def _sha256(path: Path) -> str:
  return hashlib.sha256(path.read_bytes()).hexdigest()


def _code_sha256() -> str:
  """One digest of the fitting code: this module and every codelaw module it imports, transitively."""
  digest = hashlib.sha256()
  package = Path(__file__).resolve().parents[1]
  for path in sorted(_imported_sources(Path(__file__).resolve(), package)):
    digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
  return digest.hexdigest()


def _imported_sources(source: Path, package: Path) -> set[Path]:
  """`source` and the files of the codelaw modules it imports at module level, followed transitively."""
  found, todo = set(), [source]
  while todo:
    path = todo.pop()
    if path in found:
      continue
    found.add(path)
    for node in ast.walk(ast.parse(path.read_bytes())):
      if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
      elif isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
      else:
        continue
      for name in names:
        top, *parts = name.split(".")
        if top != package.name:
          continue
        for depth in range(len(parts) + 1):  # the packages on the way are imported too
          module = package.joinpath(*parts[:depth])
          todo += [p for p in (module.parent / f"{module.name}.py", module / "__init__.py") if p.is_file()]
  return found


def fit_inputs(config) -> dict:
  """What a fit's result depends on, each by digest: its runs file, unique-token counts, config and code."""
  spec = str(config.unique_tokens)
  unique = Path(spec) / "manifest.json" if spec and Path(spec).is_dir() else Path(spec) if spec else None
  return {
    "runs": _sha256(Path(config.runs)) if os.path.isfile(config.runs) else None,
    "unique_tokens": _sha256(unique) if unique is not None and unique.is_file() else None,
    "config": hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str).encode()).hexdigest(),
    "code": _code_sha256(),
  }


def _up_to_date(out: Path, name: str, inputs: dict) -> bool:
  stamp = out / f"{name}.inputs.json"
  if not (stamp.is_file() and (out / f"{name}.json").is_file() and (out / f"{name}.md").is_file()):
    return False
  try:
    return json.loads(stamp.read_text()) == inputs
  except (OSError, json.JSONDecodeError):
    return False


def main(config, workdir: str) -> None:
  out, name = Path(workdir), "comparison" if config.law == "compare" else "fit"
  inputs = fit_inputs(config)
  if inputs["runs"] is not None and _up_to_date(out, name, inputs):
    print(f"{out / name}.json is up to date with its runs file, config and code: kept, not refitted", flush=True)
    print((out / f"{name}.md").read_text())
    return
  result = fit(
    config.runs,
    config.law,
    grid=config.grid,
    starts=int(config.starts),
    num_steps=int(config.num_steps),
    bootstrap=int(config.bootstrap),
    ci=float(config.ci),
    seed=int(config.seed),
    unique_tokens=config.unique_tokens,
    with_synergy=bool(config.synergy),
    loss_unit=str(config.get("loss_unit", "nats")),
  )
  atomic_write_json(out / f"{name}.json", result)
  atomic_write_text(out / f"{name}.md", summary_markdown(result))
  # Written last: an interrupted job leaves no stamp, so its rerun fits again.
  atomic_write_json(out / f"{name}.inputs.json", inputs)
  print(summary_markdown(result))
