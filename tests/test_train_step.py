"""The train step's memory options change nothing computed: gradient accumulation equals the full batch, and
the vocabulary-chunked cross-entropy equals the full-logit one, in loss and gradients (f32 tolerance)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from multiprocess_worker import synthetic_batch

from codelaw.model.config import ModelConfig
from codelaw.train import loss, step
from codelaw.train import mesh as mesh_lib

VOCAB = 250  # not a multiple of the chunk sizes below, so the padded last chunk is exercised


@pytest.mark.parametrize("chunk", [64, 250, 1000])
def test_chunked_cross_entropy_equals_full_logits_in_loss_and_gradients(chunk):
  keys = jax.random.split(jax.random.key(0), 4)
  hidden = jax.random.normal(keys[0], (3, 17, 32), jnp.float32)
  head = 2.0 * jax.random.normal(keys[1], (VOCAB, 32), jnp.float32)  # large logits: the running max matters
  targets = jax.random.randint(keys[2], (3, 17), 0, VOCAB)
  weights = (jax.random.uniform(keys[3], (3, 17)) < 0.8).astype(jnp.float32)

  def full(h, w):
    logits = jnp.einsum("bld,vd->blv", h, w, preferred_element_type=jnp.float32)
    return loss.weighted_cross_entropy(logits, targets, weights)

  def chunked(h, w):
    return loss.chunked_cross_entropy(h, w, targets, weights, chunk)

  want, want_grads = jax.value_and_grad(lambda h, w: full(h, w)[0], argnums=(0, 1))(hidden, head)
  got, got_grads = jax.jit(jax.value_and_grad(lambda h, w: chunked(h, w)[0], argnums=(0, 1)))(hidden, head)
  assert float(chunked(hidden, head)[1]) == float(full(hidden, head)[1]) > 0
  np.testing.assert_allclose(got, want, rtol=1e-6)
  for g, w in zip(got_grads, want_grads):
    scale = float(jnp.max(jnp.abs(w)))
    assert scale > 1e-2  # the comparison is not between two zeros
    # f32 rounding, relative to the gradient's scale (entries near 0 are sums that nearly cancel)
    np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5 * scale)


CFG = ModelConfig(d_model=32, n_layers=1, n_heads=4, n_kv_heads=2, d_ff=64, vocab_size=VOCAB, tie_embeddings=False)
MESH = dict(data=8, fsdp=1, tensor=1)
# Plain SGD: the new parameters are `initial - lr * gradient`, so equal parameters mean equal gradients
# (Adam would divide by |g| + eps and magnify rounding in near-zero gradients).
TX = optax.inject_hyperparams(optax.sgd)(learning_rate=0.5)


def _step(**options):
  """One step on 8 devices (batch 16 = 2 rows per device); returns its metrics and the new parameters."""
  mesh = mesh_lib.make_mesh(MESH)
  state, shardings = step.init_train_state(CFG, TX, mesh, seed=0)
  train_step = step.make_train_step(CFG, TX, mesh, shardings, **options)
  state, m = train_step(state, step.shard_batch(synthetic_batch(16, 24, VOCAB, seed=0), mesh), 0.5)
  return {k: float(v) for k, v in jax.device_get(m).items()}, jax.device_get(state.params)


@pytest.fixture(scope="module")
def full_batch():
  return _step()


@pytest.mark.parametrize(
  "options",
  [dict(microbatch_per_device=1), dict(loss_vocab_chunk=64), dict(microbatch_per_device=1, loss_vocab_chunk=100)],
  ids=["accumulate", "chunked", "both"],
)
def test_train_step_options_equal_the_full_batch_step(full_batch, options):
  want, want_params = full_batch
  got, got_params = _step(**options)
  assert got["tokens"] == want["tokens"] > 0 and got["lr"] == want["lr"] == 0.5
  assert want["grad_norm"] > 0.1  # the parameters moved: equal parameters are not two untouched copies
  np.testing.assert_allclose([got["loss"], got["grad_norm"]], [want["loss"], want["grad_norm"]], rtol=1e-6)
  for g, w in zip(jax.tree.leaves(got_params), jax.tree.leaves(want_params)):
    np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def test_eval_step_with_chunked_loss_equals_full_logits():
  mesh = mesh_lib.make_mesh(MESH)
  state, shardings = step.init_train_state(CFG, TX, mesh, seed=1)
  batch = step.shard_batch(synthetic_batch(16, 24, VOCAB, seed=3), mesh)
  want = step.make_eval_step(CFG, mesh, shardings)(state.params, batch)
  got = step.make_eval_step(CFG, mesh, shardings, loss_vocab_chunk=64)(state.params, batch)
  np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
