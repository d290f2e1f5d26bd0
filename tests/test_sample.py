"""The bundled sample corpus: shipped files, materialisation into the tokenized layout, caching, races."""

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from codelaw import languages
from codelaw.data import corpus_format, sample, text_shards, tokenizer
from codelaw.errors import UserError

SHIPPED = sample.shipped_dir()


def test_shipped_sample_is_small_complete_and_has_provenance():
  third_party = SHIPPED.parent
  total = sum(p.stat().st_size for p in third_party.rglob("*") if p.is_file())
  assert total < 15e6, f"third_party/ is {total / 1e6:.1f} MB"
  assert (SHIPPED / "PROVENANCE.md").exists() and any((SHIPPED / "LICENSES").iterdir())
  for lang in languages.NAMES:
    train = list(text_shards.read(SHIPPED, lang, "train"))
    val = list(text_shards.read(SHIPPED, lang, "val"))
    assert train and val, lang
    n_bytes = sum(len(d["text"].encode()) for d in train + val)
    assert 0.3e6 < n_bytes < 2.5e6, (lang, n_bytes)
    for d in train + val:
      assert all(d[k] for k in text_shards.FIELDS), d["path"]
    key = lambda d: f"{d['source']}:{d['package']}"
    assert not {key(d) for d in train} & {key(d) for d in val}, lang  # split by package


def test_materialised_sample(tmp_path, monkeypatch):
  monkeypatch.setenv("CODELAW_CACHE", str(tmp_path))
  d = sample.sample_corpus_dir()
  assert d.parent == tmp_path
  m = corpus_format.read_manifest(d)
  assert m.languages == languages.NAMES
  assert (m.pad_id, m.eos_id) == (0, 1) and 3000 <= m.vocab_size <= 4096
  meta = json.loads((SHIPPED / sample.META).read_text())
  tok = tokenizer.load_tokenizer(d)
  from array_record.python.array_record_module import ArrayRecordReader

  for lang in languages.NAMES:
    tr, va = m.splits[lang]["train"], m.splits[lang]["val"]
    assert va.tokens == meta["val_tokens"] and tr.tokens > va.tokens
    assert 1.5 < m.bytes_per_token(lang) < 6.0
    reader = ArrayRecordReader(corpus_format.shard_paths(d, lang, "val")[0])
    first = corpus_format.decode_document(reader.read([0])[0])
    reader.close()
    doc = next(text_shards.read(d, lang, "val"))
    assert doc["text"].startswith(tok.decode(first.tolist()))
  before = (d / corpus_format.MANIFEST).stat().st_mtime_ns
  assert sample.sample_corpus_dir() == d  # cached
  assert (d / corpus_format.MANIFEST).stat().st_mtime_ns == before
  assert sample.resolve_corpus("sample") == d
  assert sample.resolve_corpus(str(d)) == d


def test_resolve_corpus_rejects_missing(tmp_path):
  with pytest.raises(UserError, match="no manifest.json"):
    sample.resolve_corpus(tmp_path / "nowhere")


def _small_sample(dest: Path) -> None:
  (dest / "text").mkdir(parents=True)
  shutil.copy(SHIPPED / "tokenizer.json", dest)
  meta = json.loads((SHIPPED / sample.META).read_text())
  (dest / sample.META).write_text(json.dumps({**meta, "val_tokens": 500}))
  for lang in ("go", "rust"):
    for split in ("train", "val"):
      docs = [d for _, d in zip(range(15), text_shards.read(SHIPPED, lang, split))]
      text_shards.write(text_shards.path(dest, lang, split), docs)


def _call(_):
  return str(sample.sample_corpus_dir())


def test_concurrent_callers_get_one_copy(tmp_path, monkeypatch):
  _small_sample(tmp_path / "shipped")
  monkeypatch.setenv("CODELAW_SAMPLE_DIR", str(tmp_path / "shipped"))
  monkeypatch.setenv("CODELAW_CACHE", str(tmp_path / "cache"))
  with multiprocessing.get_context("spawn").Pool(3) as pool:
    paths = pool.map(_call, range(3))
  assert len(set(paths)) == 1
  assert os.listdir(tmp_path / "cache") == [Path(paths[0]).name]  # no temp dirs left behind
  m = corpus_format.read_manifest(paths[0])
  assert m.languages == ("go", "rust") and m.splits["go"]["val"].tokens == 500
  # a changed shipped file changes the cache key: no stale reuse
  text_shards.write(
    text_shards.path(tmp_path / "shipped", "go", "val"), list(text_shards.read(tmp_path / "shipped", "go", "val"))[:3]
  )
  assert _call(0) != paths[0]


def test_incomplete_sample_is_a_user_error(tmp_path, monkeypatch):
  (tmp_path / "text").mkdir()
  monkeypatch.setenv("CODELAW_SAMPLE_DIR", str(tmp_path))
  with pytest.raises(UserError, match="incomplete"):
    sample.sample_corpus_dir()
