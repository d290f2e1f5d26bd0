"""The one attention dispatch point of the model: every attention call in the decoder goes through here.

Layout: q `[batch, length, heads, head_dim]`, k and v `[batch, length, kv_heads, head_dim]` (GQA when
kv_heads < heads), segment ids `[batch, length]` with 0 for padding. Attention is causal and never crosses
segments, so packed documents stay independent.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from codelaw.errors import UserError

IMPLEMENTATIONS = ("xla",)


def attention(q_BxLxHxK: jax.Array, k_BxLxGxK: jax.Array, v_BxLxGxK: jax.Array, segment_ids_BxL: jax.Array, *,
              impl: str = "xla") -> jax.Array:
  """Causal, segment-masked multi-head attention; returns `[batch, length, heads, head_dim]` in q's dtype."""
  if impl == "xla":
    return xla_attention(q_BxLxHxK, k_BxLxGxK, v_BxLxGxK, segment_ids_BxL)
  raise UserError(f"model.attention = {impl!r}: expected one of {', '.join(IMPLEMENTATIONS)}")


def attention_mask(segment_ids_BxL: jax.Array) -> jax.Array:
  """`[batch, 1, length, length]` boolean mask: causal, same segment, and no padding (segment 0)."""
  length = segment_ids_BxL.shape[-1]
  causal_LxL = jnp.tril(jnp.ones((length, length), dtype=bool))
  same_BxLxL = segment_ids_BxL[:, :, None] == segment_ids_BxL[:, None, :]
  real_BxL = segment_ids_BxL != 0
  return (causal_LxL[None] & same_BxLxL & real_BxL[:, :, None])[:, None]


def xla_attention(q_BxLxHxK: jax.Array, k_BxLxGxK: jax.Array, v_BxLxGxK: jax.Array,
                  segment_ids_BxL: jax.Array) -> jax.Array:
  """Reference path: plain einsums with the softmax in float32."""
  heads, kv_heads = q_BxLxHxK.shape[2], k_BxLxGxK.shape[2]
  if heads % kv_heads:
    raise UserError(f"{heads} query heads cannot share {kv_heads} key/value heads")
  repeats = heads // kv_heads
  k_BxLxHxK = jnp.repeat(k_BxLxGxK, repeats, axis=2)
  v_BxLxHxK = jnp.repeat(v_BxLxGxK, repeats, axis=2)
  scale = q_BxLxHxK.shape[-1] ** -0.5
  logits_BxHxLxL = jnp.einsum("bqhk,bshk->bhqs", q_BxLxHxK, k_BxLxHxK).astype(jnp.float32) * scale
  mask = attention_mask(segment_ids_BxL)
  logits_BxHxLxL = jnp.where(mask, logits_BxHxLxL, jnp.finfo(jnp.float32).min)
  probs_BxHxLxL = jax.nn.softmax(logits_BxHxLxL, axis=-1)
  # Rows with no visible key (padding) would average everything; zero them instead.
  probs_BxHxLxL = jnp.where(mask, probs_BxHxLxL, 0.0)
  out = jnp.einsum("bhqs,bshk->bqhk", probs_BxHxLxL.astype(v_BxLxHxK.dtype), v_BxLxHxK)
  return out.astype(q_BxLxHxK.dtype)
