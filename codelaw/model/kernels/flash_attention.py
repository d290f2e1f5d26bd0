"""Causal, segment-masked flash attention (FlashAttention-2) written in Pallas, with a Pallas backward pass.

Layout follows the model: q `[batch, length, heads, head_dim]`, k/v `[batch, length, kv_heads, head_dim]`
(GQA: query head h reads kv head h // (heads // kv_heads)), segment ids `[batch, length]`, 0 = padding.
A query sees a key when it is not after it, both carry the same segment id, and that id is not 0; padding
rows (segment 0) return zeros and get zero gradients, exactly like the XLA reference path.

Three kernels, each over a grid of (block, batch, head), each with its own tiles, warps and stages
(`BlockSizes`):
- forward: one query block, loops over its key blocks, online softmax in float32; also writes the per-row
  log-sum-exp (base 2) for the backward pass.
- dk/dv: one key block, loops over its query blocks.
- dq: one query block, loops over its key blocks.
`delta = rowsum(dO * O)` is one fused XLA reduction between the two.

Work skipping. Before each kernel, one small XLA computation gives every outer block the range of inner
blocks that can hold a visible pair (`tile_ranges`): causal, and sharing a segment id range (block-level
[min, max] of the non-padding ids). With packed documents (contiguous runs of ids, as the pipeline writes
them) the range is exact, so tiles that only different documents share are never loaded; with arbitrary
ids it is conservative and the mask keeps the result exact. Inside the range, the mask (iota compares and
selects) is applied only to tiles on the diagonal or holding a segment boundary or padding; tiles inside
one document below the diagonal take the unmasked branch.

Shapes the blocks cannot tile are padded, never rejected: the sequence is padded with segment 0 (padded
keys are invisible to every real query, padded queries are discarded) to a multiple of the block sizes,
and a head_dim that is not a power of two (or below 16, Triton's smallest dot) is zero-padded (zero columns
change no logit). Blocks larger than the padded length shrink to it. Memory is linear in length.

The kernels use only the generic Pallas API (`pl.pallas_call`, `BlockSpec`, `pl.ds`, dot_general, cond)
so they lower through Triton on GPU and run anywhere with `interpret=True` (CPU tests).
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
  """Tile sizes (powers of two) and Triton launch parameters of the three kernels.

  `block_q`/`block_k`: forward; `block_q_dkv`/`block_k_dkv`: the dk/dv kernel; `block_q_dq`/`block_k_dq`:
  the dq kernel. `num_warps_*=None`: forward 4 for head_dim <= 64 else 8 (its 128-row query tile);
  dq and dk/dv 4 (64 x 64 tiles, FlashAttention-2's Triton choice). `benchmarks/attention.py
  --pallas-blocks` sweeps any of these fields.
  """

  block_q: int = 128
  block_k: int = 64
  block_q_dkv: int = 64
  block_k_dkv: int = 64
  block_q_dq: int = 64
  block_k_dq: int = 64
  num_warps_fwd: int | None = None
  num_stages_fwd: int = 2
  num_warps_dq: int | None = None
  num_stages_dq: int = 2
  num_warps_dkv: int | None = None
  num_stages_dkv: int = 2

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if field.name.startswith("block_") and (not isinstance(value, int) or value < MIN_BLOCK or value & (value - 1)):
        raise UserError(f"attention {field.name} = {value!r}: expected a power of two >= {MIN_BLOCK}")
      if field.name.startswith("num_") and value is not None and (not isinstance(value, int) or value < 1):
        raise UserError(f"attention {field.name} = {value!r}: expected a positive integer")

  def fitted(self, length: int) -> "BlockSizes":
    """Blocks no longer than `length` rounded up to a power of two (short sequences use one block)."""
    cap = max(MIN_BLOCK, pl.next_power_of_2(length))
    return dataclasses.replace(
      self, **{f.name: min(getattr(self, f.name), cap) for f in dataclasses.fields(self) if f.name.startswith("block_")}
    )

  @property
  def largest(self) -> int:
    return max(getattr(self, f.name) for f in dataclasses.fields(self) if f.name.startswith("block_"))

  def tiles(self, kernel: str) -> tuple[int, int]:
    """(outer, inner) block of `kernel` ("fwd", "dq" or "dkv"); only dk/dv's outer block is a key block."""
    return {
      "fwd": (self.block_q, self.block_k),
      "dq": (self.block_q_dq, self.block_k_dq),
      "dkv": (self.block_k_dkv, self.block_q_dkv),
    }[kernel]

  def compiler_params(self, kernel: str, head_dim: int):
    """Triton launch parameters of `kernel` ("fwd", "dq" or "dkv")."""
    warps = getattr(self, f"num_warps_{kernel}")
    if warps is None:
      warps = 4 if kernel != "fwd" or head_dim <= 64 else 8
    return plgpu.CompilerParams(num_warps=warps, num_stages=getattr(self, f"num_stages_{kernel}"))


@dataclasses.dataclass(frozen=True)
class _Static:
  """Everything static about one call (hashable: it is a nondiff argument of the custom VJP)."""

  scale: float
  causal: bool
  blocks: BlockSizes
  interpret: bool


def flash_attention(
  q_BxLxHxK: jax.Array,
  k_BxLxGxK: jax.Array,
  v_BxLxGxK: jax.Array,
  segment_ids_BxL: jax.Array,
  *,
  block_sizes: BlockSizes | None = None,
  causal: bool = True,
  scale: float | None = None,
  interpret: bool = False,
) -> jax.Array:
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
    raise UserError(
      f"pallas attention: q/k/v dtypes {dtype}/{k_BxLxGxK.dtype}/{v_BxLxGxK.dtype}: "
      "expected one shared dtype of float32, bfloat16, float16"
    )
  static = _Static(
    scale=float(head_dim**-0.5 if scale is None else scale),
    causal=causal,
    blocks=(block_sizes or BlockSizes()).fitted(length),
    interpret=interpret,
  )

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


def _dot(a, b, *, trans_a=False, trans_b=False):
  """Float32-accumulating matmul of two tiles; float32 tiles multiply at full precision."""
  precision = lax.Precision.HIGHEST if a.dtype == jnp.float32 else None
  return lax.dot_general(
    a,
    b,
    (((0 if trans_a else 1,), (1 if trans_b else 0,)), ((), ())),
    precision=precision,
    preferred_element_type=jnp.float32,
  )


def _visible(seg_q, seg_k, start_q, start_k, causal: bool):
  """`[block_q, block_k]` mask: same non-padding segment and (if causal) key not after query."""
  mask = (seg_q[:, None] == seg_k[None, :]) & (seg_q[:, None] != 0)
  if causal:
    pos_q = start_q + lax.broadcasted_iota(jnp.int32, (seg_q.shape[0], seg_k.shape[0]), 0)
    pos_k = start_k + lax.broadcasted_iota(jnp.int32, (seg_q.shape[0], seg_k.shape[0]), 1)
    mask = mask & (pos_q >= pos_k)
  return mask


def _one_segment(seg):
  """Whether a block holds a single non-padding segment (then the mask within it is causal only)."""
  low = jnp.min(seg)
  return (low == jnp.max(seg)) & (low != 0), low


def _needs_mask(q_info, k_info, start_q, start_k, block_k: int, causal: bool):
  """False for tiles inside one document and (if causal) entirely below the diagonal: every pair visible.

  `q_info`/`k_info`: `_one_segment` of the tile's query and key blocks (the outer one is computed once).
  """
  (q_one, q_id), (k_one, k_id) = q_info, k_info
  inside = q_one & k_one & (q_id == k_id)
  if causal:
    inside = inside & (start_k + block_k - 1 <= start_q)
  return jnp.logical_not(inside)


def _block_id_range(segments_BxL, block: int):
  """Per block, the smallest and largest non-padding segment id (empty blocks: max-int, min-int)."""
  batch, length = segments_BxL.shape
  seg = segments_BxL.reshape(batch, length // block, block)
  real = seg != 0
  info = jnp.iinfo(jnp.int32)
  return jnp.min(jnp.where(real, seg, info.max), axis=-1), jnp.max(jnp.where(real, seg, info.min), axis=-1)


def tile_ranges(
  segments_BxL: jax.Array, block_outer: int, block_inner: int, *, causal: bool, outer_is_query: bool
) -> tuple[jax.Array, jax.Array]:
  """For each outer block, `[start, stop)` of the inner blocks a kernel must visit, `[batch, n_outer]` each.

  An (outer, inner) tile is visited when the two blocks' non-padding id ranges overlap and, if causal,
  some query is not before some key. Rows of the result are padded to a power of two (Triton vectors).
  """
  batch, length = segments_BxL.shape
  n_outer, n_inner = length // block_outer, length // block_inner
  lo_o, hi_o = _block_id_range(segments_BxL, block_outer)
  lo_i, hi_i = _block_id_range(segments_BxL, block_inner)
  live = (lo_o[:, :, None] <= hi_i[:, None, :]) & (lo_i[:, None, :] <= hi_o[:, :, None])
  if causal:
    outer, inner = jnp.arange(n_outer)[:, None], jnp.arange(n_inner)[None, :]
    if outer_is_query:  # the inner key block starts at or before the outer query block's last row
      live &= inner * block_inner <= (outer + 1) * block_outer - 1
    else:  # the inner query block ends at or after the outer key block's first row
      live &= (inner + 1) * block_inner - 1 >= outer * block_outer
  any_live = jnp.any(live, axis=-1)
  start = jnp.where(any_live, jnp.argmax(live, axis=-1), 0)
  stop = jnp.where(any_live, n_inner - jnp.argmax(live[..., ::-1], axis=-1), 0)
  pad = ((0, 0), (0, pl.next_power_of_2(n_outer) - n_outer))
  return jnp.pad(start.astype(jnp.int32), pad), jnp.pad(stop.astype(jnp.int32), pad)


def _per_row_spec(n: int):
  """The whole `[batch, n]` row of the grid's batch element: segment ids, tile ranges."""
  return pl.BlockSpec((None, n), lambda i, b, h: (b, 0))


def _kernel_call(kernel, name: str, static: _Static, operands, specs, out_specs, out_shape):
  """Kernel `name` ("fwd", "dq" or "dkv") over its (outer block, batch, head) grid, skipping dead tiles.

  `operands`: q, k, v, segments, then for the backward kernels d_out, lse, delta; `specs` = (q, kv, row)
  BlockSpecs they are read through (d_out like q, lse and delta by row). Every kernel also reads its outer
  block's [start, stop) of inner blocks (`tile_ranges`).
  """
  q, segments = operands[0], operands[3]
  batch, length, heads, head_dim = q.shape
  outer, inner = static.blocks.tiles(name)
  start, stop = tile_ranges(segments, outer, inner, causal=static.causal, outer_is_query=name != "dkv")
  q_spec, kv_spec, row_spec = specs
  grad_specs = [q_spec, row_spec, row_spec] if len(operands) > 4 else []
  return pl.pallas_call(
    functools.partial(kernel, static=static),
    grid=(length // outer, batch, heads),
    in_specs=[q_spec, kv_spec, kv_spec, _per_row_spec(length), *grad_specs]
    + [_per_row_spec(start.shape[1]), _per_row_spec(stop.shape[1])],
    out_specs=out_specs,
    out_shape=out_shape,
    compiler_params=static.blocks.compiler_params(name, head_dim),
    interpret=static.interpret,
    name=f"codelaw_flash_{name}",
  )(*operands, start, stop)


def _query_tiled_specs(q, k, block_q: int):
  """Specs of a kernel whose outer block is a query block: q tile, full k/v of its kv head, per-row tile."""
  _, length, heads, head_dim = q.shape
  group = heads // k.shape[2]
  q_tile = pl.BlockSpec((None, block_q, None, head_dim), lambda i, b, h: (b, i, h, 0))
  kv_full = pl.BlockSpec((None, length, None, head_dim), lambda i, b, h: (b, 0, h // group, 0))
  row_tile = pl.BlockSpec((None, None, block_q), lambda i, b, h: (b, h, i))
  return q_tile, kv_full, row_tile


def _at(row, index):
  """`row[index]` for a dynamic index, as a vector select + sum (plain Triton vector ops)."""
  return jnp.sum(jnp.where(lax.broadcasted_iota(jnp.int32, row.shape, 0) == index, row, 0))


def _scaled_scores(q, k, static: _Static):
  return _dot(q, k, trans_b=True) * (static.scale * LOG2E)


def _forward_kernel(q_ref, k_ref, v_ref, seg_ref, start_ref, stop_ref, o_ref, lse_ref, *, static: _Static):
  block_q, block_k = o_ref.shape[0], static.blocks.block_k
  i = pl.program_id(0)
  start_q = i * block_q
  q = q_ref[...]
  seg_q = seg_ref[pl.ds(start_q, block_q)]
  q_info = _one_segment(seg_q)

  def body(j, carry):
    acc, m, l = carry
    start_k = j * block_k
    k = k_ref[pl.ds(start_k, block_k), :]
    v = v_ref[pl.ds(start_k, block_k), :]
    seg_k = seg_ref[pl.ds(start_k, block_k)]
    s = _scaled_scores(q, k, static)

    def unmasked(s):
      m_new = jnp.maximum(m, jnp.max(s, axis=1))
      return m_new, jnp.exp2(s - m_new[:, None])

    def masked(s):
      mask = _visible(seg_q, seg_k, start_q, start_k, static.causal)
      s = jnp.where(mask, s, MASK_VALUE)
      m_new = jnp.maximum(m, jnp.max(s, axis=1))
      # Rows that have seen nothing yet have m_new = MASK_VALUE: the select keeps their p at 0, not 1.
      return m_new, jnp.where(mask, jnp.exp2(s - m_new[:, None]), 0.0)

    needs_mask = _needs_mask(q_info, _one_segment(seg_k), start_q, start_k, block_k, static.causal)
    m_new, p = lax.cond(needs_mask, masked, unmasked, s)
    correction = jnp.exp2(m - m_new)
    l = l * correction + jnp.sum(p, axis=1)
    acc = acc * correction[:, None] + _dot(p.astype(v.dtype), v)
    return acc, m_new, l

  init = (
    jnp.zeros(o_ref.shape, jnp.float32),
    jnp.full((block_q,), MASK_VALUE, jnp.float32),
    jnp.zeros((block_q,), jnp.float32),
  )
  acc, m, l = lax.fori_loop(_at(start_ref[...], i), _at(stop_ref[...], i), body, init)
  # Padding rows see no key (l = 0): output 0; their lse is never used (their mask is all False).
  l_safe = jnp.where(l == 0.0, 1.0, l)
  o_ref[...] = (acc / l_safe[:, None]).astype(o_ref.dtype)
  lse_ref[...] = m + jnp.log2(l_safe)


def _forward(q, k, v, segments, static: _Static):
  batch, length, heads, _ = q.shape
  q_tile, kv_full, row_tile = _query_tiled_specs(q, k, static.blocks.block_q)
  specs, out_specs = (q_tile, kv_full, row_tile), [q_tile, row_tile]  # the output like q, lse by row
  out_shape = [jax.ShapeDtypeStruct(q.shape, q.dtype), jax.ShapeDtypeStruct((batch, heads, length), jnp.float32)]
  return _kernel_call(_forward_kernel, "fwd", static, (q, k, v, segments), specs, out_specs, out_shape)


def _probs(s, lse, seg_q, seg_k, q_info, k_info, start_q, start_k, static: _Static):
  """The tile's softmax probabilities from the saved log-sum-exp, masked only where the tile needs it."""

  def unmasked(s):
    return jnp.exp2(s - lse[:, None])

  def masked(s):
    mask = _visible(seg_q, seg_k, start_q, start_k, static.causal)
    return jnp.where(mask, jnp.exp2(jnp.where(mask, s, MASK_VALUE) - lse[:, None]), 0.0)

  needs_mask = _needs_mask(q_info, k_info, start_q, start_k, seg_k.shape[0], static.causal)
  return lax.cond(needs_mask, masked, unmasked, s)


def _dq_kernel(
  q_ref, k_ref, v_ref, seg_ref, do_ref, lse_ref, delta_ref, start_ref, stop_ref, dq_ref, *, static: _Static
):
  block_q, block_k = dq_ref.shape[0], static.blocks.block_k_dq
  i = pl.program_id(0)
  start_q = i * block_q
  q, do = q_ref[...], do_ref[...]
  lse, delta = lse_ref[...], delta_ref[...]
  seg_q = seg_ref[pl.ds(start_q, block_q)]
  q_info = _one_segment(seg_q)

  def body(j, dq):
    start_k = j * block_k
    k = k_ref[pl.ds(start_k, block_k), :]
    v = v_ref[pl.ds(start_k, block_k), :]
    seg_k = seg_ref[pl.ds(start_k, block_k)]
    p = _probs(_scaled_scores(q, k, static), lse, seg_q, seg_k, q_info, _one_segment(seg_k), start_q, start_k, static)
    ds = p * (_dot(do, v, trans_b=True) - delta[:, None])
    return dq + _dot(ds.astype(k.dtype), k)

  dq = lax.fori_loop(_at(start_ref[...], i), _at(stop_ref[...], i), body, jnp.zeros(dq_ref.shape, jnp.float32))
  dq_ref[...] = (dq * static.scale).astype(dq_ref.dtype)


def _backward_dq(q, k, v, segments, d_out, lse, delta, static: _Static):
  specs = _query_tiled_specs(q, k, static.blocks.block_q_dq)
  operands = (q, k, v, segments, d_out, lse, delta)
  return _kernel_call(_dq_kernel, "dq", static, operands, specs, specs[0], jax.ShapeDtypeStruct(q.shape, q.dtype))


def _dkv_kernel(
  q_ref, k_ref, v_ref, seg_ref, do_ref, lse_ref, delta_ref, start_ref, stop_ref, dk_ref, dv_ref, *, static: _Static
):
  block_k, block_q = dk_ref.shape[0], static.blocks.block_q_dkv
  j = pl.program_id(0)
  start_k = j * block_k
  k, v = k_ref[...], v_ref[...]
  seg_k = seg_ref[pl.ds(start_k, block_k)]
  k_info = _one_segment(seg_k)

  def body(i, carry):
    dk, dv = carry
    start_q = i * block_q
    q = q_ref[pl.ds(start_q, block_q), :]
    do = do_ref[pl.ds(start_q, block_q), :]
    lse = lse_ref[pl.ds(start_q, block_q)]
    delta = delta_ref[pl.ds(start_q, block_q)]
    seg_q = seg_ref[pl.ds(start_q, block_q)]
    p = _probs(_scaled_scores(q, k, static), lse, seg_q, seg_k, _one_segment(seg_q), k_info, start_q, start_k, static)
    dv = dv + _dot(p.astype(do.dtype), do, trans_a=True)
    ds = p * (_dot(do, v, trans_b=True) - delta[:, None])
    dk = dk + _dot(ds.astype(q.dtype), q, trans_a=True)
    return dk, dv

  zeros = jnp.zeros(dk_ref.shape, jnp.float32)
  dk, dv = lax.fori_loop(_at(start_ref[...], j), _at(stop_ref[...], j), body, (zeros, zeros))
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
  out_shape = [jax.ShapeDtypeStruct(q.shape, k.dtype if group == 1 else jnp.float32)] * 2
  operands = (q, k, v, segments, d_out, lse, delta)
  dk, dv = _kernel_call(_dkv_kernel, "dkv", static, operands, (q_full, kv_tile, row_full), [out_tile] * 2, out_shape)
  if group > 1:
    shape = (batch, length, kv_heads, group, head_dim)
    dk = dk.reshape(shape).sum(axis=3).astype(k.dtype)
    dv = dv.reshape(shape).sum(axis=3).astype(v.dtype)
  return dk, dv
