"""The `evaluate` job: one training checkpoint -> evaluation.json.

    python -m codelaw.launch --config configs/evaluate.py --config.run=TRAIN_WORKDIR --workdir OUT

Restores the newest readable checkpoint of the run (its model config comes from the run's own config:
result.json, or `config.train_config` for a run still in progress), then measures
- per-language validation loss and bits per byte with the trainer's eval code and settings (so the final
  checkpoint reproduces result.json's "eval");
- translation loss of y given x for every direction with held-out pairs, in the prompt format of the
  run's translation strategy ("concat" when it had none), with by-source / by-target / seen / unseen means;
- optionally pass@k on HumanEval-style problems: sampled completions cut at each language's stop
  sequences, executed in the sandbox (OUT/passk/<lang>.jsonl keeps every completion and its outcome).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from codelaw import checks
from codelaw.contracts.evaluation import Checkpoint, DirectionLoss, Evaluation, ModelInfo, TranslationEval
from codelaw.contracts.result import LanguageEval, Result
from codelaw.data import corpus_format
from codelaw.data.tokenizer import load_tokenizer
from codelaw.data.translation import all_directions, seen_directions
from codelaw.errors import UserError
from codelaw.evals import generate as gen
from codelaw.evals import harness, translation_loss
from codelaw.evals.harness.execute import ToolchainMissing, check_toolchain
from codelaw.io import atomic_write_json, atomic_write_text, read_json
from codelaw.model import counting
from codelaw.train import checkpoints, distributed, optim, settings
from codelaw.train import step as step_lib
from codelaw.train.evaluation import direction_losses, evaluate_languages

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ the run
def _load_config_file(spec: str) -> dict:
  """A training config from `file.py[:arg]` (its get_config) or a JSON file (a config, or a result.json)."""
  path_str, _, arg = (spec, "", "") if spec.endswith(".json") else spec.partition(":")
  path = Path(path_str)
  if not path.is_file():
    raise UserError(f"config.train_config: {path} does not exist")
  if path.suffix == ".json":
    data = read_json(path, "config.train_config")
    return dict(data.get("config", data))
  module_spec = importlib.util.spec_from_file_location(f"_codelaw_train_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(module_spec)
  try:
    module_spec.loader.exec_module(module)
    config = module.get_config(arg or None)
  except Exception as e:  # a broken user file: name it in one line
    raise UserError(f"config.train_config = {spec!r}: could not load it ({type(e).__name__}: {e})") from None
  return config.to_dict() if hasattr(config, "to_dict") else dict(config)


def run_config(run_dir: Path, train_config: str = "") -> dict:
  """The training config of the run in `run_dir` (checked against its run.json when given separately)."""
  if not run_dir.is_dir():
    raise UserError(f"config.run: {run_dir} is not a directory (expected a training run's workdir)")
  result = run_dir / "result.json"
  if train_config:
    config = _load_config_file(train_config)
  elif result.exists():
    try:
      config = dict(Result.from_json(read_json(result, "config.run"), str(result)).config)
    except ValueError as e:
      raise UserError(f"{e}; pass config.train_config") from None
  else:
    raise UserError(
      f"config.run: {run_dir} has no result.json (run not complete); pass config.train_config "
      "= the training config file (e.g. configs/train/tiny.py:size=cpu-200k)"
    )
  marker = run_dir / "run.json"
  if marker.exists():
    expected = read_json(marker, "config.run").get("run_id")
    if expected and settings.run_id(config) != expected:
      raise UserError(
        f"config.train_config: it is run {settings.run_id(config)}, but {run_dir} holds run "
        f"{expected}; give the config (with the same overrides) that trained it"
      )
  return config


def _abstract_state(s: Any) -> tuple[Any, Any]:
  """(restore template, shardings) of the run's train state, built exactly as the trainer builds it.

  The initial state is materialised once (the trainer's own init, so the template cannot drift from what
  was saved) and dropped right away; peak memory is that of training.
  """
  tx = optim.make_optimizer(s.config["optim"])
  state, shardings = step_lib.init_train_state(s.model_cfg, tx, s.mesh, s.seed)
  template = checkpoints.abstract_like(state)
  del state
  return template, shardings


def restore(s: Any, checkpoint_dir: Path) -> tuple[Any, Any, int]:
  """(params, state shardings, step) of the newest readable checkpoint in `checkpoint_dir`."""
  if not checkpoint_dir.is_dir():
    raise UserError(f"config.run: no checkpoints at {checkpoint_dir}")
  ckpt = checkpoints.Checkpointer(checkpoint_dir, keep=max(1, s.keep_checkpoints), async_save=False)
  try:
    if not ckpt.steps():  # before building the state: a bad path fails in a second
      raise UserError(f"config.run: no checkpoint in {checkpoint_dir}")
    template, shardings = _abstract_state(s)
    restored = ckpt.restore_latest(template, None)
  finally:
    ckpt.close()
  if restored is None:
    raise UserError(f"config.run: no checkpoint in {checkpoint_dir}")
  return restored.state.params, shardings, restored.step


# ----------------------------------------------------------------------------------------- checks
def _language_list(value: str, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
  return checks.language_list(value, f"config.{key}") or default


def _positive_int(section: Any, key: str, name: str, lo: int = 1) -> int:
  return checks.integer(section[key], f"config.{name}.{key}" if name else f"config.{key}", lo=lo)


def passk_settings(cfg: Any) -> dict | None:
  """Checked pass@k options; None when no language is asked for."""
  langs = _language_list(cfg.languages, "passk.languages", ())
  if not langs:
    return None
  n = _positive_int(cfg, "n", "passk")
  raw_k = cfg.k
  items = raw_k.split(",") if isinstance(raw_k, str) else (list(raw_k) if isinstance(raw_k, (list, tuple)) else [raw_k])
  try:
    ks = sorted({int(str(x).strip()) for x in items if str(x).strip()})
  except ValueError:
    raise UserError(f"config.passk.k = {raw_k!r}: expected comma-separated integers") from None
  if not ks or ks[0] < 1 or ks[-1] > n:
    raise UserError(f"config.passk.k = {raw_k!r}: each k must be in [1, passk.n = {n}]")
  try:
    temperature, top_p, timeout_s = float(cfg.temperature), float(cfg.top_p), float(cfg.timeout_s)
  except (TypeError, ValueError):
    raise UserError(
      f"config.passk: temperature = {cfg.temperature!r}, top_p = {cfg.top_p!r}, timeout_s = "
      f"{cfg.timeout_s!r}; expected numbers"
    ) from None
  if not temperature >= 0 or not 0 < top_p <= 1:
    raise UserError(
      f"config.passk: temperature = {cfg.temperature}, top_p = {cfg.top_p}; expected "
      "temperature >= 0 and 0 < top_p <= 1"
    )
  if n > 1 and temperature == 0:
    raise UserError(
      f"config.passk.n = {n} with temperature 0 gives {n} identical greedy samples; set "
      "config.passk.temperature > 0 (or n = 1)"
    )
  if not timeout_s > 0:
    raise UserError(f"config.passk.timeout_s = {cfg.timeout_s!r}: expected > 0")
  for lang in langs:  # before any generation: a missing compiler should fail in a second
    try:
      check_toolchain(lang)
    except ToolchainMissing as e:
      raise UserError(f"config.passk.languages: {e}") from None
  return dict(
    languages=langs,
    n=n,
    ks=ks,
    temperature=temperature,
    top_p=top_p,
    max_new_tokens=_positive_int(cfg, "max_new_tokens", "passk"),
    limit=_positive_int(cfg, "limit", "passk", lo=0),
    batch_size=_positive_int(cfg, "batch_size", "passk"),
    seed=_positive_int(cfg, "seed", "passk", lo=0),
    timeout_s=timeout_s,
    parallelism=_positive_int(cfg, "parallelism", "passk"),
  )


# ---------------------------------------------------------------------------------------- pass@k
def pass_at_k(model_cfg: Any, params: Any, corpus_dir: Path, opts: dict, out_dir: Path) -> dict:
  """{lang: {"pass@k"..., "problems", "samples", "passed", "generated_tokens"}}; completions to out_dir."""
  tokenizer = load_tokenizer(corpus_dir / corpus_format.TOKENIZER)
  eos_id = corpus_format.read_manifest(corpus_dir).eos_id
  model = gen.load_decoder(model_cfg, params)
  results = {}
  for lang in opts["languages"]:
    problems = harness.load(lang)
    task_ids = list(problems)[: opts["limit"]] if opts["limit"] else list(problems)
    prompts = [(tid, problems[tid].prompt) for tid in task_ids for _ in range(opts["n"])]
    texts: list[str] = []
    for start in range(0, len(prompts), opts["batch_size"]):
      chunk = [p for _, p in prompts[start : start + opts["batch_size"]]]
      # A different seed per chunk: samples of one problem in different chunks must not repeat.
      texts += gen.generate(
        model,
        tokenizer,
        chunk,
        max_new_tokens=opts["max_new_tokens"],
        stop=harness.STOP_SEQUENCES[lang],
        temperature=opts["temperature"],
        top_p=opts["top_p"],
        seed=opts["seed"] + start,
        eos_id=eos_id,
      )
    completions: dict[str, list[str]] = {tid: [] for tid in task_ids}
    for (tid, _), text in zip(prompts, texts):
      completions[tid].append(harness.truncate(lang, text))
    try:
      passed, scores = harness.evaluate_completions(
        lang, problems, completions, opts["ks"], parallelism=opts["parallelism"], timeout_s=opts["timeout_s"]
      )
    except ToolchainMissing as e:
      raise UserError(f"config.passk.languages: {e}") from None
    lines = [
      json.dumps({"task_id": tid, "index": i, "completion": c, "passed": passed[tid][i]})
      for tid in task_ids
      for i, c in enumerate(completions[tid])
    ]
    atomic_write_text(out_dir / f"{lang}.jsonl", "\n".join(lines) + "\n")
    results[lang] = {
      **scores,
      "problems": len(task_ids),
      "samples": sum(len(c) for c in completions.values()),
      "passed": int(sum(sum(v) for v in passed.values())),
      "completion_chars": int(sum(len(c) for cs in completions.values() for c in cs)),
    }
  return results


# ------------------------------------------------------------------------------------------- main
def evaluate(config: Any, workdir: str | Path) -> dict:
  started = time.perf_counter()
  if not config.run:
    raise UserError("config.run is empty: pass --config.run=TRAIN_WORKDIR")
  run_dir = Path(config.run)
  branch = _positive_int(config, "branch", "", lo=0)
  train_config = run_config(run_dir, config.train_config)
  # The machine layout is this job's (it need not match training's); the run id ignores it.
  train_config = {**train_config, "mesh": dict(config.mesh), "distributed": dict(config.distributed)}
  s = settings.resolve(train_config)
  eval_languages = _language_list(config.languages, "languages", s.eval_languages)
  missing = [name for name in eval_languages if name not in s.eval_languages]
  if missing:
    raise UserError(f"config.languages: {', '.join(missing)} has no validation split in the corpus at {s.corpus_dir}")
  eval_tokens = _positive_int(config, "eval_tokens", "", lo=0) or s.eval_tokens
  passk_opts = passk_settings(config.passk)
  if passk_opts is not None and jax.process_count() > 1:
    raise UserError(
      "config.passk.languages: pass@k generation runs in a single process; evaluate with one process for pass@k"
    )

  ckpt_dir = run_dir / "branches" / str(branch) / "checkpoints" if branch else run_dir / "checkpoints"
  params, shardings, step = restore(s, ckpt_dir)
  primary = jax.process_index() == 0
  if primary:
    print(f"evaluating {ckpt_dir} step {step} (run {s.run_id})", file=sys.stderr)
  eval_step = step_lib.make_eval_step(s.model_cfg, s.mesh, shardings)
  evals = evaluate_languages(
    eval_step,
    params,
    s.corpus_dir,
    eval_languages,
    seq_len=s.seq_len,
    batch_size=s.global_batch_size,
    max_tokens=eval_tokens,
    mesh=s.mesh,
  )
  translation = None
  if config.translation.enabled:
    spec = s.translation
    strategy = spec.strategy if spec is not None else "concat"
    data = str(spec.data) if spec is not None else "sample"
    seen = list(spec.directions) if spec is not None else seen_directions()
    max_pairs = _positive_int(config.translation, "max_pairs", "translation", lo=0) or None
    losses = direction_losses(
      eval_step,
      params,
      all_directions(),
      seq_len=s.seq_len,
      batch_size=s.global_batch_size,
      strategy=strategy,
      corpus_dir=s.corpus_dir,
      data=data,
      mesh=s.mesh,
      max_pairs=max_pairs,
    )
    translation = TranslationEval(
      strategy=strategy,
      format="paired" if strategy == "paired" else "concat",
      data=data,
      max_pairs=max_pairs,
      directions={d: DirectionLoss(**v) for d, v in losses.items()},
      without_data=tuple(d for d in all_directions() if d not in losses),
      **translation_loss.aggregate(losses, seen),
    )

  passk = settings_json = None
  if passk_opts is not None:
    passk = pass_at_k(s.model_cfg, params, s.corpus_dir, passk_opts, Path(workdir) / "passk")
    settings_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in passk_opts.items()}
  evaluation = Evaluation(
    run=str(run_dir.resolve()),
    run_id=s.run_id,
    branch=branch,
    checkpoint=Checkpoint(dir=str(ckpt_dir.resolve()), step=step, tokens=step * s.tokens_per_step),
    model=ModelInfo(
      size=s.config["model"].get("size"),
      n_params=counting.n_params(s.model_cfg),
      n_params_total=counting.n_params_total(s.model_cfg),
      seq_len=s.seq_len,
    ),
    eval={lang: LanguageEval(**v) for lang, v in evals.items()},
    eval_tokens=eval_tokens,
    wall_time_s=time.perf_counter() - started,
    translation=translation,
    passk=passk,
    passk_settings=settings_json,
  )
  result = evaluation.to_json()
  if primary:
    atomic_write_json(Path(workdir) / "evaluation.json", result)
  return result


def main(config: Any, workdir: str) -> dict:
  """Evaluates the checkpoint `config.run` names; writes `workdir/evaluation.json`."""
  from absl import logging as absl_logging

  absl_logging.set_verbosity(absl_logging.WARNING)
  distributed.maybe_initialize(config.distributed)
  result = evaluate(config, workdir)
  if jax.process_index() == 0:
    losses = [v["loss"] for v in result["eval"].values()]
    line = f"step {result['checkpoint']['step']}: mean loss {np.mean(losses):.4f} over {len(losses)} languages"
    if "translation" in result and result["translation"]["all"]["loss"] is not None:
      t = result["translation"]
      line += f"; translation {t['all']['loss']:.4f} over {len(t['directions'])} directions"
    for lang, v in result.get("passk", {}).items():
      line += f"; {lang} " + " ".join(f"{k}={v[k]:.3f}" for k in v if k.startswith("pass@"))
    print(f"{line} -> {Path(workdir) / 'evaluation.json'}")
  return result
