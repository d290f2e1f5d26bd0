"""A training config checked and resolved into the numbers the loop needs, before any work is done.

Every impossible value raises `UserError` naming its key, so a bad run fails in a second with one line
instead of after compiling a model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import jax

from codelaw import checks
from codelaw.data import corpus_format
from codelaw.data.sample import resolve_corpus
from codelaw.data.translation import TranslationSpec
from codelaw.errors import UserError
from codelaw.model import sharding
from codelaw.model.config import ModelConfig
from codelaw.model.sizes import model_config
from codelaw.train import cooldown
from codelaw.train import mesh as mesh_lib

# Sections that say how a run is laid out on machines, not what it computes: a run keeps its identity
# (and can resume) when they change.
LAYOUT_SECTIONS = ("mesh", "distributed")


@dataclasses.dataclass(frozen=True)
class Settings:
  config: dict  # the config as given (after command-line overrides)
  run_id: str
  corpus_dir: Path
  manifest: corpus_format.Manifest
  proportions: dict[str, float]  # normalised, languages with weight 0 included
  model_cfg: ModelConfig
  mesh: jax.sharding.Mesh
  seed: int
  seq_len: int
  global_batch_size: int
  microbatch_per_device: int  # rows per device per gradient-accumulation step; 0 = the whole batch at once
  loss_vocab_chunk: int  # vocabulary entries per cross-entropy chunk; 0 = full logits
  tokens_per_step: int
  total_steps: int
  budgets: tuple[cooldown.Budget, ...]  # cooldown branches (ascending), then the final budget
  eval_languages: tuple[str, ...]
  eval_every: int
  eval_tokens: int
  checkpoint_every: int
  keep_checkpoints: int
  log_every: int
  peak_flops: float
  translation: Any  # TranslationSpec or None
  unique_tokens: dict[str, int] | None = None  # per-language cap on distinct training tokens (data repeats)

  @property
  def decay_start_step(self) -> int | None:
    """The main run's WSD decay start when it has cooldown branches (all budgets decay alike)."""
    return self.budgets[-1].decay_start if len(self.budgets) > 1 else None


def run_id(config: dict) -> str:
  """Stable hash of what a run computes (every section except the machine layout)."""
  content = {k: v for k, v in config.items() if k not in LAYOUT_SECTIONS}
  blob = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
  return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _int(section: dict, name: str, key: str, lo: int) -> int:
  return checks.integer(section.get(key), f"{name}.{key}", lo=lo)


def _number(section: dict, name: str, key: str, *, positive: bool) -> float:
  return (checks.positive if positive else checks.nonneg)(section.get(key), f"{name}.{key}")


def _section(config: dict, name: str) -> dict:
  section = config.get(name)
  if not isinstance(section, dict):
    raise UserError(f"config.{name}: missing (a training config needs model, data, optim, train, mesh)")
  return section


def _corpus(data: dict) -> Path:
  corpus = data.get("corpus")
  if not isinstance(corpus, str) or not corpus:
    raise UserError(f"data.corpus = {corpus!r}: expected 'sample' or a corpus directory")
  try:
    return Path(resolve_corpus(corpus))
  except UserError as e:
    raise UserError(f"data.corpus: {e}") from None


def _proportions(data: dict, manifest: corpus_format.Manifest, corpus_dir: Path) -> dict[str, float]:
  props = checks.proportions(data.get("proportions"), "data.proportions")
  for name, p in props.items():
    stats = manifest.splits.get(name, {}).get("train")
    if p > 0 and (stats is None or stats.documents == 0):
      raise UserError(f"data.proportions.{name} = {p:g} but the corpus at {corpus_dir} has no {name} training data")
  return props


def _translation(data: dict) -> Any:
  spec = data.get("translation")
  if spec is not None and not isinstance(spec, dict):
    raise UserError(f"data.translation = {spec!r}: expected None or dict(strategy, directions, weight, data)")
  return TranslationSpec.from_config(spec)


def _unique_tokens(data: dict) -> dict[str, int] | None:
  caps = data.get("unique_tokens")
  if caps is None:
    return None
  if not isinstance(caps, dict):
    raise UserError(f"data.unique_tokens = {caps!r}: expected None or {{language: tokens}}")
  return {
    checks.language(name, "data.unique_tokens"): checks.positive_int(cap, f"data.unique_tokens.{name}")
    for name, cap in caps.items()
  } or None


def _eval_languages(train: dict, manifest, corpus_dir: Path) -> tuple[str, ...]:
  """train.eval_languages, or every language of the corpus with validation documents when it is empty."""
  with_val = tuple(
    name
    for name in manifest.languages
    if manifest.splits[name].get("val") and manifest.splits[name]["val"].documents > 0
  )
  asked = train.get("eval_languages") or ()
  if isinstance(asked, str):
    raise UserError(f"train.eval_languages = {asked!r}: expected a tuple of languages, e.g. ('python',)")
  for name in asked:
    if checks.language(name, "train.eval_languages") not in with_val:
      raise UserError(f"train.eval_languages: the corpus at {corpus_dir} has no {name} validation documents")
  if not (asked or with_val):
    raise UserError(f"data.corpus: the corpus at {corpus_dir} has no validation documents to evaluate on")
  return tuple(asked) or with_val


def resolve(config: Any) -> Settings:
  """Validates a training config (ConfigDict or dict) and resolves it; mesh over all global devices."""
  config = config.to_dict() if hasattr(config, "to_dict") else dict(config)
  model, data, optim, train = (_section(config, k) for k in ("model", "data", "optim", "train"))
  mesh_cfg = config.get("mesh", {}) or {}
  seed = _int(config, "config", "seed", 0)

  corpus_dir = _corpus(data)
  manifest = corpus_format.read_manifest(corpus_dir)
  proportions = _proportions(data, manifest, corpus_dir)
  translation = _translation(data)

  seq_len = _int(model, "model", "seq_len", 2)
  model_keys = {
    k: model[k] for k in ("dtype", "attention", "remat", "tie_embeddings", "n_kv_heads", "rope_theta") if k in model
  }
  model_cfg = model_config(model.get("size"), manifest.vocab_size, **model_keys)

  batch = _int(train, "train", "global_batch_size", 1)
  tokens = _number(train, "train", "tokens", positive=True)
  mesh = mesh_lib.make_mesh(mesh_cfg)
  parallel = sharding.data_parallel_size(mesh)
  if batch % parallel:
    raise UserError(f"train.global_batch_size = {batch} is not divisible by the mesh's data x fsdp size {parallel}")
  if batch % jax.process_count():
    raise UserError(f"train.global_batch_size = {batch} is not divisible by the {jax.process_count()} processes")
  microbatch = checks.integer(train.get("microbatch_per_device", 0), "train.microbatch_per_device", lo=0)
  if microbatch and (batch // parallel) % microbatch:
    raise UserError(
      f"train.microbatch_per_device = {microbatch} does not divide the {batch // parallel} rows per "
      f"device (train.global_batch_size = {batch} over {parallel} data-parallel devices)"
    )
  vocab_chunk = checks.integer(train.get("loss_vocab_chunk", 0), "train.loss_vocab_chunk", lo=0)

  tokens_per_step = batch * seq_len
  budgets_cfg = tuple(train.get("cooldown_budgets") or ())
  if budgets_cfg and optim.get("schedule", "wsd") != "wsd":
    raise UserError(f"train.cooldown_budgets needs optim.schedule = 'wsd' (got {optim.get('schedule')!r})")
  budgets = cooldown.plan(
    budgets_cfg,
    int(tokens),
    tokens_per_step,
    _number(train, "train", "cooldown_fraction", positive=True),
    warmup_steps=int(optim.get("warmup_steps", 0) or 0),
  )

  eval_languages = _eval_languages(train, manifest, corpus_dir)
  return Settings(
    config=config,
    run_id=run_id(config),
    corpus_dir=corpus_dir,
    manifest=manifest,
    proportions=proportions,
    model_cfg=model_cfg,
    mesh=mesh,
    seed=seed,
    seq_len=seq_len,
    global_batch_size=batch,
    microbatch_per_device=microbatch,
    loss_vocab_chunk=vocab_chunk,
    tokens_per_step=tokens_per_step,
    total_steps=budgets[-1].steps,
    budgets=tuple(budgets),
    eval_languages=eval_languages,
    eval_every=_int(train, "train", "eval_every", 0),
    eval_tokens=_int(train, "train", "eval_tokens", 1),
    checkpoint_every=_int(train, "train", "checkpoint_every", 1),
    keep_checkpoints=_int(train, "train", "keep_checkpoints", 1),
    log_every=_int(train, "train", "log_every", 1),
    peak_flops=_number(train, "train", "peak_flops", positive=False),
    translation=translation,
    unique_tokens=_unique_tokens(data),
  )
