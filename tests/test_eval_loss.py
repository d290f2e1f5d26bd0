"""Per-language evaluation: aggregation over batches, bits per byte from the manifest, bad languages."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest
from test_trainer import make_corpus

from codelaw.data import corpus_format
from codelaw.data.pipeline import eval_batches
from codelaw.errors import UserError
from codelaw.train.evaluation import bits_per_byte, evaluate_languages


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  return make_corpus(tmp_path_factory.mktemp("corpus"), langs=("python", "go"), train_docs=4, val_docs=5)


def _position_loss_step(params, batch):
  # A loss that depends on the data (position-weighted), so the exact aggregate is known in closed form.
  w = jnp.asarray(batch["weights"])
  return jnp.sum(w * (params["scale"] + jnp.asarray(batch["positions"]))), jnp.sum(w)


def test_loss_and_bits_per_byte_aggregate_exactly_over_batches(corpus):
  params = {"scale": jnp.float32(2.0)}
  result = evaluate_languages(
    _position_loss_step, params, corpus, ["python", "go"], seq_len=16, batch_size=4, max_tokens=10**6
  )
  manifest = corpus_format.read_manifest(corpus)
  for lang in ("python", "go"):
    batches = eval_batches(corpus, lang, seq_len=16, batch_size=4, max_tokens=10**6)
    w = np.concatenate([b["weights"].ravel() for b in batches])
    pos = np.concatenate([b["positions"].ravel() for b in batches])
    expected = float(np.sum(w * (2.0 + pos)) / np.sum(w))
    assert len(batches) > 1
    assert result[lang]["loss"] == pytest.approx(expected, rel=1e-6)
    assert result[lang]["tokens"] == int(w.sum())
    # The test corpus has exactly 3 bytes per token.
    assert manifest.bytes_per_token(lang) == 3.0
    assert result[lang]["bits_per_byte"] == pytest.approx(expected / (3.0 * math.log(2)), rel=1e-6)


def test_max_tokens_limits_the_batches(corpus):
  params = {"scale": jnp.float32(0.0)}
  small = evaluate_languages(_position_loss_step, params, corpus, ["go"], seq_len=16, batch_size=4, max_tokens=64)
  full = evaluate_languages(_position_loss_step, params, corpus, ["go"], seq_len=16, batch_size=4, max_tokens=10**6)
  assert 0 < small["go"]["tokens"] <= 64 < full["go"]["tokens"]


def test_bits_per_byte_formula():
  # loss * tokens / (bytes * ln 2) with bytes = tokens * bytes_per_token.
  assert bits_per_byte(math.log(2) * 4.0, 2.0) == pytest.approx(2.0)


def test_language_without_validation_split_is_a_user_error(corpus):
  with pytest.raises(UserError, match="rust"):
    evaluate_languages(_position_loss_step, {"scale": 0.0}, corpus, ["rust"], seq_len=16, batch_size=4, max_tokens=64)
