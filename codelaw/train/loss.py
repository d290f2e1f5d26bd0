"""The weighted next-token cross-entropy, from full logits or chunked over the vocabulary.

Both return `(sum of weight * -log p(target), sum of weights)` in float32, so losses over micro-batches,
devices and evaluation batches aggregate exactly.

The chunked form never materialises the `[batch, length, vocab]` float32 logits: the log-partition is an
online logsumexp over vocabulary chunks in a `lax.scan` whose body is rematerialised, so forward and
backward hold one `[batch, length, chunk]` block at a time. At a 1B model's 32k-50k vocabulary and 16k
tokens per device those logits alone are 2-3 GiB (and their gradient as much again).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def weighted_cross_entropy(
  logits_BxLxV: jax.Array, targets_BxL: jax.Array, weights_BxL: jax.Array
) -> tuple[jax.Array, jax.Array]:
  """(sum of weight * -log p(target), sum of weights) in float32, from full logits."""
  logits_BxLxV = logits_BxLxV.astype(jnp.float32)
  logz_BxL = jax.nn.logsumexp(logits_BxLxV, axis=-1)
  target_BxL = jnp.take_along_axis(logits_BxLxV, targets_BxL[..., None], axis=-1)[..., 0]
  weights_BxL = weights_BxL.astype(jnp.float32)
  return jnp.sum((logz_BxL - target_BxL) * weights_BxL), jnp.sum(weights_BxL)


def chunked_cross_entropy(
  hidden_BxLxD: jax.Array, head_VxD: jax.Array, targets_BxL: jax.Array, weights_BxL: jax.Array, chunk: int
) -> tuple[jax.Array, jax.Array]:
  """`weighted_cross_entropy(hidden @ head.T, ...)` computed `chunk` vocabulary entries at a time.

  Logits accumulate in float32 as the full-logit head does (`preferred_element_type`); a vocabulary that
  `chunk` does not divide is padded with masked entries.
  """
  vocab, d_model = head_VxD.shape
  n_chunks = -(-vocab // chunk)
  padded_VxD = jnp.pad(head_VxD, ((0, n_chunks * chunk - vocab), (0, 0)))
  head_NxCxD = padded_VxD.reshape(n_chunks, chunk, d_model)
  starts_N = jnp.arange(n_chunks, dtype=jnp.int32) * chunk

  @jax.checkpoint  # keep only the carry per chunk; the backward pass recomputes the chunk's logits
  def body(carry, xs):
    max_BxL, sum_BxL = carry
    head_CxD, start = xs
    logits_BxLxC = jnp.einsum("bld,cd->blc", hidden_BxLxD, head_CxD, preferred_element_type=jnp.float32)
    valid_C = start + jnp.arange(chunk) < vocab
    logits_BxLxC = jnp.where(valid_C, logits_BxLxC, -jnp.inf)
    # The running max only keeps exp() in range; logsumexp does not depend on it, so no gradient flows
    # through it (and none through the -inf of masked entries).
    new_max_BxL = jax.lax.stop_gradient(jnp.maximum(max_BxL, jnp.max(logits_BxLxC, axis=-1)))
    sum_BxL = sum_BxL * jnp.exp(max_BxL - new_max_BxL) + jnp.sum(
      jnp.exp(logits_BxLxC - new_max_BxL[..., None]), axis=-1
    )
    return (new_max_BxL, sum_BxL), None

  shape = targets_BxL.shape
  init = (jnp.full(shape, jnp.finfo(jnp.float32).min, jnp.float32), jnp.zeros(shape, jnp.float32))
  (max_BxL, sum_BxL), _ = jax.lax.scan(body, init, (head_NxCxD, starts_N))
  logz_BxL = max_BxL + jnp.log(sum_BxL)
  target_rows_BxLxD = jnp.take(head_VxD, targets_BxL, axis=0)
  target_BxL = jnp.einsum("bld,bld->bl", hidden_BxLxD, target_rows_BxLxD, preferred_element_type=jnp.float32)
  weights_BxL = weights_BxL.astype(jnp.float32)
  return jnp.sum((logz_BxL - target_BxL) * weights_BxL), jnp.sum(weights_BxL)
