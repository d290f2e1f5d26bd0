"""The unigram reference: the loss of a model that knows only each language's token frequencies.

A run whose validation loss is not clearly below this carries no information about scaling (docs/science.md
§1). The model: add-0.5 smoothed frequencies over the whole vocabulary, counted on the language's train split
with the end-of-document token appended to every document (the pipeline appends it when it packs, so it is a
prediction target too). It is scored on exactly the target tokens the trainer's evaluation weights: the same
`eval_batches` rows (same `seq_len`, `batch_size`, token budget), positions with weight 1. Bits per byte use
the same conversion as `codelaw.train.evaluation`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os

import numpy as np

from codelaw.data import corpus_format
from codelaw.data.pipeline import eval_batches, language_documents
from codelaw.data.sample import resolve_corpus
from codelaw.errors import UserError
from codelaw.train.evaluation import bits_per_byte

SMOOTHING = 0.5


@dataclasses.dataclass(frozen=True)
class UnigramLoss:
  """The unigram model's loss on one language's validation tokens."""

  language: str
  nats_per_token: float
  bits_per_byte: float
  tokens: int  # target tokens scored (the trainer's `eval.<lang>.tokens` for the same settings)


@functools.lru_cache(maxsize=32)
def train_counts(corpus_dir: str, language: str) -> np.ndarray:
  """int64[vocab_size]: how often each token id occurs in the language's train split, one EOS per document."""
  manifest = corpus_format.read_manifest(corpus_dir)
  if language not in manifest.splits or "train" not in manifest.splits[language]:
    raise UserError(f"language {language!r} has no train split in the corpus at {corpus_dir}")
  counts = np.zeros(manifest.vocab_size, np.int64)
  docs = 0
  for ids in language_documents(corpus_dir, language, "train"):
    counts += np.bincount(ids, minlength=manifest.vocab_size)[: manifest.vocab_size]
    docs += 1
  counts[manifest.eos_id] += docs
  return counts


def log_probs(counts: np.ndarray) -> np.ndarray:
  """Add-0.5 smoothed log-probabilities over the whole vocabulary."""
  smoothed = counts.astype(np.float64) + SMOOTHING
  return np.log(smoothed) - math.log(smoothed.sum())


def unigram_loss(
  corpus_dir: str | os.PathLike, lang: str, val_tokens: int | None, *, seq_len: int, batch_size: int
) -> UnigramLoss:
  """The unigram loss of `lang` on the validation tokens a run with these evaluation settings scores.

  `val_tokens` is the run's evaluation budget (config `train.eval_tokens`; None = the whole split),
  `seq_len` its `model.seq_len` and `batch_size` its `train.global_batch_size`: together they fix the rows.
  """
  corpus = resolve_corpus(corpus_dir)
  manifest = corpus_format.read_manifest(corpus)
  logp = log_probs(train_counts(str(corpus), lang))
  total, n = 0.0, 0
  for batch in eval_batches(corpus, lang, seq_len=seq_len, batch_size=batch_size, max_tokens=val_tokens):
    targets = batch["targets"][batch["weights"] > 0]
    total -= float(logp[targets].sum())
    n += targets.size
  if n == 0:
    raise UserError(f"language {lang!r}: its validation split yields no tokens to evaluate")
  loss = total / n
  return UnigramLoss(lang, loss, bits_per_byte(loss, manifest.bytes_per_token(lang)), n)
