"""npm: `npm pack NAME@VERSION` downloads a package tarball without installing anything."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from codelaw.data.sources.common import Miss, PackageTree, extract_archive, last_error_line, parallel_map, run


def _safe(spec: str) -> str:
  return re.sub(r"[^A-Za-z0-9._-]+", "_", spec.lstrip("@"))


def fetch(specs: Sequence[str], dest: Path, log) -> list[Miss]:
  dest.mkdir(parents=True, exist_ok=True)

  def one(spec: str) -> str | None:
    pkg_dir = dest / _safe(spec)
    if (pkg_dir / ".done").exists():
      return None
    pkg_dir.mkdir(parents=True, exist_ok=True)
    proc = run(
      ["npm", "pack", spec, "--pack-destination", str(pkg_dir), "--json", "--silent", "--ignore-scripts"],
      cwd=pkg_dir,
      timeout=600,
    )
    if proc.returncode != 0 or not list(pkg_dir.glob("*.tgz")):
      return last_error_line(proc)
    (pkg_dir / ".done").write_text("ok\n")
    return None

  errors = parallel_map(one, specs, workers=4)
  misses = [Miss("npm", s, e) for s, e in zip(specs, errors) if e]
  for m in misses:
    log(f"  skip npm {m.name}: {m.why}")
  return misses


def extract(spec: str, dl: Path, out: Path, langs: tuple[str, ...]) -> PackageTree | None:
  tarballs = sorted((dl / _safe(spec)).glob("*.tgz"))
  if not tarballs:
    return None
  root = out / "npm" / _safe(spec)
  if not (root / ".done").exists():
    extract_archive(tarballs[0], root)
    (root / ".done").write_text("ok\n")
  name, version, license_name = spec, "unknown", "unknown"
  pj = root / "package" / "package.json"
  if pj.exists():
    try:
      meta = json.loads(pj.read_text(errors="replace"))
      name, version = meta.get("name", spec), meta.get("version", "unknown")
      lic = meta.get("license") or meta.get("licenses") or "unknown"
      if isinstance(lic, list):
        lic = " OR ".join(str(l.get("type", l)) if isinstance(l, dict) else str(l) for l in lic)
      elif isinstance(lic, dict):
        lic = lic.get("type", "unknown")
      license_name = str(lic)
    except ValueError:
      pass
  return PackageTree("npm", name, version, license_name, str(root), langs)
