"""Translation data organisation: directions, the three strategies (structure and masking), mixing, resume."""

from __future__ import annotations

import gzip
import json
import pathlib
import sysconfig

import numpy as np
import pytest

from codelaw import languages
from codelaw.data import corpus_format, pipeline, translation
from codelaw.errors import UserError

SEQ = 256


def _tokenized_corpus(out: pathlib.Path) -> pathlib.Path:
  """The bundled sample corpus when it is there; otherwise a small real one with a freshly trained BPE."""
  from codelaw.data import sample

  try:
    return sample.sample_corpus_dir()
  except UserError:
    pass
  from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

  files = sorted(pathlib.Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:40]
  texts = [f.read_text(errors="replace") for f in files]
  tok = Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tok.decoder = decoders.ByteLevel()
  tok.train_from_iterator(
    texts,
    trainers.BpeTrainer(
      vocab_size=600,
      special_tokens=["<pad>", "<eos>"],
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
      show_progress=False,
    ),
  )
  out.mkdir(parents=True, exist_ok=True)
  tok.save(str(out / corpus_format.TOKENIZER))
  splits = {}
  for i, lang in enumerate(languages.NAMES):
    docs = [(tok.encode(t).ids, len(t.encode())) for t in texts[i * 5 : (i + 1) * 5]]
    splits[lang] = {
      "train": corpus_format.write_token_shards(out, lang, "train", docs[1:]),
      "val": corpus_format.write_token_shards(out, lang, "val", docs[:1]),
    }
  corpus_format.write_manifest(out, vocab_size=tok.get_vocab_size(), pad_id=0, eos_id=1, splits=splits)
  return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
  return _tokenized_corpus(tmp_path_factory.mktemp("tok_corpus"))


@pytest.fixture(scope="module")
def parallel(tmp_path_factory) -> str:
  """A slice of the shipped parallel sample (every source, both splits) to keep tokenization quick."""
  groups = [json.loads(l) for l in gzip.open(translation.SAMPLE_DIR / "parallel.jsonl.gz", "rt")]
  keep = []
  for source in ("humaneval", "aws-cdk", "snowball"):
    for split in ("train", "heldout"):
      keep += [g for g in groups if g["source"] == source and g["split"] == split][:25]
  path = tmp_path_factory.mktemp("parallel") / "parallel.jsonl.gz"
  path.write_bytes(gzip.compress("".join(json.dumps(g) + "\n" for g in keep).encode()))
  return str(path)


def _tokenizer(corpus):
  from tokenizers import Tokenizer

  return Tokenizer.from_file(str(corpus / corpus_format.TOKENIZER))


def test_directions():
  seen, unseen, every = translation.seen_directions(), translation.unseen_directions(), translation.all_directions()
  assert len(seen) == 12 and len(unseen) == 30 and len(every) == 42
  assert set(seen) | set(unseen) == set(every) and not set(seen) & set(unseen)
  assert all("python" in d.split("->") for d in seen) and not any("python" in d for d in unseen)
  for bad in ("python->python", "python-java", "cobol->go", "a->b->c"):
    with pytest.raises(UserError):
      translation.parse_direction(bad)


def test_shipped_sample_has_heldout_data_for_most_directions():
  counts = translation.directions_with_data("sample", "heldout")
  with_data = {d for d, n in counts.items() if n > 0}
  assert len(with_data) >= 40
  assert set(translation.seen_directions()) <= with_data
  assert (translation.SAMPLE_DIR / "provenance.json").exists()
  assert sum(f.stat().st_size for f in translation.SAMPLE_DIR.rglob("*") if f.is_file()) < 3_000_000
  train_ids = {g["id"] for g in translation.load_groups("sample", "train")}
  assert not train_ids & {g["id"] for g in translation.load_groups("sample", "heldout")}


@pytest.mark.parametrize(
  "kw, match",
  [
    ({"strategy": "interleave"}, "strategy"),
    ({"weight": 1.0}, "weight"),
    ({"weight": -0.1}, "weight"),
    ({"weight": float("nan")}, "weight"),
    ({"directions": ["python->klingon"]}, "klingon"),
    ({"directions": []}, "empty"),
  ],
)
def test_bad_spec(kw, match):
  with pytest.raises(UserError, match=match):
    translation.TranslationSpec(**kw).validate()


def test_spec_from_config():
  assert translation.TranslationSpec.from_config(None) is None
  spec = translation.TranslationSpec.from_config({"strategy": "concat", "directions": ["go->rust"], "weight": 0.2})
  assert spec.directions == ("go->rust",) and spec.strategy == "concat"
  with pytest.raises(UserError, match="stratgy"):
    translation.TranslationSpec.from_config({"stratgy": "concat"})


def test_three_strategies_document_structure(corpus):
  tok = _tokenizer(corpus)
  enc = lambda s: np.asarray(tok.encode(s, add_special_tokens=False).ids, np.int32)
  x_text, y_text = "def add(a, b):\n    return a + b\n", "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
  x, y = enc(x_text), enc(y_text)
  py, rs = languages.NAMES.index("python"), languages.NAMES.index("rust")
  shuffle = translation.pair_documents(x, y, "python", "rust", "shuffle", enc, eos_id=1)
  assert len(shuffle) == 2
  np.testing.assert_array_equal(shuffle[0]["tokens"], np.append(x, 1))
  np.testing.assert_array_equal(shuffle[1]["tokens"], np.append(y, 1))
  assert (shuffle[0]["languages"] == py).all() and (shuffle[1]["languages"] == rs).all()
  (concat,) = translation.pair_documents(x, y, "python", "rust", "concat", enc, eos_id=1)
  assert tok.decode(concat["tokens"][:-1].tolist()) == x_text + "\n\n" + y_text
  (paired,) = translation.pair_documents(x, y, "python", "rust", "paired", enc, eos_id=1)
  text = tok.decode(paired["tokens"][:-1].tolist())
  assert text == f"Translate this Python program to Rust.\nPython:\n{x_text}\nRust:\n{y_text}"
  for doc in (concat, paired):
    assert doc["tokens"][-1] == 1
    mask = doc["target_mask"].astype(bool)
    # The y side (and the EOS that ends it) is the target; it sits at the end, after all of x.
    assert tok.decode(doc["tokens"][mask][:-1].tolist()) == y_text and mask[-1]
    assert np.all(np.diff(mask.astype(int)) >= 0)
    assert (doc["languages"][: len(x)] == py).all()
    assert (doc["languages"][mask] == rs).all()


@pytest.mark.parametrize("strategy", translation.STRATEGIES)
def test_eval_batches_weight_only_y(corpus, parallel, strategy):
  tok = _tokenizer(corpus)
  batches = translation.translation_eval_batches(
    "python->java", seq_len=SEQ, batch_size=2, strategy=strategy, corpus_dir=corpus, data=parallel
  )
  assert batches, "the slice has held-out python->java pairs"
  again = translation.translation_eval_batches(
    "python->java", seq_len=SEQ, batch_size=2, strategy=strategy, corpus_dir=corpus, data=parallel
  )
  for a, b in zip(batches, again):
    np.testing.assert_array_equal(a["weights"], b["weights"])
  heldout = {
    g["programs"]["java"]
    for g in translation.load_groups(parallel, "heldout")
    if {"python", "java"} <= set(g["programs"])
  }
  java = languages.NAMES.index("java")
  n_pairs = 0
  for b in batches:
    assert b["inputs"].shape == (2, SEQ)
    for r in range(2):
      seg = b["segment_ids"][r]
      for s in np.unique(seg[seg > 0]):
        w = (b["weights"][r] > 0) & (seg == s)
        # Weighted targets of a segment decode to exactly one held-out Java program (+ EOS), nothing of x.
        y = b["targets"][r][w]
        assert y[-1] == 1 and tok.decode(y[:-1].tolist()) in heldout
        assert (b["language_ids"][r][np.flatnonzero(w) + 1] == java).all()
        n_pairs += 1
  assert n_pairs >= 3
  assert (
    translation.translation_eval_batches(
      "typescript->rust", seq_len=SEQ, batch_size=2, strategy=strategy, corpus_dir=corpus, data=parallel
    )
    == []
  )


def _translation_rows(batch):
  """Rows holding a translation document: a segment with two languages, or padding (first-fit)."""
  out = []
  for r in range(batch["inputs"].shape[0]):
    seg, lang = batch["segment_ids"][r], batch["language_ids"][r]
    mixed = any(len(np.unique(lang[seg == s])) > 1 for s in np.unique(seg[seg > 0]))
    out.append(mixed)
  return np.array(out)


@pytest.mark.parametrize("strategy", ["paired", "concat"])
def test_translation_stream_in_the_mixture(corpus, parallel, strategy):
  spec = translation.TranslationSpec(strategy=strategy, weight=0.25, data=parallel)
  props = {"python": 1.0, "go": 1.0}
  ds = pipeline.mixture_dataset(
    corpus, props, seq_len=SEQ, global_batch_size=4, seed=0, process_index=0, process_count=1, translation=spec
  )
  it = iter(ds)
  batches = [next(it) for _ in range(30)]
  share = np.mean([_translation_rows(b) for b in batches])
  assert abs(share - 0.25) < 0.05, share
  # Only the trained (seen) directions: every two-language segment pairs python with another language.
  for b in batches:
    for r in np.flatnonzero(_translation_rows(b)):
      seg, lang = b["segment_ids"][r], b["language_ids"][r]
      for s in np.unique(seg[seg > 0]):
        langs = set(np.unique(lang[seg == s]).tolist())
        assert len(langs) == 1 or languages.NAMES.index("python") in langs
  # Exact resume through the translation stream too.
  state = it.get_state()
  expected = [next(it) for _ in range(5)]
  fresh = iter(
    pipeline.mixture_dataset(
      corpus, props, seq_len=SEQ, global_batch_size=4, seed=0, process_index=0, process_count=1, translation=spec
    )
  )
  fresh.set_state(json.loads(json.dumps(state)))
  for e in expected:
    np.testing.assert_array_equal(next(fresh)["inputs"], e["inputs"])


def test_shuffle_strategy_separates_the_sides(corpus, parallel):
  spec = translation.TranslationSpec(strategy="shuffle", weight=0.5, data=parallel)
  it = iter(
    pipeline.mixture_dataset(
      corpus, {"go": 1.0}, seq_len=SEQ, global_batch_size=2, seed=0, process_index=0, process_count=1, translation=spec
    )
  )
  langs_seen = set()
  for _ in range(10):
    b = next(it)
    assert not _translation_rows(b).any()  # no segment mixes two languages
    langs_seen |= set(np.unique(b["language_ids"]).tolist())
  assert languages.NAMES.index("python") in langs_seen


def test_spec_from_a_configdict_in_the_mixture(corpus, parallel):
  import ml_collections

  cfg = ml_collections.ConfigDict(
    {"strategy": "concat", "directions": ["python->java"], "weight": 0.5, "data": parallel}
  )
  it = iter(
    pipeline.mixture_dataset(
      corpus, {"go": 1.0}, seq_len=SEQ, global_batch_size=2, seed=0, process_index=0, process_count=1, translation=cfg
    )
  )
  rows = np.concatenate([_translation_rows(next(it)) for _ in range(8)])
  assert 0.3 < rows.mean() < 0.7


def test_snowball_routines_are_split_per_language():
  from codelaw.data import parallel_corpus

  code = {
    "python": "class S:\n    def __r_step(self):\n        if x:\n            return False\n\n        return True\n"
    "\n    def __r_other(self):\n        return True\n",
    "rust": "fn r_step(env: &mut SnowballEnv) -> bool {\n    if s == \"}\" {\n        return false;\n    }\n"
    "    true\n}\n\nfn r_other(env: &mut SnowballEnv) -> bool {\n    true\n}\n",
    "csharp": "    private bool r_step()\n    {\n        return true;\n    }\n\n    private bool r_other()\n"
    "    {\n        return true;\n    }\n",
  }
  for lang, text in code.items():
    routines = parallel_corpus.split_routines(text, lang)
    assert set(routines) == {"step", "other"}, lang
    assert "other" not in routines["step"] and routines["other"].rstrip().endswith(("True", "}"))
  assert parallel_corpus.split_routines(code["rust"], "rust")["step"].count("{") == 2
  groups = [{"split": "train", "programs": {"python": "a", "rust": "b", "go": "c"}}]
  counts = parallel_corpus.direction_counts(groups)
  assert len(counts["train"]) == 6 and counts["train"]["python->rust"] == 1
