"""Tokenizer job: train a byte-level BPE on a language-balanced sample of a built corpus's train split.

`python -m codelaw.launch --config configs/tokenizer.py[:variant] --workdir DIR --config.corpus=CORPUS_DIR`

Variants: "" (4k vocabulary, the CPU studies'), "full" (32k, for cluster studies on the full corpus).
Writes DIR/tokenizer.json and DIR/tokenizer_stats.md (bytes per token per language, beside the corpus's own
tokenizer's, on its validation text).
"""

import ml_collections


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  variant = arg or ""
  if variant not in ("", "full"):
    raise ValueError(f"configs/tokenizer.py: unknown variant {variant!r}; expected \"\" or full")
  c = ml_collections.ConfigDict()
  c.job = "tokenizer"
  c.seed = 0
  c.corpus = ""  # a corpus dir with text/<lang>/train.jsonl.gz (e.g. from the corpus job)
  c.languages = ()  # () = every language with text shards
  c.vocab_size = 4096  # ~4k for CPU studies, 32k-64k for clusters
  c.bytes_per_language = 8_000_000  # sample per language (memory: about 2x this per language)
  if variant == "full":
    c.vocab_size = 32768
    c.bytes_per_language = 16_000_000
  return c
