"""What every study config shares: the typed `:arg` parser, the scale presets (read from configs/scales.py),
the base training config and the executor block. Study configs in configs/studies/ are thin wrappers around
`study_config`; the quickstart assembles the same presets.

The keys a study sets per run (PER_RUN_KEYS: seed, model size, mixture, translation data, length, cooldown
budgets, learning rate) are not in a study's `base`: an override such as
`--config.base.data.proportions.python=2` is then an unknown key, and a base that gains one of them in code
is refused by the expander (`common.train_config`) instead of being silently overwritten.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
from pathlib import Path
from typing import Any, Mapping

import ml_collections

from codelaw.errors import UserError
from codelaw.train import defaults

SCALES_FILE = Path(__file__).resolve().parents[3] / "configs" / "scales.py"

# (section, key) pairs each study expander fills in per run, with the study key that sets them.
PER_RUN_KEYS: dict[tuple[str, ...], str] = {
  ("seed",): "config.seeds",
  ("model", "size"): "config.sizes / config.size",
  ("data", "proportions"): "config.languages (and the study's mixtures)",
  ("data", "translation"): "the translation study's strategies",
  ("train", "tokens"): "config.budgets / config.tokens",
  ("train", "cooldown_budgets"): "config.budgets",
  ("train", "eval_languages"): "the languages each run contributes to the results table",
  ("optim", "peak_lr"): "config.peak_lr, the (size, learning rate) pairs",
}


class ConfigArgError(UserError, ValueError):
  """A bad `:arg` of a config file. Also a ValueError because get_config runs while the launcher parses
  its flags, where it turns ValueErrors (not yet UserErrors) into the one-line message."""


def _typed(key: str, text: str, default: Any) -> Any:
  """`text` converted to the type of `default` (bool before int: bool is an int subclass)."""
  try:
    if isinstance(default, bool):
      lowered = text.lower()
      if lowered not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(text)
      return lowered in ("true", "1", "yes")
    if isinstance(default, int):
      number = float(text)  # accepts 2e6 for a token count
      if not number.is_integer():
        raise ValueError(text)
      return int(number)
    if isinstance(default, float):
      return float(text)
    if isinstance(default, str):
      return text
  except ValueError:
    raise ConfigArgError(
      f"config argument {key}={text!r}: expected {type(default).__name__} (like the default {default!r})"
    ) from None
  raise TypeError(f"parse_arg: default of {key} has unsupported type {type(default).__name__}")


def parse_arg(arg: str | None, **defaults_: Any) -> ml_collections.ConfigDict:
  """`"size=cpu-200k,tokens=2e6"` -> ConfigDict over `defaults_`, each value converted to its default's type
  (as big_vision's parse_arg). A bare `key` sets a bool default to True. Unknown keys are errors."""
  out = dict(defaults_)
  for item in filter(None, (arg or "").split(",")):
    key, sep, value = item.partition("=")
    key = key.strip()
    if key not in defaults_:
      raise ConfigArgError(f"config argument {item!r}: unknown key {key!r}; expected one of {', '.join(defaults_)}")
    if not sep:
      if not isinstance(defaults_[key], bool):
        raise ConfigArgError(f"config argument {item!r}: expected {key}=<{type(defaults_[key]).__name__}>")
      out[key] = True
    else:
      out[key] = _typed(key, value.strip(), defaults_[key])
  return ml_collections.ConfigDict(out)


@functools.lru_cache(maxsize=1)
def _scales() -> dict[str, dict[str, Any]]:
  spec = importlib.util.spec_from_file_location("codelaw_config_scales", SCALES_FILE)
  if spec is None or not SCALES_FILE.exists():
    raise UserError(f"scale presets not found at {SCALES_FILE}")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.SCALES


def scale_names() -> tuple[str, ...]:
  return tuple(_scales())


def preset(scale: str) -> dict[str, Any]:
  """A copy of one scale's preset from configs/scales.py (training shape, learning rate per size, and the
  sizing of every study)."""
  scales = _scales()
  if scale not in scales:
    raise ConfigArgError(f"scale={scale}: expected one of {', '.join(scales)}")
  return copy.deepcopy(scales[scale])


def parse_scale(arg: str | None, default: str = "cpu-tiny") -> str:
  """The `scale=` argument every study config takes, checked against the presets."""
  scale = parse_arg(arg, scale=default).scale
  preset(scale)
  return scale


def train_config(scale: str) -> dict[str, Any]:
  """A complete training config at a scale's shape (its first per-language size, Python): the layout every
  run of a study starts from."""
  p = preset(scale)
  t = p["train"]
  size = p["per_language"]["sizes"][0]
  tokens = max(p["per_language"]["budgets"])
  steps = max(1, tokens // (t["seq_len"] * t["global_batch_size"]))
  return defaults.train_config(
    model=dict(size=size, seq_len=t["seq_len"], dtype=t["dtype"]),
    data=dict(corpus=t["corpus"], proportions={"python": 1.0}),
    optim=dict(peak_lr=p["peak_lr"][size], warmup_steps=t["warmup_steps"]),
    train=dict(
      global_batch_size=t["global_batch_size"],
      tokens=tokens,
      eval_every=0,
      eval_tokens=t["eval_tokens"],
      checkpoint_every=t["checkpoint_every"],
      keep_checkpoints=2,
      log_every=max(1, steps // 10),
    ),
  )


def study_base(scale: str) -> dict[str, Any]:
  """`train_config(scale)` without the keys the study sets per run (PER_RUN_KEYS)."""
  cfg = train_config(scale)
  for path in PER_RUN_KEYS:
    section = cfg
    for key in path[:-1]:
      section = section[key]
    del section[path[-1]]
  return cfg


def executor_config() -> ml_collections.ConfigDict:
  """How runs are executed: local worker processes (N at a time) or SLURM job arrays (submitit)."""
  return ml_collections.ConfigDict(
    dict(
      kind="local",  # "local" | "slurm"
      parallel=1,  # local: runs at a time (1 fits 2 cores); slurm: array parallelism (0 = no cap)
      retries=2,  # a failing run is tried 1 + retries times, then recorded failed
      poll_s=1.0,  # seconds between status checks
      timeout_min=24 * 60,  # per job; SLURM requeues a preempted or timed-out job (resumes from checkpoint)
      slurm=dict(
        partition="",
        account="",
        qos="",
        gpus_per_node=0,
        cpus_per_task=2,
        mem_gb=0,
        nodes=1,
        tasks_per_node=1,
        constraint="",
        setup=(),
        max_requeues=3,
      ),
    )
  )


def study_config(study: str, scale: str, **study_keys: Any) -> ml_collections.ConfigDict:
  """A study config: job, study name, scale, the base training config (without its per-run keys), the
  learning rate per size, the executor and the study's own keys (its section of the scale preset, then
  `study_keys`)."""
  p = preset(scale)
  config = ml_collections.ConfigDict()
  config.job = "study"
  config.study = study
  config.scale = scale
  config.base = study_base(scale)
  # (size, rate) pairs, not a dict: ConfigDict keys cannot hold the dots of sizes like "0.1B".
  config.peak_lr = tuple(p["peak_lr"].items())
  config.executor = executor_config()
  for key, value in {**p.get(study, {}), **study_keys}.items():
    config[key] = value
  return config


def per_run_overrides(base: Mapping[str, Any]) -> list[str]:
  """Dotted names of the PER_RUN_KEYS present in a study's base config (each one a refused override)."""
  found = []
  for path in PER_RUN_KEYS:
    section: Any = base
    for key in path:
      if not isinstance(section, Mapping) or key not in section:
        break
      section = section[key]
    else:
      found.append(".".join(path))
  return found
