"""Text shards of a corpus: CORPUS/text/<lang>/<split>.jsonl.gz, one JSON object per document with its
text and provenance: {"text", "package", "version", "source", "path", "license"}.

They sit next to the tokenized shards (codelaw.data.corpus_format) so a corpus can be re-tokenized with
another vocabulary, and they are the format the bundled sample corpus ships in.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

FIELDS = ("text", "package", "version", "source", "path", "license")


def path(corpus_dir: str | os.PathLike, lang: str, split: str) -> Path:
  return Path(corpus_dir) / "text" / lang / f"{split}.jsonl.gz"


def has_split(corpus_dir: str | os.PathLike, lang: str, split: str) -> bool:
  return path(corpus_dir, lang, split).exists()


class Writer:
  """Writes docs to a gzip JSONL file, atomically: a temp file renamed into place on a clean exit."""

  def __init__(self, file: str | os.PathLike, compresslevel: int = 6) -> None:
    self.file = Path(file)
    self.file.parent.mkdir(parents=True, exist_ok=True)
    self._tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.tmp")
    self._raw = open(self._tmp, "wb")
    # mtime=0 keeps the bytes reproducible, so the sample's content hash only changes with its content
    self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=compresslevel, mtime=0)
    self.documents = 0
    self.bytes = 0

  def write(self, doc: dict) -> None:
    self._gz.write((json.dumps({k: doc[k] for k in FIELDS}, ensure_ascii=False) + "\n").encode("utf-8"))
    self.documents += 1
    self.bytes += len(doc["text"].encode("utf-8"))

  def __enter__(self) -> "Writer":
    return self

  def __exit__(self, exc_type, *_) -> None:
    self._gz.close()
    self._raw.close()
    if exc_type is None:
      os.replace(self._tmp, self.file)
    else:
      os.unlink(self._tmp)


def write(file: str | os.PathLike, docs: Iterable[dict], compresslevel: int = 6) -> int:
  """Writes docs to a gzip JSONL file atomically; returns the number written."""
  with Writer(file, compresslevel) as w:
    for d in docs:
      w.write(d)
  return w.documents


def read_file(file: str | os.PathLike) -> Iterator[dict]:
  with gzip.open(file, "rt", encoding="utf-8") as f:
    for line in f:
      yield json.loads(line)


def read(corpus_dir: str | os.PathLike, lang: str, split: str) -> Iterator[dict]:
  return read_file(path(corpus_dir, lang, split))
