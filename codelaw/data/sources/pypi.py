"""PyPI: `pip download --no-deps` of pinned wheels (or sdists when no wheel fits)."""

from __future__ import annotations

import email.parser
import re
import sys
from pathlib import Path
from typing import Sequence

from codelaw.data.sources.common import Miss, PackageTree, extract_archive, last_error_line, parallel_map, run


def _dist_stem(spec: str) -> str:
  return re.split(r"[=<>!~\[ ]", spec, maxsplit=1)[0]


def _normalise(name: str) -> str:
  return re.sub(r"[-_.]+", "_", name).lower()


def _find(dest: Path, spec: str) -> Path | None:
  want = _normalise(_dist_stem(spec))
  for p in sorted(dest.iterdir()) if dest.exists() else ():
    if p.is_file() and _normalise(p.name.split("-")[0]) == want and p.suffix in (".whl", ".gz", ".zip", ".bz2"):
      return p
  return None


def fetch(specs: Sequence[str], dest: Path, log) -> list[Miss]:
  dest.mkdir(parents=True, exist_ok=True)

  def one(spec: str) -> str | None:
    if _find(dest, spec):
      return None
    proc = run(
      [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "--disable-pip-version-check",
        "-d",
        str(dest),
        spec,
      ]
    )
    return None if proc.returncode == 0 and _find(dest, spec) else last_error_line(proc)

  errors = parallel_map(one, specs, workers=4)
  misses = [Miss("pypi", s, e) for s, e in zip(specs, errors) if e]
  for m in misses:
    log(f"  skip pypi {m.name}: {m.why}")
  return misses


def _license_from_metadata(text: str) -> str:
  msg = email.parser.Parser().parsestr(text, headersonly=True)
  expr = msg.get("License-Expression")
  if expr:
    return expr.strip()
  lic = (msg.get("License") or "").strip()
  if lic and len(lic) < 80 and "\n" not in lic and lic.upper() != "UNKNOWN":
    return lic
  classifiers = [c.split("::")[-1].strip() for c in msg.get_all("Classifier") or [] if c.startswith("License ::")]
  return "; ".join(classifiers) or (lic.splitlines()[0][:80] if lic else "unknown")


def extract(spec: str, dl: Path, out: Path) -> PackageTree | None:
  archive = _find(dl, spec)
  if archive is None:
    return None
  name = _dist_stem(spec)
  root = out / "pypi" / _normalise(name)
  if not (root / ".done").exists():
    extract_archive(archive, root)
    (root / ".done").write_text("ok\n")
  meta = sorted(root.glob("*.dist-info/METADATA")) + sorted(root.glob("*/PKG-INFO")) + sorted(root.glob("PKG-INFO"))
  license_name = _license_from_metadata(meta[0].read_text(errors="replace")) if meta else "unknown"
  version = archive.name.split("-")[1] if archive.name.count("-") >= 1 else "unknown"
  version = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", version)
  return PackageTree("pypi", name, version, license_name, str(root), ("python",))
