"""The stats table the corpus job prints at the end (and writes to CORPUS/stats.txt)."""

from __future__ import annotations

from codelaw.data import corpus_format
from codelaw.data.corpus_format import Manifest
from codelaw.data.filters import REASONS


def format_stats(manifest: Manifest) -> str:
  langs = manifest.languages
  head = f"{'language':<11} {'pkgs':>5} {'files':>8} {'MB':>8} {'train tok':>12} {'val tok':>10} {'B/tok':>6}"
  lines = ["corpus: kept files, bytes and tokens per language (train + val)", head, "-" * len(head)]
  tot = [0, 0, 0, 0, 0]
  for lang in langs:
    tr, va = manifest.splits[lang]["train"], manifest.splits[lang]["val"]
    pk = manifest.extra.get("packages", {}).get(lang, {})
    n_pkgs = len(pk.get("train", [])) + len(pk.get("val", []))
    row = [n_pkgs, tr.documents + va.documents, tr.bytes + va.bytes, tr.tokens, va.tokens]
    tot = [a + b for a, b in zip(tot, row)]
    bpt = (tr.bytes + va.bytes) / max(tr.tokens + va.tokens, 1)
    lines.append(f"{lang:<11} {row[0]:>5} {row[1]:>8} {row[2] / 1e6:>8.2f} {row[3]:>12,} {row[4]:>10,} {bpt:>6.2f}")
  lines.append(f"{'total':<11} {tot[0]:>5} {tot[1]:>8} {tot[2] / 1e6:>8.2f} {tot[3]:>12,} {tot[4]:>10,}")
  per_source = manifest.extra.get("per_source", {})
  if per_source:
    lines += ["", "per source (train + val): files / MB / tokens"]
    for lang in langs:
      agg: dict = {}
      for split in per_source.get(lang, {}).values():
        for src, s in split.items():
          a = agg.setdefault(src, [0, 0, 0])
          a[0] += s["files"]; a[1] += s["bytes"]; a[2] += s["tokens"]
      lines.append(f"{lang:<11} " + "; ".join(f"{src} {a[0]} / {a[1] / 1e6:.2f} / {a[2]:,}"
                                             for src, a in sorted(agg.items())))
  counts = manifest.extra.get("filter_counts", {})
  if counts:
    reasons = ["kept"] + [r for r in REASONS if any(counts.get(l, {}).get(r) for l in langs)]
    short = {"vendored_path": "vendored", "near_duplicate": "near_dup", "package_cap": "pkg_cap",
             "language_cap": "lang_cap", "broken_test": "broken", "duplicate": "dup"}
    cols = [short.get(r, r) for r in reasons]
    lines += ["", "files per filter reason ('kept' = passed the per-file filters, before dedup and caps)",
              f"{'language':<11} " + " ".join(f"{c:>9}" for c in cols)]
    for lang in langs:
      lines.append(f"{lang:<11} " + " ".join(f"{counts.get(lang, {}).get(r, 0):>9}" for r in reasons))
  return "\n".join(lines)


def format_progress(workdir: str) -> str:
  """What a build (finished or not) has done so far, from its stage markers: `python -m codelaw.data.corpus_stats DIR`."""
  import json
  from pathlib import Path
  work = Path(workdir)
  if (work / corpus_format.MANIFEST).exists():
    return format_stats(corpus_format.read_manifest(work))
  stages = work / "scratch" / "stages"
  done = {p.name.removesuffix(".done"): json.loads(p.read_text()) for p in sorted(stages.glob("*.done"))}
  lines = [f"stages done: {', '.join(done) or 'none'}"]
  counts: dict = {}
  for stage in ("filter", "dedup"):
    for lang, c in done.get(stage, {}).items():
      counts.setdefault(lang, {}).update(c)
  if counts:
    reasons = ["kept"] + [r for r in REASONS if any(c.get(r) for c in counts.values())]
    lines.append(f"{'language':<11} " + " ".join(f"{r[:9]:>9}" for r in reasons))
    for lang, c in counts.items():
      lines.append(f"{lang:<11} " + " ".join(f"{c.get(r, 0):>9}" for r in reasons))
  return "\n".join(lines)


if __name__ == "__main__":
  import sys
  print(format_progress(sys.argv[1]))
