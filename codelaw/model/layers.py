"""Decoder building blocks: RMSNorm, rotary embeddings, SwiGLU MLP, and (GQA) attention with a KV cache.

Every parameter is float32 and carries logical axis names (`out_sharding` metadata) that
`codelaw.model.sharding.LOGICAL_RULES` maps onto the device mesh. Computation runs in `cfg.dtype`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from codelaw.model import sharding
from codelaw.model.attention import attention, decode_attention
from codelaw.model.config import ModelConfig

# The residual stream is split over the batch only (parameters, not activations, carry fsdp/tensor).
RESIDUAL_AXES = ("batch", "length", None)


def param(rngs: nnx.Rngs, init, shape: tuple[int, ...], logical_axes: tuple[str | None, ...]) -> nnx.Param:
  """A float32 parameter annotated with its logical axes."""
  return nnx.Param(init(rngs.params(), shape, jnp.float32), out_sharding=logical_axes)


def constrain(x: jax.Array, logical_axes: tuple[str | None, ...]) -> jax.Array:
  """Pins an activation's sharding under the mesh of the surrounding `jax.set_mesh` (no-op without one)."""
  mesh = sharding.current_mesh()
  if mesh is None:
    return x
  return jax.lax.with_sharding_constraint(x, sharding.logical_to_spec(logical_axes, x.shape, mesh))


def project(x: jax.Array, w: jax.Array, n_in: int = 1, **dot_kwargs) -> jax.Array:
  """The last `n_in` dims of `x` contracted with the first `n_in` of `w`, as one 2-D matmul over all tokens.

  The same product as the einsum, shaped so its weight gradient is a plain [tokens, in] x [tokens, out]
  contraction. Left as an einsum over [batch, length, ...], the gradient contracts two dims at once and
  XLA:CPU rewrites it with a transposed copy of the (large) output gradient: flattening first makes the
  SwiGLU MLP's forward and backward pass 1.4x (cpu-5m) to 1.9x (cpu-200k) faster on CPU (BENCHMARKS.md).
  """
  lead, contracted, out = x.shape[: x.ndim - n_in], x.shape[x.ndim - n_in :], w.shape[n_in:]
  size = math.prod(contracted)
  y = jnp.dot(x.reshape(-1, size), w.reshape(size, -1), **dot_kwargs)
  return y.reshape(*lead, *out)


def fan_in_init(fan_in: int, scale: float = 1.0):
  return nnx.initializers.truncated_normal(stddev=scale * fan_in**-0.5)


class RMSNorm(nnx.Module):
  def __init__(self, dim: int, eps: float, *, rngs: nnx.Rngs):
    self.scale = param(rngs, nnx.initializers.ones, (dim,), ("norm",))
    self.eps = eps

  def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
    # Statistics in float32 even when computing in bfloat16: a bf16 mean of squares over d_model loses
    # about 3 significant bits. The float32 copy lives only inside the fused reduction (the output and,
    # under remat, what is saved for the backward pass are in the compute dtype).
    x32 = x_BxLxD.astype(jnp.float32)
    normed = x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + self.eps)
    return (normed * self.scale[...]).astype(x_BxLxD.dtype)


def apply_rope(x_BxLxHxK: jax.Array, positions_BxL: jax.Array, theta: float) -> jax.Array:
  """Rotary embedding (rotate-half layout). Positions restart per packed document, so RoPE does too.

  Angles, sines and cosines are float32 (bf16 rounds an angle near 2000 by up to 4 radians); the rotation
  itself runs in x's dtype, which rounds each output once, like the projection that produced x.
  """
  half = x_BxLxHxK.shape[-1] // 2
  inv_freq = theta ** (-jnp.arange(half, dtype=jnp.float32) / half)
  angle_BxLx1xK2 = positions_BxL.astype(jnp.float32)[:, :, None, None] * inv_freq
  sin = jnp.sin(angle_BxLx1xK2).astype(x_BxLxHxK.dtype)
  cos = jnp.cos(angle_BxLx1xK2).astype(x_BxLxHxK.dtype)
  x1, x2 = jnp.split(x_BxLxHxK, 2, axis=-1)
  return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


class Mlp(nnx.Module):
  """SwiGLU: down(silu(gate(x)) * up(x))."""

  def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
    d, f = cfg.d_model, cfg.d_ff
    self.w_gate = param(rngs, fan_in_init(d), (d, f), ("embed", "mlp"))
    self.w_up = param(rngs, fan_in_init(d), (d, f), ("embed", "mlp"))
    # Residual-branch outputs are scaled down with depth (GPT-2 style) for a stable start.
    self.w_down = param(rngs, fan_in_init(f, (2 * cfg.n_layers) ** -0.5), (f, d), ("mlp", "embed"))

  def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
    dtype = x_BxLxD.dtype
    gate_BxLxF = project(x_BxLxD, self.w_gate[...].astype(dtype))
    up_BxLxF = project(x_BxLxD, self.w_up[...].astype(dtype))
    return project(jax.nn.silu(gate_BxLxF) * up_BxLxF, self.w_down[...].astype(dtype))


class Attention(nnx.Module):
  def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
    d, h, g, k = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
    self.cfg = cfg
    self.wq = param(rngs, fan_in_init(d), (d, h, k), ("embed", "heads", "head_dim"))
    self.wk = param(rngs, fan_in_init(d), (d, g, k), ("embed", "kv_heads", "head_dim"))
    self.wv = param(rngs, fan_in_init(d), (d, g, k), ("embed", "kv_heads", "head_dim"))
    self.wo = param(rngs, fan_in_init(h * k, (2 * cfg.n_layers) ** -0.5), (h, k, d), ("heads", "head_dim", "embed"))

  def _qkv(self, x_BxLxD: jax.Array, positions_BxL: jax.Array):
    dtype, theta = x_BxLxD.dtype, self.cfg.rope_theta
    q_BxLxHxK = project(x_BxLxD, self.wq[...].astype(dtype))
    k_BxLxGxK = project(x_BxLxD, self.wk[...].astype(dtype))
    v_BxLxGxK = project(x_BxLxD, self.wv[...].astype(dtype))
    return apply_rope(q_BxLxHxK, positions_BxL, theta), apply_rope(k_BxLxGxK, positions_BxL, theta), v_BxLxGxK

  def _out(self, o_BxLxHxK: jax.Array) -> jax.Array:
    return project(o_BxLxHxK, self.wo[...].astype(o_BxLxHxK.dtype), n_in=2)

  def __call__(self, x_BxLxD: jax.Array, positions_BxL: jax.Array, segment_ids_BxL: jax.Array) -> jax.Array:
    q, k, v = self._qkv(x_BxLxD, positions_BxL)
    return self._out(attention(q, k, v, segment_ids_BxL, impl=self.cfg.attention))

  def decode(self, x_BxTxD: jax.Array, positions_BxT: jax.Array, cache: dict) -> tuple[jax.Array, dict]:
    """Attention of T new tokens written at cache slots [index, index+T) over every filled slot.

    `cache` holds k/v `[batch, slots, kv_heads, head_dim]`, `valid [batch, slots]` (False for left padding
    and unfilled slots; already updated for the new tokens) and the write `index`.
    """
    q_BxTxHxK, k_BxTxGxK, v_BxTxGxK = self._qkv(x_BxTxD, positions_BxT)
    index = cache["index"]
    k_BxSxGxK = jax.lax.dynamic_update_slice_in_dim(cache["k"], k_BxTxGxK.astype(cache["k"].dtype), index, 1)
    v_BxSxGxK = jax.lax.dynamic_update_slice_in_dim(cache["v"], v_BxTxGxK.astype(cache["v"].dtype), index, 1)
    t, s = q_BxTxHxK.shape[1], k_BxSxGxK.shape[1]
    query_slot_T = index + jnp.arange(t)
    visible_BxTxS = cache["valid"][:, None, :] & (jnp.arange(s)[None, :] <= query_slot_T[:, None])[None]
    o_BxTxHxK = decode_attention(q_BxTxHxK, k_BxSxGxK, v_BxSxGxK, visible_BxTxS)
    return self._out(o_BxTxHxK), dict(cache, k=k_BxSxGxK, v=v_BxSxGxK)


# What a rematerialised block keeps for the backward pass (`ModelConfig.remat`). "dots": the outputs of
# the weight matmuls (no batch dimension in the dot), so norms, RoPE, SwiGLU and attention are recomputed;
# "full": only the block's input, the whole block is recomputed.
REMAT_POLICIES = {
  "full": jax.checkpoint_policies.nothing_saveable,
  "dots": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
}


class Block(nnx.Module):
  """Pre-norm transformer block: x + attn(norm(x)), then x + mlp(norm(x)); rematerialised per `cfg.remat`."""

  def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
    self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps, rngs=rngs)
    self.attn = Attention(cfg, rngs=rngs)
    self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps, rngs=rngs)
    self.mlp = Mlp(cfg, rngs=rngs)
    self.remat = cfg.remat

  def __call__(self, x_BxLxD: jax.Array, positions_BxL: jax.Array, segment_ids_BxL: jax.Array) -> jax.Array:
    if self.remat == "none":
      return self._forward(x_BxLxD, positions_BxL, segment_ids_BxL)
    forward = nnx.remat(Block._forward, policy=REMAT_POLICIES[self.remat])
    return forward(self, x_BxLxD, positions_BxL, segment_ids_BxL)

  def _forward(self, x_BxLxD: jax.Array, positions_BxL: jax.Array, segment_ids_BxL: jax.Array) -> jax.Array:
    x_BxLxD = constrain(x_BxLxD + self.attn(self.attn_norm(x_BxLxD), positions_BxL, segment_ids_BxL), RESIDUAL_AXES)
    return constrain(x_BxLxD + self.mlp(self.mlp_norm(x_BxLxD)), RESIDUAL_AXES)

  def decode(self, x_BxTxD: jax.Array, positions_BxT: jax.Array, cache: dict) -> tuple[jax.Array, dict]:
    attn_BxTxD, cache = self.attn.decode(self.attn_norm(x_BxTxD), positions_BxT, cache)
    x_BxTxD = x_BxTxD + attn_BxTxD
    return x_BxTxD + self.mlp(self.mlp_norm(x_BxTxD)), cache
