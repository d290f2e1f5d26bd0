"""Packing documents into fixed-length rows, and turning packed rows into model batches.

Policy (one for the whole project, because packing changes loss curves):
- Monolingual streams use Grain's `ConcatThenSplitIterDataset`: documents (with EOS appended) are concatenated
  and cut into rows of exactly `seq_len` tokens, so nothing is padded and nothing is dropped. A document longer
  than the rest of a row is split; **each chunk becomes its own segment and its positions restart at 0**, so
  attention never crosses a document boundary or a chunk boundary.
- Translation streams use `FirstFitPackIterDataset`: a pair (or a side) stays whole inside one segment, so the
  target program always sees its source; rows are padded (segment 0).
- `targets[t] = inputs[t + 1]` only when both positions belong to the same segment; everything else (the last
  token of a segment, the last column, padding) gets `targets = pad_id` and `weights = 0`.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import grain
import numpy as np

# Features every packed component stream yields (one row, before batching).
ROW_FEATURES = ("tokens", "segment_ids", "positions", "language_ids")


def with_eos(ids: np.ndarray, eos_id: int) -> np.ndarray:
  out = np.empty(len(ids) + 1, dtype=np.int32)
  out[:-1] = ids
  out[-1] = eos_id
  return out


def concat_then_split(docs: grain.IterDataset, seq_len: int, language_id: int) -> grain.IterDataset:
  """Packs `{"tokens": int32[n]}` documents of one language into full rows of `seq_len` tokens."""
  packed = grain.experimental.ConcatThenSplitIterDataset(docs, length_struct={"tokens": seq_len})

  def to_row(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    seg = x["tokens_segment_ids"].astype(np.int32)
    return {
      "tokens": x["tokens"].astype(np.int32),
      "segment_ids": seg,
      "positions": x["tokens_positions"].astype(np.int32),
      "language_ids": np.where(seg > 0, np.int32(language_id), np.int32(-1)),
    }

  return packed.map(to_row)


def first_fit(
  docs: grain.IterDataset, seq_len: int, *, num_packing_bins: int = 4, keep_target_mask: bool = False
) -> grain.IterDataset:
  """Packs `{"tokens", "languages", "target_mask"}` documents (each at most `seq_len` long) whole into rows.

  `languages` is the per-token language index; `target_mask` marks the tokens whose prediction counts in a
  translation loss (the y side); it is kept in the row only when `keep_target_mask`.
  """
  features = ("tokens", "languages", "target_mask")
  packed = grain.experimental.FirstFitPackIterDataset(
    docs, length_struct={k: seq_len for k in features}, num_packing_bins=num_packing_bins, shuffle_bins=False
  )

  def to_row(x: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    seg = x["tokens_segment_ids"].astype(np.int32)
    row = {
      "tokens": x["tokens"].astype(np.int32),
      "segment_ids": seg,
      "positions": x["tokens_positions"].astype(np.int32),
      "language_ids": np.where(seg > 0, x["languages"].astype(np.int32), np.int32(-1)),
    }
    if keep_target_mask:
      row["target_mask"] = x["target_mask"].astype(bool) & (seg > 0)
    return row

  return packed.map(to_row)


def rows_to_batch(
  rows: Sequence[Mapping[str, np.ndarray]], pad_id: int, *, only_target_mask: bool = False
) -> dict[str, np.ndarray]:
  """Stacks packed rows into the batch dict the trainer consumes (see INTERFACES: mixture pipeline).

  With `only_target_mask`, a position is weighted only if its target token is marked in the rows'
  `target_mask` (the y side of a translation pair).
  """
  tokens = np.stack([r["tokens"] for r in rows]).astype(np.int32)
  seg = np.stack([r["segment_ids"] for r in rows]).astype(np.int32)
  pos = np.stack([r["positions"] for r in rows]).astype(np.int32)
  lang = np.stack([r["language_ids"] for r in rows]).astype(np.int32)
  same = np.zeros(tokens.shape, dtype=bool)
  same[:, :-1] = (seg[:, 1:] == seg[:, :-1]) & (seg[:, :-1] > 0)
  if only_target_mask:
    mask = np.stack([r["target_mask"] for r in rows]).astype(bool)
    same[:, :-1] &= mask[:, 1:]
  targets = np.full(tokens.shape, pad_id, dtype=np.int32)
  targets[:, :-1] = np.where(same[:, :-1], tokens[:, 1:], pad_id)
  tokens = np.where(seg > 0, tokens, pad_id).astype(np.int32)
  return {
    "inputs": tokens,
    "targets": targets,
    "segment_ids": seg,
    "positions": pos,
    "weights": same.astype(np.float32),
    "language_ids": lang,
  }


def empty_row(seq_len: int) -> dict[str, Any]:
  """An all-padding row (segment 0, weight 0), used to fill the last eval batch to a fixed shape."""
  z = np.zeros(seq_len, dtype=np.int32)
  return {
    "tokens": z,
    "segment_ids": z,
    "positions": z,
    "language_ids": np.full(seq_len, -1, np.int32),
    "target_mask": np.zeros(seq_len, dtype=bool),
  }


def batches_from_rows(
  rows: Iterator[Mapping[str, np.ndarray]],
  batch_size: int,
  seq_len: int,
  pad_id: int,
  max_batches: float = float("inf"),
  *,
  only_target_mask: bool = False,
) -> list[dict[str, np.ndarray]]:
  """Deterministic batches of `batch_size` rows in stream order, until the rows or `max_batches` run out; the
  last batch is completed with all-padding rows (weight 0) so every batch has the same shape."""
  batches: list[dict[str, np.ndarray]] = []
  done = False
  while not done and len(batches) < max_batches:
    chunk = []
    for row in rows:
      chunk.append(row)
      if len(chunk) == batch_size:
        break
    else:
      done = True
    if not chunk:
      break
    chunk += [empty_row(seq_len)] * (batch_size - len(chunk))
    batches.append(rows_to_batch(chunk, pad_id, only_target_mask=only_target_mask))
  return batches
