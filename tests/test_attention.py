"""The attention dispatch and the Pallas kernels against the float32 XLA reference (outputs and gradients).

Kernels run in Pallas interpret mode on CPU. Tolerances (max abs error, inputs ~ N(0, 1)):
- float32: outputs 1e-5, gradients 1e-4 (the kernels multiply float32 tiles at full precision).
- bfloat16: outputs 2e-2, gradients 5e-2 relative to the gradient's largest entry (bf16 probabilities
  and bf16 stores; the reference runs in float32 on the same bf16-rounded inputs).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from codelaw.errors import UserError
from codelaw.model import attention as attention_lib
from codelaw.model.kernels import flash_attention as fa
from codelaw.model.kernels import tpu

TOLERANCES = {"float32": (1e-5, 1e-4), "bfloat16": (2e-2, 5e-2)}


def packed_segments(rng: np.random.Generator, batch: int, length: int) -> np.ndarray:
  """1-4 documents per row with random lengths and (unsorted) ids, trailing padding in odd rows."""
  seg = np.zeros((batch, length), np.int32)
  for row in range(batch):
    used = length - int(rng.integers(1, length // 3)) if row % 2 else length
    cuts = np.sort(rng.choice(np.arange(1, used), size=int(rng.integers(0, 4)), replace=False))
    ids = rng.permutation(9)[: len(cuts) + 1] + 1
    for doc_id, (a, b) in zip(ids, zip([0, *cuts], [*cuts, used])):
      seg[row, a:b] = doc_id
  return seg


def random_inputs(seed, batch, length, heads, kv_heads, head_dim, dtype):
  rng = np.random.default_rng(seed)
  q, k, v = (jnp.asarray(rng.normal(size=(batch, length, h, head_dim)), dtype) for h in (heads, kv_heads, kv_heads))
  cotangent = jnp.asarray(rng.normal(size=(batch, length, heads, head_dim)), jnp.float32)
  return q, k, v, jnp.asarray(packed_segments(rng, batch, length)), cotangent


def loss_and_grads(fn, q, k, v, segments, cotangent):
  """Output and d<out, cotangent>/d(q, k, v); the cotangent makes every output entry matter."""

  def loss(q_, k_, v_):
    out = fn(q_, k_, v_, segments)
    return jnp.sum(out.astype(jnp.float32) * cotangent), out

  (_, out), grads = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True))(q, k, v)
  return out, grads


def check_against_reference(fn, q, k, v, segments, cotangent):
  dtype = jnp.dtype(q.dtype).name
  out_tol, grad_tol = TOLERANCES[dtype]
  out, grads = loss_and_grads(fn, q, k, v, segments, cotangent)
  as32 = [x.astype(jnp.float32) for x in (q, k, v)]
  ref_out, ref_grads = loss_and_grads(attention_lib.xla_attention, *as32, segments, cotangent)
  assert out.dtype == q.dtype and out.shape == q.shape
  np.testing.assert_allclose(np.asarray(out, np.float32), ref_out, atol=out_tol, rtol=0)
  for name, grad, ref, x in zip("qkv", grads, ref_grads, (q, k, v)):
    assert grad.dtype == x.dtype and grad.shape == x.shape, name
    scale = 1.0 if dtype == "float32" else float(jnp.max(jnp.abs(ref)))
    np.testing.assert_allclose(np.asarray(grad, np.float32), ref, atol=grad_tol * scale, rtol=0, err_msg=f"d{name}")
  # Padding rows: zero output and no gradient into their queries.
  pad = np.asarray(segments) == 0
  assert np.all(np.asarray(out, np.float32)[pad] == 0) and np.all(np.asarray(grads[0], np.float32)[pad] == 0)


# (batch, length, heads, kv_heads, head_dim, dtype, blocks (fwd q, fwd k, dkv q, dkv k, dq q, dq k))
CASES = [
  (2, 48, 4, 4, 16, "float32", (16, 16, 16, 16, 16, 16)),  # length a block multiple, MHA
  (1, 37, 8, 2, 64, "float32", (32, 16, 16, 32, 32, 16)),  # padded length, GQA 4:1, mixed blocks
  (2, 40, 2, 1, 128, "bfloat16", (32, 32, 16, 32, 32, 16)),  # bf16, head_dim 128, padded, MQA
]


@pytest.mark.parametrize("batch,length,heads,kv_heads,head_dim,dtype,blocks", CASES)
def test_pallas_kernel_matches_reference(batch, length, heads, kv_heads, head_dim, dtype, blocks):
  q, k, v, segments, cotangent = random_inputs(length, batch, length, heads, kv_heads, head_dim, dtype)
  sizes = fa.BlockSizes(*blocks)
  check_against_reference(
    lambda *a: fa.flash_attention(*a, block_sizes=sizes, interpret=True), q, k, v, segments, cotangent
  )


def documents(lengths: list[int], length: int, batch: int = 1) -> np.ndarray:
  """Pipeline-style rows: documents with ids 1, 2, ... in order, then padding."""
  row = np.concatenate([np.full(n, i + 1) for i, n in enumerate(lengths)] + [np.zeros(length - sum(lengths))])
  return np.tile(row.astype(np.int32), (batch, 1))


def test_pallas_kernel_skips_and_unmasks_tiles_exactly():
  """Long documents (unmasked tiles inside them, skipped tiles between them) with mixed block sizes."""
  q, k, v, _, cotangent = random_inputs(11, 2, 96, 2, 1, 16, "float32")
  segments = jnp.asarray(np.concatenate([documents([40, 30, 18], 96), documents([13, 60], 96)]))
  sizes = fa.BlockSizes(32, 16, 16, 32, 32, 16)
  check_against_reference(
    lambda *a: fa.flash_attention(*a, block_sizes=sizes, interpret=True), q, k, v, segments, cotangent
  )


def _live_tiles(segments: np.ndarray, block_q: int, block_k: int) -> np.ndarray:
  """[batch, n_q, n_k]: which tiles hold at least one visible (query, key) pair, by brute force."""
  visible = np.asarray(attention_lib.attention_mask(jnp.asarray(segments)))[:, 0]
  batch, length = segments.shape
  return visible.reshape(batch, length // block_q, block_q, length // block_k, block_k).any(axis=(2, 4))


def _visited(start, stop, n_inner):
  inner = np.arange(n_inner)
  return (inner >= np.asarray(start)[..., None]) & (inner < np.asarray(stop)[..., None])


@pytest.mark.parametrize("block_q,block_k", [(32, 16), (16, 64), (64, 64)])
def test_tile_ranges_are_exact_for_packed_documents(block_q, block_k):
  rng = np.random.default_rng(block_q + block_k)
  rows = []
  for _ in range(6):
    cuts = np.sort(rng.choice(np.arange(1, 240), size=int(rng.integers(0, 6)), replace=False))
    rows.append(documents(list(np.diff([0, *cuts, 240])), 256)[0])
  segments = np.stack(rows)
  live = _live_tiles(segments, block_q, block_k)
  n_q, n_k = live.shape[1:]
  start, stop = fa.tile_ranges(jnp.asarray(segments), block_q, block_k, causal=True, outer_is_query=True)
  np.testing.assert_array_equal(_visited(start[:, :n_q], stop[:, :n_q], n_k), live)
  start, stop = fa.tile_ranges(jnp.asarray(segments), block_k, block_q, causal=True, outer_is_query=False)
  np.testing.assert_array_equal(_visited(start[:, :n_k], stop[:, :n_k], n_q), live.transpose(0, 2, 1))
  # Arbitrary (unsorted, repeated) ids: the ranges still cover every live tile.
  shuffled = np.array([0, 3, 1, 3, 2, 5, 4])[segments]
  live = _live_tiles(shuffled, block_q, block_k)
  start, stop = fa.tile_ranges(jnp.asarray(shuffled), block_q, block_k, causal=True, outer_is_query=True)
  assert np.all(_visited(start[:, :n_q], stop[:, :n_q], n_k)[live])


def test_four_documents_per_row_skip_most_causal_tiles():
  """At 2k tokens and 4 equal documents, the forward visits ~ (4 x 8 x 9 / 2) of 32 x 33 / 2 tiles."""
  segments = jnp.asarray(documents([512] * 4, 2048))
  start, stop = fa.tile_ranges(segments, 64, 64, causal=True, outer_is_query=True)
  visited = int(jnp.sum(stop - start))
  assert visited == 4 * 8 * 9 // 2 and visited / (32 * 33 / 2) < 0.3


def test_tpu_splash_route_matches_reference():
  """The TPU route (jax's splash kernels, GQA through its MQA variant) in its interpret mode."""
  q, k, v, segments, cotangent = random_inputs(3, 1, 120, 4, 2, 64, "float32")
  check_against_reference(lambda *a: tpu.splash_attention(*a, interpret=True), q, k, v, segments, cotangent)


def _lowered_fwd_bwd(kernel, platform, length, heads, kv_heads, head_dim, dtype):
  """StableHLO text of a jitted fwd+bwd lowered for `platform` (no device of that kind needed)."""
  q = jax.ShapeDtypeStruct((2, length, heads, head_dim), dtype)
  kv = jax.ShapeDtypeStruct((2, length, kv_heads, head_dim), dtype)
  segments = jax.ShapeDtypeStruct((2, length), jnp.int32)
  grads = lambda q_, k_, v_, s_: jax.grad(lambda *a: jnp.sum(kernel(*a, s_).astype(jnp.float32)), argnums=(0, 1, 2))(
    q_, k_, v_
  )
  return jax.jit(grads).trace(q, kv, kv, segments).lower(lowering_platforms=(platform,)).as_text()


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_kernels_lower_for_gpu_and_tpu(dtype):
  """Without an accelerator: the kernels pass the Pallas Triton (GPU) and Mosaic (TPU) lowerings.

  Odd length (padded), GQA and a non-power-of-two head_dim (zero-padded); forward, dq and dk/dv each
  become one fused kernel call.
  """
  gpu = _lowered_fwd_bwd(fa.flash_attention, "cuda", 300, 8, 2, 48, dtype)
  assert gpu.count("__gpu$xla.gpu.triton") == 3
  if dtype == "bfloat16":
    tpu_text = _lowered_fwd_bwd(tpu.splash_attention, "tpu", 300, 8, 2, 128, dtype)
    assert tpu_text.count("tpu_custom_call") == 3


def test_dispatch_keeps_documents_apart():
  """Through `attention(impl="pallas_interpret")`: editing one document changes only that document's rows."""
  q, k, v, _, _ = random_inputs(5, 1, 24, 2, 1, 16, "float32")
  segments = jnp.asarray([[1] * 10 + [2] * 10 + [0] * 4])
  run = jax.jit(lambda q_, k_, v_: attention_lib.attention(q_, k_, v_, segments, impl="pallas_interpret"))
  before = np.asarray(run(q, k, v))
  after = np.asarray(run(q, k.at[:, :10].multiply(-3.0), v.at[:, :10].add(1.0)))
  assert np.abs(after[:, :10] - before[:, :10]).max() > 1e-2  # document 1 changed ...
  np.testing.assert_array_equal(after[:, 10:], before[:, 10:])  # ... document 2 and padding did not
  np.testing.assert_allclose(before, attention_lib.xla_attention(q, k, v, segments), atol=1e-5)


def test_resolve_impl():
  assert attention_lib.resolve_impl("auto", "cpu") == "xla"
  assert attention_lib.resolve_impl("auto", "gpu") == "pallas"
  assert attention_lib.resolve_impl("auto", "tpu") == "pallas"
  assert attention_lib.resolve_impl("pallas", "gpu") == "pallas"
  assert attention_lib.resolve_impl("pallas_interpret", "cpu") == "pallas_interpret"
  with pytest.raises(UserError, match="pallas_interpret"):
    attention_lib.resolve_impl("pallas", "cpu")
  with pytest.raises(UserError, match="cudnn"):
    attention_lib.resolve_impl("cudnn", "cpu")
  with pytest.raises(UserError, match="flash"):
    attention_lib.resolve_impl("flash", "gpu")


def test_bad_inputs_raise_user_errors():
  q = jnp.zeros((1, 16, 3, 16))
  segments = jnp.ones((1, 16), jnp.int32)
  with pytest.raises(UserError, match="pallas_interpret"):
    attention_lib.attention(q, q, q, segments, impl="pallas")  # CPU: no compiled Pallas
  with pytest.raises(UserError, match="key/value heads"):
    attention_lib.attention(q, q[:, :, :2], q[:, :, :2], segments, impl="pallas_interpret")
  with pytest.raises(UserError, match="block_k"):
    fa.BlockSizes(block_k=48)
  with pytest.raises(UserError, match="block_q"):
    fa.BlockSizes(block_q=8)
  with pytest.raises(UserError, match="dtypes"):
    fa.flash_attention(q.astype(jnp.int32), q.astype(jnp.int32), q.astype(jnp.int32), segments, interpret=True)


def test_blocks_fit_short_sequences():
  sizes = fa.BlockSizes().fitted(37)
  assert sizes.block_q == 64 and sizes.block_k == 64 and sizes.largest == 64
  assert fa.BlockSizes().fitted(5).largest == fa.MIN_BLOCK


def test_each_kernel_has_its_own_launch_parameters():
  default = fa.BlockSizes()
  assert (default.compiler_params("fwd", 128).num_warps, default.compiler_params("fwd", 64).num_warps) == (8, 4)
  assert default.compiler_params("dq", 128).num_warps == default.compiler_params("dkv", 128).num_warps == 4
  tuned = fa.BlockSizes(num_warps_dkv=8, num_stages_dkv=3, num_stages_fwd=4)
  assert (tuned.compiler_params("dkv", 64).num_warps, tuned.compiler_params("dkv", 64).num_stages) == (8, 3)
  assert (tuned.compiler_params("fwd", 64).num_stages, tuned.compiler_params("dq", 64).num_stages) == (4, 2)
  with pytest.raises(UserError, match="num_warps_dq"):
    fa.BlockSizes(num_warps_dq=0)


@pytest.mark.gpu
@pytest.mark.parametrize("impl", ["pallas", "cudnn"])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_compiled_kernels_on_gpu(impl, head_dim):
  """The compiled Triton kernel and the cuDNN path, segments included, against the reference."""
  q, k, v, segments, cotangent = random_inputs(7, 2, 300, 8, 2, head_dim, "bfloat16")
  check_against_reference(lambda *a: attention_lib.attention(*a, impl=impl), q, k, v, segments, cotangent)


@pytest.mark.gpu
@pytest.mark.parametrize("impl", ["pallas", "cudnn"])
@pytest.mark.parametrize("head_dim", [64, 128])
def test_mha_bf16_on_gpu(impl, head_dim):
  """The path every paper size trains on: MHA in bf16, packed documents in order with padded tails, a
  length that is not a block multiple; forward and gradients against float32 XLA."""
  q, k, v, _, cotangent = random_inputs(13, 2, 1000, 8, 8, head_dim, "bfloat16")
  segments = jnp.asarray(np.concatenate([documents([300, 200, 250, 250], 1000), documents([400, 500], 1000)]))
  check_against_reference(lambda *a: attention_lib.attention(*a, impl=impl), q, k, v, segments, cotangent)
