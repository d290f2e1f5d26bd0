"""The user's own directories (config.local_dirs.<lang>) and CPython's standard library from this interpreter."""

from __future__ import annotations

import os
import platform
import sysconfig
from pathlib import Path

from codelaw.data.sources.common import PackageTree, license_from_tree
from codelaw.errors import UserError


def _license_of(d: Path) -> str:
  found = license_from_tree(d)
  return "user-provided" if found == "unknown" else found


def local_packages(lang: str, directory: str) -> list[PackageTree]:
  """Each top-level subdirectory is a package (that is the unit of the train/val split); loose files at
  the top form one package named after the directory."""
  root = Path(directory).expanduser()
  if not root.is_dir():
    raise UserError(f"config.local_dirs.{lang} = {directory!r}: directory does not exist")
  trees = []
  subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
  for d in subdirs:
    trees.append(PackageTree("local", d.name, "local", _license_of(d), str(d), (lang,)))
  if any(p.is_file() for p in root.iterdir()):
    trees.append(
      PackageTree("local", f"{root.name}(top)", "local", _license_of(root), str(root) + os.sep + "#top", (lang,))
    )
  return trees


def stdlib_package() -> PackageTree:
  """CPython's standard library of the running interpreter (PSF license), minus site-packages."""
  return PackageTree(
    "stdlib", "cpython-stdlib", platform.python_version(), "PSF-2.0", sysconfig.get_paths()["stdlib"], ("python",)
  )
