"""Byte-level BPE tokenizer (Hugging Face `tokenizers`) trained on a balanced mix of the languages.

Job `tokenizer`: trains on the text shards of a built corpus (`config.corpus`, train split) and writes
`workdir/tokenizer.json`. The corpus job calls the same `train_tokenizer` before it tokenizes.
Special tokens: <pad> = 0, <eos> = 1. Byte-level means every UTF-8 text round-trips exactly.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from codelaw import languages
from codelaw.data import text_shards
from codelaw.errors import UserError
from codelaw.io import atomic_write_text

PAD, EOS = "<pad>", "<eos>"
PAD_ID, EOS_ID = 0, 1


def _build_empty():
  from tokenizers import Tokenizer, decoders, models, pre_tokenizers
  tok = Tokenizer(models.BPE())
  # use_regex splits words/punctuation/space runs the GPT-2 way; code keeps its indentation as space runs.
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
  tok.decoder = decoders.ByteLevel()
  return tok


def balanced_texts(texts_by_lang: Mapping[str, Sequence[str]], bytes_per_language: int,
                   seed: int = 0) -> Iterator[str]:
  """Up to `bytes_per_language` of text from each language (random documents), interleaved."""
  rng = random.Random(seed)
  picked: list[list[str]] = []
  for lang in sorted(texts_by_lang):
    docs = list(texts_by_lang[lang])
    rng.shuffle(docs)
    out, used = [], 0
    for d in docs:
      if used >= bytes_per_language:
        break
      d = d[: max(1, bytes_per_language - used)]
      out.append(d)
      used += len(d.encode("utf-8"))
    picked.append(out)
  for i in range(max((len(p) for p in picked), default=0)):
    for p in picked:
      if i < len(p):
        yield p[i]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2):
  """Trains a byte-level BPE with <pad>=0, <eos>=1 on `texts`."""
  from tokenizers import pre_tokenizers, trainers
  if vocab_size < 256 + 2:
    raise UserError(f"tokenizer vocab_size = {vocab_size}: must be at least 258 (256 bytes + 2 special tokens)")
  tok = _build_empty()
  trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[PAD, EOS],
                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
  tok.train_from_iterator(texts, trainer=trainer)
  tok.encode_special_tokens = True
  assert tok.token_to_id(PAD) == PAD_ID and tok.token_to_id(EOS) == EOS_ID
  return tok


def save_tokenizer(tok, path: str | os.PathLike) -> None:
  atomic_write_text(path, tok.to_str())


def load_tokenizer(path: str | os.PathLike):
  """Loads `path` (a tokenizer.json, or a corpus dir that holds one)."""
  from tokenizers import Tokenizer
  path = Path(path)
  if path.is_dir():
    path = path / "tokenizer.json"
  if not path.exists():
    raise UserError(f"tokenizer not found: {path}")
  tok = Tokenizer.from_file(str(path))
  # A literal "<eos>" in source code must stay text, not become the end-of-document id. This setting is
  # not stored in tokenizer.json, so every loader sets it: load through this function.
  tok.encode_special_tokens = True
  return tok


def encode_texts(tok, texts: Sequence[str], batch_size: int = 256) -> Iterator[list[int]]:
  """Token ids of each text (no special tokens added), batched for the Rust thread pool."""
  for start in range(0, len(texts), batch_size):
    for enc in tok.encode_batch(list(texts[start:start + batch_size]), add_special_tokens=False):
      yield enc.ids


def main(config, workdir: str) -> None:
  """Job `tokenizer`: train on a built corpus's train text shards; write workdir/tokenizer.json."""
  corpus = Path(config.corpus)
  if not corpus.exists():
    raise UserError(f"config.corpus = {str(corpus)!r}: directory does not exist")
  langs = list(config.languages) or [l for l in languages.NAMES if text_shards.has_split(corpus, l, "train")]
  if not langs:
    raise UserError(f"config.corpus = {str(corpus)!r}: no text shards under {corpus / 'text'}")
  for lang in langs:
    languages.get(lang)
  if config.bytes_per_language <= 0:
    raise UserError(f"config.bytes_per_language = {config.bytes_per_language}: must be > 0")
  texts = {lang: [d["text"] for d in text_shards.read(corpus, lang, "train")] for lang in langs}
  tok = train_tokenizer(balanced_texts(texts, config.bytes_per_language, config.seed), config.vocab_size)
  out = Path(workdir) / "tokenizer.json"
  save_tokenizer(tok, out)
  print(f"tokenizer: vocab {tok.get_vocab_size()} trained on {', '.join(langs)} -> {out}")
  for lang in langs:
    sample = texts[lang][:200]
    n_bytes = sum(len(t.encode("utf-8")) for t in sample)
    n_tok = sum(len(ids) for ids in encode_texts(tok, sample))
    print(f"  {lang:<11} {n_bytes / max(n_tok, 1):.2f} bytes/token")
