"""Package-level train/validation split and per-package caps.

Files of one package share authors, idioms and often whole functions; splitting by file would leak them
into validation. Whole packages therefore go to one side, picked at random (seeded) until validation holds
enough text for the requested number of validation tokens.
"""

from __future__ import annotations

import random
from typing import Mapping, Sequence


def split_packages(
  package_bytes: Mapping[str, int],
  *,
  val_bytes: int,
  seed: int,
  max_val_fraction: float = 0.3,
  max_package_fraction: float = 0.25,
) -> set[str]:
  """Chooses the validation packages of one language.

  Packages are taken in a seeded random order until their bytes reach `val_bytes`, skipping any package
  that alone holds more than `max_package_fraction` of the language (a language's dominant package, e.g.
  the standard library, is better used for training) and never taking more than `max_val_fraction` of all
  bytes. With a single package nothing can go to validation without leaving train empty: returns {}.
  """
  total = sum(package_bytes.values())
  if len(package_bytes) < 2 or total <= 0 or val_bytes <= 0:
    return set()
  budget = min(val_bytes, int(max_val_fraction * total))
  order = sorted(package_bytes)
  random.Random(seed).shuffle(order)
  val: set[str] = set()
  got = 0
  for pkg in order:
    if got >= budget:
      break
    size = package_bytes[pkg]
    if size > max_package_fraction * total and len(package_bytes) > 2:
      continue
    if got + size > max(budget * 1.5, budget + 64 * 1024):
      continue  # would overshoot a lot (the val split is cut at val_tokens; the rest would be lost): try a smaller one
    val.add(pkg)
    got += size
  if got < budget:  # nothing small enough was left: top up with the smallest remaining package
    rest = [p for p in package_bytes if p not in val and package_bytes[p] <= max_package_fraction * total]
    if rest:
      val.add(min(rest, key=lambda p: (package_bytes[p], p)))
  if not val:
    val.add(min(package_bytes, key=lambda p: (package_bytes[p], p)))
  if len(val) == len(package_bytes):
    val.discard(max(val, key=lambda p: (package_bytes[p], p)))
  return val


def cap_packages(items: Sequence[tuple[str, int]], *, cap_bytes: int, seed: int) -> list[bool]:
  """Per-package caps: `items` are (package, n_bytes) per file; returns a keep mask.

  Within a package over `cap_bytes`, files are kept in a seeded random order until the cap is reached, so
  a capped package still contributes a spread of its files rather than its first directory.
  """
  keep = [True] * len(items)
  by_pkg: dict[str, list[int]] = {}
  for i, (pkg, _) in enumerate(items):
    by_pkg.setdefault(pkg, []).append(i)
  rng = random.Random(seed)
  for pkg in sorted(by_pkg):
    idx = by_pkg[pkg]
    if sum(items[i][1] for i in idx) <= cap_bytes:
      continue
    order = list(idx)
    rng.shuffle(order)
    used = 0
    for i in order:
      if used + items[i][1] > cap_bytes:
        keep[i] = False
      else:
        used += items[i][1]
  return keep


def cap_total(items: Sequence[tuple[str, int]], *, cap_bytes: int, seed: int) -> list[bool]:
  """Keeps a seeded random subset of files whose bytes fit in `cap_bytes` (0 = no cap)."""
  if cap_bytes <= 0 or sum(n for _, n in items) <= cap_bytes:
    return [True] * len(items)
  order = list(range(len(items)))
  random.Random(seed).shuffle(order)
  keep = [False] * len(items)
  used = 0
  for i in order:
    if used + items[i][1] <= cap_bytes:
      keep[i] = True
      used += items[i][1]
  return keep
