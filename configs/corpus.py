"""Corpus job: `python -m codelaw.launch --config configs/corpus.py[:variant] --workdir DIR`.

Variants: "full" (default; every pinned package, 38 min on 2 idle cores, ~1 GB download, ~9 GB scratch), "sample" (a few
packages per list and ~1.5 MB per language: how third_party/sample_corpus was made), "local" (only
config.local_dirs.<lang>, no network).
"""

import ml_collections

from codelaw import languages


def get_config(arg: str = "full") -> ml_collections.ConfigDict:
  variant = arg or "full"
  if variant not in ("full", "sample", "local"):
    raise ValueError(f"configs/corpus.py: unknown variant {variant!r}; expected full, sample or local")
  c = ml_collections.ConfigDict()
  c.job = "corpus"
  c.seed = 0
  c.languages = tuple(languages.NAMES)
  c.sources = ("debian", "pypi", "npm", "stdlib", "local") if variant != "local" else ("local",)
  c.local_dirs = ml_collections.ConfigDict({lang: "" for lang in languages.NAMES})
  c.max_packages = 0  # per pinned list; 0 = all
  c.extra_debian = ml_collections.ConfigDict({"go": ("golang-1.23-src",), "rust": ("rust-web-src",)})
  c.mirror = "http://deb.debian.org/debian"
  c.suites = ("bookworm", "bookworm-backports")
  c.scratch_dir = ""  # "" = WORKDIR/scratch (downloads, extracted trees, stage markers)
  c.filters = ml_collections.ConfigDict(
    dict(min_bytes=100, max_bytes=512 * 1024, max_line=1000, max_mean_line=120.0, strip_license=True)
  )
  c.dedup = ml_collections.ConfigDict(dict(near=True, threshold=0.8))
  # files holding an evaluation problem or a held-out translation program leave the corpus: HumanEval
  # (the harness's problems) and the parallel corpus's held-out groups ("sample" = third_party/parallel_sample,
  # a path = a parallel corpus dir, "" = none); near = containing >= threshold of a program's shingles
  c.contamination = ml_collections.ConfigDict(dict(humaneval=True, parallel="sample", threshold=0.7))
  c.package_cap_fraction = 0.1  # of the language's bytes (of max_bytes_per_language when set)
  c.max_bytes_per_language = 0  # 0 = no cap
  c.val_tokens = 1_000_000  # per language, exact (the val split is cut there)
  c.val_bytes_per_token = 3.0  # estimate used to pick enough validation packages
  c.num_shards = 4
  c.tokenizer = ml_collections.ConfigDict(
    dict(vocab_size=4096, bytes_per_language=8_000_000, path="")
  )  # path: reuse an existing tokenizer.json
  if variant == "sample":
    c.max_packages = 12
    c.max_bytes_per_language = 1_500_000
    c.package_cap_fraction = 0.2  # C# has only 5 packages
    c.val_tokens = 50_000
    c.num_shards = 1
    c.tokenizer.bytes_per_language = 1_500_000
  return c
