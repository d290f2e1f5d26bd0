"""Translation data organisation (paper §5): parallel programs turned into training documents three ways.

For a direction x_lang->y_lang and a parallel group holding both programs:
- "shuffle" (random shuffling): x and y are two separate documents, shuffled independently into the stream,
  so the model never sees them side by side.
- "concat" (direct concatenation): one document `x <blank line> y`.
- "paired" (prompt-based concatenation / parallel pairing): one document with a short template naming both
  languages: `Translate this <X> program to <Y>.\\n<X>:\\n x \\n<Y>:\\n y`.
Every document ends with EOS. The three strategies use the same pairs (those whose "paired" document fits
`seq_len`, so a pair is never split) and the same tokens per direction, so only the organisation differs.
Packing is first-fit (whole documents per segment, see packing.py).

Held-out evaluation (`translation_eval_batches`): the held-out groups of the parallel corpus (split by
group), formatted as "paired" for the paired strategy and as "concat" otherwise (a shuffle-trained model has
no pairing format, so it is scored zero-shot on the plain concatenation); weights only on the y tokens and
the final EOS, i.e. the loss of y given x.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import itertools
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import grain
import numpy as np

from codelaw import languages
from codelaw.data import corpus_format, packing
from codelaw.data.sample import resolve_corpus
from codelaw.data.tokenizer import load_tokenizer
from codelaw.errors import UserError
from codelaw.io import atomic_write_bytes

STRATEGIES = ("shuffle", "concat", "paired")
PIVOT = "python"
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "third_party" / "parallel_sample"
_READ = grain.ReadOptions(num_threads=0, prefetch_buffer_size=0)


def seen_directions(pivot: str = PIVOT) -> list[str]:
  """The paper's trained directions: pivot <-> each other language (12)."""
  others = [n for n in languages.NAMES if n != pivot]
  return [f"{pivot}->{o}" for o in others] + [f"{o}->{pivot}" for o in others]


def all_directions() -> list[str]:
  return [f"{a}->{b}" for a, b in itertools.permutations(languages.NAMES, 2)]


def unseen_directions(pivot: str = PIVOT) -> list[str]:
  seen = set(seen_directions(pivot))
  return [d for d in all_directions() if d not in seen]


def parse_direction(direction: str) -> tuple[str, str]:
  parts = direction.split("->") if isinstance(direction, str) else []
  if len(parts) != 2 or parts[0] == parts[1]:
    raise UserError(f"translation direction {direction!r}: expected 'src->tgt' with two different languages")
  return languages.get(parts[0]).name, languages.get(parts[1]).name


@dataclasses.dataclass(frozen=True)
class TranslationSpec:
  """Mixes a translation stream into training: `weight` of the packed rows come from it."""

  strategy: str = "paired"
  directions: tuple[str, ...] = tuple(seen_directions())
  weight: float = 0.1
  data: str = "sample"  # a parallel corpus dir (parallel.jsonl.gz) or "sample" (third_party/parallel_sample)

  def __post_init__(self):
    object.__setattr__(self, "directions", tuple(self.directions))

  @classmethod
  def from_config(cls, cfg: "Mapping[str, Any] | TranslationSpec | None") -> "TranslationSpec | None":
    """From a config dict or ConfigDict (e.g. `config.data.translation`); None or empty means none."""
    if isinstance(cfg, TranslationSpec):
      cfg.validate()
      return cfg
    if hasattr(cfg, "to_dict"):  # ml_collections.ConfigDict
      cfg = cfg.to_dict()
    if not cfg:
      return None
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(cfg) - known
    if unknown:
      raise UserError(f"data.translation: unknown keys {sorted(unknown)}; expected {sorted(known)}")
    spec = cls(**dict(cfg))
    spec.validate()
    return spec

  def validate(self) -> None:
    if self.strategy not in STRATEGIES:
      raise UserError(f"translation.strategy = {self.strategy!r}: expected one of {', '.join(STRATEGIES)}")
    w = float(self.weight)
    if not 0.0 <= w < 1.0 or np.isnan(w):
      raise UserError(f"translation.weight = {self.weight!r}: must be in [0, 1)")
    if not self.directions:
      raise UserError("translation.directions is empty")
    for d in self.directions:
      parse_direction(d)


def _cache_dir() -> Path:
  return Path(os.environ.get("CODELAW_CACHE", Path.home() / ".cache" / "codelaw")) / "parallel_tokens"


def _data_file(data: str | os.PathLike) -> Path:
  path = SAMPLE_DIR if str(data) == "sample" else Path(data)
  path = path / "parallel.jsonl.gz" if path.is_dir() else path
  if not path.exists():
    raise UserError(f"translation.data: {path} does not exist (build it with python -m codelaw.data.parallel_corpus)")
  return path


@functools.lru_cache(maxsize=4)
def load_groups(data: str = "sample", split: str = "train") -> tuple[dict, ...]:
  """Parallel groups `{"id", "source", "split", "programs": {lang: code}}` of one split."""
  if split not in ("train", "heldout"):
    raise UserError(f"parallel split {split!r}: expected 'train' or 'heldout'")
  with gzip.open(_data_file(data), "rt") as f:
    return tuple(g for g in map(json.loads, f) if g["split"] == split)


def directions_with_data(data: str = "sample", split: str = "heldout") -> dict[str, int]:
  """Pairs available per direction (before the length filter)."""
  counts = {d: 0 for d in all_directions()}
  for g in load_groups(data, split):
    for a, b in itertools.permutations(g["programs"], 2):
      counts[f"{a}->{b}"] += 1
  return counts


def _template(src: str, tgt: str) -> tuple[str, str]:
  x_name, y_name = languages.get(src).display, languages.get(tgt).display
  return f"Translate this {x_name} program to {y_name}.\n{x_name}:\n", f"\n{y_name}:\n"


class _Encoder:
  """Tokenizes with the corpus tokenizer; each distinct text is encoded once (`prefetch` batches them)."""

  def __init__(self, corpus_dir: Path):
    self._tok = load_tokenizer(corpus_dir / corpus_format.TOKENIZER)
    self._cache: dict[str, np.ndarray] = {}

  def prefetch(self, texts: Sequence[str]) -> None:
    todo = sorted({t for t in texts if t not in self._cache})
    for text, enc in zip(todo, self._tok.encode_batch(todo, add_special_tokens=False)):
      self._cache[text] = np.asarray(enc.ids, dtype=np.int32)

  def prefetch_cached(self, texts: Sequence[str], cache_file: Path) -> None:
    """`prefetch`, with the token ids kept on disk: BPE over the whole parallel corpus takes seconds."""
    texts = sorted(set(texts))
    if cache_file.exists():
      with np.load(cache_file) as z:
        if int(z["n"]) == len(texts):
          for text, ids in zip(texts, np.split(z["ids"], z["offsets"][1:-1])):
            self._cache[text] = ids.astype(np.int32)
          return
    self.prefetch(texts)
    ids = [self._cache[t] for t in texts]
    offsets = np.cumsum([0] + [len(i) for i in ids])
    buf = io.BytesIO()
    np.savez(buf, ids=np.concatenate(ids).astype(np.int32), offsets=offsets, n=len(texts))
    atomic_write_bytes(cache_file, buf.getvalue())

  def fingerprint(self) -> str:
    # encode_special_tokens changes the ids but is not part of the tokenizer's JSON.
    state = f"{self._tok.to_str()}|encode_special_tokens={self._tok.encode_special_tokens}"
    return hashlib.sha256(state.encode()).hexdigest()[:16]

  def __call__(self, text: str) -> np.ndarray:
    if text not in self._cache:
      self.prefetch([text])
    return self._cache[text]


def _doc(parts: Sequence[tuple[np.ndarray, int, bool]], eos_id: int) -> dict[str, np.ndarray]:
  """Concatenates (ids, language index, is_target) parts and an EOS (language and mask of the last part)."""
  ids = np.concatenate([p[0] for p in parts] + [np.array([eos_id], np.int32)]).astype(np.int32)
  langs = np.concatenate([np.full(len(p[0]), p[1], np.int32) for p in parts] + [[parts[-1][1]]]).astype(np.int32)
  mask = np.concatenate([np.full(len(p[0]), p[2], np.int32) for p in parts] + [[parts[-1][2]]]).astype(np.int32)
  return {"tokens": ids, "languages": langs, "target_mask": mask}


def pair_documents(
  x: np.ndarray, y: np.ndarray, src: str, tgt: str, strategy: str, encode, eos_id: int
) -> list[dict[str, np.ndarray]]:
  """The document(s) one pair becomes under `strategy` (see module docstring)."""
  a, b = languages.NAMES.index(src), languages.NAMES.index(tgt)
  if strategy == "shuffle":
    return [_doc([(x, a, False)], eos_id), _doc([(y, b, True)], eos_id)]
  if strategy == "concat":
    return [_doc([(x, a, False), (encode("\n\n"), b, False), (y, b, True)], eos_id)]
  head, middle = _template(src, tgt)
  return [_doc([(encode(head), a, False), (x, a, False), (encode(middle), b, False), (y, b, True)], eos_id)]


@functools.lru_cache(maxsize=4)
def _encoder(corpus_dir: Path, data: str, split: str) -> _Encoder:
  """An encoder holding every program of the split and every template, tokenized once per tokenizer."""
  encode = _Encoder(corpus_dir)
  texts = [p for g in load_groups(data, split) for p in g["programs"].values()]
  texts += [t for d in all_directions() for t in _template(*parse_direction(d))] + ["\n\n"]
  key = hashlib.sha256(_data_file(data).read_bytes() + split.encode()).hexdigest()[:16]
  encode.prefetch_cached(texts, _cache_dir() / f"{encode.fingerprint()}-{key}.npz")
  return encode


@functools.lru_cache(maxsize=8)
def _documents(
  corpus_dir: Path, data: str, split: str, directions: tuple[str, ...], strategy: str, seq_len: int
) -> tuple[dict[str, np.ndarray], ...]:
  eos_id = corpus_format.read_manifest(corpus_dir).eos_id
  encode = _encoder(corpus_dir, data, split)
  pairs = [(g, *parse_direction(d)) for g in load_groups(data, split) for d in directions]
  pairs = [(g, src, tgt) for g, src, tgt in pairs if src in g["programs"] and tgt in g["programs"]]
  docs = []
  for g, src, tgt in pairs:
    x, y = encode(g["programs"][src]), encode(g["programs"][tgt])
    head, middle = (len(encode(t)) for t in _template(src, tgt))
    # The same pairs for every strategy: those whose longest form (the paired one) fits one row.
    if head + len(x) + middle + len(y) + 1 > seq_len:
      continue
    docs += pair_documents(x, y, src, tgt, strategy, encode, eos_id)
  return tuple(docs)


def training_rows(
  corpus_dir: str | os.PathLike, spec: TranslationSpec, *, seq_len: int, seed: int, slot: int = 0, slots: int = 1
) -> grain.IterDataset:
  """Packed rows of the translation stream for one batch-row slot (shuffled, repeated, first-fit packed)."""
  spec.validate()
  docs = _documents(Path(corpus_dir).resolve(), str(spec.data), "train", spec.directions, spec.strategy, seq_len)
  if not docs:
    raise UserError(f"translation: no training pair of {list(spec.directions)} fits seq_len = {seq_len}")
  ds = grain.MapDataset.source(list(docs)).shuffle(seed=seed).repeat().slice(slice(slot, None, slots))
  return packing.first_fit(ds.to_iter_dataset(_READ), seq_len)


def translation_eval_batches(
  direction: str,
  *,
  seq_len: int,
  batch_size: int,
  strategy: str,
  corpus_dir: str | os.PathLike = "sample",
  data: str = "sample",
  max_pairs: int | None = None,
) -> list[dict[str, np.ndarray]]:
  """Deterministic batches of the held-out pairs of `direction`, weights only on y (loss of y given x).

  Returns an empty list when the parallel corpus has no held-out pair for the direction
  (see `directions_with_data`). Fields as in `pipeline.mixture_dataset`.
  """
  src, tgt = parse_direction(direction)
  if strategy not in STRATEGIES:
    raise UserError(f"strategy = {strategy!r}: expected one of {', '.join(STRATEGIES)}")
  corpus_dir = resolve_corpus(corpus_dir)  # "sample" -> the bundled sample corpus
  fmt = "paired" if strategy == "paired" else "concat"
  docs = _documents(corpus_dir.resolve(), str(data), "heldout", (f"{src}->{tgt}",), fmt, seq_len)
  docs = docs[:max_pairs] if max_pairs is not None else docs
  if not docs:
    return []
  rows = packing.first_fit(grain.MapDataset.source(list(docs)).to_iter_dataset(_READ), seq_len, keep_target_mask=True)
  pad_id = corpus_format.read_manifest(corpus_dir).pad_id
  return packing.batches_from_rows(iter(rows), batch_size, seq_len, pad_id, only_target_mask=True)
