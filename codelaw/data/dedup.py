"""Exact dedup after whitespace normalisation, and MinHash-LSH near-duplicate removal (numpy only).

Near-duplicates are what exact dedup misses: the same file in two packages with a changed header or a few
edited lines (Mono's corefx vs referencesource, lucene-solr vs lucene8). Each document becomes the set of
its k-byte shingles (after whitespace normalisation); a MinHash signature estimates the Jaccard similarity of two such sets, and LSH banding
finds candidate pairs without comparing all pairs.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Iterator, Sequence

import numpy as np


def normalized_hash(text: str) -> bytes:
  """A digest that is the same for texts that differ only in whitespace."""
  return hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=16).digest()


class ExactDedup:
  """Remembers normalised digests; `seen(text)` is True from the second copy on."""

  def __init__(self) -> None:
    self._digests: set[bytes] = set()

  def seen(self, text: str) -> bool:
    digest = normalized_hash(text)
    if digest in self._digests:
      return True
    self._digests.add(digest)
    return False


class MinHasher:
  """MinHash signatures of byte shingles, vectorised in numpy (no Python loop per token or per hash).

  Shingles are the `shingle`-byte windows of the whitespace-normalised text, hashed with a rolling
  polynomial; long documents keep a consistent 1/`sample` subset of them (hash mod sample == 0, the same
  rule for every document, so Jaccard estimates stay unbiased) to bound the cost to ~0.05 s per MB.
  """

  def __init__(
    self, num_perm: int = 64, shingle: int = 16, seed: int = 0, sample: int = 4, min_shingles: int = 512
  ) -> None:
    rng = np.random.default_rng(seed)
    self.num_perm = num_perm
    self.shingle = shingle
    self.sample = sample
    self.min_shingles = min_shingles
    self._salt = np.uint64(rng.integers(0, 2**63))

  def shingles(self, text: str) -> np.ndarray:
    """Distinct 64-bit hashes of the (sampled) byte shingles of `text`."""
    data = np.frombuffer(" ".join(text.split()).encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    k = self.shingle
    if len(data) < k:
      data = np.concatenate([data, np.zeros(k - len(data), np.uint64)])
    n = len(data) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
      for j in range(k):  # polynomial rolling hash of each k-byte window, wrapping mod 2^64
        h = h * np.uint64(0x100000001B3) + data[j : j + n]
      h ^= h >> np.uint64(31)  # finaliser (splitmix64) so that the low bits used for sampling are mixed
      h *= np.uint64(0xBF58476D1CE4E5B9)
      h ^= h >> np.uint64(29)
    if n >= self.min_shingles * self.sample:
      h = h[(h % np.uint64(self.sample)) == 0]
    h.sort()  # sort + neighbour compare: np.unique is hash-based and far slower on numpy 2.3+
    return h[np.concatenate(([True], h[1:] != h[:-1]))] if len(h) else h

  def signature(self, text: str) -> np.ndarray:
    """uint32[num_perm] by one-permutation hashing: bin each shingle by hash mod num_perm and keep the
    minimum per bin (Li et al. 2012); O(shingles) instead of O(shingles x num_perm). Empty bins hold the
    maximum value; bins empty in both documents are left out of the estimate."""
    return self.signature_of(self.shingles(text))

  def signature_of(self, sh: np.ndarray) -> np.ndarray:
    """The signature of shingles already computed by `shingles` (so a caller that also needs them hashes once)."""
    with np.errstate(over="ignore"):
      mixed = (sh ^ self._salt) * np.uint64(0x94D049BB133111EB)
      mixed ^= mixed >> np.uint64(32)
    bins = (mixed % np.uint64(self.num_perm)).astype(np.intp)
    sig = np.full(self.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32)
    np.minimum.at(sig, bins, (mixed >> np.uint64(32)).astype(np.uint32))
    return sig


_EMPTY = np.iinfo(np.uint32).max


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
  """Share of bins that agree, over the bins that are not empty in both (OPH estimator)."""
  used = (sig_a != _EMPTY) | (sig_b != _EMPTY)
  n = int(used.sum())
  return float(np.sum((sig_a == sig_b) & used) / n) if n else 1.0


class NearDedup:
  """Greedy streaming near-duplicate filter: a document is dropped if an earlier kept one is similar.

  `bands` x `rows` must equal the signature length; a pair with Jaccard s becomes a candidate with
  probability 1 - (1 - s^rows)^bands, and candidates are confirmed on the full signature (>= threshold).
  """

  def __init__(
    self, threshold: float = 0.8, num_perm: int = 64, bands: int = 16, shingle: int = 16, seed: int = 0
  ) -> None:
    if num_perm % bands:
      raise ValueError(f"num_perm={num_perm} is not a multiple of bands={bands}")
    self.threshold = threshold
    self.hasher = MinHasher(num_perm=num_perm, shingle=shingle, seed=seed)
    self.bands = bands
    self.rows = num_perm // bands
    # Compact state, ~1.4 kB per kept document (a corpus language can hold a million files): signatures
    # in one growing array, and one dict from a 64-bit key per (band, band value) to the index of the
    # document that has it (a list only on a shared key). A key collision only adds a candidate, which
    # the full-signature check then rejects.
    self._signatures = np.zeros((1024, num_perm), dtype=np.uint32)
    self._kept = 0
    self._buckets: dict[int, int | list[int]] = {}
    self._band_salt = np.arange(bands, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)

  def is_duplicate(self, text: str) -> bool:
    """True if `text` is a near-duplicate of a document kept before; otherwise keeps it and returns False."""
    return self.is_duplicate_signature(self.hasher.signature(text))

  def _keys(self, sig: np.ndarray) -> list[int]:
    bands = sig.reshape(self.bands, self.rows).astype(np.uint64)
    key = self._band_salt.copy()
    with np.errstate(over="ignore"):
      for j in range(self.rows):  # FNV-style fold of the band's values into 64 bits
        key = (key ^ bands[:, j]) * np.uint64(0x100000001B3)
    # a band whose bins are all empty says nothing (short documents share it): leave it out
    informative = ~np.all(bands == _EMPTY, axis=1)
    return key[informative].tolist()

  def is_duplicate_signature(self, sig: np.ndarray) -> bool:
    """`is_duplicate` for a signature made by `self.hasher`."""
    keys = self._keys(sig)
    checked: set[int] = set()
    for key in keys:
      hit = self._buckets.get(key)
      for idx in () if hit is None else hit if isinstance(hit, list) else (hit,):
        if idx in checked:
          continue
        checked.add(idx)
        if jaccard_estimate(sig, self._signatures[idx]) >= self.threshold:
          return True
    idx = self._kept
    if idx == len(self._signatures):
      self._signatures = np.concatenate([self._signatures, np.zeros_like(self._signatures)])
    self._signatures[idx] = sig
    self._kept += 1
    for key in keys:
      hit = self._buckets.get(key)
      if hit is None:
        self._buckets[key] = idx
      elif isinstance(hit, list):
        hit.append(idx)
      else:
        self._buckets[key] = [hit, idx]
    return False


class ContainmentGuard:
  """Flags documents that hold a protected program (evaluation problems, held-out translation programs).

  "exact": the document equals a program up to whitespace. "near": it contains at least `threshold` of a
  program's sampled shingles, so a copy with edits, or pasted into a bigger file, is caught too, which a
  Jaccard test on whole files would miss (a 300-byte problem inside a 30 kB file has Jaccard ~0.01).
  Shingles are the `MinHasher`'s, with its consistent 1/`sample` rule applied to programs and documents
  alike (containment estimates stay unbiased); programs with fewer than `min_shingles` sampled shingles
  are matched exactly only, because a few shingles would match common boilerplate.
  """

  def __init__(
    self, programs: Iterable[str], *, threshold: float = 0.7, shingle: int = 16, sample: int = 4, min_shingles: int = 8
  ) -> None:
    self.threshold = threshold
    self.sample = np.uint64(sample)
    self.hasher = MinHasher(shingle=shingle, sample=1)  # sampled here, for every length
    self._exact: set[bytes] = set()
    hashes, ids, sizes = [], [], []
    for text in programs:
      self._exact.add(normalized_hash(text))
      sh = self._sampled(self.hasher.shingles(text))
      if len(sh) >= min_shingles:
        hashes.append(sh)
        ids.append(np.full(len(sh), len(sizes), dtype=np.int64))
        sizes.append(len(sh))
    self.programs = len(self._exact)
    flat = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    order = np.argsort(flat, kind="stable")
    self._hash = flat[order]
    self._id = np.concatenate(ids)[order] if ids else np.zeros(0, np.int64)
    self._size = np.asarray(sizes, dtype=np.int64)

  def _sampled(self, sh: np.ndarray) -> np.ndarray:
    return sh[(sh % self.sample) == 0]

  def match(self, text: str, shingles: np.ndarray | None = None) -> str | None:
    """ "exact", "near" or None. `shingles`: `self.hasher.shingles(text)` when the caller has them."""
    if normalized_hash(text) in self._exact:
      return "exact"
    if not len(self._size):
      return None
    doc = self._sampled(self.hasher.shingles(text) if shingles is None else shingles)
    lo = np.searchsorted(self._hash, doc, "left")
    n = np.searchsorted(self._hash, doc, "right") - lo
    hit = n > 0
    if not hit.any():
      return None
    lo, n = lo[hit], n[hit]
    # every position of a shared shingle in the program table (a shingle can occur in several programs)
    pos = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))
    shared = np.bincount(self._id[pos], minlength=len(self._size))
    return "near" if np.any(shared >= self.threshold * self._size) else None


def dedup(texts: Iterable[str], *, near: bool = True, threshold: float = 0.8) -> Iterator[tuple[int, str | None]]:
  """Yields (index, None) for kept texts and (index, "duplicate" | "near_duplicate") for dropped ones."""
  exact = ExactDedup()
  approx = NearDedup(threshold=threshold) if near else None
  for i, text in enumerate(texts):
    if exact.seen(text):
      yield i, "duplicate"
    elif approx is not None and approx.is_duplicate(text):
      yield i, "near_duplicate"
    else:
      yield i, None


def keep_mask(texts: Sequence[str], **kwargs) -> list[bool]:
  return [reason is None for _, reason in dedup(texts, **kwargs)]
