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
          a[:] = [a[0] + s["files"], a[1] + s["bytes"], a[2] + s["tokens"]]
      lines.append(
        f"{lang:<11} " + "; ".join(f"{src} {a[0]} / {a[1] / 1e6:.2f} / {a[2]:,}" for src, a in sorted(agg.items()))
      )
  counts = manifest.extra.get("filter_counts", {})
  if counts:
    reasons = ["kept"] + [r for r in REASONS if any(counts.get(l, {}).get(r) for l in langs)]
    short = {
      "vendored_path": "vendored",
      "near_duplicate": "near_dup",
      "package_cap": "pkg_cap",
      "language_cap": "lang_cap",
      "broken_test": "broken",
      "duplicate": "dup",
    }
    cols = [short.get(r, r) for r in reasons]
    lines += [
      "",
      "files per filter reason ('kept' = passed the per-file filters, before dedup and caps)",
      f"{'language':<11} " + " ".join(f"{c:>9}" for c in cols),
    ]
    for lang in langs:
      lines.append(f"{lang:<11} " + " ".join(f"{counts.get(lang, {}).get(r, 0):>9}" for r in reasons))
  return "\n".join(lines)


def _md_table(head: list[str], rows: list[list]) -> list[str]:
  return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + [
    "| " + " | ".join(map(str, r)) + " |" for r in rows
  ]


def _dropped_licenses(missing: list[dict]) -> dict[str, int]:
  """Packages per license of those the extract stage dropped as not permissive."""
  out: dict[str, int] = {}
  for m in missing:
    if m.get("why", "").startswith("license "):
      lic = m["why"].removeprefix("license ").removesuffix(" is not permissive").strip("'\"")
      out[lic] = out.get(lic, 0) + 1
  return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def format_report(manifest: Manifest, wall_s: dict[str, float], peak_rss_mb: dict[str, float]) -> str:
  """CORPUS/stats.md: what the corpus holds, per language and source, what was dropped and why (filter
  reasons, duplicates, contamination, licenses), the wall time of each stage and the peak memory."""
  langs, extra = manifest.languages, manifest.extra
  lines = ["# Corpus build report", "", "## Kept, per language (train + val)", ""]
  rows = []
  for lang in langs:
    tr, va = manifest.splits[lang]["train"], manifest.splits[lang]["val"]
    pk = extra.get("packages", {}).get(lang, {})
    rows.append(
      [
        lang,
        f"{len(pk.get('train', []))} + {len(pk.get('val', []))}",
        f"{tr.documents + va.documents:,}",
        f"{(tr.bytes + va.bytes) / 1e6:,.1f}",
        f"{tr.tokens:,}",
        f"{va.tokens:,}",
        f"{manifest.bytes_per_token(lang, 'train'):.2f}",
        f"{manifest.bytes_per_token(lang, 'val'):.2f}",
      ]
    )
  lines += _md_table(
    [
      "language",
      "packages (train + val)",
      "files",
      "MB",
      "train tokens",
      "val tokens",
      "bytes/token train",
      "bytes/token val",
    ],
    rows,
  )
  rows = []
  for lang in langs:
    agg: dict = {}
    for per in extra.get("per_source", {}).get(lang, {}).values():
      for src, st in per.items():
        a = agg.setdefault(src, [0, 0, 0])
        a[:] = [a[0] + st["files"], a[1] + st["bytes"], a[2] + st["tokens"]]
    rows += [[lang, src, f"{a[0]:,}", f"{a[1] / 1e6:,.1f}", f"{a[2]:,}"] for src, a in sorted(agg.items())]
  if rows:
    lines += ["", "## Kept, per language and source", ""]
    lines += _md_table(["language", "source", "files", "MB", "tokens"], rows)
  counts = extra.get("filter_counts", {})
  if counts:
    reasons = ["kept"] + [r for r in REASONS if any(counts.get(l, {}).get(r) for l in langs)]
    lines += [
      "",
      "## Files dropped, per reason",
      "",
      "'kept' = passed the per-file filters; duplicate, near_duplicate and contamination_* were removed "
      "after them (contamination: HumanEval problems and held-out parallel programs, exact or contained)",
      "",
    ]
    lines += _md_table(
      ["language"] + reasons, [[lang] + [f"{counts.get(lang, {}).get(r, 0):,}" for r in reasons] for lang in langs]
    )
    # Said even when nothing matched: a zero is a result of the guard, not a missing column.
    guard = {
      r: sum(counts.get(lang, {}).get(r, 0) for lang in langs) for r in ("contamination_exact", "contamination_near")
    }
    lines += [
      "",
      f"Contamination guard: {sum(guard.values()):,} files removed "
      f"({guard['contamination_exact']:,} exact, {guard['contamination_near']:,} containing a protected program).",
    ]
  kept = extra.get("license_packages", {})
  if kept:
    lines += ["", "## Licenses", "", "Kept (packages per license):", ""]
    lines += _md_table(
      ["language", "licenses"],
      [
        [lang, ", ".join(f"{lic} {n}" for lic, n in sorted(kept.get(lang, {}).items(), key=lambda kv: -kv[1]))]
        for lang in langs
      ],
    )
  dropped = _dropped_licenses(extra.get("missing_packages", []))
  lines += [
    "",
    "Dropped as not permissive (packages): " + (", ".join(f"{k} {v}" for k, v in dropped.items()) or "none"),
  ]
  tok = extra.get("tokenizer", {})
  lines += [
    "",
    f"Tokenizer: vocabulary {manifest.vocab_size}"
    + (" (trained on a language-balanced sample)" if tok.get("trained") else f" (from {tok.get('from')})"),
  ]
  stage_rows = [[k, f"{v:,.0f}"] for k, v in wall_s.items() if "." not in k]
  lines += ["", "## Wall time per stage (seconds, the run that finished it)", ""]
  lines += _md_table(
    ["stage", "wall s"], stage_rows + [["total", f"{sum(v for k, v in wall_s.items() if '.' not in k):,.0f}"]]
  )
  lines += [
    "",
    f"Peak RSS: {peak_rss_mb['self']:,.0f} MB (builder, last run), "
    f"{peak_rss_mb['children']:,.0f} MB (largest child process)",
  ]
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
