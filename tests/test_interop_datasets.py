"""The corpus as a TFDS dataset (tfds.load and tfds.data_source), read by Grain without TensorFlow, and the
seqio Tasks and Mixtures over it: token shares of the p* mixture match p* over 200k tokens."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets", reason='needs the interop extra: pip install -e ".[interop]"')
seqio = pytest.importorskip("seqio", reason='needs the interop extra: pip install -e ".[interop]"')

from codelaw.data import corpus_format, sample, tokenizer  # noqa: E402
from codelaw.errors import UserError  # noqa: E402
from codelaw.interop import mixtures, tfds_corpus  # noqa: E402
from codelaw.interop import seqio as codelaw_seqio  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("python", "go", "rust")
P_STAR = {"python": 0.5, "go": 0.3, "rust": 0.2}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
  tfds.disable_progress_bar()
  d = tmp_path_factory.mktemp("tfds")
  assert tfds_corpus.prepare(d, "sample", LANGS) == LANGS
  return d


@pytest.fixture(scope="module")
def manifest() -> corpus_format.Manifest:
  return corpus_format.read_manifest(sample.sample_corpus_dir())


def test_splits_hold_the_corpus_documents(data_dir, manifest):
  for lang in LANGS:
    info = tfds_corpus.builder(lang, data_dir).info
    assert info.splits["train"].num_examples == manifest.splits[lang]["train"].documents
    assert info.splits["validation"].num_examples == manifest.splits[lang]["val"].documents
    assert info.metadata["vocab_size"] == manifest.vocab_size and info.metadata["eos_id"] == manifest.eos_id
    assert {f.value for f in info.available_file_formats()} == {"tfrecord", "array_record"}


def test_text_and_tokens_agree(data_dir, manifest):
  # The validation split stops inside its last document: its text is cut where its tokens end.
  tok = tokenizer.load_tokenizer(sample.sample_corpus_dir() / corpus_format.TOKENIZER)
  docs = tfds.data_source("codelaw_corpus/python", data_dir=str(data_dir), split="validation")
  assert sum(len(d["tokens"]) for d in docs) == manifest.splits["python"]["val"].tokens
  for d in docs:
    assert tok.encode(d["text"].decode(), add_special_tokens=False).ids == d["tokens"].tolist()
    assert d["license"] and d["package"] and d["source"]


def test_tfds_load_reads_the_same_examples(data_dir):
  ds = tfds.load("codelaw_corpus/go", split="validation", data_dir=str(data_dir))
  loaded = sorted((ex["path"].decode(), int(ex["tokens"].sum())) for ex in tfds.as_numpy(ds))
  source = tfds.data_source("codelaw_corpus/go", data_dir=str(data_dir), split="validation")
  assert loaded == sorted((d["path"].decode(), int(d["tokens"].sum())) for d in source)


def test_grain_reads_without_tensorflow(data_dir, manifest):
  code = (
    "import json, sys\n"
    "from codelaw.interop import grain_reader\n"
    f"docs = grain_reader.documents({str(data_dir)!r}, 'rust', 'validation')\n"
    "shuffled = docs.shuffle(seed=0)\n"
    "print(json.dumps({'docs': len(docs), 'tokens': int(sum(len(d['tokens']) for d in shuffled)),\n"
    "                  'tensorflow': 'tensorflow' in sys.modules}))\n"
  )
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=ROOT)
  assert r.returncode == 0, r.stderr[-2000:]
  out = json.loads(r.stdout.strip().splitlines()[-1])
  assert out == {
    "docs": manifest.splits["rust"]["val"].documents,
    "tokens": manifest.splits["rust"]["val"].tokens,
    "tensorflow": False,
  }


def test_a_data_dir_is_not_reused_for_another_corpus(data_dir, tmp_path):
  other = tmp_path / "corpus"
  shutil.copytree(sample.sample_corpus_dir(), other, symlinks=True)
  raw = json.loads((other / corpus_format.MANIFEST).read_text())
  raw["extra"]["rebuilt"] = True
  (other / corpus_format.MANIFEST).write_text(json.dumps(raw))
  with pytest.raises(UserError, match="another corpus"):
    tfds_corpus.prepare(data_dir, other, ("python",))


@pytest.fixture(scope="module")
def allocation(tmp_path_factory) -> Path:
  path = tmp_path_factory.mktemp("alloc") / "allocation.json"
  path.write_text(json.dumps({"N": 1e6, "D": 2e5, "p_star": P_STAR, "p_uniform": {n: 1 / 3 for n in LANGS}}))
  return path


def test_pstar_mixture_gives_pstar_token_shares(data_dir, allocation):
  assert codelaw_seqio.register(allocation, data_dir) == ("codelaw_pstar", "codelaw_uniform")
  mixture = seqio.get_mixture_or_task("codelaw_pstar")
  ds = mixture.get_dataset({"targets": 32}, split="train", seed=0, passthrough_features=["language"])
  counts: Counter = Counter()
  for ex in ds.as_numpy_iterator():
    assert ex["targets"].shape == (32,)
    counts[ex["language"].decode()] += len(ex["targets"])
    if sum(counts.values()) >= 200_000:
      break
  total = sum(counts.values())
  for lang, p in P_STAR.items():
    assert counts[lang] / total == pytest.approx(p, abs=0.02), (lang, counts)


def test_tasks_need_a_built_dataset_or_a_corpus(tmp_path):
  with pytest.raises(UserError, match="codelaw_corpus/python is not built"):
    codelaw_seqio.register_tasks(tmp_path, langs=("python",))


def test_task_yields_the_corpus_token_stream(data_dir, allocation, manifest):
  codelaw_seqio.register(allocation, data_dir)
  task = seqio.get_mixture_or_task("codelaw_go")
  ds = task.get_dataset({"targets": 64}, split="validation", shuffle=False, num_epochs=1)
  ids = np.concatenate([ex["targets"] for ex in ds.as_numpy_iterator()])
  stats = manifest.splits["go"]["val"]
  assert len(ids) == (stats.tokens + stats.documents) // 64 * 64  # documents + one EOS each, whole chunks
  assert (ids == manifest.eos_id).sum() >= stats.documents - 1


def test_exported_seqio_snippet_registers_the_mixture(data_dir, tmp_path, monkeypatch):
  mixtures.write(tmp_path, {"N": 1e6, "D": 2e5, "p_star": P_STAR, "p_uniform": {n: 1 / 3 for n in LANGS}})
  monkeypatch.setenv("TFDS_DATA_DIR", str(data_dir))
  seqio.MixtureRegistry.remove("codelaw_pstar")
  exec(compile((tmp_path / "mixtures" / "pstar" / "seqio_mixture.py").read_text(), "seqio_mixture.py", "exec"), {})
  mixture = seqio.get_mixture_or_task("codelaw_pstar")
  assert {t.name: mixture.get_rate(t) for t in mixture.tasks} == pytest.approx(
    {f"codelaw_{n}": p for n, p in P_STAR.items()}
  )
