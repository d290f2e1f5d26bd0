"""The Grain mixture pipeline: languages mixed by token proportions, packed, batched, sliced per process.

Structure (for each ROW SLOT r of the global batch, r = 0 .. global_batch_size-1):

    per language l:  ArrayRecord docs -> shuffle(seed_l) -> repeat (reshuffled every epoch)
                     -> keep every G-th document starting at r  (G = global_batch_size)
                     -> append EOS -> ConcatThenSplit into rows of seq_len tokens (see packing.py)
    IterDataset.mix({l: rows_l}, {l: w_l})          exact deterministic interleave of *rows*
then the process zips its own row slots [i*b, (i+1)*b) into a batch (b = G // process_count).

Why this shape:
- Mixing full rows (fixed-length chunks) instead of documents makes token proportions follow the weights
  whatever the document lengths. The remaining bias is one unweighted position per segment end; the mixing
  weight corrects it: w_l = p_l / (1 - 1/L - 1/(m_l + 1)) with m_l the mean document length (manifest).
  Grain integerises mix weights with the smallest at 100, i.e. < 1% relative error per weight.
- Row slots are independent streams, so a process reads only the documents of its own slots, and the global
  batch is the same whatever the process count. Each process's iterator state holds its own slots; a resumed
  run must keep global_batch_size and process_count (a mismatching state is rejected with a UserError).
- `IterDataset.mix` with a *mapping* restores components by key. **Changing proportions on resume**: build
  the dataset with the new proportions and `set_state` the old state; every language keeps its position in
  its own document stream, the interleave continues from the saved position with the new weights, a language
  that was absent (weight 0) starts at its beginning, and a dropped language's state is ignored.
- A language that runs out repeats with a fresh shuffle; `accounting.epochs_per_language` says how often.
- `unique_tokens` = {lang: cap} restricts a language to a fixed subset of its documents, the first ones of a
  seeded permutation totalling about `cap` tokens (EOS included), which then repeat: the controlled data
  repetition of the synergy study's self-repetition baseline. The subset depends only on (seed, language,
  cap), so every process and every resume sees the same documents.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping

import grain
import numpy as np

from codelaw import checks, languages
from codelaw.data import corpus_format, packing
from codelaw.data import translation as translation_lib
from codelaw.data.sample import resolve_corpus
from codelaw.data.translation import TranslationSpec
from codelaw.errors import UserError

TRANSLATION_KEY = "translation"
# Synchronous reads: each pipeline holds many small sub-streams; threads per stream would only add overhead.
_READ = grain.ReadOptions(num_threads=0, prefetch_buffer_size=0)


def language_documents(corpus_dir: str | os.PathLike, language: str, split: str) -> grain.MapDataset:
  """The documents of one language and split, as a MapDataset of int32 token arrays (no EOS)."""
  paths = corpus_format.shard_paths(corpus_dir, language, split)
  return grain.MapDataset.source(grain.sources.ArrayRecordDataSource(paths)).map(corpus_format.decode_document)


def check_mixture(
  manifest: corpus_format.Manifest, proportions: Mapping[str, float], split: str, seq_len: int, global_batch_size: int
) -> dict[str, float]:
  checks.integer(seq_len, "seq_len", lo=2)
  checks.positive_int(global_batch_size, "global_batch_size")
  if split not in corpus_format.SPLITS:
    raise UserError(f"split = {split!r}: expected one of {corpus_format.SPLITS}")
  props = checks.proportions(proportions, "proportions")
  for lang, p in props.items():
    if p > 0:
      stats = manifest.splits.get(lang, {}).get(split)
      if stats is None or stats.documents == 0:
        raise UserError(f"proportions.{lang} = {p:g} but the corpus has no {split} documents for {lang}")
  return props


def mixing_weights(
  manifest: corpus_format.Manifest, proportions: Mapping[str, float], seq_len: int, split: str = "train"
) -> dict[str, float]:
  """Row-mixing weights (sum 1) that make *weighted target tokens* follow `proportions` (zeros dropped)."""
  out = {}
  for lang, p in proportions.items():
    if p <= 0:
      continue
    stats = manifest.splits[lang][split]
    mean_len = stats.tokens / max(stats.documents, 1)
    # Unweighted positions per row: the last column plus one per document end inside the row.
    out[lang] = p / (1.0 - 1.0 / seq_len - 1.0 / (mean_len + 1.0))
  total = sum(out.values())
  return {lang: w / total for lang, w in out.items()}


def _stream_seed(seed: int, key: str) -> int:
  # A stable per-component seed (python's hash() is salted per process).
  salt = sum((i + 1) * ord(c) for i, c in enumerate(key))
  return int(np.random.SeedSequence([seed, salt]).generate_state(1)[0])


def _slot_docs(docs: grain.MapDataset, seed: int, slot: int, slots: int) -> grain.MapDataset:
  """Slot `slot` of `slots`: every `slots`-th document of the shuffled, endlessly repeated stream."""
  return docs.shuffle(seed=seed).repeat().slice(slice(slot, None, slots))


def unique_documents(docs: grain.MapDataset, seed: int, language: str, cap: int) -> grain.MapDataset:
  """The first documents of a seeded permutation of `docs` whose tokens (+1 EOS each) come closest to `cap`
  (at least one document; all of them when the language has fewer tokens than `cap`)."""
  order = grain.MapDataset.range(len(docs)).shuffle(seed=_stream_seed(seed, f"unique/{language}"))
  chosen, total = [], 0
  for i in range(len(order)):
    size = len(docs[order[i]]) + 1
    if chosen and total + size - cap > cap - total:  # the next document would overshoot more than it fills
      break
    chosen.append(order[i])
    total += size
    if total >= cap:
      break
  # A source over the chosen indices: it wraps indices past its end, which shuffle + repeat rely on
  # (a slice of `docs` would not).
  return grain.MapDataset.source(chosen).map(lambda i: docs[i])


def capped_sources(
  corpus_dir: Path, langs, split: str, seed: int, unique_tokens: Mapping[str, int] | None
) -> dict[str, grain.MapDataset]:
  caps = unique_tokens or {}
  out = {}
  for lang in langs:
    docs = language_documents(corpus_dir, lang, split)
    out[lang] = unique_documents(docs, seed, lang, int(caps[lang])) if lang in caps else docs
  return out


def mixture_dataset(
  corpus_dir: str | os.PathLike,
  proportions: dict[str, float],
  *,
  seq_len: int,
  global_batch_size: int,
  seed: int,
  split: str = "train",
  process_index: int | None = None,
  process_count: int | None = None,
  translation: TranslationSpec | Mapping | None = None,
  unique_tokens: Mapping[str, int] | None = None,
) -> grain.IterDataset:
  """Infinite stream of this process's slice of each global batch.

  Fields, each `[local_batch, seq_len]`: `inputs`, `targets`, `segment_ids` (0 = padding), `positions`,
  `weights` (1.0 where the target is the next token of the same document) and `language_ids` (index into
  `languages.NAMES`, -1 for padding).

  `translation` mixes the parallel-code stream in: `translation.weight` of the rows come from it and the
  languages share the rest by `proportions`. Its tokens carry their own language in `language_ids`.
  `unique_tokens` caps the distinct tokens a language's stream draws from (see the module docstring).
  """
  corpus_dir = resolve_corpus(corpus_dir)
  manifest = corpus_format.read_manifest(corpus_dir)
  props = check_mixture(manifest, proportions, split, seq_len, global_batch_size)
  if process_index is None or process_count is None:
    import jax

    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  if process_count < 1 or not 0 <= process_index < process_count:
    raise UserError(f"process_index = {process_index} is not in [0, process_count = {process_count})")
  if global_batch_size % process_count:
    raise UserError(f"global_batch_size = {global_batch_size} is not divisible by process_count = {process_count}")

  weights = mixing_weights(manifest, props, seq_len, split)
  translation = TranslationSpec.from_config(translation)  # also takes a (Config)dict
  if translation is not None:
    weights = {lang: w * (1.0 - translation.weight) for lang, w in weights.items()}
    if translation.weight > 0:
      weights[TRANSLATION_KEY] = translation.weight
  sources = capped_sources(
    corpus_dir, [lang for lang in weights if lang != TRANSLATION_KEY], split, seed, unique_tokens
  )
  local = global_batch_size // process_count
  slot_streams = []
  for slot in range(process_index * local, (process_index + 1) * local):
    components = {}
    for lang, docs in sources.items():
      lang_docs = _slot_docs(docs, _stream_seed(seed, lang), slot, global_batch_size)
      lang_docs = lang_docs.map(lambda ids: {"tokens": packing.with_eos(ids, manifest.eos_id)})
      components[lang] = packing.concat_then_split(
        lang_docs.to_iter_dataset(_READ), seq_len, languages.NAMES.index(lang)
      )
    if TRANSLATION_KEY in weights:
      components[TRANSLATION_KEY] = translation_lib.training_rows(
        corpus_dir,
        translation,
        seq_len=seq_len,
        seed=_stream_seed(seed, TRANSLATION_KEY),
        slot=slot,
        slots=global_batch_size,
      )
    slot_streams.append(grain.IterDataset.mix(components, {k: weights[k] for k in components}))
  pad_id = manifest.pad_id
  batches = grain.experimental.ZipIterDataset(slot_streams).map(lambda rows: packing.rows_to_batch(rows, pad_id))
  return _CheckedStateDataset(batches, slots=local)


def _tuples_for_slices(state):
  """grain's ConcatThenSplit compares its remainder slices with a tuple; JSON (how Orbax stores iterator
  state) turns tuples into lists, which would silently restore a different position."""
  if isinstance(state, dict):
    return {
      k: ({f: tuple(v) for f, v in s.items()} if k == "remainder_slices" else _tuples_for_slices(s))
      for k, s in state.items()
    }
  if isinstance(state, list):
    return [_tuples_for_slices(s) for s in state]
  return state


class _CheckedStateDataset(grain.IterDataset):
  """Passes elements through; its iterator accepts a state that went through JSON and rejects the state of
  a pipeline with another number of batch-row slots (which would silently restore the wrong rows)."""

  def __init__(self, parent: grain.IterDataset, *, slots: int):
    super().__init__(parent)
    self._slots = slots

  def __iter__(self) -> grain.DatasetIterator:
    return _CheckedStateIterator(self._parent.__iter__(), self._slots)


class _CheckedStateIterator(grain.DatasetIterator):
  def __init__(self, parent: grain.DatasetIterator, slots: int):
    super().__init__(parent)
    self._slots = slots

  def __next__(self):
    return next(self._parent)

  def get_state(self):
    return self._parent.get_state()

  def set_state(self, state) -> None:
    slots = state.get("parents") if isinstance(state, dict) else None
    if not isinstance(slots, list) or len(slots) != self._slots:
      n = len(slots) if isinstance(slots, list) else "no"
      raise UserError(
        f"data iterator state has {n} batch-row slots but this pipeline has {self._slots}: "
        "global_batch_size or process_count changed"
      )
    self._parent.set_state(_tuples_for_slices(state))


def eval_batches(
  corpus_dir: str | os.PathLike, language: str, *, seq_len: int, batch_size: int, max_tokens: int | None = None
) -> list[dict[str, np.ndarray]]:
  """Deterministic batches of the val split of one language, in file order, each document seen once.

  Rows are filled by the same concat-then-split packing as training; the last batch is completed with
  all-padding rows (weight 0) so every batch has the same shape. Stops once `max_tokens` row tokens
  (batch_size * seq_len per batch) are reached, or when the split is exhausted.
  """
  languages.get(language)
  corpus_dir = resolve_corpus(corpus_dir)
  manifest = corpus_format.read_manifest(corpus_dir)
  check_mixture(manifest, {language: 1.0}, "val", seq_len, batch_size)
  if max_tokens is not None and max_tokens <= 0:
    raise UserError(f"max_tokens = {max_tokens}: must be positive (or None for the whole split)")
  max_batches = math.inf if max_tokens is None else math.ceil(max_tokens / (batch_size * seq_len))
  docs = language_documents(corpus_dir, language, "val").map(
    lambda ids: {"tokens": packing.with_eos(ids, manifest.eos_id)}
  )
  rows = packing.concat_then_split(docs.to_iter_dataset(_READ), seq_len, languages.NAMES.index(language))
  return packing.batches_from_rows(iter(rows), batch_size, seq_len, manifest.pad_id, max_batches)
