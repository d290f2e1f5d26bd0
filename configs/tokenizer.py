"""Tokenizer job: train a byte-level BPE on a built corpus's train text shards.

`python -m codelaw.launch --config configs/tokenizer.py --workdir DIR --config.corpus=CORPUS_DIR`
"""

import ml_collections


def get_config(arg: str = "") -> ml_collections.ConfigDict:
  del arg
  c = ml_collections.ConfigDict()
  c.job = "tokenizer"
  c.seed = 0
  c.corpus = ""                 # a corpus dir with text/<lang>/train.jsonl.gz (e.g. from the corpus job)
  c.languages = ()              # () = every language with text shards
  c.vocab_size = 4096           # ~4k for CPU studies, 32k-64k for clusters
  c.bytes_per_language = 8_000_000
  return c
