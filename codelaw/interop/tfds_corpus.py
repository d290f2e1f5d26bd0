"""A codelaw corpus as the TFDS dataset `codelaw_corpus`: one config per language, splits train/validation.

    from codelaw.interop import tfds_corpus
    tfds_corpus.prepare(data_dir, corpus="sample")             # or a corpus-job output directory
    tfds.data_source("codelaw_corpus/python", data_dir=data_dir)["train"][0]   # random access, no TensorFlow
    tfds.load("codelaw_corpus/python", data_dir=data_dir, split="validation")  # tf.data

Each example is one document: `text`, its token ids `tokens` (int32, the corpus tokenizer's ids, no EOS;
the corpus's `manifest.json` gives vocab_size and eos_id, kept in the dataset's metadata), and its provenance
`package`, `version`, `path`, `license`, `source`. The files come in TFRecord (tf.data) and ArrayRecord (random
access: Grain reads them through codelaw.interop.grain_reader, and MaxText's Grain pipeline can point at them).

The validation split is the corpus's `val` split: the documents its val tokens cover, the last one cut
where its tokens end (the corpus job stops val at exactly `val_tokens`), so text and tokens always agree.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from codelaw import languages
from codelaw.data import corpus_format, sample, text_shards, tokenizer
from codelaw.errors import UserError
from codelaw.interop.extra import require

tfds = require("tensorflow_datasets")

NAME = "codelaw_corpus"
SPLITS = {"train": "train", "validation": "val"}  # TFDS split -> codelaw corpus split
PROVENANCE = ("package", "version", "path", "license", "source")
ARRAY_RECORD = "array_record"


def corpus_key(corpus_dir: Path) -> str:
  """A hash of the corpus's manifest: a data_dir prepared from one corpus is never silently reused for another."""
  return hashlib.sha256((corpus_dir / corpus_format.MANIFEST).read_bytes()).hexdigest()[:16]


def _token_docs(corpus_dir: Path, lang: str, split: str) -> list[np.ndarray]:
  """The split's documents in corpus order (write_token_shards deals them round-robin over the shards)."""
  from array_record.python.array_record_module import ArrayRecordReader

  shards = []
  for path in corpus_format.shard_paths(corpus_dir, lang, split):
    reader = ArrayRecordReader(path)
    shards.append([corpus_format.decode_document(r) for r in reader.read_all()])
    reader.close()
  return [shards[i % len(shards)][i // len(shards)] for i in range(sum(map(len, shards)))]


def documents(corpus_dir: Path, lang: str, split: str) -> Iterator[dict]:
  """The documents of one language and corpus split, with text, tokens and provenance aligned."""
  ids = _token_docs(corpus_dir, lang, split)
  tok = None
  for i, (doc, doc_ids) in enumerate(zip(text_shards.read(corpus_dir, lang, split), ids)):
    text = doc["text"]
    if i == len(ids) - 1:  # the split may stop inside its last document: cut the text where its tokens end
      tok = tok or tokenizer.load_tokenizer(corpus_dir / corpus_format.TOKENIZER)
      enc = tok.encode(text, add_special_tokens=False)
      if len(enc.ids) > len(doc_ids):
        text = text[: enc.offsets[len(doc_ids) - 1][1]]
    yield {"text": text, "tokens": doc_ids.astype(np.int32), **{k: str(doc[k]) for k in PROVENANCE}}


class CodelawCorpus(tfds.core.GeneratorBasedBuilder):
  """Source code documents of one programming language from a codelaw corpus."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "text, token ids and provenance per document; train and validation splits."}
  BUILDER_CONFIGS = [
    tfds.core.BuilderConfig(name=name, description=f"{languages.BY_NAME[name].display} documents")
    for name in languages.NAMES
  ]

  def __init__(self, *, corpus: str | os.PathLike = sample.SAMPLE_NAME, **kwargs) -> None:
    self._corpus = corpus
    # The TFRecord build lists its ArrayRecord twin in code: TFDS restores the alternative formats of a
    # class-based builder from code only, not from dataset_info.json.
    self._alternatives = [] if kwargs.get("file_format") == ARRAY_RECORD else [ARRAY_RECORD]
    super().__init__(**kwargs)

  def _info(self) -> "tfds.core.DatasetInfo":
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict(
        {
          "text": tfds.features.Text(),
          "tokens": tfds.features.Tensor(shape=(None,), dtype=np.int32),
          **{k: tfds.features.Text() for k in PROVENANCE},
        }
      ),
      metadata=tfds.core.MetadataDict(),
      alternative_file_formats=self._alternatives,
    )

  def _split_generators(self, dl_manager):
    corpus_dir = sample.resolve_corpus(self._corpus)
    manifest = corpus_format.read_manifest(corpus_dir)
    lang = self.builder_config.name
    if lang not in manifest.splits:
      raise UserError(f"language {lang!r} is not in the corpus at {corpus_dir}")
    self.info.metadata.update(
      {
        "corpus": str(self._corpus),
        "corpus_key": corpus_key(corpus_dir),
        "vocab_size": manifest.vocab_size,
        "eos_id": manifest.eos_id,
        "pad_id": manifest.pad_id,
      }
    )
    return {name: self._generate_examples(corpus_dir, lang, split) for name, split in SPLITS.items()}

  def _generate_examples(self, corpus_dir: Path, lang: str, split: str):
    for i, doc in enumerate(documents(corpus_dir, lang, split)):
      yield f"{split}-{i:08d}", doc


def builder(lang: str, data_dir: str | os.PathLike, corpus: str | os.PathLike = sample.SAMPLE_NAME) -> CodelawCorpus:
  if lang not in languages.NAMES:
    raise UserError(f"language {lang!r}: expected one of {', '.join(languages.NAMES)}")
  return CodelawCorpus(config=lang, data_dir=str(data_dir), corpus=corpus)


def prepare(
  data_dir: str | os.PathLike, corpus: str | os.PathLike = sample.SAMPLE_NAME, langs: tuple[str, ...] | None = None
) -> tuple[str, ...]:
  """Builds `codelaw_corpus/<lang>` under `data_dir` for each language of the corpus (those already there are
  kept when they come from the same corpus); returns the languages.

  Each is written twice: TFRecord, the primary format that `tfds.load` (tf.data) reads, and ArrayRecord as
  TFDS's alternative format, which `tfds.data_source` picks for random access (Grain, no TensorFlow).
  """
  corpus_dir = sample.resolve_corpus(corpus)
  langs = langs or corpus_format.read_manifest(corpus_dir).languages
  key = corpus_key(corpus_dir)
  for lang in langs:
    b = builder(lang, data_dir, corpus)
    if b.is_prepared():
      have = b.info.metadata.get("corpus_key")
      if have != key:
        raise UserError(
          f"{b.data_dir} was built from another corpus (key {have}, this one {key}): use another data_dir"
        )
    else:
      b.download_and_prepare()
    if len(_shards(b, ARRAY_RECORD)) != len(_shards(b, "tfrecord")):
      _add_array_record(b, lang, data_dir, corpus)
  return tuple(langs)


def _shards(b: CodelawCorpus, file_format: str) -> list[Path]:
  return sorted(Path(b.data_dir).glob(f"{NAME}-*.{file_format}-*"))


def _add_array_record(b: CodelawCorpus, lang: str, data_dir: str | os.PathLike, corpus: str | os.PathLike) -> None:
  """Writes the ArrayRecord copy of a prepared dataset next to its TFRecord files.

  The same examples, keys and shard count give the same shuffled order and shard lengths in both formats.
  (TFDS's own converter needs Apache Beam; generating twice costs seconds.)
  """
  with tempfile.TemporaryDirectory(dir=data_dir, prefix=".array_record.") as tmp:
    twin = CodelawCorpus(config=lang, data_dir=tmp, corpus=corpus, file_format=ARRAY_RECORD)
    twin.download_and_prepare()
    if [s.shard_lengths for s in twin.info.splits.values()] != [s.shard_lengths for s in b.info.splits.values()]:
      raise RuntimeError(f"{lang}: the ArrayRecord and TFRecord builds differ in shard lengths")
    for f in _shards(twin, ARRAY_RECORD):
      os.replace(f, Path(b.data_dir) / f.name)
