"""The on-disk layout of a tokenized corpus, shared by the corpus builder, the pipeline and the trainer.

CORPUS/manifest.json                         what is in the corpus (see `Manifest`)
CORPUS/tokenizer.json                        Hugging Face `tokenizers` file
CORPUS/tokens/<lang>/<split>-<i>-of-<n>.arrayrecord
    one record per document: its token ids as little-endian int32 bytes, no end-of-document token
    (the pipeline appends `eos_id` when it packs documents)
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from codelaw import languages
from codelaw.errors import UserError
from codelaw.io import atomic_write_json

MANIFEST = "manifest.json"
TOKENIZER = "tokenizer.json"
SPLITS = ("train", "val")
TOKEN_DTYPE = np.dtype("<i4")


@dataclasses.dataclass(frozen=True)
class SplitStats:
  documents: int
  tokens: int
  bytes: int  # UTF-8 bytes of the documents' text
  shards: tuple[str, ...]  # paths relative to the corpus dir


@dataclasses.dataclass(frozen=True)
class Manifest:
  vocab_size: int
  pad_id: int
  eos_id: int
  splits: dict[str, dict[str, SplitStats]]  # language -> split -> stats
  extra: dict  # provenance, filter counts, sources: free-form, written by the builder

  @property
  def languages(self) -> tuple[str, ...]:
    return tuple(name for name in languages.NAMES if name in self.splits)

  def bytes_per_token(self, language: str, split: str = "val") -> float:
    stats = self.splits[language][split]
    return stats.bytes / max(stats.tokens, 1)


def read_manifest(corpus_dir: str | os.PathLike) -> Manifest:
  path = Path(corpus_dir) / MANIFEST
  if not path.exists():
    raise UserError(f"corpus not found: {path} does not exist (build one with the corpus job)")
  raw = json.loads(path.read_text())
  splits = {
    lang: {split: SplitStats(**{**s, "shards": tuple(s["shards"])}) for split, s in per_split.items()}
    for lang, per_split in raw["splits"].items()
  }
  return Manifest(
    vocab_size=raw["vocab_size"], pad_id=raw["pad_id"], eos_id=raw["eos_id"], splits=splits, extra=raw.get("extra", {})
  )


def shard_paths(corpus_dir: str | os.PathLike, language: str, split: str) -> list[str]:
  manifest = read_manifest(corpus_dir)
  if language not in manifest.splits:
    raise UserError(f"language {language!r} is not in the corpus at {corpus_dir}")
  return [str(Path(corpus_dir) / p) for p in manifest.splits[language][split].shards]


def encode_document(token_ids: Sequence[int]) -> bytes:
  return np.asarray(token_ids, dtype=TOKEN_DTYPE).tobytes()


def decode_document(record: bytes) -> np.ndarray:
  return np.frombuffer(record, dtype=TOKEN_DTYPE)


def write_token_shards(
  corpus_dir: str | os.PathLike,
  language: str,
  split: str,
  documents: Iterable[tuple[Sequence[int], int]],
  num_shards: int = 1,
) -> SplitStats:
  """Writes `(token_ids, n_bytes)` documents round-robin into `num_shards` ArrayRecord files."""
  from array_record.python.array_record_module import ArrayRecordWriter

  rel_dir = Path("tokens") / language
  (Path(corpus_dir) / rel_dir).mkdir(parents=True, exist_ok=True)
  rel_paths = [str(rel_dir / f"{split}-{i:05d}-of-{num_shards:05d}.arrayrecord") for i in range(num_shards)]
  # group_size:1 keeps every record randomly addressable, which the shuffling pipeline needs.
  writers = [ArrayRecordWriter(str(Path(corpus_dir) / p), "group_size:1") for p in rel_paths]
  n_docs = n_tokens = n_bytes = 0
  try:
    for i, (ids, doc_bytes) in enumerate(documents):
      writers[i % num_shards].write(encode_document(ids))
      n_docs += 1
      n_tokens += len(ids)
      n_bytes += doc_bytes
  finally:
    for w in writers:
      w.close()
  return SplitStats(documents=n_docs, tokens=n_tokens, bytes=n_bytes, shards=tuple(rel_paths))


def write_manifest(
  corpus_dir: str | os.PathLike,
  *,
  vocab_size: int,
  pad_id: int,
  eos_id: int,
  splits: dict[str, dict[str, SplitStats]],
  extra: dict | None = None,
) -> None:
  atomic_write_json(
    Path(corpus_dir) / MANIFEST,
    {
      "vocab_size": vocab_size,
      "pad_id": pad_id,
      "eos_id": eos_id,
      "splits": {lang: {split: dataclasses.asdict(s) for split, s in per.items()} for lang, per in splits.items()},
      "extra": extra or {},
    },
  )
