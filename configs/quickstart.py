"""The quickstart: per-language grid, synergy, translation strategies, random mixtures, then fit, allocate,
guided-vs-uniform validation and the report, on the bundled sample corpus, with no network.

    python -m codelaw.launch --config configs/quickstart.py --workdir OUT                   # cpu-tiny, <= 30 min
    python -m codelaw.launch --config configs/quickstart.py:scale=cpu-study --workdir OUT   # <= 2 hours
    python -m codelaw.launch --config configs/quickstart.py:scale=smoke --workdir OUT       # CI smoke test

Every study is sized by its section of configs/scales.py at the chosen scale (the same presets the study
configs in configs/studies/ read); `--config.studies.<study>.<key>=...` changes one of them.
"""

import importlib.util
from pathlib import Path

import ml_collections

from codelaw.study.quickstart import STUDIES, as_stage_config
from codelaw.study.studies import base

HERE = Path(__file__).resolve().parent
SCALES = ("smoke", "cpu-tiny", "cpu-study")  # the scales one machine runs end to end


def _load(relpath: str, arg: str):
  spec = importlib.util.spec_from_file_location(f"codelaw_config_{relpath.replace('/', '_')}", HERE / relpath)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def get_config(arg=None):
  scale = base.parse_scale(arg)
  if scale not in SCALES:
    raise base.ConfigArgError(f"scale={scale}: the quickstart runs at {', '.join(SCALES)}")
  p = base.preset(scale)

  config = ml_collections.ConfigDict()
  config.job = "quickstart"
  config.scale = scale
  config.executor = base.executor_config()
  config.executor.retries = 1
  # Tiny models leave a core idle (start-up and compilation are single-threaded, and XLA splits their small
  # matmuls poorly): two runs at a time on 2 cores.
  config.executor.parallel = 2
  config.max_failed_runs = 0  # runs that may fail (after retries) before the quickstart stops
  config.studies = ml_collections.ConfigDict(
    {name: as_stage_config(_load(f"studies/{name}.py", f"scale={scale}")) for name in STUDIES}
  )
  config.validation = as_stage_config(_load("studies/validation.py", f"scale={scale}"))
  config.per_language_law = "chinchilla"
  config.allocation_law = "effective_data"  # per-language laws with transfer tau (design.md §3)
  config.fit = _load("fit.py", "")
  config.fit.update(p["fit"])
  config.allocate = _load("allocate.py", "")
  config.allocate.update(p.get("allocate", {}))
  config.report = _load("report.py", "")
  return config
