"""The device mesh and the one logical-axis rule table that maps model axes onto it.

Every parameter is annotated with logical axis names (`embed`, `mlp`, `heads`, ...); this table is the only
place that says which mesh axis each name is split over:
- `data`: pure data parallelism (parameters replicated).
- `fsdp`: data parallelism whose parameters and optimizer state are split along `embed` (ZeRO-3 style).
- `tensor`: Megatron-style tensor parallelism over heads, MLP hidden units and the vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from codelaw.errors import UserError

AXES = ("data", "fsdp", "tensor")

# logical axis name -> mesh axis (or axes, or None = replicated)
LOGICAL_RULES: dict[str, str | tuple[str, ...] | None] = {
    "batch": ("data", "fsdp"),
    "length": None,
    "embed": "fsdp",
    "mlp": "tensor",
    "heads": "tensor",
    "kv_heads": "tensor",
    "head_dim": None,
    "vocab": "tensor",
    "norm": None,
}


def mesh_shape(mesh_cfg: Mapping[str, int], n_devices: int) -> tuple[int, int, int]:
  """Resolves the (data, fsdp, tensor) sizes; at most one may be -1, meaning "all remaining devices"."""
  sizes = []
  for axis in AXES:
    value = mesh_cfg.get(axis, 1)
    if not isinstance(value, int) or isinstance(value, bool) or (value < 1 and value != -1):
      raise UserError(f"mesh.{axis} = {value!r}: expected a positive integer or -1")
    sizes.append(value)
  unknown = set(mesh_cfg) - set(AXES)
  if unknown:
    raise UserError(f"mesh.{sorted(unknown)[0]}: unknown mesh axis (expected {', '.join(AXES)})")
  if sizes.count(-1) > 1:
    raise UserError("mesh: at most one of data/fsdp/tensor may be -1")
  fixed = math.prod(s for s in sizes if s != -1)
  if -1 in sizes:
    if n_devices % fixed:
      raise UserError(f"mesh: {n_devices} devices cannot be split into {dict(zip(AXES, sizes))}")
    sizes[sizes.index(-1)] = n_devices // fixed
  elif fixed != n_devices:
    raise UserError(f"mesh {dict(zip(AXES, sizes))} needs {fixed} devices but {n_devices} are available")
  return tuple(sizes)


def make_mesh(mesh_cfg: Mapping[str, int], devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A (data, fsdp, tensor) mesh over all (global) devices, with Auto axis types."""
  devices = list(jax.devices() if devices is None else devices)
  shape = mesh_shape(mesh_cfg, len(devices))
  # Explicit axis types break the embedding gather in jax 0.10: always Auto.
  return jax.make_mesh(shape, AXES, axis_types=(AxisType.Auto,) * len(AXES), devices=devices)


def logical_to_spec(logical_axes: Sequence[str | None] | None, shape: Sequence[int] | None = None,
                    mesh: Mesh | None = None) -> PartitionSpec:
  """Maps logical axis names to a PartitionSpec through `LOGICAL_RULES`.

  With `shape` and `mesh`, a dimension that the mesh axes do not divide stays replicated (e.g. 3 heads on a
  tensor axis of 2), so every shape stays valid on every mesh.
  """
  if not logical_axes:
    return PartitionSpec()
  used: set[str] = set()
  spec = []
  for dim, name in enumerate(logical_axes):
    if name is None:
      spec.append(None)
      continue
    if name not in LOGICAL_RULES:
      raise KeyError(f"logical axis {name!r} has no rule in LOGICAL_RULES")
    target = LOGICAL_RULES[name]
    axes = () if target is None else ((target,) if isinstance(target, str) else tuple(target))
    axes = tuple(a for a in axes if a not in used)
    if shape is not None and mesh is not None and shape[dim] % math.prod(mesh.shape[a] for a in axes):
      axes = ()
    used.update(axes)
    spec.append(None if not axes else axes[0] if len(axes) == 1 else axes)
  return PartitionSpec(*spec)


def logical_to_sharding(logical_axes: Sequence[str | None] | None, mesh: Mesh,
                        shape: Sequence[int] | None = None) -> NamedSharding:
  """The NamedSharding of an array with these logical axes on `mesh`."""
  return NamedSharding(mesh, logical_to_spec(logical_axes, shape, mesh))


def batch_sharding(mesh: Mesh, ndim: int = 2) -> NamedSharding:
  """Batch arrays `[batch, length, ...]`: split on the batch axis, replicated elsewhere."""
  return logical_to_sharding(("batch",) + (None,) * (ndim - 1), mesh)


def data_parallel_size(mesh: Mesh) -> int:
  """How many ways the global batch is split (data x fsdp): the batch must be a multiple of it."""
  return int(np.prod([mesh.shape[a] for a in ("data", "fsdp")]))
