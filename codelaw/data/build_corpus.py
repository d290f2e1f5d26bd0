"""Job `corpus`: real, permissively licensed source for the seven languages -> a tokenized corpus.

Stages (each leaves SCRATCH/stages/<name>.done; a rerun skips finished stages):
  fetch     Debian binary + source packages (private apt config), PyPI wheels, npm tarballs
  extract   unpack; add CPython's stdlib and config.local_dirs; drop copyleft licenses
  filter    per-file filters with counts per reason (codelaw.data.filters); strip license headers
  dedup     per-package caps, then exact (whitespace-normalised) + MinHash near-duplicates, per language
  split     language byte cap, train/val split by package -> WORKDIR/text/<lang>/<split>.jsonl.gz
  tokenizer byte-level BPE on a balanced mix of the train split -> WORKDIR/tokenizer.json
  tokenize  -> WORKDIR/tokens/<lang>/<split>-i-of-n.arrayrecord + WORKDIR/manifest.json
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections import Counter
from pathlib import Path

from codelaw import checks
from codelaw.data import corpus_format, dedup, filters, split, text_shards, tokenizer
from codelaw.data.corpus_stats import format_stats
from codelaw.data.sources import plan
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, atomic_write_text

STAGES = ("fetch", "extract", "filter", "dedup", "split", "tokenizer", "tokenize")
_SKIP_DIRS = {".git", "__pycache__", "site-packages", "dist-packages", ".hg", ".svn"}


def _log(msg: str) -> None:
  print(f"[corpus {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def validate(config) -> None:
  if not list(config.languages):
    raise UserError("config.languages is empty: name at least one language")
  for lang in config.languages:
    checks.language(lang, "config.languages")
  for src in config.sources:
    if src not in plan.ALL_SOURCES:
      raise UserError(f"config.sources: unknown source {src!r}; expected some of {', '.join(plan.ALL_SOURCES)}")
  for lang in config.local_dirs:
    checks.language(lang, "config.local_dirs")
    if config.local_dirs[lang] and "local" in config.sources and not Path(config.local_dirs[lang]).is_dir():
      raise UserError(f"config.local_dirs.{lang} = {config.local_dirs[lang]!r}: directory does not exist")
  f = config.filters
  checks.positive_int(f.min_bytes, "config.filters.min_bytes")
  checks.integer(f.max_bytes, "config.filters.max_bytes", lo=f.min_bytes + 1)
  checks.number(config.dedup.threshold, "config.dedup.threshold", lo=0, hi=1, lo_open=True)
  checks.number(config.package_cap_fraction, "config.package_cap_fraction", lo=0, hi=1, lo_open=True)
  checks.nonneg_int(config.val_tokens, "config.val_tokens")
  checks.nonneg_int(config.max_bytes_per_language, "config.max_bytes_per_language")
  checks.positive_int(config.num_shards, "config.num_shards")
  if config.tokenizer.path:
    checks.readable_file(config.tokenizer.path, "config.tokenizer.path")


def check_disk(config, lists, where: Path) -> None:
  need_gb = plan.scratch_needed_gb(lists) + 0.2
  free_gb = shutil.disk_usage(where).free / 1e9
  _log(f"disk: this build needs about {need_gb:.1f} GB of scratch under {where}; {free_gb:.1f} GB free")
  if free_gb < need_gb:
    raise UserError(f"not enough disk under {where}: the corpus build needs about {need_gb:.1f} GB, "
                    f"{free_gb:.1f} GB free (set config.scratch_dir to a bigger disk)")


class Stages:
  def __init__(self, scratch: Path) -> None:
    self.dir = scratch / "stages"
    self.dir.mkdir(parents=True, exist_ok=True)

  def done(self, name: str) -> dict | None:
    p = self.dir / f"{name}.done"
    return json.loads(p.read_text()) if p.exists() else None

  def mark(self, name: str, info: dict) -> None:
    atomic_write_json(self.dir / f"{name}.done", info)


def _walk(root_spec: str):
  """(rel_path, abs_path) of every file under a package root, sorted; a `#top` root lists only top files."""
  top_only = root_spec.endswith("#top")
  root = Path(root_spec[:-len("#top")].rstrip("/")) if top_only else Path(root_spec)
  if top_only:
    for p in sorted(root.iterdir()):
      if p.is_file():
        yield p.name, p
    return
  out = []
  for p in root.rglob("*"):
    rel = p.relative_to(root)
    if any(part in _SKIP_DIRS for part in rel.parts[:-1]) or p.name == ".done":
      continue
    if p.is_file() and not p.is_symlink():
      out.append((rel.as_posix(), p))
  yield from sorted(out)


def stage_filter(config, trees, scratch: Path) -> dict:
  out_dir = scratch / "filtered"
  out_dir.mkdir(parents=True, exist_ok=True)
  counts: dict[str, Counter] = {lang: Counter() for lang in config.languages}
  writers = {lang: open(out_dir / f"{lang}.jsonl", "w", encoding="utf-8") for lang in config.languages}
  f = config.filters
  try:
    for tree in trees:
      want = [l for l in tree.languages if l in writers]
      if not want:
        continue
      files = list(_walk(tree.root))
      names = {rel for rel, _ in files}
      for rel, abs_path in files:
        reason, lang = filters.path_reason(rel, want)
        if reason is None:
          data = abs_path.read_bytes()
          reason, text = filters.content_reason(rel, lang, data, package_files=names, min_bytes=f.min_bytes,
                                                max_bytes=f.max_bytes, max_line=f.max_line,
                                                max_mean_line=f.max_mean_line)
        bucket = counts[lang if lang in counts else want[0]]
        if reason is not None:
          bucket[reason] += 1
          continue
        if f.strip_license:
          text = filters.strip_license_header(text, lang)
          if len(text.encode("utf-8")) < f.min_bytes:
            bucket["size"] += 1
            continue
        bucket["kept"] += 1
        writers[lang].write(json.dumps({"text": text, "package": tree.name, "version": tree.version,
                                        "source": tree.source, "path": rel, "license": tree.license},
                                       ensure_ascii=False) + "\n")
  finally:
    for w in writers.values():
      w.close()
  return {lang: dict(c) for lang, c in counts.items()}


def _read_jsonl(path: Path):
  with open(path, encoding="utf-8") as fh:
    for line in fh:
      yield json.loads(line)


def _caps(config, items: list[tuple[str, int]], lang_cap: int) -> tuple[list[bool], Counter]:
  """Per-package caps (a share of the language), then a seeded per-language byte cap (0 = none)."""
  total = sum(n for _, n in items)
  basis = min(total, config.max_bytes_per_language) if config.max_bytes_per_language else total
  keep_pkg = split.cap_packages(items, cap_bytes=max(int(config.package_cap_fraction * basis), 1), seed=config.seed)
  kept_items = [it for it, k in zip(items, keep_pkg) if k]
  keep_lang = iter(split.cap_total(kept_items, cap_bytes=lang_cap, seed=config.seed))
  keep = [k and next(keep_lang) for k in keep_pkg]
  return keep, Counter(package_cap=keep_pkg.count(False), language_cap=sum(keep_pkg) - sum(keep))


def stage_dedup(config, scratch: Path) -> dict:
  """Caps first (so that a small sample build does not hash gigabytes it will not keep; a language cap
  keeps 2x headroom for what dedup removes), then exact + near-duplicate removal in a fixed order."""
  out_dir = scratch / "dedup"
  out_dir.mkdir(parents=True, exist_ok=True)
  counts = {}
  for lang in config.languages:
    src = scratch / "filtered" / f"{lang}.jsonl"
    items = [(f"{d['source']}:{d['package']}", len(d["text"].encode("utf-8"))) for d in _read_jsonl(src)]
    keep, c = _caps(config, items, 2 * config.max_bytes_per_language)
    exact = dedup.ExactDedup()
    near = dedup.NearDedup(threshold=config.dedup.threshold, seed=config.seed) if config.dedup.near else None
    with open(out_dir / f"{lang}.jsonl", "w", encoding="utf-8") as out, \
         open(out_dir / f"{lang}.index.jsonl", "w", encoding="utf-8") as index:
      for doc, k in zip(_read_jsonl(src), keep):
        if not k:
          continue
        if exact.seen(doc["text"]):
          c["duplicate"] += 1
        elif near is not None and near.is_duplicate(doc["text"]):
          c["near_duplicate"] += 1
        else:
          out.write(json.dumps(doc, ensure_ascii=False) + "\n")
          index.write(json.dumps([f"{doc['source']}:{doc['package']}", len(doc["text"].encode("utf-8"))]) + "\n")
    counts[lang] = dict(c)
    _log(f"dedup {lang}: {dict(c)}")
  return counts


def stage_split(config, scratch: Path, out_dir: Path) -> dict:
  # the license is a property of the package: take it from the package table, which the extract stage
  # can refine (e.g. from the upstream license file when Debian's copyright file could not be fetched)
  trees, _ = plan.load_trees(scratch / "packages.json")
  licenses = {f"{t.source}:{t.name}": t.license for t in trees}
  info = {}
  for lang in config.languages:
    items = [tuple(x) for x in _read_jsonl(scratch / "dedup" / f"{lang}.index.jsonl")]
    keep = split.cap_total(items, cap_bytes=config.max_bytes_per_language, seed=config.seed)
    pkg_bytes = Counter()
    for (pkg, n), k in zip(items, keep):
      if k:
        pkg_bytes[pkg] += n
    val_bytes = int(config.val_tokens * config.val_bytes_per_token * 1.25)
    val_pkgs = split.split_packages(pkg_bytes, val_bytes=val_bytes, seed=config.seed)
    docs = _read_jsonl(scratch / "dedup" / f"{lang}.jsonl")
    with text_shards.Writer(text_shards.path(out_dir, lang, "train")) as train, \
         text_shards.Writer(text_shards.path(out_dir, lang, "val")) as val:
      for d, k in zip(docs, keep):
        if k:
          key = f"{d['source']}:{d['package']}"
          d["license"] = licenses.get(key, d["license"])
          (val if key in val_pkgs else train).write(d)
    info[lang] = {
        "language_cap": keep.count(False),
        "train_packages": sorted(set(pkg_bytes) - val_pkgs), "val_packages": sorted(val_pkgs),
        "train_bytes": train.bytes, "val_bytes": val.bytes}
    _log(f"split {lang}: {train.documents} train / {val.documents} val files, {len(val_pkgs)} val packages")
  return info


def sample_texts(out_dir: Path, lang: str, budget: int, total: int, seed: int) -> list[str]:
  """About `budget` bytes of randomly chosen train documents (one streaming pass)."""
  p = min(1.0, 1.5 * budget / max(total, 1))
  rng = random.Random(seed)
  picked = [d["text"] for d in text_shards.read(out_dir, lang, "train") if rng.random() < p]
  return picked


def stage_tokenizer(config, out_dir: Path, split_info: dict) -> dict:
  target = out_dir / corpus_format.TOKENIZER
  if config.tokenizer.path:
    shutil.copyfile(config.tokenizer.path, target)
    return {"trained": False, "from": config.tokenizer.path}
  budget = config.tokenizer.bytes_per_language
  texts = {lang: sample_texts(out_dir, lang, budget, split_info[lang]["train_bytes"], config.seed)
           for lang in config.languages}
  tok = tokenizer.train_tokenizer(tokenizer.balanced_texts(texts, budget, config.seed), config.tokenizer.vocab_size)
  tokenizer.save_tokenizer(tok, target)
  return {"trained": True, "vocab_size": tok.get_vocab_size(), "bytes_per_language": budget}


def tokenize_split(tok, corpus_dir: Path, text_dir: Path, lang: str, split_name: str, num_shards: int,
                   max_tokens: int, per_source: dict) -> corpus_format.SplitStats:
  """Encodes one text shard into token shards; the val split stops at exactly `max_tokens` (if > 0)."""
  def documents():
    used = 0
    batch: list[dict] = []

    def flush():
      nonlocal used
      encs = tok.encode_batch([d["text"] for d in batch], add_special_tokens=False)
      for d, enc in zip(batch, encs):
        ids, text = enc.ids, d["text"]
        if max_tokens and used + len(ids) > max_tokens:
          cut = max_tokens - used
          if cut <= 0:
            return True
          text = text[:enc.offsets[cut - 1][1]]
          ids = ids[:cut]
        n_bytes = len(text.encode("utf-8"))
        src = per_source.setdefault(d["source"], {"files": 0, "bytes": 0, "tokens": 0})
        src["files"] += 1
        src["bytes"] += n_bytes
        src["tokens"] += len(ids)
        used += len(ids)
        yield_buf.append((ids, n_bytes))
        if max_tokens and used >= max_tokens:
          return True
      return False

    yield_buf: list = []
    for d in text_shards.read(text_dir, lang, split_name):
      batch.append(d)
      if len(batch) == 256:
        stop = flush()
        batch = []
        yield from yield_buf
        yield_buf.clear()
        if stop:
          return
    if batch:
      flush()
      yield from yield_buf

  return corpus_format.write_token_shards(corpus_dir, lang, split_name, documents(), num_shards=num_shards)


def stage_tokenize(config, out_dir: Path, extra: dict) -> dict:
  tok = tokenizer.load_tokenizer(out_dir / corpus_format.TOKENIZER)
  splits, per_source = {}, {}
  for lang in config.languages:
    per_source[lang] = {}
    splits[lang] = {}
    for split_name in corpus_format.SPLITS:
      ps: dict = {}
      splits[lang][split_name] = tokenize_split(
          tok, out_dir, out_dir, lang, split_name, config.num_shards if split_name == "train" else 1,
          config.val_tokens if split_name == "val" else 0, ps)
      per_source[lang][split_name] = ps
  extra["per_source"] = per_source
  corpus_format.write_manifest(out_dir, vocab_size=tok.get_vocab_size(), pad_id=tokenizer.PAD_ID,
                               eos_id=tokenizer.EOS_ID, splits=splits, extra=extra)
  return {"languages": list(config.languages)}


def _flat(d: dict, prefix: str = "") -> dict:
  out = {}
  for k, v in d.items():
    out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
  return out


def _check_same_config(config, scratch: Path) -> None:
  """A rerun resumes only with the config the finished stages were built with."""
  now = json.loads(json.dumps(config.to_dict()))  # tuples -> lists, as stored
  saved_path = scratch / "build_config.json"
  if not saved_path.exists():
    atomic_write_json(saved_path, now)
    return
  before, after = _flat(json.loads(saved_path.read_text())), _flat(now)
  changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
  if changed:
    raise UserError(f"{scratch} holds a build made with other values of config.{', config.'.join(changed)}; "
                    f"use a new workdir (or config.scratch_dir), or delete {saved_path} and the stage markers "
                    f"in {scratch / 'stages'} from the first stage those keys affect")


def main(config, workdir: str) -> None:
  validate(config)
  out_dir = Path(workdir)
  out_dir.mkdir(parents=True, exist_ok=True)
  scratch = Path(config.scratch_dir) if config.scratch_dir else out_dir / "scratch"
  scratch.mkdir(parents=True, exist_ok=True)
  lists = plan.selected_lists(config)
  stages = Stages(scratch)
  _check_same_config(config, scratch)
  t0 = time.time()
  if not stages.done("fetch"):
    check_disk(config, lists, scratch)
    misses = plan.fetch_all(config, lists, scratch, _log)
    stages.mark("fetch", {"misses": [m.__dict__ for m in misses]})
  if not stages.done("extract"):
    trees, misses = plan.extract_all(config, lists, scratch, _log)
    if not trees:
      raise UserError("no packages to read: enable config.sources or set config.local_dirs.<lang>")
    plan.save_trees(scratch / "packages.json", trees, misses)
    stages.mark("extract", {"packages": len(trees)})
  trees, extract_misses = plan.load_trees(scratch / "packages.json")
  fetch_misses = stages.done("fetch")["misses"]
  for name, fn in (("filter", lambda: stage_filter(config, trees, scratch)),
                   ("dedup", lambda: stage_dedup(config, scratch)),
                   ("split", lambda: stage_split(config, scratch, out_dir))):
    if not stages.done(name):
      _log(f"{name} ...")
      stages.mark(name, fn())
  split_info = stages.done("split")
  if not stages.done("tokenizer"):
    _log("tokenizer ...")
    stages.mark("tokenizer", stage_tokenizer(config, out_dir, split_info))
  if not stages.done("tokenize"):
    _log("tokenize ...")
    counts = {}
    for lang in config.languages:
      c = Counter(stages.done("filter").get(lang, {}))
      c.update(stages.done("dedup").get(lang, {}))
      c["language_cap"] += split_info[lang]["language_cap"]
      counts[lang] = dict(c)
    licenses = {lang: dict(Counter(d["license"] for s in corpus_format.SPLITS
                                   for d in text_shards.read(out_dir, lang, s))) for lang in config.languages}
    extra = {"filter_counts": counts, "licenses": licenses,
             "packages": {lang: {"train": split_info[lang]["train_packages"], "val": split_info[lang]["val_packages"]}
                          for lang in config.languages},
             "missing_packages": fetch_misses + extract_misses,
             "provenance": "text/<lang>/<split>.jsonl.gz: package, version, source, path, license of every document",
             "tokenizer": stages.done("tokenizer"), "build_config": config.to_dict()}
    stages.mark("tokenize", stage_tokenize(config, out_dir, extra))
  manifest = corpus_format.read_manifest(out_dir)
  table = format_stats(manifest)
  atomic_write_text(out_dir / "stats.txt", table + "\n")
  print(table)
  _log(f"corpus ready at {out_dir} ({time.time() - t0:.0f} s this run)")
