"""Which packages to fetch for which language (from the pinned lists), and the fetch + extract stages."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

from codelaw.data.sources import debian, local, npm, pypi
from codelaw.data.sources.common import Miss, PackageTree, is_permissive
from codelaw.io import atomic_write_json

NETWORK_SOURCES = ("debian", "pypi", "npm")
ALL_SOURCES = (*NETWORK_SOURCES, "stdlib", "local")


@dataclasses.dataclass(frozen=True)
class PackageList:
  kind: str  # debian (binary) | debian-src | pypi | npm
  language: str
  names: tuple[str, ...]
  scratch_gb: float  # measured scratch disk (download + extracted) for the whole list

  @property
  def source(self) -> str:
    return "debian" if self.kind.startswith("debian") else self.kind


def read_list(name: str) -> list[str]:
  text = resources.files("codelaw.data").joinpath("lists", name).read_text()
  return [l.strip() for l in text.splitlines() if l.strip() and not l.startswith("#")]


def _pin_npm(names: Sequence[str]) -> list[str]:
  """Maps list entries (`zod@3`, `lodash`) to the exact versions in npm-pinned.txt."""
  pinned = {}
  for spec in read_list("npm-pinned.txt"):
    name = spec.rsplit("@", 1)[0] if spec.count("@") > (1 if spec.startswith("@") else 0) else spec
    pinned[name] = spec
  out = []
  for entry in names:
    name = entry.rsplit("@", 1)[0] if entry.count("@") > (1 if entry.startswith("@") else 0) else entry
    out.append(pinned.get(name, entry))
  return out


def package_lists(extra_debian: dict[str, Sequence[str]]) -> list[PackageList]:
  return [
    PackageList("pypi", "python", tuple(read_list("pypi-pinned.txt")), 0.6),
    PackageList("debian-src", "java", tuple(read_list("debian-src-java.txt")), 2.5),
    PackageList("npm", "javascript", tuple(_pin_npm(read_list("npm-js.txt"))), 0.4),
    PackageList("npm", "typescript", tuple(_pin_npm(read_list("npm-ts.txt"))), 0.4),
    PackageList("debian-src", "typescript", tuple(read_list("debian-src-ts.txt")), 0.5),
    PackageList("debian-src", "csharp", tuple(read_list("debian-src-csharp.txt")), 2.0),
    PackageList("debian", "go", (*extra_debian.get("go", ()), *read_list("debian-golang-dev.txt")), 1.0),
    PackageList("debian", "rust", (*extra_debian.get("rust", ()), *read_list("debian-librust-dev.txt")), 1.5),
  ]


def selected_lists(config) -> list[PackageList]:
  """The lists for the configured languages and sources, cut to config.max_packages each (0 = all)."""
  extra = {k: tuple(v) for k, v in config.extra_debian.items()}
  out = []
  for pl in package_lists(extra):
    if pl.language in config.languages and pl.source in config.sources:
      names = pl.names[: config.max_packages] if config.max_packages > 0 else pl.names
      out.append(
        dataclasses.replace(pl, names=tuple(names), scratch_gb=pl.scratch_gb * len(names) / max(len(pl.names), 1))
      )
  return out


def scratch_needed_gb(lists: Sequence[PackageList]) -> float:
  return sum(pl.scratch_gb for pl in lists)


def fetch_all(config, lists: Sequence[PackageList], work: Path, log: Callable[[str], None]) -> list[Miss]:
  """Downloads every selected package; misses (404, unknown names) are reported and skipped."""
  misses: list[Miss] = []
  dl = work / "downloads"
  if any(pl.source == "debian" for pl in lists):
    apt = debian.PrivateApt(work / "apt", config.mirror, config.suites)
    log("fetch: apt indices (private config)")
    apt.setup()
    for pl in lists:
      if pl.kind == "debian":
        log(f"fetch: {len(pl.names)} Debian binary packages for {pl.language}")
        misses += debian.fetch_binaries(apt, pl.names, dl / "debian", log)
      elif pl.kind == "debian-src":
        log(f"fetch: {len(pl.names)} Debian source packages for {pl.language}")
        misses += debian.fetch_sources(apt, pl.names, dl / "debian-src", log)
  for pl in lists:
    if pl.kind == "pypi":
      log(f"fetch: {len(pl.names)} PyPI packages for {pl.language}")
      misses += pypi.fetch(pl.names, dl / "pypi", log)
    elif pl.kind == "npm":
      log(f"fetch: {len(pl.names)} npm packages for {pl.language}")
      misses += npm.fetch(pl.names, dl / "npm", log)
  return misses


def extract_all(config, lists: Sequence[PackageList], work: Path, log) -> tuple[list[PackageTree], list[Miss]]:
  """Unpacks what was downloaded; adds stdlib and local dirs; drops packages whose license is copyleft."""
  dl, out = work / "downloads", work / "extracted"
  trees: list[PackageTree] = []
  misses: list[Miss] = []
  for pl in lists:
    for name in pl.names:
      try:
        if pl.kind == "debian":
          tree = debian.extract_binary(name, dl / "debian", out, (pl.language,))
        elif pl.kind == "debian-src":
          tree = debian.extract_source(name, dl / "debian-src", out, (pl.language,))
        elif pl.kind == "pypi":
          tree = pypi.extract(name, dl / "pypi", out)
        else:
          tree = npm.extract(name, dl / "npm", out, (pl.language,))
      except (RuntimeError, OSError) as e:
        misses.append(Miss(pl.source, name, f"extract failed: {e}"))
        log(f"  skip {pl.source} {name}: extract failed: {e}")
        continue
      if tree is not None:
        trees.append(tree)
  if "stdlib" in config.sources and "python" in config.languages:
    trees.append(local.stdlib_package())
  if "local" in config.sources:
    for lang in config.languages:
      directory = config.local_dirs.get(lang, "")
      if directory:
        trees.extend(local.local_packages(lang, directory))
  kept = []
  for t in trees:
    if is_permissive(t.license):
      kept.append(t)
    else:
      misses.append(Miss(t.source, t.name, f"license {t.license!r} is not permissive"))
      log(f"  skip {t.source} {t.name}: license {t.license!r} is not permissive")
  return kept, misses


def save_trees(path: Path, trees: Sequence[PackageTree], misses: Sequence[Miss]) -> None:
  atomic_write_json(path, {"packages": [t.to_json() for t in trees], "misses": [dataclasses.asdict(m) for m in misses]})


def load_trees(path: Path) -> tuple[list[PackageTree], list[dict]]:
  raw = json.loads(path.read_text())
  return [PackageTree.from_json(d) for d in raw["packages"]], raw["misses"]
