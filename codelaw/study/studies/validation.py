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
import math
from pathlib import Path
from typing import Any, Mapping

from codelaw import checks, languages, provenance
from codelaw.contracts.allocation import Allocation, Gain
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, read_bytes, read_json
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


def _load_allocation(path: str) -> Any:
  """The allocation.json config.allocation names, parsed."""
  if not path:
    raise UserError("config.allocation is empty: give the allocation.json written by the allocate job")
  if not Path(path).exists():
    raise UserError(f"config.allocation = {path}: file not found (run the allocate job first)")
  return read_json(path, "config.allocation")


def _mixtures(p_star: Any, p_uniform: Any, path: str) -> dict[str, dict[str, float]]:
  return {
    "guided": checks.proportions(p_star, f"{path}:p_star"),
    "uniform": checks.proportions(p_uniform, f"{path}:p_uniform"),
  }


def read_allocation(path: str) -> dict[str, dict[str, float]]:
  """{"guided": p_star, "uniform": p_uniform} from an allocation.json, each checked and normalised. The runs
  need only the two mixtures; the prediction reads the whole file through its contract (and refuses an
  allocation that did not converge)."""
  data = _load_allocation(path)
  if not isinstance(data, Mapping):
    raise UserError(f"config.allocation = {path}: expected a JSON object")
  return _mixtures(data.get("p_star"), data.get("p_uniform"), path)


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
def _predicted_gain(gain: Gain, path: str) -> dict[str, Any]:
  """The allocation's gain {estimate, interval}: objective(uniform) - objective(p*) under the fitted law,
  the interval from evaluating the fixed p* and uniform under every bootstrap law (None without them)."""
  interval = None if gain.interval is None else list(gain.interval)
  for x in (gain.estimate, *(interval or ())):
    checks.finite(x, f"{path}: gain")
  return {"estimate": gain.estimate, "interval": interval}


def _weights(extra: Mapping[str, Any], langs: tuple[str, ...]) -> dict[str, float]:
  """The allocation's objective weights (an extra key of allocation.json), equal when it has none."""
  raw = extra.get("weights") or {name: 1.0 for name in langs}
  return checks.proportions({n: raw.get(n, 0.0) for n in langs}, "allocation weights")


def prediction(allocation_path: str, runs: list[Run], runs_dir: Path) -> dict[str, Any]:
  """The prediction the validation runs test, from the allocation they were expanded from."""
  allocation = Allocation.from_json(_load_allocation(allocation_path), f"config.allocation = {allocation_path}")
  mixtures = _mixtures(allocation.p_star, allocation.p_uniform, allocation_path)
  langs = tuple(n for n in languages.NAMES if n in set(mixtures["guided"]) | set(mixtures["uniform"]))
  started = sorted(r.run_id for r in runs if (runs_dir / r.run_id).exists())
  return {
    "statistic": STATISTIC,
    "gain": _predicted_gain(allocation.gain, allocation_path),
    "p_star": mixtures["guided"],
    "p_uniform": mixtures["uniform"],
    "weights": _weights(allocation.extra, langs),
    "languages": list(langs),
    "N": checks.positive(allocation.N, f"{allocation_path}: N"),
    "D": checks.positive(allocation.D, f"{allocation_path}: D"),
    "law": allocation.law,
    "warnings": list(allocation.warnings),
    "allocation": {
      "path": str(allocation_path),
      "sha256": hashlib.sha256(read_bytes(allocation_path, "config.allocation")).hexdigest(),
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
    old = read_json(path)
    if not isinstance(old, Mapping):
      raise UserError(f"{path}: expected a JSON object")
  except UserError as e:
    raise UserError(f"{e}; a prediction is never rewritten: move it away to predict again") from None
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
