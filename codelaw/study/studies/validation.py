"""Validation (paper §6): the guided mixture p* from allocation.json against the uniform mixture, at equal
compute (same model size, same tokens, same seeds), evaluated on every language.

The protocol, so that the test cannot be fitted to its outcome:
  1. before any validation run starts, `write_prediction` records the allocation's predicted gain with its
     interval, p*, N, D, the time and the code's commit in validation/prediction.json. The file is never
     rewritten: a later call keeps it, and refuses to go on if the allocation it was made from has changed.
  2. after the runs, `write_measured` writes validation/measured.json: per seed, the difference
     uniform - guided of the weighted mean validation loss (the allocation's objective; equal weights unless
     the allocation used others), their mean and paired 95% interval, beside the prediction.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Mapping

from codelaw import checks, languages, provenance
from codelaw.errors import UserError
from codelaw.io import atomic_write_json
from codelaw.study.results import read_result
from codelaw.study.spec import Run
from codelaw.study.studies import common
from codelaw.study.studies.paired import paired_difference

PREDICTION = "prediction.json"
MEASURED = "measured.json"
STATISTIC = (
  "uniform - guided: weighted mean over languages of the final validation loss (nats/token); "
  "positive = the guided mixture is better"
)
ARMS = ("guided", "uniform")
# What a prediction is about: a change in any of these is another allocation.
_ALLOCATION_KEYS = ("p_star", "p_uniform", "weights", "N", "D", "gain")


def _load_allocation(path: str) -> dict[str, Any]:
  if not path:
    raise UserError("config.allocation is empty: give the allocation.json written by the allocate job")
  try:
    data = json.loads(Path(path).read_text())
  except FileNotFoundError:
    raise UserError(f"config.allocation = {path}: file not found (run the allocate job first)") from None
  except (OSError, ValueError) as e:
    raise UserError(f"config.allocation = {path}: not a readable JSON file ({e})") from None
  if not isinstance(data, dict):
    raise UserError(f"config.allocation = {path}: expected a JSON object")
  return data


def read_allocation(path: str) -> dict[str, dict[str, float]]:
  """{"guided": p_star, "uniform": p_uniform} from an allocation.json, each checked and normalised."""
  data = _load_allocation(path)
  out = {}
  for arm, key in (("guided", "p_star"), ("uniform", "p_uniform")):
    if not isinstance(data.get(key), dict):
      raise UserError(f"config.allocation = {path}: no {key} mixture in it")
    out[arm] = checks.proportions(data[key], f"{path}:{key}")
  return out


def expand(config) -> list[Run]:
  mixtures = read_allocation(config.allocation)
  size = common.get_size(config)
  tokens = common.get_positive_int(config, "tokens")
  common.check_tokens(config, "tokens", tokens)
  # Both arms are evaluated on every language either mixture covers (the languages the allocation is about).
  covered = set(mixtures["guided"]) | set(mixtures["uniform"])
  eval_languages = tuple(name for name in languages.NAMES if name in covered)
  runs = []
  for arm, p in mixtures.items():
    for seed in common.seeds(config):
      meta = dict(kind="validation", arm=arm, size=size, seed=seed)
      train = dict(size=size, proportions=p, tokens=tokens, seed=seed)
      runs.append(common.study_run(config, f"{arm}-{size}-s{seed}", eval_languages, meta, **train))
  return runs


# ------------------------------------------------------------------------------------------- prediction
def _predicted_gain(data: Mapping[str, Any], path: str) -> dict[str, Any]:
  """The allocation's gain {estimate, interval}: objective(uniform) - objective(p*) under the fitted law,
  the interval from evaluating the fixed p* and uniform under every bootstrap law (None without them)."""
  gain = data.get("gain")
  if isinstance(gain, Mapping):
    estimate, interval = gain.get("estimate"), gain.get("interval")
  else:  # an allocation.json written before the gain carried its interval
    estimate, interval = gain, (data.get("uncertainty") or {}).get("gain")
  estimate = checks.finite(estimate, f"{path}: gain.estimate")
  if interval is not None:
    if not isinstance(interval, (list, tuple)) or len(interval) != 2:
      raise UserError(f"{path}: gain.interval = {interval!r}: expected [lo, hi]")
    interval = [checks.finite(x, f"{path}: gain.interval") for x in interval]
  return {"estimate": estimate, "interval": interval}


def _weights(data: Mapping[str, Any], langs: tuple[str, ...]) -> dict[str, float]:
  raw = data.get("weights") or {name: 1.0 for name in langs}
  return checks.proportions({n: raw.get(n, 0.0) for n in langs}, "allocation weights")


def prediction(allocation_path: str, runs: list[Run], runs_dir: Path) -> dict[str, Any]:
  """The prediction the validation runs test, from the allocation they were expanded from."""
  data = _load_allocation(allocation_path)
  if data.get("converged") is False:
    raise UserError(
      f"config.allocation = {allocation_path}: the allocation did not converge "
      f"({data.get('reason') or 'no reason given'}); there is no p* to validate"
    )
  mixtures = read_allocation(allocation_path)
  langs = tuple(n for n in languages.NAMES if n in set(mixtures["guided"]) | set(mixtures["uniform"]))
  started = sorted(r.run_id for r in runs if (runs_dir / r.run_id).exists())
  return {
    "statistic": STATISTIC,
    "gain": _predicted_gain(data, allocation_path),
    "p_star": mixtures["guided"],
    "p_uniform": mixtures["uniform"],
    "weights": _weights(data, langs),
    "languages": list(langs),
    "N": checks.positive(data.get("N"), f"{allocation_path}: N"),
    "D": checks.positive(data.get("D"), f"{allocation_path}: D"),
    "law": data.get("law"),
    "warnings": list(data.get("warnings") or []),
    "allocation": {
      "path": str(allocation_path),
      "sha256": hashlib.sha256(Path(allocation_path).read_bytes()).hexdigest(),
    },
    "runs": {r.run_id: {"arm": r.meta["arm"], "seed": r.meta["seed"]} for r in runs},
    # A prediction made after some runs had started is still recorded, and says so.
    "written_before_runs": not started,
    "runs_started_before": started,
    "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "git_commit": provenance.git_commit(),
  }


def _same(a: Any, b: Any) -> bool:
  if isinstance(a, Mapping) and isinstance(b, Mapping):
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
  if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
  if isinstance(a, (int, float)) and isinstance(b, (int, float)):
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
  return a == b


def write_prediction(
  allocation_path: str, runs: list[Run], study_dir: str | Path, runs_dir: str | Path
) -> dict[str, Any]:
  """Writes study_dir/prediction.json unless it exists; returns the prediction in force. Raises UserError
  when an existing prediction was made from another allocation (its numbers differ beyond rounding)."""
  path = Path(study_dir) / PREDICTION
  new = prediction(allocation_path, runs, Path(runs_dir))
  if not path.exists():
    atomic_write_json(path, new)
    return new
  try:
    old = json.loads(path.read_text())
  except (OSError, ValueError) as e:
    raise UserError(
      f"{path}: not a readable prediction ({e}); it is never rewritten, move it away to predict again"
    ) from None
  changed = [k for k in _ALLOCATION_KEYS if not _same(old.get(k), new[k])]
  if changed:
    raise UserError(
      f"{path} was made from another allocation ({', '.join(changed)} differ from "
      f"{allocation_path}); a prediction is never rewritten: move it away, or restore that allocation"
    )
  return old


# --------------------------------------------------------------------------------------------- measured
def measure(
  runs: list[Run], prediction: Mapping[str, Any], runs_dir: str | Path, level: float = 0.95
) -> dict[str, Any]:
  """Per seed and arm the weighted mean final validation loss, and the paired gain uniform - guided."""
  weights = prediction["weights"]
  by_arm: dict[str, dict[str, float]] = {arm: {} for arm in ARMS}
  missing = []
  for run in runs:
    result = read_result(Path(runs_dir) / run.run_id)
    evals = result.eval if result is not None else {}
    if result is None or any(lang not in evals for lang in weights):
      missing.append(run.run_id)
      continue
    by_arm[run.meta["arm"]][str(run.meta["seed"])] = sum(w * evals[lang].loss for lang, w in weights.items())
  gain = paired_difference(by_arm["uniform"], by_arm["guided"], level)
  return {
    "statistic": STATISTIC,
    "measured_gain": gain.to_json(),
    "predicted_gain": prediction["gain"],
    "prediction_time": prediction["time"],
    "weights": dict(weights),
    "per_seed": by_arm,
    "missing_runs": missing,
  }


def write_measured(
  runs: list[Run], prediction: Mapping[str, Any], study_dir: str | Path, runs_dir: str | Path
) -> dict[str, Any]:
  out = measure(runs, prediction, runs_dir)
  atomic_write_json(Path(study_dir) / MEASURED, out)
  return out
