"""The one logical-axis rule table that maps model axes onto the (data, fsdp, tensor) device mesh.

Every parameter is annotated with logical axis names (`embed`, `mlp`, `heads`, ...); this table is the only
place that says which mesh axis each name is split over:
- `data`: pure data parallelism (parameters replicated).
- `fsdp`: data parallelism whose parameters and optimizer state are split along `embed` (ZeRO-3 style).
- `tensor`: Megatron-style tensor parallelism over heads, MLP hidden units and the vocabulary.

The model uses it to pin activations and to shard its kernels under the surrounding mesh; building a mesh
from a config (`codelaw.train.mesh`) is the trainer's business.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

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


def current_mesh() -> AbstractMesh | None:
  """The mesh of the surrounding `jax.set_mesh` if it has codelaw's axes; None outside one (single device)."""
  mesh = jax.sharding.get_abstract_mesh()
  if mesh.empty or not set(AXES) <= set(mesh.axis_names):
    return None
  return mesh


def logical_to_spec(
  logical_axes: Sequence[str | None] | None, shape: Sequence[int] | None = None, mesh: Mesh | AbstractMesh | None = None
) -> PartitionSpec:
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


def logical_to_sharding(
  logical_axes: Sequence[str | None] | None, mesh: Mesh, shape: Sequence[int] | None = None
) -> NamedSharding:
  """The NamedSharding of an array with these logical axes on `mesh`."""
  return NamedSharding(mesh, logical_to_spec(logical_axes, shape, mesh))


def batch_sharding(mesh: Mesh, ndim: int = 2) -> NamedSharding:
  """Batch arrays `[batch, length, ...]`: split on the batch axis, replicated elsewhere."""
  return logical_to_sharding(("batch",) + (None,) * (ndim - 1), mesh)


def data_parallel_size(mesh: Mesh) -> int:
  """How many ways the global batch is split (data x fsdp): the batch must be a multiple of it."""
  return int(np.prod([mesh.shape[a] for a in ("data", "fsdp")]))
