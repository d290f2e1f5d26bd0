"""Debian binary (`golang-*-dev`, `librust-*-dev`, `golang-1.23-src`) and source packages (`apt-get source`).


Everything goes through a PRIVATE apt configuration under the build dir (its own sources.list with
bookworm + bookworm-backports, deb and deb-src, its own lists and cache), so the machine's apt setup is
neither needed nor touched. apt resolves names to URIs and checksums (`--print-uris`); the files are
downloaded in parallel and verified against apt's SHA256.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

from codelaw.data.sources.common import (
  Miss,
  PackageTree,
  debian_copyright_license,
  extract_archive,
  last_error_line,
  license_from_tree,
  parallel_map,
  run,
)

KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


class PrivateApt:
  def __init__(self, root: str | os.PathLike, mirror: str, suites: Sequence[str]) -> None:
    self.root = Path(root)
    self.mirror = mirror
    self.suites = tuple(suites)

  def options(self) -> list[str]:
    r = self.root
    return [
      "-o",
      f"Dir::Etc::SourceList={r / 'sources.list'}",
      "-o",
      "Dir::Etc::SourceParts=/dev/null",
      "-o",
      f"Dir::State::Lists={r / 'lists'}",
      "-o",
      f"Dir::Cache={r / 'cache'}",
      "-o",
      "Dir::Etc::Preferences=/dev/null",
      "-o",
      "Dir::Etc::PreferencesParts=/dev/null",
      "-o",
      "APT::Sandbox::User=root",
      "-o",
      "Acquire::Retries=3",
      "-q",
    ]

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

  def print_uris(self, verb: str, names: Sequence[str]) -> tuple[list[tuple[str, str, int, str]], dict[str, str]]:
    """Resolves packages to (url, filename, size, sha256) with `apt-get VERB --print-uris`, in ONE call.

    One apt call per package costs ~15 s of cache loading on a busy machine; resolving all at once and
    downloading the URIs in parallel (checksums verified) takes seconds. Unknown names are dropped and
    the call retried. Returns (uris, {name: why it was skipped}).
    """
    todo, bad = list(names), {}
    for _ in range(20):
      if not todo:
        break
      proc = run(["apt-get", *self.options(), verb, "--print-uris", *todo], timeout=1800)
      uris = []
      for m in _URI_LINE.finditer(proc.stdout):
        sha = m.group(4).split(":", 1)[-1] if m.group(4).lower().startswith("sha256:") else ""
        uris.append((m.group(1), m.group(2), int(m.group(3)), sha))
      newly = {}
      for m in _UNKNOWN.finditer(proc.stderr + proc.stdout):
        name = m.group(1).strip("'")
        if name in todo and name not in bad:
          newly[name] = m.group(0).strip()
      bad.update(newly)
      if proc.returncode == 0 or uris:
        return uris, bad
      if not newly:
        why = last_error_line(proc)
        return [], {**bad, **{n: why for n in todo}}
      todo = [n for n in todo if n not in newly]
    return [], bad


_URI_LINE = re.compile(r"^'([^']+)' (\S+) (\d+) (\S+)", re.MULTILINE)
_UNKNOWN = re.compile(
  r"E: (?:Unable to locate package|Unable to find a source package for|"
  r"Can't select candidate version from package|Package) (\S+)"
)


def _download(url: str, target: Path, size: int, sha256: str) -> str | None:
  """Downloads url to target (atomic rename) and checks its SHA256; returns None or why it failed."""
  if target.exists() and target.stat().st_size == size:
    return None
  tmp = target.with_name(f".{target.name}.part")
  h = hashlib.sha256()
  try:
    with urllib.request.urlopen(url, timeout=120) as resp, open(tmp, "wb") as f:
      while chunk := resp.read(1 << 20):
        f.write(chunk)
        h.update(chunk)
  except (urllib.error.URLError, OSError, TimeoutError) as e:
    tmp.unlink(missing_ok=True)
    return f"{target.name}: {getattr(e, 'code', '')} {getattr(e, 'reason', e)}".strip()
  if sha256 and h.hexdigest() != sha256:
    tmp.unlink(missing_ok=True)
    return f"{target.name}: SHA256 mismatch"
  os.replace(tmp, target)
  return None


def _owner(filename: str, names: Sequence[str]) -> str | None:
  """The list entry a downloaded file belongs to (`NAME_version...`)."""
  best = None
  for n in names:
    if filename.startswith(n + "_") and (best is None or len(n) > len(best)):
      best = n
  return best


def fetch_binaries(apt: PrivateApt, names: Sequence[str], dest: Path, log) -> list[Miss]:
  dest.mkdir(parents=True, exist_ok=True)
  todo = [n for n in names if not glob.glob(str(dest / f"{glob.escape(n)}_*.deb"))]
  uris, bad = apt.print_uris("download", todo) if todo else ([], {})
  errors = parallel_map(lambda u: _download(u[0], dest / u[1], u[2], u[3]), uris, workers=8)
  failed = {_owner(u[1], todo) or u[1]: e for u, e in zip(uris, errors) if e}
  got = {_owner(u[1], todo) for u in uris}
  for n in todo:
    if n not in bad and n not in failed and n not in got:
      failed[n] = "apt printed no URI for it"
  misses = [Miss("debian", n, why) for n, why in {**bad, **failed}.items()]
  for m in misses:
    log(f"  skip debian {m.name}: {m.why}")
  return misses


def fetch_sources(apt: PrivateApt, names: Sequence[str], dest: Path, log) -> list[Miss]:
  """Like `apt-get source --download-only`: .dsc + upstream tarball(s) + Debian part, into dest/NAME/."""
  dest.mkdir(parents=True, exist_ok=True)
  todo = [n for n in names if not (dest / n / ".done").exists()]
  uris, bad = apt.print_uris("source", todo) if todo else ([], {})
  jobs = []
  for u in uris:
    owner = _owner(u[1], todo)
    if owner is not None:
      (dest / owner).mkdir(parents=True, exist_ok=True)
      jobs.append((owner, u))
  errors = parallel_map(lambda j: _download(j[1][0], dest / j[0] / j[1][1], j[1][2], j[1][3]), jobs, workers=8)
  for (owner, _), e in zip(jobs, errors):
    if e:
      log(f"  debian-src {owner}: {e}")
  misses = [Miss("debian-src", n, why) for n, why in bad.items()]
  for n in todo:
    if n in bad:
      continue
    if _upstream_tarballs(dest / n):
      # a 404 on the Debian packaging part alone still leaves the upstream tree, which is all we read
      (dest / n / ".done").write_text("ok\n")
    else:
      why = next((e for (o, _), e in zip(jobs, errors) if o == n and e), "apt printed no URI for it")
      misses.append(Miss("debian-src", n, why))
  for m in misses:
    log(f"  skip debian-src {m.name}: {m.why}")
  return misses


def _upstream_tarballs(pkg_dir: Path) -> list[Path]:
  return [
    p for p in sorted(pkg_dir.glob("*.tar.*")) if ".debian.tar." not in p.name and not p.name.endswith((".asc", ".sig"))
  ]


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
  license_name = (
    debian_copyright_license(copyright_files[0].read_text(errors="replace")) if copyright_files else "unknown"
  )
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
