"""TPU route of `attention(impl="pallas")`: jax's own Pallas TPU splash-attention kernels.

Splash attention takes one sequence at a time with heads first (`[heads, length, head_dim]`), an unscaled
softmax (so q is pre-scaled here), a static causal mask and dynamic segment ids; we vmap it over the batch
(and, for GQA, over kv-head groups with its MQA variant, so k/v are never repeated).

Padding (segment 0) gets the same treatment as the other paths: padded keys share no segment with real
queries, and padded query rows, which splash would let attend to other padding, are zeroed afterwards.
Lengths that are not a multiple of 128 are padded with segment 0 up to one.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.experimental.pallas.ops.tpu import splash_attention as splash

LANE = 128  # TPU tiles are multiples of 128 along the sequence.
DEFAULT_BLOCK = 512


def _block_sizes(length: int) -> splash.BlockSizes:
  block = min(DEFAULT_BLOCK, length)
  return splash.BlockSizes(
    block_q=block,
    block_kv=block,
    block_kv_compute=block,
    block_q_dkv=block,
    block_kv_dkv=block,
    block_kv_dkv_compute=block,
    block_q_dq=block,
    block_kv_dq=block,
  )


@functools.lru_cache(maxsize=32)
def _kernel(heads: int, length: int, mqa: bool, interpret: bool):
  """The splash kernel for a (head count, length); mask processing is host-side numpy work, so cache it."""
  mask = splash.MultiHeadMask([splash.CausalMask((length, length)) for _ in range(heads)])
  make = splash.make_splash_mqa_single_device if mqa else splash.make_splash_mha_single_device
  return make(mask, block_sizes=_block_sizes(length), interpret=interpret)


def splash_attention(
  q_BxLxHxK: jax.Array,
  k_BxLxGxK: jax.Array,
  v_BxLxGxK: jax.Array,
  segment_ids_BxL: jax.Array,
  *,
  interpret: bool = False,
) -> jax.Array:
  """Causal, segment-masked attention through splash; same contract as `codelaw.model.attention.attention`."""
  batch, length, heads, head_dim = q_BxLxHxK.shape
  kv_heads = k_BxLxGxK.shape[2]
  group = heads // kv_heads
  block = min(DEFAULT_BLOCK, -(-length // LANE) * LANE)
  padded = -(-length // block) * block
  pad = ((0, 0), (0, padded - length), (0, 0), (0, 0))
  q = jnp.pad(q_BxLxHxK * jnp.asarray(head_dim**-0.5, q_BxLxHxK.dtype), pad)
  k, v = jnp.pad(k_BxLxGxK, pad), jnp.pad(v_BxLxGxK, pad)
  segments_BxL = jnp.pad(segment_ids_BxL.astype(jnp.int32), ((0, 0), (0, padded - length)))

  if group == 1:
    kernel = _kernel(heads, padded, False, interpret)

    def one(q_LxHxK, k_LxHxK, v_LxHxK, seg_L):
      out = kernel(
        q_LxHxK.transpose(1, 0, 2),
        k_LxHxK.transpose(1, 0, 2),
        v_LxHxK.transpose(1, 0, 2),
        segment_ids=splash.SegmentIds(q=seg_L, kv=seg_L),
      )
      return out.transpose(1, 0, 2)
  else:
    kernel = _kernel(group, padded, True, interpret)

    def one(q_LxHxK, k_LxGxK, v_LxGxK, seg_L):
      q_GxRxLxK = q_LxHxK.reshape(padded, kv_heads, group, head_dim).transpose(1, 2, 0, 3)
      ids = splash.SegmentIds(q=seg_L, kv=seg_L)
      out_GxRxLxK = jax.vmap(lambda q_, k_, v_: kernel(q_, k_, v_, segment_ids=ids))(
        q_GxRxLxK, k_LxGxK.transpose(1, 0, 2), v_LxGxK.transpose(1, 0, 2)
      )
      return out_GxRxLxK.transpose(2, 0, 1, 3).reshape(padded, heads, head_dim)

  out = jax.vmap(one)(q, k, v, segments_BxL)[:, :length]
  return jnp.where((segment_ids_BxL != 0)[:, :, None, None], out, 0).astype(q_BxLxHxK.dtype)
