"""The relative cost of a study's runs, from their configs alone: the training FLOPs each run will spend.

A run trains its main budget plus, for each cooldown branch, the branch's decay steps (codelaw.train.cooldown),
at `flops_per_token` of its model. The progress display weighs runs by it and the executor starts the most
expensive first, so only ratios between runs matter: the vocabulary comes from the corpus manifest when one is
on disk already (reading it is cheap), else `REFERENCE_VOCAB` stands in for every run on that corpus. The
bundled sample corpus is built on first use, so its manifest is not read here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from codelaw.data import corpus_format
from codelaw.data.sample import FULL_NAME, SAMPLE_NAME, full_corpus_dir
from codelaw.errors import UserError
from codelaw.model import counting
from codelaw.model.sizes import model_config
from codelaw.study.spec import Run
from codelaw.train import cooldown

# The CPU tokenizer's vocabulary (configs/tokenizer.py), which the bundled sample corpus uses.
REFERENCE_VOCAB = 4096


def corpus_vocab(corpus: str) -> int:
  """The vocabulary size in the manifest of `corpus` (a name or a directory) when it is on disk, else
  REFERENCE_VOCAB."""
  if corpus == SAMPLE_NAME:
    return REFERENCE_VOCAB
  path = full_corpus_dir() if corpus == FULL_NAME else Path(corpus).expanduser()
  try:
    return int(corpus_format.read_manifest(path).vocab_size)
  except (OSError, UserError, KeyError, TypeError, ValueError):  # no manifest yet, or not a directory
    return REFERENCE_VOCAB


def _tokens_per_step(config: Mapping[str, Any]) -> int:
  return int(config["model"]["seq_len"]) * int(config["train"]["global_batch_size"])


def trained_steps(config: Mapping[str, Any]) -> int:
  """Optimizer steps the run takes: the main run's whole steps plus every cooldown branch's decay steps."""
  train = config["train"]
  budgets = cooldown.plan(
    tuple(train.get("cooldown_budgets") or ()),
    int(train["tokens"]),
    _tokens_per_step(config),
    float(train["cooldown_fraction"]),
    warmup_steps=int(config.get("optim", {}).get("warmup_steps", 0) or 0),
  )
  return int(cooldown.cost(budgets)["branched_steps"])


def trained_tokens(config: Mapping[str, Any]) -> int:
  """Tokens the run trains: the main run's whole steps plus every cooldown branch's decay steps."""
  return trained_steps(config) * _tokens_per_step(config)


def run_flops(config: Mapping[str, Any], vocab_size: int) -> float:
  """Training FLOPs of one run's config (the trainer's counting convention) at `vocab_size`."""
  model = config["model"]
  overrides = {"n_kv_heads": model["n_kv_heads"]} if model.get("n_kv_heads") else {}
  model_cfg = model_config(model["size"], vocab_size, **overrides)
  return trained_tokens(config) * counting.flops_per_token(model_cfg, int(model["seq_len"]))


def run_costs(runs: Sequence[Run]) -> dict[str, float]:
  """Each run's training FLOPs by run id; every run weighs 1.0 when one of them cannot be estimated (a size
  the family does not know, a config without the keys), since costs of different kinds do not compare."""
  vocabs: dict[str, int] = {}
  costs = {}
  try:
    for run in runs:
      corpus = str(run.config["data"]["corpus"])
      if corpus not in vocabs:
        vocabs[corpus] = corpus_vocab(corpus)
      costs[run.run_id] = run_flops(run.config, vocabs[corpus])
  except (KeyError, TypeError, ValueError, UserError):
    return {run.run_id: 1.0 for run in runs}
  return costs


def run_steps(runs: Sequence[Run]) -> dict[str, int]:
  """Each run's optimizer steps by run id (`trained_steps`); empty when a config lacks the keys."""
  try:
    return {run.run_id: trained_steps(run.config) for run in runs}
  except (KeyError, TypeError, ValueError, UserError):
    return {}


def longest_first(runs: Sequence[Run], costs: Mapping[str, float]) -> list[Run]:
  """`runs` by descending cost; runs of equal cost keep their order, so the order is deterministic."""
  return sorted(runs, key=lambda run: -costs.get(run.run_id, 1.0))
