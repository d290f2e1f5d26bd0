"""The LLaMA-2 style decoder (Flax NNX): embeddings, pre-norm blocks, final RMSNorm, (tied) output head.

`Decoder.__call__` is the training forward pass over packed batches; `init_cache` + `decode` run the same
weights incrementally with a KV cache for generation (prefill the prompt, then one token per call).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from codelaw.model.config import ModelConfig
from codelaw.model.layers import RESIDUAL_AXES, Block, RMSNorm, constrain, fan_in_init, param

# Small embedding init: with tied embeddings the same matrix is the output head.
EMBED_STDDEV = 0.02


class Decoder(nnx.Module):
  def __init__(self, cfg: ModelConfig, *, rngs: nnx.Rngs):
    self.cfg = cfg
    self.embed = param(rngs, nnx.initializers.normal(EMBED_STDDEV), (cfg.vocab_size, cfg.d_model), ("vocab", "embed"))
    self.blocks = nnx.List([Block(cfg, rngs=rngs) for _ in range(cfg.n_layers)])
    self.final_norm = RMSNorm(cfg.d_model, cfg.norm_eps, rngs=rngs)
    if not cfg.tie_embeddings:
      self.unembed = param(rngs, fan_in_init(cfg.d_model), (cfg.d_model, cfg.vocab_size), ("embed", "vocab"))

  @property
  def compute_dtype(self):
    return jnp.dtype(self.cfg.dtype)

  def _embed(self, inputs_BxL: jax.Array) -> jax.Array:
    # FSDP: gather the table's embed dimension first, so the lookup lands batch-split like the residual.
    table_VxD = constrain(self.embed[...], ("vocab", None))
    return jnp.take(table_VxD, inputs_BxL, axis=0).astype(self.compute_dtype)

  def head_VxD(self) -> jax.Array:
    """The output head `[vocab, d_model]` in the compute dtype (the embedding table when tied)."""
    head = self.embed[...] if self.cfg.tie_embeddings else self.unembed[...].T
    return head.astype(self.compute_dtype)

  def _logits(self, x_BxLxD: jax.Array) -> jax.Array:
    return jnp.einsum("bld,vd->blv", self.final_norm(x_BxLxD), self.head_VxD(), preferred_element_type=jnp.float32)

  def hidden(self, inputs_BxL: jax.Array, positions_BxL: jax.Array, segment_ids_BxL: jax.Array) -> jax.Array:
    """The final-normed hidden states `[batch, length, d_model]` the head maps to logits; a loss that never
    materialises the full logits (chunked cross-entropy) starts here."""
    x_BxLxD = constrain(self._embed(inputs_BxL), RESIDUAL_AXES)
    for block in self.blocks:
      x_BxLxD = block(x_BxLxD, positions_BxL, segment_ids_BxL)
    return self.final_norm(x_BxLxD)

  def __call__(self, inputs_BxL: jax.Array, positions_BxL: jax.Array, segment_ids_BxL: jax.Array) -> jax.Array:
    """Float32 next-token logits `[batch, length, vocab]` of a packed batch (segment 0 = padding)."""
    x_BxLxD = self.hidden(inputs_BxL, positions_BxL, segment_ids_BxL)
    return jnp.einsum("bld,vd->blv", x_BxLxD, self.head_VxD(), preferred_element_type=jnp.float32)

  def init_cache(self, batch_size: int, max_len: int) -> dict:
    """An empty KV cache for `batch_size` sequences of up to `max_len` tokens (prompt included)."""
    cfg = self.cfg
    shape = (batch_size, max_len, cfg.n_kv_heads, cfg.head_dim)
    return {
      "index": jnp.zeros((), jnp.int32),
      "valid": jnp.zeros((batch_size, max_len), bool),
      "layers": [
        {"k": jnp.zeros(shape, self.compute_dtype), "v": jnp.zeros(shape, self.compute_dtype)}
        for _ in range(cfg.n_layers)
      ],
    }

  def decode(
    self, inputs_BxT: jax.Array, positions_BxT: jax.Array, valid_BxT: jax.Array, cache: dict
  ) -> tuple[jax.Array, dict]:
    """Runs T new tokens through the model with the cache; returns their float32 logits and the new cache.

    Tokens with `valid` False (left padding of shorter prompts) are written but never attended to.
    """
    index = cache["index"]
    valid_BxS = jax.lax.dynamic_update_slice_in_dim(cache["valid"], valid_BxT, index, 1)
    x_BxTxD = self._embed(inputs_BxT)
    layers = []
    for block, layer_cache in zip(self.blocks, cache["layers"]):
      x_BxTxD, layer_cache = block.decode(x_BxTxD, positions_BxT, dict(layer_cache, index=index, valid=valid_BxS))
      layers.append({"k": layer_cache["k"], "v": layer_cache["v"]})
    new_cache = {"index": index + inputs_BxT.shape[1], "valid": valid_BxS, "layers": layers}
    return self._logits(x_BxTxD), new_cache


def init_params(cfg: ModelConfig, key: jax.Array) -> dict:
  """Freshly initialised parameters as a pure dict (call under jit; the trainer adds shardings)."""
  with nnx.use_eager_sharding(False):
    model = Decoder(cfg, rngs=nnx.Rngs(params=key))
  return nnx.state(model, nnx.Param).to_pure_dict()


def build(cfg: ModelConfig, seed: int = 0) -> Decoder:
  """A freshly initialised decoder on the default device (no mesh): for generation and tests.

  Parameters are drawn in one jitted call from an RBG key, as `train.step.init_train_state` does, so a
  model built here equals the one a training run starts from with the same seed.
  """
  with nnx.use_eager_sharding(False):
    graphdef, abstract = nnx.split(nnx.eval_shape(lambda: Decoder(cfg, rngs=nnx.Rngs(params=0))))
  params = jax.jit(lambda s: init_params(cfg, jax.random.key(s, impl="rbg")))(seed)
  nnx.replace_by_pure_dict(abstract, params)
  return nnx.merge(graphdef, abstract)
