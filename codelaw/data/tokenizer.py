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


def balanced_texts(texts_by_lang: Mapping[str, Sequence[str]], bytes_per_language: int, seed: int = 0) -> Iterator[str]:
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


def sample_texts(corpus_dir: str | os.PathLike, lang: str, budget: int, seed: int = 0) -> list[str]:
  """A uniform random sample of a language's train documents, about `budget` and at most 2 x `budget`
  characters (all of them if there are fewer), in one streaming pass: memory is bounded by the budget,
  not the corpus."""
  rng = random.Random(seed)
  p, picked, size = 1.0, [], 0
  for d in text_shards.read(corpus_dir, lang, "train"):
    if rng.random() < p:
      picked.append(d["text"])
      size += len(d["text"])
      while size > 2 * budget:  # halve the rate and thin what was kept alike: still uniform
        p /= 2
        picked = [t for t in picked if rng.random() < 0.5]
        size = sum(len(t) for t in picked)
  return picked


def bytes_per_token(tok, texts: Sequence[str]) -> float:
  n_tok = sum(len(ids) for ids in encode_texts(tok, texts))
  return sum(len(t.encode("utf-8")) for t in texts) / max(n_tok, 1)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096, min_frequency: int = 2):
  """Trains a byte-level BPE with <pad>=0, <eos>=1 on `texts`."""
  from tokenizers import pre_tokenizers, trainers

  if vocab_size < 256 + 2:
    raise UserError(f"tokenizer vocab_size = {vocab_size}: must be at least 258 (256 bytes + 2 special tokens)")
  tok = _build_empty()
  trainer = trainers.BpeTrainer(
    vocab_size=vocab_size,
    min_frequency=min_frequency,
    special_tokens=[PAD, EOS],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
  )
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
    for enc in tok.encode_batch(list(texts[start : start + batch_size]), add_special_tokens=False):
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
  texts = {lang: sample_texts(corpus, lang, config.bytes_per_language, config.seed) for lang in langs}
  tok = train_tokenizer(balanced_texts(texts, config.bytes_per_language, config.seed), config.vocab_size)
  out = Path(workdir) / "tokenizer.json"
  save_tokenizer(tok, out)
  print(f"tokenizer: vocab {tok.get_vocab_size()} trained on {', '.join(langs)} -> {out}")
  # compression beside the corpus's own tokenizer, on held-out text when the corpus has a val split
  base = load_tokenizer(corpus) if (corpus / "tokenizer.json").exists() else None
  head = f"| language | bytes/token, {tok.get_vocab_size()} |" + (
    f" bytes/token, {base.get_vocab_size()} (corpus) |" if base else ""
  )
  lines = [
    f"# Tokenizer: byte-level BPE, vocabulary {tok.get_vocab_size()}",
    "",
    f"Trained on up to {config.bytes_per_language:,} bytes per language of {corpus} (train split).",
    "",
    head,
    "|---|---|" + ("---|" if base else ""),
  ]
  for lang in langs:
    split = "val" if text_shards.has_split(corpus, lang, "val") else "train"
    sample, used = [], 0
    for d in text_shards.read(corpus, lang, split):
      if used >= 2_000_000:
        break
      sample.append(d["text"])
      used += len(d["text"])
    row = f"| {lang} ({split}) | {bytes_per_token(tok, sample):.2f} |"
    lines.append(row + (f" {bytes_per_token(base, sample):.2f} |" if base else ""))
  report = "\n".join(lines)
  atomic_write_text(Path(workdir) / "tokenizer_stats.md", report + "\n")
  print(report)
