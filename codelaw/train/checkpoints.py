"""Orbax checkpoints holding one training run's whole state: model/optimizer pytree, data iterator, counters.

A checkpoint step directory holds three items:
    state/  the train-state pytree (params, optimizer state, step, RNG), saved sharded
    data/   the Grain iterator state (one file per process), so a resumed run sees the same batches
    meta/   JSON: small host-side counters (tokens per language, wall time, run id)

Restoring tries the newest step first; a step that cannot be read (truncated or corrupt files) is moved
to `<dir>.corrupt/<step>` with a warning and the previous one is tried, so a crash during a save never
makes a run start over silently.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import grain
import jax
import numpy as np
import orbax.checkpoint as ocp

from codelaw.errors import UserError

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Restored:
  step: int
  state: Any
  meta: dict


def _flatten(tree: Any) -> tuple[dict[str, Any], Any]:
  """Flat `{path: leaf}` dict with typed PRNG keys stored as their raw key data.

  Saving a flat dict keeps the checkpoint independent of the pytree classes (dataclass, nnx.State, dict)
  the train state is made of; the caller's template supplies the structure again on restore.
  """
  leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
  flat = {}
  for path, leaf in leaves:
    name = ".".join(_key_name(k) for k in path) or "root"
    if _is_key(leaf):
      leaf = jax.random.key_data(leaf)
    flat[name] = leaf
  return flat, treedef


def _key_name(key: Any) -> str:
  for attr in ("key", "name", "idx"):
    if hasattr(key, attr):
      return str(getattr(key, attr))
  return str(key)


def _unflatten(template: Any, flat: dict[str, Any]) -> Any:
  leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
  out = []
  for path, leaf in leaves:
    value = flat[".".join(_key_name(k) for k in path) or "root"]
    if _is_key(leaf):
      value = jax.random.wrap_key_data(value, impl=jax.random.key_impl(leaf))
    out.append(value)
  return jax.tree_util.tree_unflatten(treedef, out)


def _is_key(x: Any) -> bool:
  return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def abstract_like(state: Any) -> Any:
  """A restore template: shapes, dtypes and shardings of `state` without holding its memory.

  PRNG keys stay concrete (they are tiny, and restoring a typed key needs its implementation).
  """

  def one(x):
    if isinstance(x, jax.Array) and not _is_key(x):
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
    return x

  return jax.tree.map(one, state)


def _abstract(flat: dict[str, Any]) -> dict[str, Any]:
  def one(x):
    if isinstance(x, jax.ShapeDtypeStruct):
      return x
    if isinstance(x, jax.Array):
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
    return ocp.utils.to_shape_dtype_struct(np.asarray(x))

  return {k: one(v) for k, v in flat.items()}


class Checkpointer:
  """Keep-N Orbax checkpoints of (train state, Grain iterator, metadata) under `directory`."""

  def __init__(self, directory: str | os.PathLike, *, keep: int, async_save: bool = True):
    self.directory = Path(directory).absolute()
    self._keep = keep
    self._async = async_save
    self._manager = self._make_manager()

  def _make_manager(self) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=self._keep, create=True, enable_async_checkpointing=self._async)
    return ocp.CheckpointManager(self.directory, options=options)

  def steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state: Any, data_iterator: grain.DatasetIterator | None, meta: dict) -> None:
    flat, _ = _flatten(state)
    items = {"state": ocp.args.StandardSave(flat), "meta": ocp.args.JsonSave(meta)}
    if data_iterator is not None:
      items["data"] = grain.checkpoint.CheckpointSave(data_iterator)
    self._manager.save(step, args=ocp.args.Composite(**items), force=True)

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def restore_latest(self, template: Any, data_iterator: grain.DatasetIterator | None) -> Restored | None:
    """Restores the newest readable step into the template's structure and shardings; None if none exist.

    `template` is a state or `abstract_like(state)`.
    `data_iterator` (a fresh iterator over the same dataset) is set to the saved position in place.
    """
    steps = self.steps()
    if not steps:
      return None
    flat_template, _ = _flatten(template)
    abstract = _abstract(flat_template)
    for i, step in enumerate(reversed(steps)):
      try:
        items = {"state": ocp.args.StandardRestore(abstract), "meta": ocp.args.JsonRestore()}
        if data_iterator is not None:
          items["data"] = grain.checkpoint.CheckpointRestore(data_iterator)
        restored = self._manager.restore(step, args=ocp.args.Composite(**items))
        state = _unflatten(template, dict(restored["state"]))
        return Restored(step=step, state=state, meta=dict(restored["meta"]))
      except Exception as e:  # orbax/tensorstore raise many types for unreadable files; all mean "bad step"
        older = steps[-2 - i] if i + 1 < len(steps) else None
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        message = f"checkpoint step {step} in {self.directory} is unreadable ({type(e).__name__}: {reason}); " + (
          f"falling back to step {older}" if older is not None else "no older checkpoint left"
        )
        log.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        self._quarantine(step)
    raise UserError(
      f"every checkpoint in {self.directory} is unreadable (moved to {self._corrupt_dir()}); "
      "delete the workdir to start over"
    )

  def _corrupt_dir(self) -> Path:
    return self.directory.with_name(self.directory.name + ".corrupt")

  def _quarantine(self, step: int) -> None:
    # Moved aside (not deleted) so it can be inspected, and so that re-saving this step later does not
    # collide with the broken directory.
    if jax.process_index() == 0:
      target = self._corrupt_dir() / str(step)
      if target.exists():
        shutil.rmtree(target)
      target.parent.mkdir(parents=True, exist_ok=True)
      shutil.move(str(self.directory / str(step)), str(target))
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils

      multihost_utils.sync_global_devices(f"codelaw_quarantine_{step}")
    self._manager.close()
    self._manager = self._make_manager()
