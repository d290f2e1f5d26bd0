"""Multi-process start-up: `jax.distributed.initialize()` when (and only when) the job is multi-process.

Ways a run is launched:
- explicit: `distributed.coordinator="host:port"`, `num_processes=N`, `process_id=i` (all three, or none);
- SLURM: inside an `srun` step with more than one task. JAX finds the coordinator itself, but left alone
  it gives every process the single GPU `[SLURM_LOCALID]`, so we pass the local device ids we compute from
  the SLURM environment (`slurm_layout`): with one task per GPU (`--gpus-per-task=1`) a task sees one GPU,
  with one task per node it drives every GPU of the node;
- other multi-worker environments JAX detects on its own (TPU pod slices and multislice, Open MPI): their
  variables say there is more than one worker, and `jax.distributed.initialize()` reads the rest;
- otherwise: a single process, nothing to do.
CPU collectives across processes need gloo, which must be chosen before initialisation.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from typing import Any

import jax

from codelaw.errors import UserError


@dataclasses.dataclass(frozen=True)
class ProcessLayout:
  """This process's place in a multi-process job; `local_device_ids` None = every device it can see."""

  num_processes: int
  process_id: int
  local_device_ids: tuple[int, ...] | None


def _int_env(env: Mapping[str, str], key: str, default: int | None = None) -> int:
  value = env.get(key)
  if value is None or value == "":
    if default is None:
      raise UserError(f"SLURM environment: {key} is not set")
    return default
  try:
    return int(value)
  except ValueError:
    raise UserError(f"SLURM environment: {key} = {value!r} is not an integer") from None


def tasks_per_node(spec: str) -> list[int]:
  """SLURM's compressed per-node task counts, e.g. "8(x2),4" -> [8, 8, 4]."""
  counts: list[int] = []
  for part in filter(None, spec.split(",")):
    match = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
    if not match:
      raise UserError(f"SLURM environment: cannot read tasks per node {spec!r}")
    counts += [int(match.group(1))] * int(match.group(2) or 1)
  return counts


def slurm_layout(env: Mapping[str, str]) -> ProcessLayout:
  """Process count, id and local GPU ids of one task of an `srun` step, from its environment.

  GPUs the task can see: `CUDA_VISIBLE_DEVICES` (SLURM sets it from the allocation). When that is fewer
  than the node's `SLURM_GPUS_ON_NODE`, SLURM has bound GPUs to tasks and the task uses all it sees;
  otherwise the node's tasks split the visible GPUs evenly, in local-id order. No GPU: None (CPU jobs).
  """
  num_processes = _int_env(env, "SLURM_STEP_NUM_TASKS", _int_env(env, "SLURM_NTASKS", 1))
  process_id = _int_env(env, "SLURM_PROCID")
  visible = [d for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
  n_visible = len(visible) or _int_env(env, "SLURM_GPUS_ON_NODE", 0)
  if n_visible == 0:
    return ProcessLayout(num_processes, process_id, None)
  on_node = _int_env(env, "SLURM_GPUS_ON_NODE", n_visible)
  if n_visible < on_node:
    return ProcessLayout(num_processes, process_id, tuple(range(n_visible)))
  per_node = tasks_per_node(env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE") or "1")
  node = _int_env(env, "SLURM_NODEID", 0)
  tasks = per_node[node] if node < len(per_node) else per_node[-1]
  if n_visible % tasks:
    raise UserError(
      f"SLURM: {tasks} tasks on a node cannot share its {n_visible} GPUs evenly; "
      "start one task per GPU (--ntasks-per-node=<gpus> --gpus-per-task=1) or one per node"
    )
  share = n_visible // tasks
  local = _int_env(env, "SLURM_LOCALID")
  return ProcessLayout(num_processes, process_id, tuple(range(local * share, (local + 1) * share)))


def _entries(value: str | None) -> int:
  return len([v for v in (value or "").split(",") if v.strip()])


def other_multi_worker(env: Mapping[str, str]) -> bool:
  """Whether a non-SLURM launcher JAX auto-detects says this job has more than one worker."""
  tpu_hosts = max(_entries(env.get("TPU_WORKER_HOSTNAMES")), _entries(env.get("TPU_PROCESS_ADDRESSES")))
  mpi = env.get("OMPI_COMM_WORLD_SIZE", "1")
  return (
    tpu_hosts > 1
    or "MEGASCALE_COORDINATOR_ADDRESS" in env
    or (mpi.isdigit() and int(mpi) > 1 and "OMPI_MCA_orte_hnp_uri" in env)
  )


def initialize_kwargs(dist_cfg: Mapping[str, Any] | None, env: Mapping[str, str]) -> dict[str, Any] | None:
  """The arguments of `jax.distributed.initialize` for this launch, or None for a single process."""
  cfg = dict(dist_cfg or {})
  coordinator = cfg.get("coordinator", "") or ""
  num_processes = int(cfg.get("num_processes", 0) or 0)
  process_id = int(cfg.get("process_id", -1) if cfg.get("process_id") is not None else -1)
  explicit = [bool(coordinator), num_processes > 0, process_id >= 0]
  if any(explicit) and not all(explicit):
    raise UserError("distributed: set coordinator, num_processes and process_id together (or none of them)")
  if all(explicit):
    if not 0 <= process_id < num_processes:
      raise UserError(f"distributed.process_id = {process_id}: expected 0 <= id < num_processes = {num_processes}")
    if num_processes == 1:
      return None
    return dict(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)
  if "SLURM_JOB_ID" in env and _int_env(env, "SLURM_STEP_NUM_TASKS", 1) > 1:
    layout = slurm_layout(env)  # JAX's SLURM detection supplies the coordinator
    kwargs: dict[str, Any] = dict(num_processes=layout.num_processes, process_id=layout.process_id)
    if layout.local_device_ids is not None:
      kwargs["local_device_ids"] = list(layout.local_device_ids)
    return kwargs
  if other_multi_worker(env):
    return {}
  return None


def maybe_initialize(dist_cfg: Mapping[str, Any] | None = None) -> bool:
  """Initialises jax.distributed if this is a multi-process launch; returns whether it did (or had)."""
  kwargs = initialize_kwargs(dist_cfg, os.environ)
  if jax.distributed.is_initialized():
    return True
  if kwargs is None:
    return False
  # Harmless on accelerators (it only affects the CPU client); required for multi-process CPU.
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(**kwargs)
  return True
