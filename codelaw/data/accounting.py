"""Token accounting of the training mixture: the proportions a run realises, the documents its streams have
read, and the epochs its languages are expected to see."""

from __future__ import annotations

import dataclasses
import os
from typing import Mapping

import numpy as np

from codelaw import languages
from codelaw.data import corpus_format, pipeline
from codelaw.data.sample import resolve_corpus
from codelaw.data.translation import TranslationSpec


def epochs_per_language(
  corpus_dir: str | os.PathLike,
  proportions: dict[str, float],
  tokens: float,
  *,
  seq_len: int = 256,
  split: str = "train",
  translation: TranslationSpec | Mapping | None = None,
  unique_tokens: Mapping[str, int] | None = None,
  seed: int = 0,
) -> dict[str, float]:
  """Expected epochs over each language's documents (EOS included) after `tokens` packed training tokens
  (a translation stream takes its `weight` of the tokens first); a capped language (`unique_tokens`, with
  the run's `seed`) counts epochs over the documents its stream actually draws from."""
  corpus_dir = resolve_corpus(corpus_dir)
  manifest = corpus_format.read_manifest(corpus_dir)
  props = pipeline.check_mixture(manifest, proportions, split, seq_len, 1)
  weights = pipeline.mixing_weights(manifest, props, seq_len, split)
  spec = TranslationSpec.from_config(translation)
  share = 1.0 - (spec.weight if spec is not None else 0.0)
  caps = {lang: cap for lang, cap in (unique_tokens or {}).items() if lang in weights}
  distinct = {
    lang: sum(len(doc) + 1 for doc in docs)
    for lang, docs in pipeline.capped_sources(corpus_dir, caps, split, seed, caps).items()
  }
  out = {}
  for lang in props:
    if lang not in weights:
      out[lang] = 0.0
      continue
    stats = manifest.splits[lang][split]
    out[lang] = tokens * share * weights[lang] / distinct.get(lang, stats.tokens + stats.documents)
  return out


def documents_read(iterator_state: Mapping) -> dict[str, int]:
  """Documents each language's streams have fully packed, from a `mixture_dataset` iterator state (this
  process; a document still being split across rows is not counted).

  Divide by the language's document count (manifest) for realized epochs; sum over processes for the run.
  """
  out: dict[str, int] = {}
  for slot in iterator_state["parents"]:
    for lang, comp in slot["parents"].items():
      if lang != pipeline.TRANSLATION_KEY:
        out[lang] = out.get(lang, 0) + int(comp["parent_state"]["next_index"])
  return out


@dataclasses.dataclass
class ProportionMeter:
  """Accumulates weighted target tokens per language over batches: the realized proportions."""

  counts: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(len(languages.NAMES)))

  def update(self, batch: Mapping[str, np.ndarray]) -> None:
    lang = np.asarray(batch["language_ids"]).reshape(-1)
    w = np.asarray(batch["weights"]).reshape(-1)
    keep = lang >= 0
    self.counts += np.bincount(lang[keep], weights=w[keep], minlength=len(languages.NAMES))

  @property
  def tokens(self) -> float:
    return float(self.counts.sum())

  def proportions(self) -> dict[str, float]:
    return realised_proportions(self.counts)


def realised_proportions(counts: np.ndarray) -> dict[str, float]:
  """Each language's share of the weighted target tokens counted (indexed like `languages.NAMES`)."""
  total = max(float(np.sum(counts)), 1e-12)
  return {name: float(c / total) for name, c in zip(languages.NAMES, counts)}
