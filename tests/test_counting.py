"""Parameter counts and FLOPs against the real (abstract) parameter trees."""

import math
import re

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from codelaw.model import counting, sizes
from codelaw.model.config import ModelConfig
from codelaw.train.step import abstract_decoder


def _tree_counts(cfg):
  _, state = abstract_decoder(cfg)
  pure = state.to_pure_dict()
  total = sum(math.prod(x.shape) for x in jax.tree.leaves(pure))
  embedding = math.prod(pure["embed"].shape) + (math.prod(pure["unembed"].shape) if "unembed" in pure else 0)
  return total - embedding, total


@pytest.mark.parametrize("size", sizes.CPU_SIZES + ("0.1B",))
@pytest.mark.parametrize("tie", [True, False])
def test_counts_match_parameter_tree(size, tie):
  cfg = sizes.model_config(size, vocab_size=4096 if size.startswith("cpu") else 32000, tie_embeddings=tie)
  non_embedding, total = _tree_counts(cfg)
  assert counting.n_params(cfg) == non_embedding
  assert counting.n_params_total(cfg) == total


def test_counts_with_gqa():
  cfg = sizes.model_config("cpu-1m", vocab_size=1000, n_kv_heads=2)
  assert (counting.n_params(cfg), counting.n_params_total(cfg)) == _tree_counts(cfg)
  assert counting.n_params(cfg) < counting.n_params(sizes.model_config("cpu-1m", vocab_size=1000))


def test_size_family_names_are_honest():
  nominal = {
    "cpu-10k": 1e4,
    "cpu-20k": 2e4,
    "cpu-50k": 5e4,
    "cpu-100k": 1e5,
    "cpu-200k": 2e5,
    "cpu-500k": 5e5,
    "cpu-1m": 1e6,
    "cpu-2m": 2e6,
    "cpu-5m": 5e6,
  }
  counts = [counting.n_params(sizes.model_config(s, 4096)) for s in sizes.CPU_SIZES]
  assert counts == sorted(counts)
  for name, n in zip(sizes.CPU_SIZES, counts):
    assert abs(n / nominal[name] - 1) < 0.15, (name, n)
  for name in sizes.PAPER_SIZES + ("7B", "14B"):
    total = counting.n_params_total(sizes.model_config(name, 32000))
    assert abs(total / (float(name[:-1]) * 1e9) - 1) < 0.1, (name, total)
    assert 16 <= sizes.model_config(name, 32000).head_dim <= 128
  for name in sizes.CPU_SIZES:
    assert 16 <= sizes.model_config(name, 4096).head_dim <= 64


def test_flops_per_token_matches_compiled_forward():
  """3 x the forward matmul FLOPs XLA reports equals the formula (attention in full-context convention)."""
  cfg = ModelConfig(d_model=64, n_layers=2, n_heads=4, n_kv_heads=4, d_ff=160, vocab_size=512)
  batch, seq = 2, 128
  graphdef, abstract = abstract_decoder(cfg)

  def forward(state, inputs):
    positions = jnp.broadcast_to(jnp.arange(seq), (batch, seq))
    return nnx.merge(graphdef, state)(inputs, positions, jnp.ones_like(inputs))

  # Only dot products: count them from the HLO of the forward pass.
  hlo = jax.jit(forward).lower(abstract, jax.ShapeDtypeStruct((batch, seq), jnp.int32)).compiler_ir("stablehlo")
  dot_flops = 0
  for line in str(hlo).splitlines():
    if "stablehlo.dot_general" not in line:
      continue
    lhs, rhs, out = re.findall(r"tensor<([0-9x]+)x[a-z0-9]+>", line.split(":")[-1])[:3]
    contracting = re.search(r"contracting_dims = \[([0-9, ]+)\] x", line).group(1)
    lhs_shape = [int(d) for d in lhs.split("x")]
    k = math.prod(lhs_shape[int(c)] for c in contracting.split(","))
    dot_flops += 2 * k * math.prod(int(d) for d in out.split("x"))
  assert 3 * dot_flops / (batch * seq) == pytest.approx(counting.flops_per_token(cfg, seq), rel=1e-9)


def test_causal_counting_halves_only_attention():
  cfg = sizes.model_config("1.1B", 32768)
  full, causal = counting.flops_per_token(cfg, 2048), counting.flops_per_token(cfg, 2048, causal=True)
  attention = 12 * cfg.n_layers * cfg.n_heads * cfg.head_dim * 2048
  assert full - causal == pytest.approx(attention / 2) and causal > 6 * counting.n_params(cfg)
