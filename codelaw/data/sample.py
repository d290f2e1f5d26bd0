"""The bundled sample corpus: third_party/sample_corpus/ (compressed text + provenance + tokenizer.json +
the token ids the corpus job made from the text),
materialised on first use into the tokenized layout of codelaw.data.corpus_format under $CODELAW_CACHE.

`sample_corpus_dir()` is idempotent and safe for concurrent callers: each builds in its own temp dir and
renames it into place; the loser of a race discards its copy. The cache key is a hash of the shipped files,
so a new sample never reuses a stale cache.

`python -m codelaw.data.sample export BUILD_DIR [DEST]` turns a corpus-job output (configs/corpus.py:sample)
into the shipped form (see scripts/build_sample_corpus.sh).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

import codelaw
from codelaw import languages
from codelaw.data import corpus_format, text_shards, tokenizer
from codelaw.data.build_corpus import tokenize_split
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, atomic_write_text

SAMPLE_NAME = "sample"
FULL_NAME = "full"
META = "sample_meta.json"


def shipped_dir() -> Path:
  env = os.environ.get("CODELAW_SAMPLE_DIR")
  return Path(env) if env else Path(codelaw.__file__).resolve().parent.parent / "third_party" / "sample_corpus"


def cache_root() -> Path:
  return Path(os.environ.get("CODELAW_CACHE") or Path.home() / ".cache" / "codelaw")


def _shipped_files(src: Path) -> list[Path]:
  files = sorted(src.glob("text/*/*.jsonl.gz")) + sorted(src.glob("tokens/*/*.npz"))
  files += [src / corpus_format.TOKENIZER, src / META]
  missing = [str(p) for p in files if not p.exists()]
  if missing or not files[:-2]:
    raise UserError(f"sample corpus incomplete at {src}: missing {', '.join(missing) or 'text/<lang>/*.jsonl.gz'}")
  return files


def content_key(src: Path) -> str:
  h = hashlib.sha256()
  for p in _shipped_files(src):
    h.update(p.relative_to(src).as_posix().encode() + b"\0")
    h.update(hashlib.sha256(p.read_bytes()).digest())
  return h.hexdigest()[:16]


def _shipped_ids(src: Path, lang: str, split: str) -> Path:
  return src / "tokens" / lang / f"{split}.npz"


def materialize(src: Path, dest: Path) -> None:
  """Writes the corpus_format layout into `dest` (+ text shards + manifest).

  The shipped token ids (tokens/<lang>/<split>.npz, made with the shipped tokenizer) are copied into
  ArrayRecord shards: no tokenizing at first use, which costs a minute on a busy 2-core machine. Without
  them (a hand-made sample) the text is tokenized here, cut at val_tokens as the corpus job does.
  """
  meta = json.loads((src / META).read_text())
  dest.mkdir(parents=True, exist_ok=True)
  shutil.copyfile(src / corpus_format.TOKENIZER, dest / corpus_format.TOKENIZER)
  shutil.copytree(src / "text", dest / "text")
  tok = tokenizer.load_tokenizer(dest / corpus_format.TOKENIZER)
  splits, per_source = {}, {}
  langs = [l for l in languages.NAMES if text_shards.has_split(src, l, "train")]
  for lang in langs:
    splits[lang], per_source[lang] = {}, {}
    for split in corpus_format.SPLITS:
      ids_file = _shipped_ids(src, lang, split)
      if ids_file.exists():
        with np.load(ids_file) as z:
          ids, lengths = z["ids"].astype(np.int32), z["lengths"]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        stats = corpus_format.write_token_shards(
          dest, lang, split, ((ids[s : s + n], 0) for s, n in zip(starts, lengths))
        )
        splits[lang][split] = dataclasses.replace(stats, bytes=meta["splits"][lang][split]["bytes"])
        per_source[lang][split] = meta["per_source"][lang][split]
      else:
        ps: dict = {}
        splits[lang][split] = tokenize_split(
          tok, dest, src, lang, split, 1, meta["val_tokens"] if split == "val" else 0, ps
        )
        per_source[lang][split] = ps
  extra = {**meta.get("extra", {}), "per_source": per_source, "sample": True}
  corpus_format.write_manifest(
    dest, vocab_size=tok.get_vocab_size(), pad_id=tokenizer.PAD_ID, eos_id=tokenizer.EOS_ID, splits=splits, extra=extra
  )


def sample_corpus_dir() -> Path:
  """The tokenized sample corpus (built on first call, then reused)."""
  src = shipped_dir()
  if not src.is_dir():
    raise UserError(f"sample corpus not found at {src} (set CODELAW_SAMPLE_DIR or reinstall the project)")
  target = cache_root() / f"sample_corpus-{content_key(src)}"
  if (target / corpus_format.MANIFEST).exists():
    return target
  target.parent.mkdir(parents=True, exist_ok=True)
  tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
  try:
    materialize(src, tmp)
    try:
      os.rename(tmp, target)  # atomic; fails if another process got there first
    except OSError:
      if not (target / corpus_format.MANIFEST).exists():
        raise
  finally:
    if tmp.exists():
      shutil.rmtree(tmp, ignore_errors=True)
  return target


def full_corpus_dir() -> Path:
  """Where the full corpus is looked for: $CODELAW_FULL_CORPUS, else CODELAW_CACHE/corpus-full."""
  return Path(os.environ.get("CODELAW_FULL_CORPUS") or cache_root() / "corpus-full")


def resolve_corpus(name_or_path: str | os.PathLike) -> Path:
  """ "sample" -> the bundled sample corpus; "full" -> `full_corpus_dir()`; otherwise a corpus dir that
  must hold a manifest."""
  if str(name_or_path) == SAMPLE_NAME:
    return sample_corpus_dir()
  if str(name_or_path) == FULL_NAME:
    full = full_corpus_dir()
    if not (full / corpus_format.MANIFEST).exists():
      raise UserError(
        f"corpus 'full': no {corpus_format.MANIFEST} in {full}; build it with python -m codelaw.launch "
        f"--config configs/corpus.py:full --workdir {full} (or set CODELAW_FULL_CORPUS)"
      )
    return full
  path = Path(name_or_path).expanduser()
  if not (path / corpus_format.MANIFEST).exists():
    missing = "" if path.is_dir() else f"{path} does not exist, so "
    raise UserError(
      f"corpus {str(name_or_path)!r}: {missing}no {corpus_format.MANIFEST} there "
      f"(use \"sample\" or build one with the corpus job)"
    )
  return path


# --- export: corpus-job output -> third_party/sample_corpus ---------------------------------------------

_LICENSE_NAMES = (
  "LICENSE",
  "LICENSE.txt",
  "LICENSE.md",
  "LICENSE-MIT",
  "LICENSE-APACHE",
  "LICENCE",
  "COPYING",
  "LICENSE.rst",
  "copyright",
)


def _license_text(root: str) -> str | None:
  base = Path(root.removesuffix("#top"))
  candidates = [base / n for n in _LICENSE_NAMES] + [
    p / n for p in sorted(base.glob("*"))[:50] if p.is_dir() for n in _LICENSE_NAMES
  ]
  candidates += sorted(base.glob("usr/share/doc/*/copyright")) + sorted(base.glob("*.dist-info/licenses/*"))
  candidates += sorted(base.glob("*.dist-info/LICENSE*"))
  for p in candidates:
    if p.is_file():
      return p.read_text(errors="replace")
  return None


def export(build_dir: Path, dest: Path) -> None:
  """Copies a sample build's text shards + tokenizer into `dest` with sample_meta.json, PROVENANCE.md, LICENSES/."""
  manifest = corpus_format.read_manifest(build_dir)
  cfg = manifest.extra["build_config"]
  if dest.exists():
    shutil.rmtree(dest)
  (dest / "LICENSES").mkdir(parents=True)
  shutil.copytree(build_dir / "text", dest / "text")
  shutil.copyfile(build_dir / corpus_format.TOKENIZER, dest / corpus_format.TOKENIZER)
  keep = ("filter_counts", "licenses", "packages", "missing_packages", "provenance", "tokenizer")
  atomic_write_json(
    dest / META,
    {
      "val_tokens": cfg["val_tokens"],
      "per_source": manifest.extra["per_source"],
      "splits": {
        l: {s: {"documents": st.documents, "tokens": st.tokens, "bytes": st.bytes} for s, st in per.items()}
        for l, per in manifest.splits.items()
      },
      "extra": {k: manifest.extra[k] for k in keep if k in manifest.extra},
    },
  )
  from array_record.python.array_record_module import ArrayRecordReader

  for lang in manifest.languages:
    for split in corpus_format.SPLITS:
      docs = []
      for shard in corpus_format.shard_paths(build_dir, lang, split):
        reader = ArrayRecordReader(shard)
        docs += [corpus_format.decode_document(r) for r in reader.read_all()]
        reader.close()
      if len(corpus_format.shard_paths(build_dir, lang, split)) > 1:
        raise ValueError("export needs a build with num_shards=1 (document order = text shard order)")
      assert manifest.vocab_size <= 65536
      out = _shipped_ids(dest, lang, split)
      out.parent.mkdir(parents=True, exist_ok=True)
      np.savez_compressed(
        out, ids=np.concatenate(docs).astype(np.uint16), lengths=np.array([len(d) for d in docs], dtype=np.int32)
      )
  packages: dict[tuple, dict] = defaultdict(lambda: {"files": 0, "bytes": 0})
  for lang in manifest.languages:
    for split in corpus_format.SPLITS:
      for d in text_shards.read(build_dir, lang, split):
        p = packages[(lang, d["source"], d["package"], d["version"], d["license"], split)]
        p["files"] += 1
        p["bytes"] += len(d["text"].encode("utf-8"))
  trees = json.loads((Path(cfg["scratch_dir"] or build_dir / "scratch") / "packages.json").read_text())["packages"]
  roots = {(t["source"], t["name"]): t["root"] for t in trees}
  lines = [
    "# Provenance of the sample corpus",
    "",
    "Made by `scripts/build_sample_corpus.sh` (the corpus job, `configs/corpus.py:sample`). Every document",
    "in `text/<lang>/<split>.jsonl.gz` carries its package, version, source, path and license. Leading",
    "license comment blocks were stripped from the files; the packages' license texts are in `LICENSES/`.",
    "",
    "| language | source | package | version | license | split | files | KB |",
    "|---|---|---|---|---|---|---|---|",
  ]
  for (lang, source, name, version, lic, split), p in sorted(packages.items()):
    lines.append(
      f"| {lang} | {source} | {name} | {version} | {lic} | {split} | {p['files']} | {p['bytes'] / 1e3:.0f} |"
    )
    fname = dest / "LICENSES" / f"{source}-{name.replace('/', '_').lstrip('@')}.txt"
    if not fname.exists():
      text = _license_text(roots.get((source, name), ""))
      fname.write_text(text if text else f"{name} {version}: license {lic} (no license file shipped in the package)\n")
  atomic_write_text(dest / "PROVENANCE.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
  if len(sys.argv) >= 3 and sys.argv[1] == "export":
    export(Path(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else shipped_dir())
  else:
    print(sample_corpus_dir())
