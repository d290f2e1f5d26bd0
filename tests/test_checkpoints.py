"""Checkpoints: round trip of sharded state + Grain iterator, keep-N, fallback past corrupt steps."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from codelaw.errors import UserError
from codelaw.train.checkpoints import Checkpointer, abstract_like


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class State:
  params: dict
  step: jax.Array
  rng: jax.Array


def _state(seed: int) -> State:
  mesh = Mesh(np.array(jax.devices()).reshape(-1), ("data",))
  w = jax.device_put(jnp.arange(16.0).reshape(8, 2) * seed, NamedSharding(mesh, P("data", None)))
  return State(params={"w": w, "b": jnp.full((3,), float(seed))}, step=jnp.int32(seed), rng=jax.random.key(seed))


def _dataset() -> grain.IterDataset:
  return grain.MapDataset.range(1000).shuffle(seed=3).batch(4).to_iter_dataset()


def test_round_trip_restores_state_sharding_and_data_position(tmp_path: Path):
  ckpt = Checkpointer(tmp_path / "ck", keep=2)
  it = iter(_dataset())
  for _ in range(3):
    next(it)
  ckpt.save(3, _state(3), it, {"tokens": [1, 2]})
  ckpt.wait()
  expected_next = next(it)

  fresh = Checkpointer(tmp_path / "ck", keep=2)
  it2 = iter(_dataset())
  restored = fresh.restore_latest(abstract_like(_state(1)), it2)  # shapes + shardings only
  assert restored.step == 3 and restored.meta == {"tokens": [1, 2]}
  np.testing.assert_array_equal(restored.state.params["w"], np.arange(16.0).reshape(8, 2) * 3)
  assert restored.state.params["w"].sharding == _state(1).params["w"].sharding
  assert int(restored.state.step) == 3
  np.testing.assert_array_equal(jax.random.key_data(restored.state.rng), jax.random.key_data(jax.random.key(3)))
  np.testing.assert_array_equal(next(it2), expected_next)


def test_keeps_only_the_newest_n(tmp_path: Path):
  ckpt = Checkpointer(tmp_path / "ck", keep=2)
  for step in (1, 2, 3, 4):
    ckpt.save(step, _state(step), None, {})
  ckpt.close()
  assert Checkpointer(tmp_path / "ck", keep=2).steps() == [3, 4]


def test_empty_directory_restores_nothing(tmp_path: Path):
  assert Checkpointer(tmp_path / "ck", keep=2).restore_latest(_state(1), None) is None


def _corrupt(step_dir: Path) -> None:
  for f in step_dir.joinpath("state").rglob("*"):
    if f.is_file():
      f.write_bytes(b"\0garbage")


def test_corrupt_latest_falls_back_to_previous_with_warning(tmp_path: Path):
  ckpt = Checkpointer(tmp_path / "ck", keep=3)
  for step in (1, 2):
    ckpt.save(step, _state(step), None, {"step": step})
  ckpt.close()
  _corrupt(tmp_path / "ck" / "2")
  fresh = Checkpointer(tmp_path / "ck", keep=3)
  with pytest.warns(RuntimeWarning, match="step 2 .* unreadable.*falling back to step 1"):
    restored = fresh.restore_latest(_state(5), None)
  assert restored.step == 1 and restored.meta == {"step": 1}
  np.testing.assert_array_equal(restored.state.params["b"], np.full((3,), 1.0))
  assert (tmp_path / "ck.corrupt" / "2").is_dir() and fresh.steps() == [1]
  fresh.save(2, _state(2), None, {"step": 2})  # the broken step no longer blocks saving that step again
  fresh.close()
  assert Checkpointer(tmp_path / "ck", keep=3).steps() == [1, 2]


def test_all_corrupt_is_an_error_not_a_silent_restart(tmp_path: Path):
  ckpt = Checkpointer(tmp_path / "ck", keep=3)
  ckpt.save(1, _state(1), None, {})
  ckpt.close()
  _corrupt(tmp_path / "ck" / "1")
  with pytest.warns(RuntimeWarning), pytest.raises(UserError, match="every checkpoint .* unreadable"):
    Checkpointer(tmp_path / "ck", keep=3).restore_latest(_state(1), None)
