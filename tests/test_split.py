"""Package-level split: no package on both sides, enough validation text, caps."""

from codelaw.data import split


def test_no_package_in_both_and_enough_val():
  pkgs = {f"debian:pkg{i}": 10_000 + 1_000 * i for i in range(40)}
  val = split.split_packages(pkgs, val_bytes=60_000, seed=0)
  train = set(pkgs) - val
  assert val and train and not (val & train)
  got = sum(pkgs[p] for p in val)
  assert 60_000 <= got <= 60_000 * 1.5 + 64 * 1024
  assert split.split_packages(pkgs, val_bytes=60_000, seed=0) == val  # deterministic
  assert split.split_packages(pkgs, val_bytes=60_000, seed=1) != val


def test_dominant_package_stays_in_train_and_val_is_bounded():
  pkgs = {"stdlib:cpython": 10_000_000, **{f"pypi:p{i}": 50_000 for i in range(10)}}
  val = split.split_packages(pkgs, val_bytes=5_000_000, seed=0)
  assert "stdlib:cpython" not in val
  assert sum(pkgs[p] for p in val) <= 0.3 * sum(pkgs.values()) + 50_000


def test_single_package_cannot_be_split():
  assert split.split_packages({"local:only": 1000}, val_bytes=100, seed=0) == set()
  two = split.split_packages({"a": 1000, "b": 10}, val_bytes=10_000, seed=0)
  assert len(two) == 1


def test_package_cap_and_total_cap():
  items = [("big", 100)] * 50 + [("small", 100)] * 5
  keep = split.cap_packages(items, cap_bytes=1000, seed=0)
  assert sum(k for (p, _), k in zip(items, keep) if p == "big") == 10
  assert all(k for (p, _), k in zip(items, keep) if p == "small")
  keep = split.cap_total(items, cap_bytes=2000, seed=0)
  assert sum(keep) == 20
  assert split.cap_total(items, cap_bytes=0, seed=0) == [True] * len(items)
