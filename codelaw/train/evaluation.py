"""Held-out losses of a model during and after training: per-language validation loss (nats per token) and
bits per byte, and the translation loss of each direction. The trainer and the evaluate job both use these.

Bits per byte makes languages (and tokenizers) comparable: a token of Go and a token of Python cover
different amounts of text. With L the mean loss per token over T tokens of a split holding `bytes` UTF-8
bytes per `tokens` tokens (the manifest's counts):

    bits_per_byte = L * T / (T * bytes_per_token * ln 2) = L / (bytes_per_token * ln 2)
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any, Callable, Sequence

import jax
import numpy as np

from codelaw.data import corpus_format, translation
from codelaw.data.pipeline import eval_batches
from codelaw.errors import UserError
from codelaw.train.step import shard_batch

EvalStep = Callable[[Any, Any], tuple[Any, Any]]  # (params, batch) -> (sum_loss, sum_weight)


def bits_per_byte(loss: float, bytes_per_token: float) -> float:
  return loss / (bytes_per_token * math.log(2))


@functools.lru_cache(maxsize=64)
def _batches(corpus_dir: str, language: str, seq_len: int, batch_size: int, max_tokens: int) -> tuple[dict, ...]:
  # Deterministic, padded to full batches by the pipeline: periodic evals read the shards only once.
  return tuple(eval_batches(corpus_dir, language, seq_len=seq_len, batch_size=batch_size, max_tokens=max_tokens))


def local_rows(batch: dict) -> dict:
  # Every process reads the same full batch; each feeds its own contiguous slice of rows.
  n, i = jax.process_count(), jax.process_index()
  rows = next(iter(batch.values())).shape[0]
  return {k: v[i * rows // n : (i + 1) * rows // n] for k, v in batch.items()}


def _summed(
  eval_step: EvalStep, params: Any, batches: Sequence[dict], mesh: jax.sharding.Mesh | None
) -> tuple[float, float]:
  """Summed loss and weight over `batches`, with one host transfer at the end, in float64."""
  sums = [eval_step(params, shard_batch(local_rows(b), mesh) if mesh is not None else b) for b in batches]
  if not sums:
    return 0.0, 0.0
  total_loss, total_weight = (float(np.sum(np.asarray(jax.device_get(x), dtype=np.float64))) for x in zip(*sums))
  return total_loss, total_weight


def evaluate_languages(
  eval_step: EvalStep,
  params: Any,
  corpus_dir: str | os.PathLike,
  languages: Sequence[str],
  *,
  seq_len: int,
  batch_size: int,
  max_tokens: int,
  mesh: jax.sharding.Mesh | None = None,
) -> dict[str, dict[str, float]]:
  """`{lang: {"loss", "bits_per_byte", "tokens"}}` on each language's validation split.

  `eval_step(params, batch)` returns the summed loss and summed weight of a batch. With `mesh`, batches
  are placed as global arrays sharded like training batches (needed when running multi-process).
  """
  manifest = corpus_format.read_manifest(corpus_dir)
  results = {}
  for language in languages:
    if language not in manifest.splits or "val" not in manifest.splits[language]:
      raise UserError(f"language {language!r} has no validation split in the corpus at {corpus_dir}")
    sum_loss, sum_weight = _summed(
      eval_step, params, _batches(str(corpus_dir), language, seq_len, batch_size, max_tokens), mesh
    )
    if sum_weight <= 0:
      raise UserError(f"language {language!r}: its validation split yields no tokens to evaluate")
    loss = sum_loss / sum_weight
    results[language] = {
      "loss": loss,
      "bits_per_byte": bits_per_byte(loss, manifest.bytes_per_token(language)),
      "tokens": int(round(sum_weight)),
    }
  return results


def direction_losses(
  eval_step: EvalStep,
  params: Any,
  directions: Sequence[str],
  *,
  seq_len: int,
  batch_size: int,
  strategy: str,
  corpus_dir: str | os.PathLike,
  data: str = "sample",
  mesh: jax.sharding.Mesh | None = None,
  max_pairs: int | None = None,
) -> dict[str, dict[str, float]]:
  """`{direction: {"loss", "tokens"}}`: nats per target token of y given x on the held-out parallel pairs
  (`translation_eval_batches`: weights on the y tokens and the final EOS only), in the prompt format of
  `strategy`. Directions without held-out pairs that fit `seq_len` are left out (callers list them)."""
  out = {}
  for direction in directions:
    batches = translation.translation_eval_batches(
      direction,
      seq_len=seq_len,
      batch_size=batch_size,
      strategy=strategy,
      corpus_dir=corpus_dir,
      data=data,
      max_pairs=max_pairs,
    )
    total_loss, total_weight = _summed(eval_step, params, batches, mesh)
    if total_weight <= 0:
      continue
    out[direction] = {"loss": total_loss / total_weight, "tokens": int(round(total_weight))}
  return out
