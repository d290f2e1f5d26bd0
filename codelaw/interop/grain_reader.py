"""Grain over the TFDS corpus with no TensorFlow: `tfds.data_source` opens its ArrayRecord files.

docs = grain_reader.documents(data_dir, "python", "train")   # grain.MapDataset, random access
docs[0]["tokens"], docs[0]["text"].decode()
"""

from __future__ import annotations

import os

import grain

from codelaw import languages
from codelaw.errors import UserError
from codelaw.interop import tfds_corpus
from codelaw.interop.extra import require

tfds = require("tensorflow_datasets")


def documents(data_dir: str | os.PathLike, lang: str, split: str = "train") -> grain.MapDataset:
  """The documents of `codelaw_corpus/<lang>` (built by tfds_corpus.prepare) as dicts of numpy values and bytes."""
  if lang not in languages.NAMES:
    raise UserError(f"language {lang!r}: expected one of {', '.join(languages.NAMES)}")
  if split not in tfds_corpus.SPLITS:
    raise UserError(f"split {split!r}: expected one of {', '.join(tfds_corpus.SPLITS)}")
  source = tfds.data_source(f"{tfds_corpus.NAME}/{lang}", data_dir=str(data_dir), split=split)
  return grain.MapDataset.source(source)
