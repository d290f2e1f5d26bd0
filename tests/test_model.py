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
