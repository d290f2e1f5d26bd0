"""The one attention dispatch point of the model: every attention call in the decoder goes through here.

Layout: q `[batch, length, heads, head_dim]`, k and v `[batch, length, kv_heads, head_dim]` (GQA when
kv_heads < heads), segment ids `[batch, length]` with 0 for padding. Attention is causal and never crosses
segments, so packed documents stay independent; padding rows return zeros.

`impl` (the model config's `attention`):
- "xla": plain einsums, float32 softmax; runs everywhere, memory quadratic in length. The reference.
- "pallas": fused flash attention. GPU: our Pallas kernel (`kernels/flash_attention.py`, Triton lowering);
  TPU: jax's Pallas splash-attention kernels (`kernels/tpu.py`). On CPU this is a UserError.
- "pallas_interpret": the GPU Pallas kernel in Pallas interpret mode; runs on any backend (CPU tests),
  10-100x slower than "xla", so only for checking the kernel.
- "cudnn": `jax.nn.dot_product_attention(implementation="cudnn")` (GPU, bfloat16/float16), with the
  segment mask passed as a dense `[batch, 1, length, length]` mask (memory quadratic in length).
- "auto": "pallas" on GPU/TPU, "xla" on CPU.
Decoding with a KV cache (`decode_attention`) goes through this module too: T new queries over S cache
slots with an explicit visibility mask, one masked einsum on every backend and `impl` (at T = 1 the step
is bound by reading the cache, which tiling cannot speed up; prefill is one call per prompt batch).
Any length works on every path: the Pallas paths pad the sequence with segment 0 to their block size.
Under a device mesh the Pallas kernels run per shard (shard_map over the batch axes, and over heads when
the tensor axis divides both head counts), since a custom kernel cannot be partitioned by XLA.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec

from codelaw.errors import UserError
from codelaw.model import sharding

IMPLEMENTATIONS = ("xla", "pallas", "pallas_interpret", "cudnn", "auto")


def resolve_impl(impl: str, backend: str | None = None) -> str:
  """The concrete implementation `impl` means on `backend` (default: jax's default backend)."""
  if impl not in IMPLEMENTATIONS:
    raise UserError(f"model.attention = {impl!r}: expected one of {', '.join(IMPLEMENTATIONS)}")
  backend = backend or jax.default_backend()
  if impl == "auto":
    return "pallas" if backend in ("gpu", "tpu") else "xla"
  if impl == "pallas" and backend not in ("gpu", "tpu"):
    raise UserError(
      f"model.attention = 'pallas' needs a GPU or TPU (backend is {backend!r}); use 'xla', "
      "or 'pallas_interpret' to run the kernel in (slow) interpret mode"
    )
  if impl == "cudnn" and backend != "gpu":
    raise UserError(f"model.attention = 'cudnn' needs an NVIDIA GPU (backend is {backend!r}); use 'xla'")
  return impl


def attention(
  q_BxLxHxK: jax.Array, k_BxLxGxK: jax.Array, v_BxLxGxK: jax.Array, segment_ids_BxL: jax.Array, *, impl: str = "xla"
) -> jax.Array:
  """Causal, segment-masked multi-head attention; returns `[batch, length, heads, head_dim]` in q's dtype."""
  impl = resolve_impl(impl)
  heads, kv_heads = q_BxLxHxK.shape[2], k_BxLxGxK.shape[2]
  if heads % kv_heads:
    raise UserError(f"{heads} query heads cannot share {kv_heads} key/value heads")
  if impl == "xla":
    return xla_attention(q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL)
  if impl == "cudnn":
    return cudnn_attention(q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL)
  # Imported here: the kernels pull in Pallas, which the xla path never needs.
  if impl == "pallas" and jax.default_backend() == "tpu":
    from codelaw.model.kernels import tpu

    kernel = tpu.splash_attention
  else:
    from codelaw.model.kernels import flash_attention

    kernel = functools.partial(flash_attention.flash_attention, interpret=impl == "pallas_interpret")
  return _per_shard(kernel, q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL)


def _per_shard(kernel, q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL):
  """Runs `kernel` on each device's shard under the surrounding mesh (directly without one)."""
  mesh = sharding.current_mesh()
  if mesh is None:
    return kernel(q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL)
  batch_axes = sharding.logical_to_spec(("batch",), q_BxLxHxK.shape[:1], mesh)[0]
  tensor = mesh.shape["tensor"]
  heads, kv_heads = q_BxLxHxK.shape[2], k_BxLxGxK.shape[2]
  # Heads split only if both counts split evenly, so each shard keeps whole GQA groups.
  head_axis = "tensor" if tensor > 1 and heads % tensor == 0 and kv_heads % tensor == 0 else None
  qkv_spec = PartitionSpec(batch_axes, None, head_axis, None)
  seg_spec = PartitionSpec(batch_axes, None)
  return jax.shard_map(
    kernel, mesh=mesh, in_specs=(qkv_spec, qkv_spec, qkv_spec, seg_spec), out_specs=qkv_spec, check_vma=False
  )(q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL)


def attention_mask(segment_ids_BxL: jax.Array) -> jax.Array:
  """`[batch, 1, length, length]` boolean mask: causal, same segment, and no padding (segment 0)."""
  length = segment_ids_BxL.shape[-1]
  causal_LxL = jnp.tril(jnp.ones((length, length), dtype=bool))
  same_BxLxL = segment_ids_BxL[:, :, None] == segment_ids_BxL[:, None, :]
  real_BxL = segment_ids_BxL != 0
  return (causal_LxL[None] & same_BxLxL & real_BxL[:, :, None])[:, None]


def xla_attention(
  q_BxLxHxK: jax.Array, k_BxLxGxK: jax.Array, v_BxLxGxK: jax.Array, segment_ids_BxL: jax.Array
) -> jax.Array:
  """Reference path: plain einsums with the softmax in float32."""
  return _masked_attention(q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, attention_mask(segment_ids_BxL))


def decode_attention(
  q_BxTxHxK: jax.Array, k_BxSxGxK: jax.Array, v_BxSxGxK: jax.Array, visible_BxTxS: jax.Array
) -> jax.Array:
  """T new queries over S cached keys; `visible[b, t, s]` says query t may see slot s (causal, not padding)."""
  return _masked_attention(
    q_BxTxHxK, k_BxSxGxK.astype(q_BxTxHxK.dtype), v_BxSxGxK.astype(q_BxTxHxK.dtype), visible_BxTxS[:, None]
  )


def _masked_attention(q_BxTxHxK, k_BxSxGxK, v_BxSxGxK, mask_Bx1xTxS):
  """Softmax attention (float32 logits) under a boolean mask; rows that see nothing return zeros."""
  heads, kv_heads = q_BxTxHxK.shape[2], k_BxSxGxK.shape[2]
  if heads % kv_heads:
    raise UserError(f"{heads} query heads cannot share {kv_heads} key/value heads")
  repeats = heads // kv_heads
  k_BxSxHxK = jnp.repeat(k_BxSxGxK, repeats, axis=2)
  v_BxSxHxK = jnp.repeat(v_BxSxGxK, repeats, axis=2)
  scale = q_BxTxHxK.shape[-1] ** -0.5
  logits_BxHxTxS = jnp.einsum("bqhk,bshk->bhqs", q_BxTxHxK, k_BxSxHxK).astype(jnp.float32) * scale
  logits_BxHxTxS = jnp.where(mask_Bx1xTxS, logits_BxHxTxS, jnp.finfo(jnp.float32).min)
  probs_BxHxTxS = jax.nn.softmax(logits_BxHxTxS, axis=-1)
  # Rows with no visible key (padding) would average everything; zero them instead.
  probs_BxHxTxS = jnp.where(mask_Bx1xTxS, probs_BxHxTxS, 0.0)
  out = jnp.einsum("bhqs,bshk->bqhk", probs_BxHxTxS.astype(v_BxSxHxK.dtype), v_BxSxHxK)
  return out.astype(q_BxTxHxK.dtype)


def cudnn_attention(
  q_BxLxHxK: jax.Array, k_BxLxGxK: jax.Array, v_BxLxGxK: jax.Array, segment_ids_BxL: jax.Array
) -> jax.Array:
  """cuDNN flash attention with the full segment mask (is_causal alone would let documents see each other)."""
  if q_BxLxHxK.dtype not in (jnp.bfloat16, jnp.float16):
    raise UserError(f"model.attention = 'cudnn' needs model.dtype bfloat16 (got {q_BxLxHxK.dtype})")
  out = jax.nn.dot_product_attention(
    q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, mask=attention_mask(segment_ids_BxL), is_causal=True, implementation="cudnn"
  )
  # Padding rows have no visible key; cuDNN averages over them, the reference returns zeros.
  return jnp.where((segment_ids_BxL != 0)[:, :, None, None], out, 0).astype(q_BxLxHxK.dtype)
