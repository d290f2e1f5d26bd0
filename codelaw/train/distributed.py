"""Multi-process start-up: `jax.distributed.initialize()` when (and only when) the job is multi-process.

Three ways a run is launched:
- explicit: `distributed.coordinator="host:port"`, `num_processes=N`, `process_id=i` (all three, or none);
- SLURM: inside an `srun` step with more than one task, JAX reads the SLURM variables itself;
- otherwise: a single process, nothing to do.
CPU collectives across processes need gloo, which must be chosen before initialisation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import jax

from codelaw.errors import UserError


def _slurm_tasks() -> int:
  """Tasks of the current `srun` step (the batch script itself is a one-task step)."""
  try:
    return int(os.environ.get("SLURM_STEP_NUM_TASKS", "1"))
  except ValueError:
    return 1


def maybe_initialize(dist_cfg: Mapping[str, Any] | None = None) -> bool:
  """Initialises jax.distributed if this is a multi-process launch; returns whether it did (or had)."""
  cfg = dict(dist_cfg or {})
  coordinator = cfg.get("coordinator", "") or ""
  num_processes = int(cfg.get("num_processes", 0) or 0)
  process_id = int(cfg.get("process_id", -1) if cfg.get("process_id") is not None else -1)
  explicit = [bool(coordinator), num_processes > 0, process_id >= 0]
  if any(explicit) and not all(explicit):
    raise UserError("distributed: set coordinator, num_processes and process_id together (or none of them)")
  if all(explicit) and not 0 <= process_id < num_processes:
    raise UserError(f"distributed.process_id = {process_id}: expected 0 <= id < num_processes = {num_processes}")
  if jax.distributed.is_initialized():
    return True
  if all(explicit):
    if num_processes == 1:
      return False
    kwargs = dict(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)
  elif "SLURM_JOB_ID" in os.environ and _slurm_tasks() > 1:
    kwargs = {}  # JAX's SLURM cluster detection supplies coordinator, count and id.
  else:
    return False
  # Harmless on accelerators (it only affects the CPU client); required for multi-process CPU.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(**kwargs)
  return True
