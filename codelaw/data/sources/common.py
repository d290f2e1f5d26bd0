"""What every source hands the corpus builder: extracted package trees with provenance and license."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


@dataclasses.dataclass
class PackageTree:
  source: str  # debian | debian-src | pypi | npm | stdlib | local
  name: str
  version: str
  license: str
  root: str  # directory whose files are scanned
  languages: tuple[str, ...]  # languages this package is taken for

  def to_json(self) -> dict:
    return dataclasses.asdict(self)

  @staticmethod
  def from_json(d: dict) -> "PackageTree":
    return PackageTree(**{**d, "languages": tuple(d["languages"])})


@dataclasses.dataclass
class Miss:
  source: str
  name: str
  why: str


def run(cmd: list[str], cwd: str | Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
  return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def last_error_line(proc: subprocess.CompletedProcess) -> str:
  lines = [l.strip() for l in (proc.stderr + "\n" + proc.stdout).splitlines() if l.strip()]
  errs = [l for l in lines if l.startswith(("E:", "ERROR", "npm error", "npm ERR"))] or lines
  return (errs[0] if errs else f"exit {proc.returncode}")[:200]


def parallel_map(fn: Callable[[str], T], items: Iterable[str], workers: int = 4) -> list[T]:
  with ThreadPoolExecutor(max_workers=workers) as pool:
    return list(pool.map(fn, items))


def extract_archive(archive: Path, dest: Path) -> None:
  """Unpacks a tar (any compression tar knows) or zip/wheel archive into `dest`."""
  dest.mkdir(parents=True, exist_ok=True)
  name = archive.name
  if name.endswith((".whl", ".zip")):
    import zipfile

    with zipfile.ZipFile(archive) as zf:
      for member in zf.infolist():
        target = (dest / member.filename).resolve()
        if not str(target).startswith(str(dest.resolve())):
          continue  # no path traversal out of dest
        zf.extract(member, dest)
    return
  proc = run(["tar", "-xf", str(archive), "-C", str(dest), "--no-same-owner", "--no-same-permissions"])
  if proc.returncode != 0:
    raise RuntimeError(f"tar failed on {archive.name}: {last_error_line(proc)}")


_SPDX_LIKE = re.compile(r"^\s*License:\s*(\S.*)$", re.MULTILINE)


def debian_copyright_license(text: str) -> str:
  """The license of the `Files: *` stanza of a machine-readable debian/copyright (else the first one)."""
  stanzas = re.split(r"\n\s*\n", text)
  for st in stanzas:
    if re.search(r"^Files:\s*\*\s*$", st, re.MULTILINE):
      m = _SPDX_LIKE.search(st)
      if m:
        return m.group(1).strip()
  m = _SPDX_LIKE.search(text)
  return m.group(1).strip() if m else "unknown"


_LICENSE_FILE_NAMES = (
  "LICENSE",
  "LICENSE.txt",
  "LICENSE.md",
  "LICENCE",
  "COPYING",
  "LICENSE-MIT",
  "LICENSE-APACHE",
  "LICENSE.rst",
  "COPYING.txt",
  "License.md",
)  # matched case-insensitively
_LICENSE_SIGNS = (  # (license, phrase), most specific first
  ("LGPL", "GNU LESSER GENERAL PUBLIC LICENSE"),
  ("AGPL", "GNU AFFERO GENERAL PUBLIC LICENSE"),
  ("GPL", "GNU GENERAL PUBLIC LICENSE"),
  ("Apache-2.0", "Apache License"),
  ("MPL-2.0", "Mozilla Public License"),
  ("MIT", "Permission is hereby granted, free of charge"),
  ("BSD", "Redistribution and use in source and binary"),
  ("ISC", "Permission to use, copy, modify, and/or distribute"),
  ("Zlib", "This software is provided 'as-is', without any express or implied"),
  ("EPL", "Eclipse Public License"),
)


def license_from_tree(root: Path) -> str:
  """Guesses the license of an upstream tree from its top-level license file (or one level down)."""
  dirs = [root] + sorted(p for p in root.iterdir() if p.is_dir())[:5] if root.is_dir() else []
  wanted = {n.lower() for n in _LICENSE_FILE_NAMES}
  for d in dirs:
    for p in sorted(d.iterdir()):
      if p.is_file() and p.name.lower() in wanted:
        head = p.read_text(errors="replace")[:5000]
        for lic, phrase in _LICENSE_SIGNS:
          if phrase.lower() in head.lower():
            return lic
        return f"see {p.relative_to(root)}"
  return "unknown"


_COPYLEFT = re.compile(r"\b(A?GPL|LGPL|EUPL|SSPL|CC-BY-SA|OSL)\b", re.IGNORECASE)


def is_permissive(license_name: str) -> bool:
  """False for licenses with copyleft terms; the pinned lists were picked permissive, this double-checks.

  An expression like "MIT or GPL-2+" offers a permissive choice and passes.
  """
  alternatives = re.split(r"\s+or\s+|\s*\|\s*", license_name, flags=re.IGNORECASE)
  return any(not _COPYLEFT.search(a) for a in alternatives)
