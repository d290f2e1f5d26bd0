"""The Grain mixture pipeline: proportions, determinism, exact resume, process slicing, bad inputs."""

from __future__ import annotations

import math
import pathlib
import sysconfig

import grain
import numpy as np
import orbax.checkpoint as ocp
import pytest

from codelaw import languages
from codelaw.data import accounting, corpus_format, pipeline
from codelaw.errors import UserError

SEQ = 64


def _byte_docs(files, chunk_lines):
  for f in files:
    lines = f.read_bytes().splitlines(keepends=True)
    n = chunk_lines or len(lines)
    for s in range(0, len(lines), n):
      b = b"".join(lines[s : s + n])
      yield np.frombuffer(b, np.uint8).astype(np.int32) + 2, len(b)


def build_corpus(out: pathlib.Path, langs=languages.NAMES, docs_per_lang=40) -> pathlib.Path:
  """Real text (stdlib sources) as byte tokens (id = byte + 2; pad 0, eos 1), with very different mean
  document lengths per language so that mixing by documents would miss the token proportions badly."""
  files = sorted(pathlib.Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
  chunking = dict(zip(languages.NAMES, (None, 40, 6, 150, 20, None, 60)))
  splits = {}
  for li, lang in enumerate(langs):
    docs = []
    for doc in _byte_docs(files[li * 25 :], chunking[lang]):
      docs.append(doc)
      if len(docs) == docs_per_lang + 8:
        break
    splits[lang] = {
      "train": corpus_format.write_token_shards(out, lang, "train", docs[8:], 2),
      "val": corpus_format.write_token_shards(out, lang, "val", docs[:8], 1),
    }
  corpus_format.write_manifest(out, vocab_size=258, pad_id=0, eos_id=1, splits=splits)
  return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> pathlib.Path:
  return build_corpus(tmp_path_factory.mktemp("corpus"))


def _take(it, n):
  return [next(it) for _ in range(n)]


def _assert_batches_equal(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for k in x:
      np.testing.assert_array_equal(x[k], y[k], err_msg=k)


def _mixture(corpus, props, **kw):
  kw = {"seq_len": SEQ, "global_batch_size": 4, "seed": 0, "process_index": 0, "process_count": 1, **kw}
  return pipeline.mixture_dataset(corpus, props, **kw)


def test_batch_fields_and_masking(corpus):
  props = {name: 1.0 for name in languages.NAMES}
  b = next(iter(_mixture(corpus, props)))
  assert set(b) == {"inputs", "targets", "segment_ids", "positions", "weights", "language_ids"}
  for k, v in b.items():
    assert v.shape == (4, SEQ), k
    assert v.dtype == (np.float32 if k == "weights" else np.int32), k
  w = b["weights"] > 0
  seg = b["segment_ids"]
  # A weighted position predicts the next token of the same segment; nothing crosses a segment.
  assert np.array_equal(b["targets"][:, :-1][w[:, :-1]], b["inputs"][:, 1:][w[:, :-1]])
  assert np.all(seg[:, 1:][w[:, :-1]] == seg[:, :-1][w[:, :-1]])
  assert not w[:, -1].any()
  ends = np.zeros_like(w)
  ends[:, :-1] = seg[:, 1:] != seg[:, :-1]
  assert not (w & ends).any()
  assert np.all((b["language_ids"] >= 0) == (seg > 0))


def _sample_or_skip():
  from codelaw.data import sample

  try:
    return sample.sample_corpus_dir()
  except UserError as e:
    pytest.skip(f"bundled sample corpus not available: {e}")


@pytest.mark.parametrize("which", ["stdlib", "sample"])
def test_realized_token_proportions_over_1m_tokens(corpus, which):
  if which == "sample":
    corpus = _sample_or_skip()
  props = {"python": 0.4, "java": 0.2, "javascript": 0.15, "typescript": 0.1, "csharp": 0.1, "go": 0.05, "rust": 0.0}
  it = iter(_mixture(corpus, props, seq_len=256, global_batch_size=8))
  meter = accounting.ProportionMeter()
  while meter.tokens < 1_000_000:
    meter.update(next(it))
  realized = meter.proportions()
  for lang, p in props.items():
    assert abs(realized[lang] - p) < 0.01, (lang, realized[lang], p)
  assert realized["rust"] == 0.0
  if which == "stdlib":  # javascript documents are ~6 lines: mixing documents would have been far off.
    man = corpus_format.read_manifest(corpus)
    mean = {l: man.splits[l]["train"].tokens / man.splits[l]["train"].documents for l in props}
    assert mean["javascript"] * 10 < mean["python"]


def test_deterministic_for_a_seed(corpus):
  props = {"python": 1.0, "go": 2.0}
  a = _take(iter(_mixture(corpus, props)), 5)
  b = _take(iter(_mixture(corpus, props)), 5)
  _assert_batches_equal(a, b)
  c = _take(iter(_mixture(corpus, props, seed=1)), 5)
  assert not all(np.array_equal(x["inputs"], y["inputs"]) for x, y in zip(a, c))


def test_exact_resume_mid_epoch_with_state(corpus):
  props = {"python": 0.5, "javascript": 0.3, "rust": 0.2}
  it = iter(_mixture(corpus, props))
  _take(it, 7)
  state = it.get_state()
  expected = _take(it, 6)
  fresh = iter(_mixture(corpus, props))
  fresh.set_state(state)
  _assert_batches_equal(_take(fresh, 6), expected)


def test_exact_resume_through_orbax(corpus, tmp_path):
  props = {"java": 1.0, "csharp": 1.0}
  it = iter(_mixture(corpus, props))
  _take(it, 3)
  with ocp.CheckpointManager(tmp_path / "ckpt") as mngr:
    mngr.save(3, args=grain.checkpoint.CheckpointSave(it))
    mngr.wait_until_finished()
  expected = _take(it, 4)
  restored = iter(_mixture(corpus, props))
  with ocp.CheckpointManager(tmp_path / "ckpt") as mngr:
    mngr.restore(3, args=grain.checkpoint.CheckpointRestore(restored))
  _assert_batches_equal(_take(restored, 4), expected)


def test_state_of_another_batch_layout_is_rejected(corpus):
  it = iter(_mixture(corpus, {"python": 1.0}, global_batch_size=4))
  next(it)
  with pytest.raises(UserError, match="4 batch-row slots but this pipeline has 2"):
    iter(_mixture(corpus, {"python": 1.0}, global_batch_size=2)).set_state(it.get_state())


def _rows_of(batches, lang_id):
  """Per batch-row slot, the sequence of rows of one language (their tokens), in order."""
  out = [[] for _ in range(batches[0]["inputs"].shape[0])]
  for b in batches:
    for r in range(b["inputs"].shape[0]):
      lang = b["language_ids"][r][b["segment_ids"][r] > 0]
      if lang.size and lang[0] == lang_id:
        out[r].append(b["inputs"][r].tobytes())
  return out


def test_changing_proportions_on_resume(corpus):
  old = {"python": 0.5, "go": 0.5}
  new = {"python": 0.2, "go": 0.3, "java": 0.5}
  it = iter(_mixture(corpus, old, seq_len=128))
  _take(it, 10)
  state = it.get_state()
  continued = _take(it, 40)
  resumed = iter(_mixture(corpus, new, seq_len=128))
  resumed.set_state(state)
  after = _take(resumed, 40)
  py = languages.NAMES.index("python")
  # python continues from its saved position in its own stream (no document restarts or repeats) ...
  for cont, res in zip(_rows_of(continued, py), _rows_of(after, py)):
    n = min(len(cont), len(res))
    assert n > 0 and cont[:n] == res[:n]
  # ... and the new weights apply from the resume point on.
  meter = accounting.ProportionMeter()
  for b in after:
    meter.update(b)
  real = meter.proportions()
  assert real["java"] > 0.35 and real["python"] < 0.3, real
  # java was not in the old mixture: it starts at the beginning of its own stream.
  java = languages.NAMES.index("java")
  first_java = next(iter(_mixture(corpus, {"java": 1.0}, seq_len=128)))
  assert _rows_of(after, java)[0][0] == first_java["inputs"][0].tobytes()


def test_process_slices_are_disjoint_halves_of_the_global_batch(corpus):
  props = {"python": 1.0, "typescript": 1.0, "csharp": 1.0}
  whole = _take(iter(_mixture(corpus, props, global_batch_size=4)), 3)
  halves = [
    _take(iter(_mixture(corpus, props, global_batch_size=4, process_index=i, process_count=2)), 3) for i in range(2)
  ]
  for step, b in enumerate(whole):
    for k in b:
      np.testing.assert_array_equal(np.concatenate([halves[0][step][k], halves[1][step][k]]), b[k])
    assert not np.array_equal(halves[0][step]["inputs"], halves[1][step]["inputs"])
  # Each process reads only its own documents: its first rows' token streams never overlap the other's.
  rows0 = {bytes(r.tobytes()) for b in halves[0] for r in b["inputs"]}
  rows1 = {bytes(r.tobytes()) for b in halves[1] for r in b["inputs"]}
  assert not rows0 & rows1


@pytest.mark.parametrize(
  "props, match",
  [
    ({"python": -0.1, "go": 1.0}, "python"),
    ({"python": math.nan, "go": 1.0}, "python"),
    ({"python": 0.0, "go": 0.0}, "all weights are zero"),
    ({"cobol": 1.0}, "cobol"),
  ],
)
def test_bad_proportions(corpus, props, match):
  with pytest.raises(UserError, match=match):
    _mixture(corpus, props)


def test_language_absent_from_corpus(tmp_path):
  small = build_corpus(tmp_path / "c", langs=("python", "go"), docs_per_lang=3)
  with pytest.raises(UserError, match="rust"):
    _mixture(small, {"python": 1.0, "rust": 0.5})
  _mixture(small, {"python": 1.0, "rust": 0.0})  # zero weight for an absent language is fine


@pytest.mark.parametrize(
  "kw, match",
  [
    ({"global_batch_size": 3, "process_count": 2}, "divisible"),
    ({"process_index": 2, "process_count": 2}, "process_index"),
    ({"seq_len": 1}, "seq_len"),
    ({"split": "test"}, "split"),
  ],
)
def test_bad_arguments(corpus, kw, match):
  with pytest.raises(UserError, match=match):
    _mixture(corpus, {"python": 1.0}, **kw)


def test_missing_corpus(tmp_path):
  with pytest.raises(UserError, match="does not exist"):
    _mixture(tmp_path / "nope", {"python": 1.0})


def test_small_language_repeats_and_epochs_are_counted(tmp_path):
  small = build_corpus(tmp_path / "c", langs=("javascript", "go"), docs_per_lang=4)
  man = corpus_format.read_manifest(small)
  js = man.splits["javascript"]["train"]
  props = {"javascript": 0.5, "go": 0.5}
  tokens = 20 * (js.tokens + js.documents)
  epochs = accounting.epochs_per_language(small, props, tokens, seq_len=SEQ)
  assert 8 < epochs["javascript"] < 12 and epochs["go"] < epochs["javascript"]
  with_translation = accounting.epochs_per_language(
    small, props, tokens, seq_len=SEQ, translation={"strategy": "paired", "weight": 0.5}
  )
  assert with_translation["javascript"] == pytest.approx(epochs["javascript"] / 2)
  # The pipeline keeps going past the end of javascript's documents, with a fresh order each epoch.
  it = iter(_mixture(small, props, global_batch_size=1))
  js_id = languages.NAMES.index("javascript")
  seen = 0
  while seen < tokens / 2:
    b = next(it)
    seen += int((b["language_ids"] == js_id).sum())
  assert seen >= js.tokens * 5
  read = accounting.documents_read(it.get_state())
  assert read["javascript"] / js.documents >= 4.5


def test_eval_batches_cover_val_in_order(corpus):
  batches = pipeline.eval_batches(corpus, "java", seq_len=SEQ, batch_size=3, max_tokens=None)
  again = pipeline.eval_batches(corpus, "java", seq_len=SEQ, batch_size=3, max_tokens=None)
  _assert_batches_equal(batches, again)
  docs = [
    corpus_format.decode_document(r)
    for r in grain.sources.ArrayRecordDataSource(corpus_format.shard_paths(corpus, "java", "val"))
  ]
  stream = np.concatenate([np.append(d, 1) for d in docs])
  got = np.concatenate([b["inputs"][b["segment_ids"] > 0] for b in batches])
  np.testing.assert_array_equal(got, stream)  # every val token once, in order, nothing else
  assert all(b["inputs"].shape == (3, SEQ) for b in batches)
  assert np.all(
    np.concatenate([b["language_ids"][b["segment_ids"] > 0] for b in batches]) == languages.NAMES.index("java")
  )
  limited = pipeline.eval_batches(corpus, "java", seq_len=SEQ, batch_size=3, max_tokens=2 * 3 * SEQ)
  assert len(limited) == 2
  _assert_batches_equal(limited, batches[:2])
  with pytest.raises(UserError, match="max_tokens"):
    pipeline.eval_batches(corpus, "java", seq_len=SEQ, batch_size=3, max_tokens=0)
  with pytest.raises(UserError, match="cobol"):
    pipeline.eval_batches(corpus, "cobol", seq_len=SEQ, batch_size=3, max_tokens=None)
