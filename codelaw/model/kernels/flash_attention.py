"""Causal, segment-masked flash attention (FlashAttention-2) written in Pallas, with a Pallas backward pass.

Layout follows the model: q `[batch, length, heads, head_dim]`, k/v `[batch, length, kv_heads, head_dim]`
(GQA: query head h reads kv head h // (heads // kv_heads)), segment ids `[batch, length]`, 0 = padding.
A query sees a key when it is not after it, both carry the same segment id, and that id is not 0; padding
rows (segment 0) return zeros and get zero gradients, exactly like the XLA reference path.

Three kernels, each over a grid of (block, batch, head):
- forward: one query block, loops over key blocks (only up to the diagonal), online softmax in float32;
  also writes the per-row log-sum-exp (base 2) for the backward pass.
- dk/dv: one key block, loops over the query blocks at or below the diagonal.
- dq: one query block, loops over key blocks up to the diagonal.
`delta = rowsum(dO * O)` is one fused XLA reduction between the two.

Shapes the blocks cannot tile are padded, never rejected: the sequence is padded with segment 0 (padded
keys are invisible to every real query, padded queries are discarded) to a multiple of the block sizes,
and a head_dim that is not a power of two (or below 16, Triton's smallest dot) is zero-padded (zero columns
change no logit). Blocks larger than the padded length shrink to it. Memory is linear in length.

The kernels use only the generic Pallas API (`pl.pallas_call`, `BlockSpec`, `pl.ds`, `pl.dot`-style
dot_general) so they lower through Triton on GPU and run anywhere with `interpret=True` (CPU tests).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import triton as plgpu

from codelaw.errors import UserError

# Finite "minus infinity": masked logits never produce inf - inf = NaN in the running max.
MASK_VALUE = -1e30
LOG2E = math.log2(math.e)
MIN_BLOCK = 16  # Triton's smallest dot dimension.
DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)


@dataclasses.dataclass(frozen=True)
class BlockSizes:
  """Tile sizes (powers of two) of the three kernels, and Triton launch parameters.

  `block_q`/`block_k`: forward; `block_q_dkv`/`block_k_dkv`: the dk/dv kernel; `block_q_dq`/`block_k_dq`:
  the dq kernel. `num_warps=None` picks 4 for head_dim <= 64, else 8.
  """
  block_q: int = 128
  block_k: int = 64
  block_q_dkv: int = 64
  block_k_dkv: int = 64
  block_q_dq: int = 64
  block_k_dq: int = 64
  num_warps: int | None = None
  num_stages: int = 2

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if field.name.startswith("block_") and (not isinstance(value, int) or value < MIN_BLOCK
                                               or value & (value - 1)):
        raise UserError(f"attention {field.name} = {value!r}: expected a power of two >= {MIN_BLOCK}")

  def fitted(self, length: int) -> "BlockSizes":
    """Blocks no longer than `length` rounded up to a power of two (short sequences use one block)."""
    cap = max(MIN_BLOCK, pl.next_power_of_2(length))
    return dataclasses.replace(self, **{f.name: min(getattr(self, f.name), cap)
                                        for f in dataclasses.fields(self) if f.name.startswith("block_")})

  @property
  def largest(self) -> int:
    return max(getattr(self, f.name) for f in dataclasses.fields(self) if f.name.startswith("block_"))


@dataclasses.dataclass(frozen=True)
class _Static:
  """Everything static about one call (hashable: it is a nondiff argument of the custom VJP)."""
  scale: float
  causal: bool
  blocks: BlockSizes
  interpret: bool


def flash_attention(q_BxLxHxK: jax.Array, k_BxLxGxK: jax.Array, v_BxLxGxK: jax.Array,
                    segment_ids_BxL: jax.Array, *, block_sizes: BlockSizes | None = None, causal: bool = True,
                    scale: float | None = None, interpret: bool = False) -> jax.Array:
  """Fused attention; returns `[batch, length, heads, head_dim]` in q's dtype. Differentiable in q, k, v."""
  batch, length, heads, head_dim = q_BxLxHxK.shape
  kv_heads = k_BxLxGxK.shape[2]
  if k_BxLxGxK.shape != (batch, length, kv_heads, head_dim) or v_BxLxGxK.shape != k_BxLxGxK.shape:
    raise UserError(f"attention: k {k_BxLxGxK.shape} / v {v_BxLxGxK.shape} do not match q {q_BxLxHxK.shape}")
  if heads % kv_heads:
    raise UserError(f"{heads} query heads cannot share {kv_heads} key/value heads")
  if segment_ids_BxL.shape != (batch, length):
    raise UserError(f"attention: segment ids {segment_ids_BxL.shape} do not match q {q_BxLxHxK.shape}")
  dtype = q_BxLxHxK.dtype
  if dtype not in DTYPES or k_BxLxGxK.dtype != dtype or v_BxLxGxK.dtype != dtype:
    raise UserError(f"pallas attention: q/k/v dtypes {dtype}/{k_BxLxGxK.dtype}/{v_BxLxGxK.dtype}: "
                    "expected one shared dtype of float32, bfloat16, float16")
  static = _Static(scale=float(head_dim ** -0.5 if scale is None else scale), causal=causal,
                   blocks=(block_sizes or BlockSizes()).fitted(length), interpret=interpret)

  padded_len = -(-length // static.blocks.largest) * static.blocks.largest
  padded_dim = max(MIN_BLOCK, pl.next_power_of_2(head_dim))
  pad_lk = ((0, 0), (0, padded_len - length), (0, 0), (0, padded_dim - head_dim))
  q, k, v = (jnp.pad(x, pad_lk) for x in (q_BxLxHxK, k_BxLxGxK, v_BxLxGxK))
  segments = jnp.pad(segment_ids_BxL.astype(jnp.int32), ((0, 0), (0, padded_len - length)))
  out = _flash(q, k, v, segments, static)
  return out[:, :length, :, :head_dim]


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _flash(q, k, v, segments, static: _Static):
  return _forward(q, k, v, segments, static)[0]


def _flash_fwd(q, k, v, segments, static: _Static):
  out, lse = _forward(q, k, v, segments, static)
  return out, (q, k, v, segments, out, lse)


def _flash_bwd(static: _Static, residuals, d_out):
  q, k, v, segments, out, lse = residuals
  # delta_i = sum_k dO_ik O_ik: the softmax-Jacobian term, a cheap fused XLA reduction.
  delta_BxHxL = jnp.einsum("blhk,blhk->bhl", out.astype(jnp.float32), d_out.astype(jnp.float32))
  dq = _backward_dq(q, k, v, segments, d_out, lse, delta_BxHxL, static)
  dk, dv = _backward_dkv(q, k, v, segments, d_out, lse, delta_BxHxL, static)
  return dq, dk, dv, None


_flash.defvjp(_flash_fwd, _flash_bwd)


def _compiler_params(static: _Static, head_dim: int):
  warps = static.blocks.num_warps or (4 if head_dim <= 64 else 8)
  return plgpu.CompilerParams(num_warps=warps, num_stages=static.blocks.num_stages)


def _dot(a, b, *, trans_a=False, trans_b=False):
  """Float32-accumulating matmul of two tiles; float32 tiles multiply at full precision."""
  precision = lax.Precision.HIGHEST if a.dtype == jnp.float32 else None
  return lax.dot_general(a, b, (((0 if trans_a else 1,), (1 if trans_b else 0,)), ((), ())),
                         precision=precision, preferred_element_type=jnp.float32)


def _visible(seg_q, seg_k, start_q, start_k, causal: bool):
  """`[block_q, block_k]` mask: same non-padding segment and (if causal) key not after query."""
  mask = (seg_q[:, None] == seg_k[None, :]) & (seg_q[:, None] != 0)
  if causal:
    pos_q = start_q + lax.broadcasted_iota(jnp.int32, (seg_q.shape[0], seg_k.shape[0]), 0)
    pos_k = start_k + lax.broadcasted_iota(jnp.int32, (seg_q.shape[0], seg_k.shape[0]), 1)
    mask = mask & (pos_q >= pos_k)
  return mask


def _scores(q, k, seg_q, seg_k, start_q, start_k, static: _Static):
  """Base-2 logits of a tile (masked entries MASK_VALUE) and the mask."""
  s = _dot(q, k, trans_b=True) * (static.scale * LOG2E)
  mask = _visible(seg_q, seg_k, start_q, start_k, static.causal)
  return jnp.where(mask, s, MASK_VALUE), mask


def _forward_kernel(q_ref, k_ref, v_ref, seg_ref, o_ref, lse_ref, *, static: _Static):
  block_q, block_k = o_ref.shape[0], static.blocks.block_k
  start_q = pl.program_id(0) * block_q
  q = q_ref[...]
  seg_q = seg_ref[pl.ds(start_q, block_q)]

  def body(j, carry):
    acc, m, l = carry
    start_k = j * block_k
    k = k_ref[pl.ds(start_k, block_k), :]
    v = v_ref[pl.ds(start_k, block_k), :]
    s, mask = _scores(q, k, seg_q, seg_ref[pl.ds(start_k, block_k)], start_q, start_k, static)
    m_new = jnp.maximum(m, jnp.max(s, axis=1))
    correction = jnp.exp2(m - m_new)
    p = jnp.where(mask, jnp.exp2(s - m_new[:, None]), 0.0)
    l = l * correction + jnp.sum(p, axis=1)
    acc = acc * correction[:, None] + _dot(p.astype(v.dtype), v)
    return acc, m_new, l

  # Causal: key blocks past this query block's last row are fully masked; skip them.
  n_k = k_ref.shape[0] // block_k
  stop = lax.div(start_q + block_q + block_k - 1, block_k) if static.causal else n_k
  init = (jnp.zeros(o_ref.shape, jnp.float32), jnp.full((block_q,), MASK_VALUE, jnp.float32),
          jnp.zeros((block_q,), jnp.float32))
  acc, m, l = lax.fori_loop(0, stop, body, init)
  # Padding rows see no key (l = 0): output 0; their lse is never used (their mask is all False).
  l_safe = jnp.where(l == 0.0, 1.0, l)
  o_ref[...] = (acc / l_safe[:, None]).astype(o_ref.dtype)
  lse_ref[...] = m + jnp.log2(l_safe)


def _forward(q, k, v, segments, static: _Static):
  batch, length, heads, head_dim = q.shape
  group = heads // k.shape[2]
  block_q = static.blocks.block_q
  kernel = functools.partial(_forward_kernel, static=static)
  return pl.pallas_call(
      kernel,
      grid=(length // block_q, batch, heads),
      in_specs=[
          pl.BlockSpec((None, block_q, None, head_dim), lambda i, b, h: (b, i, h, 0)),
          pl.BlockSpec((None, length, None, head_dim), lambda i, b, h: (b, 0, h // group, 0)),
          pl.BlockSpec((None, length, None, head_dim), lambda i, b, h: (b, 0, h // group, 0)),
          pl.BlockSpec((None, length), lambda i, b, h: (b, 0)),
      ],
      out_specs=[
          pl.BlockSpec((None, block_q, None, head_dim), lambda i, b, h: (b, i, h, 0)),
          pl.BlockSpec((None, None, block_q), lambda i, b, h: (b, h, i)),
      ],
      out_shape=[jax.ShapeDtypeStruct(q.shape, q.dtype),
                 jax.ShapeDtypeStruct((batch, heads, length), jnp.float32)],
      compiler_params=_compiler_params(static, head_dim),
      interpret=static.interpret,
      name="codelaw_flash_fwd",
  )(q, k, v, segments)


def _dq_kernel(q_ref, k_ref, v_ref, seg_ref, do_ref, lse_ref, delta_ref, dq_ref, *, static: _Static):
  block_q, block_k = dq_ref.shape[0], static.blocks.block_k_dq
  start_q = pl.program_id(0) * block_q
  q, do = q_ref[...], do_ref[...]
  lse, delta = lse_ref[...], delta_ref[...]
  seg_q = seg_ref[pl.ds(start_q, block_q)]

  def body(j, dq):
    start_k = j * block_k
    k = k_ref[pl.ds(start_k, block_k), :]
    v = v_ref[pl.ds(start_k, block_k), :]
    s, mask = _scores(q, k, seg_q, seg_ref[pl.ds(start_k, block_k)], start_q, start_k, static)
    p = jnp.where(mask, jnp.exp2(s - lse[:, None]), 0.0)
    ds = p * (_dot(do, v, trans_b=True) - delta[:, None])
    return dq + _dot(ds.astype(k.dtype), k)

  n_k = k_ref.shape[0] // block_k
  stop = lax.div(start_q + block_q + block_k - 1, block_k) if static.causal else n_k
  dq = lax.fori_loop(0, stop, body, jnp.zeros(dq_ref.shape, jnp.float32))
  dq_ref[...] = (dq * static.scale).astype(dq_ref.dtype)


def _backward_dq(q, k, v, segments, d_out, lse, delta, static: _Static):
  batch, length, heads, head_dim = q.shape
  group = heads // k.shape[2]
  block_q = static.blocks.block_q_dq
  q_tile = pl.BlockSpec((None, block_q, None, head_dim), lambda i, b, h: (b, i, h, 0))
  kv_full = pl.BlockSpec((None, length, None, head_dim), lambda i, b, h: (b, 0, h // group, 0))
  row_tile = pl.BlockSpec((None, None, block_q), lambda i, b, h: (b, h, i))
  return pl.pallas_call(
      functools.partial(_dq_kernel, static=static),
      grid=(length // block_q, batch, heads),
      in_specs=[q_tile, kv_full, kv_full, pl.BlockSpec((None, length), lambda i, b, h: (b, 0)),
                q_tile, row_tile, row_tile],
      out_specs=q_tile,
      out_shape=jax.ShapeDtypeStruct(q.shape, q.dtype),
      compiler_params=_compiler_params(static, head_dim),
      interpret=static.interpret,
      name="codelaw_flash_dq",
  )(q, k, v, segments, d_out, lse, delta)


def _dkv_kernel(q_ref, k_ref, v_ref, seg_ref, do_ref, lse_ref, delta_ref, dk_ref, dv_ref, *, static: _Static):
  block_k, block_q = dk_ref.shape[0], static.blocks.block_q_dkv
  start_k = pl.program_id(0) * block_k
  k, v = k_ref[...], v_ref[...]
  seg_k = seg_ref[pl.ds(start_k, block_k)]

  def body(i, carry):
    dk, dv = carry
    start_q = i * block_q
    q = q_ref[pl.ds(start_q, block_q), :]
    do = do_ref[pl.ds(start_q, block_q), :]
    lse = lse_ref[pl.ds(start_q, block_q)]
    delta = delta_ref[pl.ds(start_q, block_q)]
    s, mask = _scores(q, k, seg_ref[pl.ds(start_q, block_q)], seg_k, start_q, start_k, static)
    p = jnp.where(mask, jnp.exp2(s - lse[:, None]), 0.0)
    dv = dv + _dot(p.astype(do.dtype), do, trans_a=True)
    ds = p * (_dot(do, v, trans_b=True) - delta[:, None])
    dk = dk + _dot(ds.astype(q.dtype), q, trans_a=True)
    return dk, dv

  # Causal: query blocks that end before this key block starts see none of it.
  start = lax.div(start_k, block_q) if static.causal else 0
  zeros = jnp.zeros(dk_ref.shape, jnp.float32)
  dk, dv = lax.fori_loop(start, q_ref.shape[0] // block_q, body, (zeros, zeros))
  dk_ref[...] = (dk * static.scale).astype(dk_ref.dtype)
  dv_ref[...] = dv.astype(dv_ref.dtype)


def _backward_dkv(q, k, v, segments, d_out, lse, delta, static: _Static):
  """dk, dv per query head (float32 when GQA shares a kv head), then summed over each head group."""
  batch, length, heads, head_dim = q.shape
  kv_heads = k.shape[2]
  group = heads // kv_heads
  block_k = static.blocks.block_k_dkv
  q_full = pl.BlockSpec((None, length, None, head_dim), lambda j, b, h: (b, 0, h, 0))
  kv_tile = pl.BlockSpec((None, block_k, None, head_dim), lambda j, b, h: (b, j, h // group, 0))
  row_full = pl.BlockSpec((None, None, length), lambda j, b, h: (b, h, 0))
  out_tile = pl.BlockSpec((None, block_k, None, head_dim), lambda j, b, h: (b, j, h, 0))
  grad_dtype = k.dtype if group == 1 else jnp.float32
  dk, dv = pl.pallas_call(
      functools.partial(_dkv_kernel, static=static),
      grid=(length // block_k, batch, heads),
      in_specs=[q_full, kv_tile, kv_tile, pl.BlockSpec((None, length), lambda j, b, h: (b, 0)),
                q_full, row_full, row_full],
      out_specs=[out_tile, out_tile],
      out_shape=[jax.ShapeDtypeStruct(q.shape, grad_dtype)] * 2,
      compiler_params=_compiler_params(static, head_dim),
      interpret=static.interpret,
      name="codelaw_flash_dkv",
  )(q, k, v, segments, d_out, lse, delta)
  if group > 1:
    shape = (batch, length, kv_heads, group, head_dim)
    dk = dk.reshape(shape).sum(axis=3).astype(k.dtype)
    dv = dv.reshape(shape).sum(axis=3).astype(v.dtype)
  return dk, dv
