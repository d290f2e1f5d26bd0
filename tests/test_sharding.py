"""Sharded training equals single-device training, and every parameter is sharded as the rules say."""

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from multiprocess_worker import synthetic_batch

from codelaw.errors import UserError
from codelaw.model import sharding
from codelaw.train import mesh as mesh_lib
from codelaw.train import optim, step

# tensor=8 does not divide 4 kv heads: those dims fall back to replicated (and that is checked too).
CFG = dict(d_model=64, n_layers=1, n_heads=8, n_kv_heads=4, d_ff=128, vocab_size=256, tie_embeddings=False)
MESHES = [(8, 1, 1), (2, 4, 1), (2, 2, 2), (1, 1, 8)]
STEPS = 3


def _config():
  from codelaw.model.config import ModelConfig

  return ModelConfig(**CFG)


def _run(mesh):
  cfg = _config()
  # eps 1e-6 (not 1e-8): Adam's step lr * g / (|g| + eps) is very sensitive to g when |g| ~ eps, so for a
  # rare token whose embedding gradient nearly cancels, summation order alone would move the update.
  tx = optim.make_optimizer(dict(peak_lr=1e-3, warmup_steps=1, weight_decay=0.1, grad_clip=1.0, eps=1e-6))
  state, shardings = step.init_train_state(cfg, tx, mesh, seed=0)
  train_step = step.make_train_step(cfg, tx, mesh, shardings)
  losses = []
  for i in range(STEPS):
    state, metrics = train_step(state, step.shard_batch(synthetic_batch(8, 32, CFG["vocab_size"], seed=i), mesh), 1e-3)
    losses.append([float(metrics[k]) for k in ("loss", "grad_norm", "tokens")])
  return state, losses


@pytest.fixture(scope="module")
def reference():
  state, losses = _run(mesh_lib.make_mesh(dict(data=1, fsdp=1, tensor=1), devices=jax.devices()[:1]))
  return jax.device_get(state.params), losses


def _expected_specs(tensor: int) -> dict:
  kv = "tensor" if CFG["n_kv_heads"] % tensor == 0 else None
  block = {
    "attn": {
      "wq": P("fsdp", "tensor", None),
      "wk": P("fsdp", kv, None),
      "wv": P("fsdp", kv, None),
      "wo": P("tensor", None, "fsdp"),
    },
    "mlp": {"w_gate": P("fsdp", "tensor"), "w_up": P("fsdp", "tensor"), "w_down": P("tensor", "fsdp")},
    "attn_norm": {"scale": P(None)},
    "mlp_norm": {"scale": P(None)},
  }
  return {
    "embed": P("tensor", "fsdp"),
    "unembed": P("fsdp", "tensor"),
    "final_norm": {"scale": P(None)},
    "blocks": {i: block for i in range(CFG["n_layers"])},
  }


def _same_spec(actual: P, expected: P) -> bool:
  pad = lambda s, n: tuple(s) + (None,) * (n - len(s))
  n = max(len(actual), len(expected))
  return pad(actual, n) == pad(expected, n)


@pytest.mark.parametrize("shape", MESHES, ids=lambda s: "x".join(map(str, s)))
def test_sharded_training_matches_one_device(shape, reference):
  ref_params, ref_losses = reference
  mesh = mesh_lib.make_mesh(dict(zip(sharding.AXES, shape)))
  state, losses = _run(mesh)
  np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
  flat_ref = dict(jax.tree_util.tree_leaves_with_path(ref_params))
  for path, value in jax.tree_util.tree_leaves_with_path(state.params):
    # atol = 1% of one update (lr 1e-3): the few near-cancelling gradients above; everything else is at rtol.
    np.testing.assert_allclose(
      np.asarray(value), flat_ref[path], rtol=1e-5, atol=1e-5, err_msg=jax.tree_util.keystr(path)
    )
  # Sharding: parameters and both Adam moments follow the rule table; the step counter is replicated.
  expected = _expected_specs(mesh.shape["tensor"])
  adam = state.opt_state[1].inner_state[0]
  for tree in (state.params, adam.mu, adam.nu):
    specs = jax.tree.map(lambda x: x.sharding.spec, tree)
    mismatched = [
      jax.tree_util.keystr(p)
      for (p, a), e in zip(jax.tree_util.tree_leaves_with_path(specs), jax.tree.leaves(expected))
      if not _same_spec(a, e)
    ]
    assert not mismatched, mismatched
    assert jax.tree.structure(specs) == jax.tree.structure(expected)
  assert state.step.sharding.spec == P() and int(state.step) == STEPS
  assert all(x.sharding.mesh.shape == mesh.shape for x in jax.tree.leaves(state.params))


def test_rule_table_and_mesh_resolution():
  assert mesh_lib.mesh_shape(dict(data=-1, fsdp=2, tensor=1), 8) == (4, 2, 1)
  assert sharding.logical_to_spec(("batch", "length")) == P(("data", "fsdp"), None)
  # A dimension the mesh axis does not divide stays replicated.
  mesh = mesh_lib.make_mesh(dict(data=1, fsdp=1, tensor=8))
  assert sharding.logical_to_spec(("embed", "heads"), (64, 3), mesh) == P("fsdp", None)
  for bad in (dict(data=3, fsdp=1, tensor=1), dict(data=-1, fsdp=-1), dict(data=0), dict(pipeline=2)):
    with pytest.raises(UserError):
      mesh_lib.mesh_shape(bad, 8)
