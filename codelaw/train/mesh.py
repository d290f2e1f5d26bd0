"""The (data, fsdp, tensor) device mesh of a run, from its `mesh` config section.

The rules that map model axes onto the mesh live with the model, in `codelaw.model.sharding`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import jax
from jax.sharding import AxisType, Mesh

from codelaw.errors import UserError
from codelaw.model.sharding import AXES


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
