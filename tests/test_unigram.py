"""The unigram reference loss, checked against a direct numpy count on the bundled sample's shipped token ids
(third_party/sample_corpus/tokens/<lang>/<split>.npz), independent of the ArrayRecord shards and the pipeline."""

from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from codelaw.data import corpus_format
from codelaw.data.sample import resolve_corpus
from codelaw.errors import UserError
from codelaw.evals.unigram import unigram_loss
from codelaw.train.evaluation import evaluate_languages

SHIPPED = Path(__file__).resolve().parents[1] / "third_party" / "sample_corpus" / "tokens"


@pytest.fixture(scope="module")
def sample():
  return resolve_corpus("sample")


def _docs(lang: str, split: str) -> list[np.ndarray]:
  with np.load(SHIPPED / lang / f"{split}.npz") as z:
    ids, lengths = z["ids"].astype(np.int64), z["lengths"]
  return np.split(ids, np.cumsum(lengths)[:-1])


def _direct(
  lang: str, vocab: int, eos: int, *, seq_len: int, batch_size: int, max_tokens: int | None
) -> tuple[float, int]:
  """Add-0.5 unigram from train counts (+1 EOS per document), scored on the validation stream cut into rows of
  seq_len: a position is a target unless it starts a row or starts a document."""
  train = _docs(lang, "train")
  counts = np.bincount(np.concatenate(train), minlength=vocab).astype(np.float64)
  counts[eos] += len(train)
  p = (counts + 0.5) / (counts.sum() + 0.5 * vocab)
  val = _docs(lang, "val")
  stream = np.concatenate([np.append(d, eos) for d in val])
  doc_start = np.zeros(stream.size, bool)
  doc_start[np.cumsum([0] + [d.size + 1 for d in val[:-1]])] = True
  rows = math.ceil(stream.size / seq_len)
  if max_tokens is not None:
    rows = min(rows, math.ceil(max_tokens / (batch_size * seq_len)) * batch_size)
  pos = np.arange(min(stream.size, rows * seq_len))
  target = (pos % seq_len != 0) & ~doc_start[pos]
  return float(-np.log(p[stream[pos][target]]).mean()), int(target.sum())


@pytest.mark.parametrize("lang,max_tokens", [("go", 8192), ("java", None), ("python", 20_000)])
def test_matches_a_direct_count(sample, lang, max_tokens):
  manifest = corpus_format.read_manifest(sample)
  got = unigram_loss(sample, lang, max_tokens, seq_len=128, batch_size=16)
  want, n = _direct(lang, manifest.vocab_size, manifest.eos_id, seq_len=128, batch_size=16, max_tokens=max_tokens)
  assert got.tokens == n
  assert got.nats_per_token == pytest.approx(want, rel=1e-9)
  assert got.bits_per_byte == pytest.approx(want / (manifest.bytes_per_token(lang) * math.log(2)), rel=1e-9)
  # Far better than uniform over the vocabulary, far worse than a trained model: a sane reference.
  assert 4.0 < got.nats_per_token < math.log(manifest.vocab_size)


def test_scores_the_tokens_the_trainer_evaluates(sample):
  # The trainer's evaluation of a model that ignores its input: it reports how many targets it weighted.
  step = lambda params, batch: (jnp.sum(batch["weights"]) * params, jnp.sum(batch["weights"]))
  ev = evaluate_languages(step, jnp.float32(1.0), sample, ["go", "rust"], seq_len=64, batch_size=8, max_tokens=4096)
  for lang in ("go", "rust"):
    assert unigram_loss(sample, lang, 4096, seq_len=64, batch_size=8).tokens == ev[lang]["tokens"]


def test_unknown_language_is_a_user_error(tmp_path, sample):
  with pytest.raises(UserError, match="no validation split|not in the corpus|no train split"):
    unigram_loss(sample, "cobol", 1024, seq_len=64, batch_size=8)
  with pytest.raises(UserError, match="does not exist"):
    unigram_loss(tmp_path / "nope", "go", 1024, seq_len=64, batch_size=8)
