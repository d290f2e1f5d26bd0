"""Debian binary (`golang-*-dev`, `librust-*-dev`, `golang-1.23-src`) and source packages (`apt-get source`).

Everything goes through a PRIVATE apt configuration under the build dir (its own sources.list with
bookworm + bookworm-backports, deb and deb-src, its own lists and cache), so the machine's apt setup is
neither needed nor touched, and no root is required for downloads.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Sequence

from codelaw.data.sources.common import (Miss, PackageTree, debian_copyright_license, extract_archive,
                                         last_error_line, license_from_tree, parallel_map, run)

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class PrivateApt:
  def __init__(self, root: str | os.PathLike, mirror: str, suites: Sequence[str]) -> None:
    self.root = Path(root)
    self.mirror = mirror
    self.suites = tuple(suites)

  def options(self) -> list[str]:
    r = self.root
    return ["-o", f"Dir::Etc::SourceList={r / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={r / 'lists'}", "-o", f"Dir::Cache={r / 'cache'}",
            "-o", "Dir::Etc::Preferences=/dev/null", "-o", "Dir::Etc::PreferencesParts=/dev/null",
            "-o", "APT::Sandbox::User=root", "-o", "Acquire::Retries=3", "-q"]

  def setup(self) -> None:
    """Writes the private sources.list and downloads the package indices (skipped when already there)."""
    for sub in ("lists/partial", "cache/archives/partial"):
      (self.root / sub).mkdir(parents=True, exist_ok=True)
    signed = f"[signed-by={KEYRING}] " if os.path.exists(KEYRING) else ""
    lines = [f"{kind} {signed}{self.mirror} {suite} main" for suite in self.suites for kind in ("deb", "deb-src")]
    (self.root / "sources.list").write_text("\n".join(lines) + "\n")
    if (self.root / "updated").exists():
      return
    proc = run(["apt-get", *self.options(), "update"], timeout=1800)
    if proc.returncode != 0:
      raise RuntimeError(f"apt-get update with the private config failed: {last_error_line(proc)}")
    (self.root / "updated").write_text("ok\n")

  def download_binary(self, name: str, dest: Path) -> str | None:
    """Downloads PKG_*.deb into dest; returns None or why it failed."""
    if glob.glob(str(dest / f"{glob.escape(name)}_*.deb")):
      return None
    proc = run(["apt-get", *self.options(), "download", name], cwd=dest)
    return None if proc.returncode == 0 else last_error_line(proc)

  def download_source(self, name: str, dest: Path) -> str | None:
    """`apt-get source --download-only PKG` into dest/PKG/; returns None or why it failed."""
    pkg_dir = dest / name
    if (pkg_dir / ".done").exists():
      return None
    pkg_dir.mkdir(parents=True, exist_ok=True)
    proc = run(["apt-get", *self.options(), "source", "--download-only", name], cwd=pkg_dir, timeout=1800)
    if proc.returncode != 0 and not _upstream_tarballs(pkg_dir):
      return last_error_line(proc)
    # a 404 on the Debian packaging part alone still leaves the upstream tree, which is all we read
    (pkg_dir / ".done").write_text("ok\n")
    return None


def fetch_binaries(apt: PrivateApt, names: Sequence[str], dest: Path, log) -> list[Miss]:
  dest.mkdir(parents=True, exist_ok=True)
  errors = parallel_map(lambda n: apt.download_binary(n, dest), names, workers=6)
  misses = [Miss("debian", n, e) for n, e in zip(names, errors) if e]
  for m in misses:
    log(f"  skip debian {m.name}: {m.why}")
  return misses


def fetch_sources(apt: PrivateApt, names: Sequence[str], dest: Path, log) -> list[Miss]:
  dest.mkdir(parents=True, exist_ok=True)
  errors = parallel_map(lambda n: apt.download_source(n, dest), names, workers=3)
  misses = [Miss("debian-src", n, e) for n, e in zip(names, errors) if e]
  for m in misses:
    log(f"  skip debian-src {m.name}: {m.why}")
  return misses


def _upstream_tarballs(pkg_dir: Path) -> list[Path]:
  return [p for p in sorted(pkg_dir.glob("*.tar.*"))
          if ".debian.tar." not in p.name and not p.name.endswith((".asc", ".sig"))]


def _deb_version(deb: Path) -> str:
  parts = deb.name.split("_")
  return parts[1] if len(parts) > 2 else "unknown"


def extract_binary(name: str, dl: Path, out: Path, langs: tuple[str, ...]) -> PackageTree | None:
  debs = sorted(dl.glob(f"{glob.escape(name)}_*.deb"))
  if not debs:
    return None
  root = out / "debian" / name
  if not (root / ".done").exists():
    root.mkdir(parents=True, exist_ok=True)
    proc = run(["dpkg-deb", "-x", str(debs[0]), str(root)])
    if proc.returncode != 0:
      raise RuntimeError(f"dpkg-deb -x {debs[0].name}: {last_error_line(proc)}")
    (root / ".done").write_text("ok\n")
  copyright_files = sorted(root.glob("usr/share/doc/*/copyright"))
  license_name = debian_copyright_license(copyright_files[0].read_text(errors="replace")) if copyright_files else "unknown"
  return PackageTree("debian", name, _deb_version(debs[0]), license_name, str(root), langs)


def extract_source(name: str, dl: Path, out: Path, langs: tuple[str, ...]) -> PackageTree | None:
  pkg_dl = dl / name
  tarballs = _upstream_tarballs(pkg_dl)
  if not tarballs:
    return None
  dscs = sorted(pkg_dl.glob("*.dsc"))
  version = dscs[0].stem.split("_", 1)[-1] if dscs else tarballs[0].name.split("_", 1)[-1].split(".orig")[0]
  root = out / "debian-src" / name
  if not (root / ".done").exists():
    root.mkdir(parents=True, exist_ok=True)
    for tb in tarballs:  # the upstream tree (+ orig-component tarballs); Debian patches are not applied
      extract_archive(tb, root)
    (root / ".done").write_text("ok\n")
  license_name = "unknown"
  debian_tars = sorted(pkg_dl.glob("*.debian.tar.*"))
  if debian_tars:
    proc = run(["tar", "-xOf", str(debian_tars[0]), "debian/copyright"])
    if proc.returncode == 0:
      license_name = debian_copyright_license(proc.stdout)
  if license_name == "unknown":  # the Debian packaging part 404'd: read the upstream license file
    license_name = license_from_tree(root)
  return PackageTree("debian-src", name, version, license_name, str(root), langs)
