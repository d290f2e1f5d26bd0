"""Everything the report reads from a study workdir, found and parsed once, tolerant of what is missing.

A study workdir is either one study's directory (results.csv, maybe translation.csv) or a quickstart output
(results.csv plus per-stage subdirectories: <study>/results.csv, fit/fit.json, allocate/allocation.json,
validation/results.csv, validation/prediction.json, translation/translation.csv, runs/<id>/result.json, whose
configs say which corpus and evaluation settings each run used and whose `epochs` how often it saw each
language). Files are looked up in the directory and one level below it. A file that exists but cannot be read
becomes a named problem in the report instead of a crash; only a missing directory or a missing results table
stops the job.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Iterator, Mapping

from codelaw import languages
from codelaw.contracts.allocation import Allocation
from codelaw.contracts.fit import FitResult
from codelaw.contracts.result import Result
from codelaw.errors import UserError
from codelaw.io import read_csv, read_json

REQUIRED_COLUMNS = ("run_id", "language", "N", "D", "loss")
FLOAT_COLUMNS = ("N", "D", "loss", "bpb", "flops") + tuple(f"p_{n}" for n in languages.NAMES)


@dataclasses.dataclass
class StudyInputs:
  root: Path
  results: list[dict[str, Any]]  # complete rows of every results.csv, deduplicated
  translation: list[dict[str, Any]]  # rows of every translation.csv, deduplicated
  fits: list[tuple[Path, dict]]  # (file, law block) for every law found in fit JSON files
  allocation: tuple[Path, dict] | None
  prediction: tuple[Path, dict] | None  # validation/prediction.json: the gain predicted before the runs
  configs: dict[str, dict[str, Any]]  # run_id -> the training config in its result.json
  # run_id -> {language: expected epochs} from its result.json; None where it records none (older results).
  # Runs without a readable result.json are absent from both.
  epochs: dict[str, dict[str, float] | None]
  provenance: dict[str, Any]
  files: dict[str, list[str]]  # what was read, by kind (shown in the report)
  problems: list[str]  # files that exist but could not be used

  def rows(self, **where: Any) -> list[dict[str, Any]]:
    return [r for r in self.results if all(r.get(k) == v for k, v in where.items())]


def candidates(root: Path, name: str) -> list[Path]:
  """root/name, then root/*/name in sorted order (one level down: a quickstart's stage directories)."""
  out = [root / name] if (root / name).is_file() else []
  out += sorted(p for p in root.glob(f"*/{name}") if p.is_file())
  return out


def _float(value: Any) -> float:
  try:
    x = float(value)
  except (TypeError, ValueError):
    return math.nan
  return x


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
  header, rows = read_csv(path)
  missing = [c for c in required if c not in header]
  if missing:
    raise UserError(f"{path}: missing column(s) {', '.join(missing)}")
  return rows


def _parse_result_row(row: dict[str, Any]) -> dict[str, Any] | None:
  if row.get("status", "") not in ("", "complete"):
    return None
  out = dict(row)
  for col in FLOAT_COLUMNS:
    if col in out:
      out[col] = _float(out[col])
  if not (
    out["language"] in languages.BY_NAME
    and out["N"] > 0
    and out["D"] > 0
    and math.isfinite(out["loss"])
    and out["loss"] > 0
  ):
    return None
  out.setdefault("kind", "")
  out["final"] = str(out.get("final", "1")) in ("1", "1.0", "True", "true", "")
  return out


def law_blocks(obj: Any, depth: int = 0) -> Iterator[dict]:
  """Law blocks ({"law", "languages", ...}) in a fit JSON: the top level, or nested one or two levels down."""
  if not isinstance(obj, Mapping):
    return
  if "law" in obj and isinstance(obj.get("languages"), Mapping):
    yield dict(obj)
    return
  if depth < 2:
    for value in obj.values():
      yield from law_blocks(value, depth + 1)


def _read_json(path: Path, problems: list[str]) -> Any:
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError) as e:
    problems.append(f"{path}: not readable JSON ({e}); left out")
    return None


def _valid_fit(path: Path, block: dict, problems: list[str]) -> bool:
  """Whether a law block reads as fit.json's contract (its identifiability blocks included); if not, why."""
  try:
    FitResult.from_json(block, str(path))
  except UserError as e:
    problems.append(f"{e}; law {block.get('law')!r} left out")
    return False
  return True


def _epochs(result: Result, path: Path, problems: list[str]) -> dict[str, float] | None:
  """The run's {language: expected epochs}; None where result.json records none (written before the field) or
  records something else (noted as a problem: then they are as unknown as an older run's)."""
  if result.epochs is None:
    return None
  if not isinstance(result.epochs, Mapping):
    problems.append(f"{path}: 'epochs' is not an object {{language: epochs}}; its epochs are left out")
    return None
  for lang, value in result.epochs.items():
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
    if lang not in languages.BY_NAME or not ok:
      problems.append(
        f"{path}: epochs.{lang} = {value!r} is not a known language's epochs >= 0; its epochs are left out"
      )
      return None
  return {lang: float(value) for lang, value in result.epochs.items()}


def _run_results(
  root: Path, results: list[dict[str, Any]], problems: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, float] | None]]:
  """(run_id -> config, run_id -> epochs) of each run's runs/<id>/result.json (in root/runs or one level below);
  runs without a readable one are absent, and a result.json that breaks its contract is named in `problems`."""
  run_dirs = [root / "runs"] + sorted(p for p in root.glob("*/runs") if p.is_dir())
  configs, epochs = {}, {}
  for run_id in sorted({r["run_id"] for r in results}):
    for runs_dir in run_dirs:
      path = runs_dir / run_id / "result.json"
      if not path.is_file():
        continue
      try:
        result = Result.from_json(read_json(path), str(path))
      except (UserError, ValueError) as e:
        problems.append(f"{e}; its config and epochs are left out")
        continue
      configs[run_id] = dict(result.config)
      epochs[run_id] = _epochs(result, path, problems)
      break
  return configs, epochs


def _provenance(
  root: Path, results: list[dict[str, Any]], configs: dict[str, dict[str, Any]], problems: list[str]
) -> dict[str, Any]:
  """Scale, corpus and model/training shape, from study.json files and the runs' own result.json configs."""
  scales, corpora, seq_lens, dtypes, studies = set(), set(), set(), set(), set()
  for path in candidates(root, "study.json"):
    obj = _read_json(path, problems)
    if isinstance(obj, Mapping) and obj.get("scale"):
      scales.add(str(obj["scale"]))
  seen_runs = {r["run_id"] for r in results}
  for cfg in configs.values():
    corpora.add(str((cfg.get("data") or {}).get("corpus", "")))
    seq_lens.add((cfg.get("model") or {}).get("seq_len"))
    dtypes.add((cfg.get("model") or {}).get("dtype"))
  sizes: dict[str, float] = {}
  for r in results:
    studies.add(r.get("study", ""))
    if r.get("size"):
      sizes[r["size"]] = r["N"]
  return {
    "scale": sorted(scales),
    "corpus": sorted(c for c in corpora if c),
    "studies": sorted(s for s in studies if s),
    "sizes": dict(sorted(sizes.items(), key=lambda kv: kv[1])),
    "seq_len": sorted(s for s in seq_lens if s),
    "dtype": sorted(d for d in dtypes if d),
    "tokens": [min((r["D"] for r in results), default=0), max((r["D"] for r in results), default=0)],
    "runs": len(seen_runs),
    "runs_with_config": bool(corpora),
  }


def load(study_dir: str | Path) -> StudyInputs:
  """Reads a study workdir; UserError when it does not exist or holds no results.csv."""
  if not str(study_dir):
    raise UserError("config.study is required: the study workdir holding results.csv")
  root = Path(study_dir)
  if not root.is_dir():
    raise UserError(f"config.study = {str(study_dir)!r}: no such directory")
  result_files = candidates(root, "results.csv")
  if not result_files:
    raise UserError(
      f"config.study = {str(study_dir)!r}: no results.csv in it (or one level below); run a study there first"
    )
  problems: list[str] = []
  results, keys = [], set()
  for path in result_files:
    for raw in _read_csv(path, REQUIRED_COLUMNS):
      row = _parse_result_row(raw)
      key = (raw["run_id"], raw["language"], raw["D"])
      if row is not None and key not in keys:
        keys.add(key)
        results.append(row)
  translation, tkeys = [], set()
  t_files = candidates(root, "translation.csv")
  for path in t_files:
    try:
      raw_rows = _read_csv(path, ("run_id", "strategy", "N", "direction", "seen", "loss"))
    except UserError as e:
      problems.append(f"{e}; translation left out")
      continue
    for raw in raw_rows:
      key = (raw["run_id"], raw["direction"])
      loss, n = _float(raw["loss"]), _float(raw["N"])
      if key in tkeys or not (math.isfinite(loss) and n > 0):
        continue
      tkeys.add(key)
      translation.append(dict(raw, loss=loss, N=n, seen=str(raw["seen"]) in ("1", "True", "true")))
  fits = []
  fit_files = candidates(root, "fit.json")
  for path in fit_files:
    obj = _read_json(path, problems)
    blocks = list(law_blocks(obj))
    if obj is not None and not blocks:
      problems.append(f"{path}: no law block (keys 'law' and 'languages') found; left out")
    fits += [(path, b) for b in blocks if _valid_fit(path, b, problems)]
  allocation = None
  alloc_files = candidates(root, "allocation.json")
  for path in alloc_files:
    obj = _read_json(path, problems)
    if isinstance(obj, Mapping) and isinstance(obj.get("p_star"), Mapping):
      try:
        allocation = (path, Allocation.from_json(obj, str(path)).to_json())
        break
      except UserError as e:
        problems.append(f"{e}; left out")
    elif obj is not None:
      problems.append(f"{path}: no p_star mixture in it; left out")
  prediction = None
  pred_files = candidates(root, "prediction.json")
  for path in pred_files:
    obj = _read_json(path, problems)
    if isinstance(obj, Mapping):
      prediction = (path, dict(obj))
      break
  rel = lambda ps: [str(p.relative_to(root)) for p in ps]
  configs, epochs = _run_results(root, results, problems)
  return StudyInputs(
    root=root,
    results=results,
    translation=translation,
    fits=fits,
    allocation=allocation,
    prediction=prediction,
    configs=configs,
    epochs=epochs,
    provenance=_provenance(root, results, configs, problems),
    files={
      "results": rel(result_files),
      "translation": rel(t_files),
      "fit": rel(fit_files),
      "allocation": rel(alloc_files),
      "prediction": rel(pred_files),
    },
    problems=problems,
  )
