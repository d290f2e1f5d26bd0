"""What every study config shares: the `scale=` argument, the scale presets, the base training config and
the executor block. Study configs in configs/studies/ are thin wrappers around `study_config`.
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

import ml_collections

from codelaw.errors import UserError
from codelaw.train import defaults

SCALES = ("smoke", "cpu-tiny", "gpu-small", "paper")

# Per scale: model sizes, training shape and the token budgets D of the per-language grid (the largest is
# the length of the WSD run, the others are cooldown branches). Sizes name entries of codelaw.model.sizes.
# cpu-tiny is sized for a 2-core CPU at a few thousand tokens/s; see configs/quickstart.py for the sums.
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": dict(
        sizes=("cpu-50k", "cpu-100k"), seq_len=64, global_batch_size=4, budgets=(1536, 3072, 6144),
        eval_tokens=1024, warmup_steps=2, peak_lr=3e-3, dtype="float32",
        checkpoint_every=6, translation_sizes=("cpu-50k",), mixture_sizes=("cpu-50k",)),
    "cpu-tiny": dict(
        sizes=("cpu-50k", "cpu-200k"), seq_len=256, global_batch_size=8, budgets=(65536, 131072, 262144),
        eval_tokens=16384, warmup_steps=10, peak_lr=3e-3, dtype="float32",
        checkpoint_every=40, translation_sizes=("cpu-50k", "cpu-200k"), mixture_sizes=("cpu-200k",)),
    "gpu-small": dict(
        sizes=("0.1B", "0.2B", "0.4B"), seq_len=1024, global_batch_size=128,
        budgets=(250_000_000, 500_000_000, 1_000_000_000, 2_000_000_000), eval_tokens=2_000_000,
        warmup_steps=200, peak_lr=1e-3, dtype="bfloat16", checkpoint_every=1000,
        translation_sizes=("0.1B", "0.4B"), mixture_sizes=("0.2B",)),
    "paper": dict(
        sizes=("0.1B", "0.2B", "0.4B", "0.6B", "1.1B", "1.3B", "1.6B", "2.0B", "2.4B", "3.1B"),
        seq_len=2048, global_batch_size=256,
        budgets=(2_000_000_000, 4_000_000_000, 8_000_000_000, 16_000_000_000, 32_000_000_000,
                 64_000_000_000),
        eval_tokens=20_000_000, warmup_steps=1000, peak_lr=3e-4, dtype="bfloat16", checkpoint_every=2000,
        translation_sizes=("0.2B", "0.6B", "1.6B", "3.1B"), mixture_sizes=("0.6B", "1.6B")),
}


class ConfigArgError(UserError, ValueError):
  """A bad `:arg` of a config file. Also a ValueError because get_config runs while the launcher parses
  its flags, where it turns ValueErrors (not yet UserErrors) into the one-line message."""


def parse_arg(arg: str | None, allowed: Mapping[str, Any]) -> dict[str, Any]:
  """`"scale=cpu-tiny,seed=1"` → {"scale": "cpu-tiny", "seed": "1"} over the defaults in `allowed`."""
  out = dict(allowed)
  for item in filter(None, (arg or "").split(",")):
    key, sep, value = item.partition("=")
    if not sep or key not in allowed:
      raise ConfigArgError(f"config argument {item!r}: expected key=value with key in {', '.join(allowed)}")
    out[key] = value
  if "scale" in out and out["scale"] not in SCALES:
    raise ConfigArgError(f"scale={out['scale']}: expected one of {', '.join(SCALES)}")
  return out


def preset(scale: str) -> dict[str, Any]:
  if scale not in PRESETS:
    raise UserError(f"scale={scale}: expected one of {', '.join(SCALES)}")
  return copy.deepcopy(PRESETS[scale])


def train_config(scale: str) -> dict[str, Any]:
  """The training config every run of a study starts from (INTERFACES "Train core" layout)."""
  p = preset(scale)
  tokens = max(p["budgets"])
  steps = max(1, tokens // (p["seq_len"] * p["global_batch_size"]))
  return defaults.train_config(
      model=dict(size=p["sizes"][0], seq_len=p["seq_len"], dtype=p["dtype"]),
      data=dict(proportions={"python": 1.0}),
      optim=dict(peak_lr=p["peak_lr"], warmup_steps=p["warmup_steps"]),
      train=dict(global_batch_size=p["global_batch_size"], tokens=tokens, eval_every=0,
                 eval_tokens=p["eval_tokens"], checkpoint_every=p["checkpoint_every"], keep_checkpoints=2,
                 log_every=max(1, steps // 10)),
  )


def executor_config() -> ml_collections.ConfigDict:
  """How runs are executed: local processes (N at a time) or SLURM job arrays, both through submitit."""
  return ml_collections.ConfigDict(dict(
      kind="local",            # "local" | "slurm"
      parallel=1,              # local: runs at a time (1 fits 2 cores); slurm: array parallelism (0 = no cap)
      retries=2,               # a failing run is tried 1 + retries times, then recorded failed
      poll_s=1.0,              # seconds between status checks
      timeout_min=24 * 60,     # per job; SLURM requeues a preempted or timed-out job (resumes from checkpoint)
      slurm=dict(partition="", account="", qos="", gpus_per_node=0, cpus_per_task=2, mem_gb=0, nodes=1,
                 tasks_per_node=1, constraint="", setup=(), max_requeues=3),
  ))


def study_config(study: str, arg: str | None, **study_keys: Any) -> ml_collections.ConfigDict:
  """A study config: job, study name, scale, the base training config, the executor and the study's own keys."""
  args = parse_arg(arg, {"scale": "cpu-tiny"})
  scale = args["scale"]
  config = ml_collections.ConfigDict()
  config.job = "study"
  config.study = study
  config.scale = scale
  config.base = train_config(scale)
  # translation=None must accept a dict later (an override of the base config on the command line).
  config.base.data.translation = ml_collections.FieldReference(None, field_type=object)
  config.executor = executor_config()
  for key, value in study_keys.items():
    config[key] = value
  return config
