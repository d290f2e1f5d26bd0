"""Batched sampling with a KV cache: prefill the (left-padded) prompts, then one token per jitted step.

Greedy (temperature 0), temperature and nucleus (top-p) sampling; every sequence stops on its own at the
end-of-sequence id, at any of its stop strings (checked on the decoded text), or after `max_new_tokens`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from codelaw.errors import UserError
from codelaw.model.config import ModelConfig
from codelaw.model.decoder import Decoder
from codelaw.train.step import abstract_decoder

# Prompt lengths are padded up to a multiple of this so a batch of prompts compiles the prefill only once
# or a few times, not once per length.
PREFILL_BUCKET = 32


@dataclasses.dataclass
class Generation:
  """Per sequence: generated token ids (stop tokens excluded) and, when asked for, each step's logits."""

  tokens: list[list[int]]
  logits: list[np.ndarray] | None = None  # per sequence [n_generated, vocab]


def load_decoder(model_cfg: ModelConfig, params: dict) -> Decoder:
  """A Decoder carrying trained `params` (the pure-dict tree of `TrainState.params`)."""
  graphdef, abstract = abstract_decoder(model_cfg)
  nnx.replace_by_pure_dict(abstract, jax.device_get(params))
  return nnx.merge(graphdef, abstract)


def _sample(logits_BxV: jax.Array, key: jax.Array, temperature: float, top_p: float) -> jax.Array:
  if temperature == 0.0:
    return jnp.argmax(logits_BxV, axis=-1).astype(jnp.int32)
  logits_BxV = logits_BxV / temperature
  if top_p < 1.0:
    sorted_BxV = jnp.sort(logits_BxV, axis=-1)[:, ::-1]
    probs_BxV = jax.nn.softmax(sorted_BxV, axis=-1)
    # Keep the smallest prefix whose mass reaches top_p (the most likely token always survives).
    mass_before_BxV = jnp.cumsum(probs_BxV, axis=-1) - probs_BxV
    kept = jnp.sum(mass_before_BxV < top_p, axis=-1)
    threshold_B = jnp.take_along_axis(sorted_BxV, (kept - 1)[:, None], axis=-1)
    logits_BxV = jnp.where(logits_BxV < threshold_B, -jnp.inf, logits_BxV)
  return jax.random.categorical(key, logits_BxV, axis=-1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("graphdef", "temperature", "top_p"), donate_argnames=("cache",))
def _decode(graphdef, state, inputs_BxT, positions_BxT, valid_BxT, cache, key, temperature, top_p):
  model = nnx.merge(graphdef, state)
  logits_BxTxV, cache = model.decode(inputs_BxT, positions_BxT, valid_BxT, cache)
  last_BxV = logits_BxTxV[:, -1]
  return _sample(last_BxV, key, temperature, top_p), last_BxV, cache


def generate_tokens(
  model: Decoder,
  prompts: Sequence[Sequence[int]],
  *,
  max_new_tokens: int,
  temperature: float = 0.0,
  top_p: float = 1.0,
  seed: int = 0,
  eos_id: int | None = None,
  should_stop: Callable[[int, list[int]], bool] | None = None,
  return_logits: bool = False,
) -> Generation:
  """Samples continuations of token-id prompts; `should_stop(i, generated_ids)` ends sequence i early."""
  if not prompts or any(len(p) == 0 for p in prompts):
    raise UserError("generation needs at least one prompt, each with at least one token")
  if max_new_tokens < 1:
    raise UserError(f"max_new_tokens = {max_new_tokens}: expected >= 1")
  if temperature < 0 or not 0 < top_p <= 1:
    raise UserError(f"temperature = {temperature}, top_p = {top_p}: expected temperature >= 0, 0 < top_p <= 1")
  batch = len(prompts)
  prompt_len = -(-max(len(p) for p in prompts) // PREFILL_BUCKET) * PREFILL_BUCKET
  inputs = np.zeros((batch, prompt_len), np.int32)
  valid = np.zeros((batch, prompt_len), bool)
  for i, p in enumerate(prompts):  # left padding: every prompt ends at the same slot
    inputs[i, prompt_len - len(p) :] = p
    valid[i, prompt_len - len(p) :] = True
  positions = np.maximum(np.cumsum(valid, axis=1) - 1, 0).astype(np.int32)
  next_position = positions[:, -1] + 1

  graphdef, state = nnx.split(model)
  cache = model.init_cache(batch, prompt_len + max_new_tokens)
  key = jax.random.key(seed)
  key, step_key = jax.random.split(key)
  token_B, logits_BxV, cache = _decode(
    graphdef, state, inputs, positions, valid, cache, step_key, float(temperature), float(top_p)
  )
  out: list[list[int]] = [[] for _ in range(batch)]
  logits: list[list[np.ndarray]] = [[] for _ in range(batch)]
  done = np.zeros(batch, bool)
  for step in range(max_new_tokens):
    token_host = np.asarray(token_B)
    logits_host = np.asarray(logits_BxV) if return_logits else None
    for i in range(batch):
      if done[i]:
        continue
      if eos_id is not None and token_host[i] == eos_id:
        done[i] = True
        continue
      out[i].append(int(token_host[i]))
      if return_logits:
        logits[i].append(logits_host[i])
      if should_stop is not None and should_stop(i, out[i]):
        done[i] = True
    if done.all() or step == max_new_tokens - 1:
      break
    key, step_key = jax.random.split(key)
    token_B, logits_BxV, cache = _decode(
      graphdef,
      state,
      token_host[:, None],
      (next_position + step)[:, None],
      np.ones((batch, 1), bool),
      cache,
      step_key,
      float(temperature),
      float(top_p),
    )
  return Generation(
    tokens=out, logits=[np.stack(l) if l else np.zeros((0,)) for l in logits] if return_logits else None
  )


def generate(
  model: Decoder,
  tokenizer,
  prompts: Sequence[str],
  *,
  max_new_tokens: int,
  stop: Sequence[str] | Sequence[Sequence[str]] = (),
  temperature: float = 0.0,
  top_p: float = 1.0,
  seed: int = 0,
  eos_id: int | None = None,
) -> list[str]:
  """Text continuations of text prompts, cut before the first stop string.

  `tokenizer` is a `tokenizers.Tokenizer`; `stop` is one list of stop strings for every prompt, or one
  list per prompt (e.g. per-language stop sequences).
  """
  if stop and not isinstance(stop[0], str):
    stops = [list(s) for s in stop]
    if len(stops) != len(prompts):
      raise UserError(f"{len(stops)} stop lists for {len(prompts)} prompts")
  else:
    stops = [list(stop)] * len(prompts)

  def cut(i: int, ids: list[int]) -> str:
    text = tokenizer.decode(ids, skip_special_tokens=False)
    ends = [text.find(s) for s in stops[i] if s and s in text]
    return text[: min(ends)] if ends else text

  def should_stop(i: int, ids: list[int]) -> bool:
    text = tokenizer.decode(ids, skip_special_tokens=False)
    return any(s and s in text for s in stops[i])

  ids = [tokenizer.encode(p).ids for p in prompts]
  generation = generate_tokens(
    model,
    ids,
    max_new_tokens=max_new_tokens,
    temperature=temperature,
    top_p=top_p,
    seed=seed,
    eos_id=eos_id,
    should_stop=should_stop,
  )
  return [cut(i, toks) for i, toks in enumerate(generation.tokens)]
