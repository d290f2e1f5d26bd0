"""Packing invariants: no token lost, segment ids and positions, no target crosses a document."""

from __future__ import annotations

import grain
import numpy as np
import pytest

from codelaw import languages
from codelaw.data import corpus_format, packing, pipeline

EOS, PAD = 1, 0


def _docs(lengths, seed=0):
  rng = np.random.default_rng(seed)
  return [rng.integers(2, 200, size=n).astype(np.int32) for n in lengths]


def _cts_rows(docs, seq_len, lang=3):
  ds = grain.MapDataset.source([{"tokens": packing.with_eos(d, EOS)} for d in docs]).to_iter_dataset()
  return list(packing.concat_then_split(ds, seq_len, lang))


def _segments(row):
  """[(segment id, tokens, positions)] of one row in order."""
  out = []
  for s in np.unique(row["segment_ids"][row["segment_ids"] > 0]):
    m = row["segment_ids"] == s
    idx = np.flatnonzero(m)
    assert np.all(np.diff(idx) == 1), "a segment must be contiguous"
    out.append((s, row["tokens"][m], row["positions"][m]))
  return out


@pytest.mark.parametrize("lengths", [[5, 3, 40, 1, 0, 17, 9], [100], [15, 15, 15, 15]])
def test_concat_then_split_loses_nothing_and_restarts_positions(lengths):
  seq_len = 16
  docs = _docs(lengths)
  rows = _cts_rows(docs, seq_len)
  stream = np.concatenate([packing.with_eos(d, EOS) for d in docs])
  # Every token once, in order; only the very last row may be padded.
  got = np.concatenate([r["tokens"][r["segment_ids"] > 0] for r in rows])
  np.testing.assert_array_equal(got, stream)
  assert all((r["segment_ids"] > 0).all() for r in rows[:-1])
  # Cut the stream into the pieces the segments should be: documents, split at row boundaries.
  pieces, pos = [], 0
  for d in docs:
    n = len(d) + 1
    while n:
      take = min(n, seq_len - pos % seq_len)
      pieces.append(take)
      pos, n = pos + take, n - take
  segs = [seg for r in rows for seg in _segments(r)]
  assert [len(t) for _, t, _ in segs] == pieces
  for r in rows:
    ids = [s for s, _, _ in _segments(r)]
    assert ids == list(range(1, len(ids) + 1))
  for _, _, positions in segs:  # each chunk of a split document restarts at position 0
    np.testing.assert_array_equal(positions, np.arange(len(positions)))
  for r in rows:
    np.testing.assert_array_equal(r["language_ids"], np.where(r["segment_ids"] > 0, 3, -1))


def test_rows_to_batch_targets_stay_inside_documents():
  seq_len = 16
  docs = _docs([5, 3, 40, 1, 7, 2, 30], seed=1)
  rows = _cts_rows(docs, seq_len) + [packing.empty_row(seq_len)]
  b = packing.rows_to_batch(rows, PAD)
  seg, w = b["segment_ids"], b["weights"] > 0
  for r in range(len(rows)):
    for t in range(seq_len):
      same_next = t + 1 < seq_len and seg[r, t] > 0 and seg[r, t + 1] == seg[r, t]
      assert w[r, t] == same_next
      if same_next:
        assert b["targets"][r, t] == b["inputs"][r, t + 1]
      else:
        assert b["targets"][r, t] == PAD
  assert not w[-1].any() and (b["language_ids"][-1] == -1).all()
  # EOS is a target (the model learns where documents end) but never an input with a weight.
  assert (b["targets"][w] == EOS).sum() > 0
  assert not w[b["inputs"] == EOS].any()
  # Weighted positions = every real position except the last one of each segment.
  n_segments = sum(len(_segments(r)) for r in rows)
  assert w.sum() == (seg > 0).sum() - n_segments


def test_first_fit_keeps_documents_whole():
  seq_len = 32
  docs = _docs([10, 25, 3, 31, 8, 16, 16], seed=2)
  items = []
  for i, d in enumerate(docs):
    tokens = packing.with_eos(d, EOS)
    items.append(
      {
        "tokens": tokens,
        "languages": np.full(len(tokens), i % 7, np.int32),
        "target_mask": (np.arange(len(tokens)) >= len(tokens) // 2).astype(np.int32),
      }
    )
  rows = list(packing.first_fit(grain.MapDataset.source(items).to_iter_dataset(), seq_len, keep_target_mask=True))
  whole = sorted(tuple(t) for r in rows for _, t, _ in _segments(r))
  assert whole == sorted(tuple(packing.with_eos(d, EOS)) for d in docs)
  for r in rows:
    for s, tokens, positions in _segments(r):
      np.testing.assert_array_equal(positions, np.arange(len(tokens)))
  b = packing.rows_to_batch(rows, PAD, only_target_mask=True)
  w = b["weights"] > 0
  assert w.sum() > 0 and np.all(np.stack([r["target_mask"] for r in rows])[:, 1:][w[:, :-1]])


def test_training_stream_reproduces_the_shuffled_documents(tmp_path):
  rng = np.random.default_rng(3)
  docs = [rng.integers(2, 250, size=n).astype(np.int32) for n in rng.integers(1, 90, size=30)]
  stats = corpus_format.write_token_shards(tmp_path, "go", "train", ((d, len(d)) for d in docs), num_shards=3)
  corpus_format.write_manifest(
    tmp_path, vocab_size=256, pad_id=PAD, eos_id=EOS, splits={"go": {"train": stats, "val": stats}}
  )
  seq_len, seed = 32, 5
  it = iter(
    pipeline.mixture_dataset(
      tmp_path, {"go": 1.0}, seq_len=seq_len, global_batch_size=1, seed=seed, process_index=0, process_count=1
    )
  )
  n_tokens = stats.tokens + stats.documents
  got = []
  while sum(map(len, got)) < 2 * n_tokens:
    b = next(it)
    assert (b["segment_ids"] > 0).all()  # concat-then-split never pads the training stream
    assert (b["language_ids"] == languages.NAMES.index("go")).all()
    got.append(b["inputs"][0])
  got = np.concatenate(got)[: 2 * n_tokens]
  # Two epochs of the shuffled order, each a permutation of all documents, each reshuffled.
  source = pipeline.language_documents(tmp_path, "go", "train")
  order = pipeline._slot_docs(source, pipeline._stream_seed(seed, "go"), 0, 1)
  expected = np.concatenate([packing.with_eos(order[i], EOS) for i in range(2 * len(docs))])
  np.testing.assert_array_equal(got, expected)
  epoch = lambda e: sorted(tuple(order[i]) for i in range(e * len(docs), (e + 1) * len(docs)))
  assert epoch(0) == epoch(1) == sorted(tuple(d) for d in docs)
  assert [tuple(order[i]) for i in range(len(docs))] != [tuple(order[i + len(docs)]) for i in range(len(docs))]
