"""The quickstart: per-language grid, synergy, translation strategies, random mixtures, then fit, allocate,
guided-vs-uniform validation and the report, on the bundled sample corpus, with no network.

    python -m codelaw.launch --config configs/quickstart.py --workdir OUT              # cpu-tiny
    python -m codelaw.launch --config configs/quickstart.py:scale=smoke --workdir OUT  # CI smoke test

Sizing of cpu-tiny for 2 CPU cores, two runs at a time: 51 runs (14 per-language, 28 synergy, 3 translation,
4 mixtures, 2 validation) and ~3.4M training tokens; measured at about 25 minutes end to end on a 2-core
machine. smoke: 12 runs of a few thousand tokens.
"""

import importlib.util
from pathlib import Path

import ml_collections

from codelaw.study.quickstart import as_stage_config
from codelaw.study.studies import base

HERE = Path(__file__).resolve().parent

# Per scale: languages, per-language grid (sizes x budgets, one run per size with cooldown branches), the
# synergy / translation / mixture / validation runs. Token counts are per run.
RUNS = {
    "smoke": dict(languages=("python", "java"), sizes=("cpu-50k", "cpu-100k"), budgets=(1536, 3072, 6144),
                  synergy_tokens=3072, translation_strategies=("paired",), translation_tokens=3072,
                  n_mixtures=2, mixture_budgets=(3072,), validation_tokens=6144, validation_seeds=(0,)),
    "cpu-tiny": dict(languages=("python", "java", "javascript", "typescript", "csharp", "go", "rust"),
                     sizes=("cpu-50k", "cpu-100k"), budgets=(32768, 65536, 131072),
                     synergy_tokens=32768, translation_strategies=("shuffle", "concat", "paired"),
                     translation_tokens=32768, n_mixtures=4, mixture_budgets=(32768, 65536),
                     validation_tokens=131072, validation_seeds=(0,)),
}


def _load(relpath: str, arg: str):
  spec = importlib.util.spec_from_file_location(f"codelaw_config_{relpath.replace('/', '_')}", HERE / relpath)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def get_config(arg=None):
  scale = base.parse_arg(arg, {"scale": "cpu-tiny"})["scale"]
  if scale not in RUNS:
    raise base.ConfigArgError(f"scale={scale}: the quickstart runs at {' or '.join(RUNS)}")
  r = RUNS[scale]
  study_scale = "smoke" if scale == "smoke" else "cpu-tiny"

  def study(name: str, **keys) -> ml_collections.ConfigDict:
    c = as_stage_config(_load(f"studies/{name}.py", f"scale={study_scale}"))
    c.languages = r["languages"]
    for key, value in keys.items():
      c[key] = value
    if scale != "smoke":
      c.base.train.eval_tokens = 4096  # x 7 languages x every budget: evaluation is a real share of the time
    return c

  config = ml_collections.ConfigDict()
  config.job = "quickstart"
  config.scale = scale
  config.executor = base.executor_config()
  config.executor.retries = 1
  # Tiny models leave a core idle (start-up and compilation are single-threaded, and XLA splits their small
  # matmuls poorly): two runs at a time on 2 cores.
  config.executor.parallel = 2
  config.max_failed_runs = 0   # runs that may fail (after retries) before the quickstart stops
  config.studies = ml_collections.ConfigDict(dict(
      per_language=study("per_language", sizes=r["sizes"], budgets=r["budgets"]),
      synergy=study("synergy", size=r["sizes"][-1], tokens=r["synergy_tokens"]),
      translation=study("translation", sizes=r["sizes"][:1], tokens=r["translation_tokens"],
                        strategies=r["translation_strategies"]),
      mixtures=study("mixtures", sizes=r["sizes"][-1:], budgets=r["mixture_budgets"], n_mixtures=r["n_mixtures"]),
  ))
  config.validation = study("validation", size=r["sizes"][-1], tokens=r["validation_tokens"],
                            seeds=r["validation_seeds"])
  config.per_language_law = "chinchilla"
  config.allocation_law = "effective_data"   # per-language laws with transfer tau (design.md §3)
  config.fit = _load("fit.py", "")
  if scale == "smoke":  # fewer starts and resamples: the smoke checks the plumbing, not the fit
    config.fit.update(dict(grid="small", starts=32, bootstrap=20))
  config.allocate = _load("allocate.py", "")
  config.report = _load("report.py", "")
  return config
