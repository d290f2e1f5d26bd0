"""Decoder behaviour: packed documents stay independent (mask + RoPE restart), causality, dtypes, GQA."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from codelaw.errors import UserError
from codelaw.model import decoder, sizes
from codelaw.model.config import ModelConfig
from codelaw.model.layers import apply_rope
from codelaw.train.step import abstract_decoder

CFG = ModelConfig(d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, d_ff=64, vocab_size=97)


@pytest.fixture(scope="module")
def model():
  return decoder.build(CFG, seed=0)


@pytest.fixture(scope="module")
def forward(model):
  graphdef, state = nnx.split(model)
  return jax.jit(lambda i, p, s: nnx.merge(graphdef, state)(i, p, s))


def test_packed_document_equals_document_alone(forward):
  rng = np.random.default_rng(0)
  doc_a, doc_b = rng.integers(0, 97, 7), rng.integers(0, 97, 9)
  packed = np.zeros((1, 20), np.int32)
  packed[0, :7], packed[0, 7:16] = doc_a, doc_b
  segments = np.array([[1] * 7 + [2] * 9 + [0] * 4], np.int32)
  positions = np.array([list(range(7)) + list(range(9)) + [0] * 4], np.int32)
  alone = np.zeros((1, 20), np.int32)
  alone[0, :9] = doc_b
  alone_seg = np.array([[1] * 9 + [0] * 11], np.int32)
  alone_pos = np.array([list(range(9)) + [0] * 11], np.int32)
  packed_logits = forward(packed, positions, segments)
  alone_logits = forward(alone, alone_pos, alone_seg)
  assert packed_logits.dtype == jnp.float32 and packed_logits.shape == (1, 20, 97)
  np.testing.assert_allclose(packed_logits[0, 7:16], alone_logits[0, :9], rtol=1e-5, atol=1e-5)
  # Positions feed RoPE: scrambling them inside a document changes its logits.
  scrambled = positions.copy()
  scrambled[0, 7:16] = positions[0, 7:16][::-1]
  assert not np.allclose(forward(packed, scrambled, segments)[0, 7:16], alone_logits[0, :9], atol=1e-4)


def test_causal(forward):
  inputs = np.arange(16, dtype=np.int32)[None] % 97
  positions = np.arange(16, dtype=np.int32)[None]
  segments = np.ones((1, 16), np.int32)
  changed = inputs.copy()
  changed[0, 10] = 3
  a, b = forward(inputs, positions, segments), forward(changed, positions, segments)
  np.testing.assert_allclose(a[0, :10], b[0, :10], rtol=1e-6, atol=1e-6)
  assert not np.allclose(a[0, 10:], b[0, 10:])


def test_rope_is_relative():
  rng = np.random.default_rng(1)
  q, k = rng.normal(size=(2, 1, 1, 1, 8)).astype(np.float32)
  dot = lambda pq, pk: float(jnp.sum(apply_rope(q, jnp.array([[pq]]), 1e4) * apply_rope(k, jnp.array([[pk]]), 1e4)))
  assert dot(3, 1) == pytest.approx(dot(12, 10), rel=1e-5)
  assert dot(3, 1) != pytest.approx(dot(3, 2), rel=1e-3)


def test_params_float32_and_bf16_compute_close():
  cfg16 = ModelConfig(**{**CFG.__dict__, "dtype": "bfloat16"})
  m32, m16 = decoder.build(CFG, seed=3), decoder.build(cfg16, seed=3)
  for leaf in jax.tree.leaves(nnx.state(m16, nnx.Param)):
    assert leaf.dtype == jnp.float32
  inputs = (np.arange(24, dtype=np.int32)[None] * 5) % 97
  pos, seg = np.arange(24, dtype=np.int32)[None], np.ones((1, 24), np.int32)
  run = lambda m: jax.jit(lambda i, p, s: m(i, p, s))(inputs, pos, seg)
  l32, l16 = run(m32), run(m16)
  assert l16.dtype == jnp.float32
  np.testing.assert_allclose(l16, l32, atol=0.05)
  assert not np.array_equal(np.asarray(l16), np.asarray(l32))


def test_tied_and_untied_heads():
  tied = abstract_decoder(CFG)[1].to_pure_dict()
  untied = abstract_decoder(ModelConfig(**{**CFG.__dict__, "tie_embeddings": False}))[1].to_pure_dict()
  assert "unembed" not in tied and untied["unembed"].shape == (32, 97)
  assert tied["blocks"][0]["attn"]["wk"].shape == (32, 2, 8)  # GQA: 2 kv heads of dim 8


def test_bad_configs_raise_user_error():
  for bad in (dict(n_heads=5), dict(n_kv_heads=3), dict(dtype="float16"), dict(d_model=0)):
    with pytest.raises(UserError):
      ModelConfig(**{**CFG.__dict__, **bad})
  with pytest.raises(UserError):
    sizes.model_config("cpu-7t", 100)
  with pytest.raises(UserError):
    sizes.model_config("cpu-50k", 100, n_experts=4)
  bad_impl = decoder.build(ModelConfig(**{**CFG.__dict__, "attention": "nope"}))
  with pytest.raises(UserError):
    bad_impl(np.zeros((1, 4), np.int32), np.zeros((1, 4), np.int32), np.ones((1, 4), np.int32))


def _loss_and_grads(cfg: ModelConfig, batch: int = 2, length: int = 64):
  """Jitted loss and parameter gradients of one packed batch, and the compiled step's temp memory."""
  graphdef, state = nnx.split(decoder.build(cfg, seed=1))
  rng = np.random.default_rng(0)
  inputs = rng.integers(0, cfg.vocab_size, (batch, length)).astype(np.int32)
  positions = np.tile(np.arange(length, dtype=np.int32) % 40, (batch, 1))
  segments = np.where(np.arange(length) < 40, 1, 2)[None].repeat(batch, 0).astype(np.int32)

  def loss(state_):
    logits = nnx.merge(graphdef, state_)(inputs, positions, segments)
    return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - logits[..., 0])

  compiled = jax.jit(jax.value_and_grad(loss)).lower(state).compile()
  return compiled(state), compiled.memory_analysis().temp_size_in_bytes


def test_remat_policies_change_memory_not_gradients():
  """ "full" and "dots" give the same loss and gradients as "none" and need less memory."""
  base = dict(CFG.__dict__, d_model=64, n_layers=2, n_heads=4, n_kv_heads=4, d_ff=256)
  results = {remat: _loss_and_grads(ModelConfig(**{**base, "remat": remat})) for remat in ("none", "dots", "full")}
  (loss_none, grads_none), temp_none = results["none"]
  for remat in ("dots", "full"):
    (loss_r, grads_r), _ = results[remat]
    np.testing.assert_allclose(loss_r, loss_none, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), grads_r, grads_none)
  # Both keep less than saving everything (on CPU the compiled temp memory also holds the logits, so
  # "full" and "dots" are not ordered reliably at this size).
  assert results["full"][1] < temp_none and results["dots"][1] < temp_none, {k: v[1] for k, v in results.items()}
  with pytest.raises(UserError, match="remat"):
    ModelConfig(**{**base, "remat": "some"})


def test_rope_in_bfloat16_matches_float32():
  """bf16 inputs rotate with float32 angles: at position 4000 the result is within bf16 rounding of f32."""
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.normal(size=(1, 3, 2, 64)), jnp.bfloat16)
  positions = jnp.array([[5, 1000, 4000]])
  out16 = apply_rope(x, positions, 1e4)
  out32 = apply_rope(x.astype(jnp.float32), positions, 1e4)
  assert out16.dtype == jnp.bfloat16
  np.testing.assert_allclose(np.asarray(out16, np.float32), out32, atol=3e-2, rtol=0)
