"""The training loop: config validation, an end-to-end run with a cooldown branch, TensorBoard, divergence,
and (in subprocesses) SIGKILL + resume reproducing the uninterrupted losses, and corrupt-checkpoint fallback."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from helpers import launcher_command, write_corpus

from codelaw import languages
from codelaw.errors import UserError
from codelaw.study import cost, run_progress
from codelaw.train import settings, trainer
from codelaw.train.metrics import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "configs" / "train" / "tiny.py")
VOCAB = 96


def make_corpus(path: Path, langs=languages.NAMES, train_docs: int = 30, val_docs: int = 4) -> Path:
  """A small corpus in the real on-disk format: each language a different noisy arithmetic sequence."""

  def token_ids(rng: np.random.Generator, li: int, length: int) -> np.ndarray:
    ids = (int(rng.integers(2, VOCAB)) + (li + 1) * np.arange(length)) % (VOCAB - 2) + 2
    noise = rng.random(length) < 0.2
    ids[noise] = rng.integers(2, VOCAB, noise.sum())
    return ids

  return write_corpus(path, langs, VOCAB, {"train": train_docs, "val": val_docs}, token_ids)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
  return make_corpus(tmp_path_factory.mktemp("corpus"))


def tiny_config(corpus: Path, **train):
  sys.path.insert(0, str(ROOT / "configs" / "train"))
  try:
    import tiny
  finally:
    sys.path.pop(0)
  config = tiny.get_config("size=cpu-50k,tokens=4096,seq_len=32,batch=8")
  config.data.corpus = str(corpus)
  config.optim.warmup_steps = 2
  config.train.update(dict(eval_every=8, eval_tokens=512, checkpoint_every=4, log_every=2) | train)
  return config


# ------------------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize(
  "override, match",
  [
    (lambda c: c.train.update(global_batch_size=12), r"train.global_batch_size = 12 is not divisible .* 8"),
    (lambda c: c.mesh.update(data=16), r"mesh .* needs 16 devices but 8"),
    (lambda c: c.data.update(corpus="/nonexistent/corpus"), r"data.corpus"),
    (lambda c: c.data.update(proportions={"cobol": 1.0}), r"data.proportions.cobol: unknown language"),
    (lambda c: c.data.update(proportions={"python": -1.0}), r"data.proportions.python"),
    (lambda c: c.train.update(tokens=0), r"train.tokens = 0"),
    (lambda c: c.train.update(tokens=-5), r"train.tokens = -5"),
    (lambda c: c.train.update(checkpoint_every=0), r"train.checkpoint_every"),
    (lambda c: c.train.update(eval_tokens=-1), r"train.eval_tokens"),
    (lambda c: c.train.update(cooldown_budgets=(10**9,)), r"train.cooldown_budgets: .* exceeds train.tokens"),
    (lambda c: c.model.update(size="cpu-huge"), r"model.size = 'cpu-huge'"),
    (lambda c: c.model.update(seq_len=0), r"model.seq_len"),
    (lambda c: c.optim.update(schedule="cosine") or c.train.update(cooldown_budgets=(1024,)), r"optim.schedule"),
  ],
)
def test_bad_values_raise_user_error_naming_the_key(corpus, override, match):
  config = tiny_config(corpus)
  with config.unlocked():
    override(config)
  with pytest.raises(UserError, match=match):
    settings.resolve(config)


def test_language_missing_from_corpus_is_named(tmp_path):
  small = make_corpus(tmp_path / "c", langs=("python", "go"), train_docs=4, val_docs=2)
  config = tiny_config(small)
  config.data.proportions = {"python": 1.0, "rust": 1.0}
  with pytest.raises(UserError, match=r"data.proportions.rust = 0.5 but the corpus .* no rust training data"):
    settings.resolve(config)


def test_run_id_ignores_layout_but_not_content(corpus):
  a = tiny_config(corpus).to_dict()
  b = json.loads(json.dumps(a))
  b["mesh"]["data"] = 8
  c = json.loads(json.dumps(a))
  c["optim"]["peak_lr"] = 1e-3
  assert settings.run_id(a) == settings.run_id(b) != settings.run_id(c)


# ---------------------------------------------------------------------------------------------- end to end
def _tb_tags(logdir: Path) -> set[str]:
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

  tags = set()
  for events in logdir.glob("events.out.tfevents.*"):
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags |= set(acc.Tags()["scalars"])
  return tags


def test_run_with_cooldown_branch_writes_result_logs_and_tensorboard(corpus, tmp_path, caplog):
  config = tiny_config(corpus, tokens=4096, cooldown_budgets=(2048,))
  config.data.proportions = {"python": 0.5, "go": 0.3, "rust": 0.2}
  trainer._steps.cache_clear()  # steps an earlier test built for the same model would be reused
  with jax.log_compiles(), caplog.at_level(logging.WARNING):
    result = trainer.main(config, str(tmp_path))  # 16 steps of 256 tokens; branch 8 steps, decay from 6
  # The branch's schedule is an argument of the main run's step: the train step is traced once, not per branch.
  assert sum("Finished tracing train_step" in r.getMessage() for r in caplog.records) == 1

  on_disk = json.loads((tmp_path / "result.json").read_text())
  assert on_disk == json.loads(json.dumps(result))
  assert result["status"] == "complete" and result["tokens"] == 4096
  assert result["run_id"] == settings.run_id(config.to_dict())
  assert result["n_params"] > 0 and result["n_params_total"] > result["n_params"]
  assert result["flops"] > 6 * result["n_params"] * 4096
  assert set(result["eval"]) == set(languages.NAMES)  # every language with a validation split
  for values in result["eval"].values():
    assert values["loss"] > 0 and values["tokens"] > 0
    assert values["bits_per_byte"] == pytest.approx(values["loss"] / (3 * np.log(2)), rel=0.02)
  # Realized proportions are counted from the batches, languages with weight 0 never appear.
  realized = result["realized_proportions"]
  assert realized["python"] == pytest.approx(0.5, abs=0.08) and realized["go"] == pytest.approx(0.3, abs=0.08)
  assert sum(realized.values()) == pytest.approx(1.0)
  assert set(result["epochs"]) >= {"python", "go", "rust"} and result["epochs"]["python"] > 0

  # budgets: the branch at 2048 tokens and the final run, each evaluated on every language.
  assert [b["tokens"] for b in result["budgets"]] == [2048, 4096]
  assert all(set(b["eval"]) == set(languages.NAMES) for b in result["budgets"])
  assert result["budgets"][-1]["eval"] == result["eval"]
  branch_log = read_jsonl(tmp_path / "branches" / "2048" / "train_log.jsonl")
  main_log = read_jsonl(tmp_path / "train_log.jsonl")
  assert [r["step"] for r in branch_log] == [7, 8] and [r["step"] for r in main_log] == list(range(1, 17))
  # What the study's progress line reads while the run trains: every step of the run, branches included.
  assert run_progress.logged_steps(tmp_path) == cost.trained_steps(config.to_dict()) == 16 + 2
  # The branch starts from the main run's state at step 6: its first loss is the main run's step-7 loss
  # (same batch, same parameters), while its learning rate already decays.
  assert branch_log[0]["loss"] == main_log[6]["loss"]
  peak = config.optim.peak_lr
  assert branch_log[0]["lr"] == main_log[6]["lr"] == pytest.approx(peak)
  assert branch_log[1]["lr"] == pytest.approx(0.5 * peak) and main_log[7]["lr"] == pytest.approx(peak)
  # The main run decays over its own last 20% (from step 13 of 16; an update uses the rate of its step index).
  assert [r["lr"] for r in main_log[12:]] == pytest.approx([peak, peak, 2 / 3 * peak, 1 / 3 * peak])
  assert main_log[-1]["loss"] < main_log[0]["loss"]

  tags = _tb_tags(tmp_path / "tensorboard")
  assert {
    "train/loss",
    "train/lr",
    "train/grad_norm",
    "train/tokens_per_s",
    "train/mfu",
    "eval/loss/python",
    "eval/bits_per_byte/rust",
  } <= tags
  assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())[-1] == 16

  # A rerun of a complete run returns at once with the stored result and trains nothing.
  start = time.perf_counter()
  again = trainer.main(config, str(tmp_path))
  assert again == on_disk and time.perf_counter() - start < 5
  assert read_jsonl(tmp_path / "train_log.jsonl") == main_log

  # A different config in the same workdir is refused rather than mixed in.
  config.optim.peak_lr = 1e-3
  with pytest.raises(UserError, match="holds run"):
    trainer.main(config, str(tmp_path))


def test_nan_loss_stops_with_one_line_and_keeps_last_good_checkpoint(corpus, tmp_path):
  config = tiny_config(corpus, checkpoint_every=1, eval_every=0)
  config.optim.update(peak_lr=1e30, warmup_steps=0, grad_clip=0.0)
  with pytest.raises(trainer.DivergedError) as info:
    trainer.main(config, str(tmp_path))
  message = str(info.value)
  assert "\n" not in message and "optim.peak_lr" in message
  assert not (tmp_path / "result.json").exists()
  steps = sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())
  assert steps, "at least the first good step was checkpointed"
  diverged_at = int(message.split(" at step ")[1].split(";")[0])
  assert steps[-1] == diverged_at - 1 and f"(step {steps[-1]})" in message


def test_runs_in_one_process_reuse_the_steps_of_their_model_and_train_as_alone(corpus, tmp_path, caplog):
  """What a local study worker does: run after run in one process. A second run of the same model and
  optimizer traces nothing and trains exactly as it does first in a process; another optimizer gets its own."""
  trainer._steps.cache_clear()
  first, second = tiny_config(corpus, tokens=2048, eval_every=0), tiny_config(corpus, tokens=2048, eval_every=0)
  second.seed = 1
  alone = trainer.main(second, str(tmp_path / "alone"))  # seed 1 first in this process
  trainer._steps.cache_clear()
  trainer.main(first, str(tmp_path / "first"))
  with jax.log_compiles(), caplog.at_level(logging.WARNING):
    after = trainer.main(second, str(tmp_path / "after"))
  assert not [r for r in caplog.records if "Finished tracing" in r.getMessage()]
  assert _losses(tmp_path / "after" / "train_log.jsonl") == _losses(tmp_path / "alone" / "train_log.jsonl")
  assert after["eval"] == alone["eval"]
  other = tiny_config(corpus, tokens=2048, eval_every=0)
  other.optim.weight_decay = 0.0
  misses = trainer._steps.cache_info().misses
  trainer.main(other, str(tmp_path / "other"))
  assert trainer._steps.cache_info().misses == misses + 1


# ------------------------------------------------------------------------------------------ subprocesses
def _env() -> dict:
  env = dict(os.environ)
  env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1")
  return env


def _cli(corpus: Path, workdir: Path) -> list[str]:
  return launcher_command(
    f"{TINY}:size=cpu-50k,tokens=12288,seq_len=32,batch=8",
    workdir,
    f"--config.data.corpus={corpus}",
    "--config.optim.warmup_steps=2",
    "--config.train.checkpoint_every=5",
    "--config.train.eval_every=0",
    "--config.train.log_every=5",
    "--config.train.eval_tokens=256",
    "--config.train.cooldown_budgets=(6144,)",
  )


def _losses(path: Path) -> list[tuple]:
  # Timing fields (tokens/s, MFU) differ between runs; everything computed must not.
  return [(r["step"], r["loss"], r["grad_norm"], r["lr"]) for r in read_jsonl(path)]


@pytest.mark.slow
def test_sigkill_and_corrupt_checkpoint_resume_reproduces_the_uninterrupted_losses(corpus, tmp_path):
  env = _env()
  full, killed = tmp_path / "full", tmp_path / "killed"
  run = subprocess.run(_cli(corpus, full), env=env, capture_output=True, text=True, timeout=300)
  assert run.returncode == 0, run.stderr[-3000:]
  expected = _losses(full / "train_log.jsonl")
  assert [r[0] for r in expected] == list(range(1, 49))  # 12288 / 256 steps

  # Kill a second run as soon as its checkpoint at step 10 is complete (Orbax renames it into place).
  proc = subprocess.Popen(_cli(corpus, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  log = killed / "train_log.jsonl"
  deadline = time.time() + 240
  while time.time() < deadline and proc.poll() is None and not (killed / "checkpoints" / "10").is_dir():
    time.sleep(0.005)
  proc.send_signal(signal.SIGKILL)
  assert proc.wait() == -signal.SIGKILL, "the run finished before it could be killed"
  assert not (killed / "result.json").exists()

  # Truncate every state file of its newest checkpoint: the rerun must warn, fall back to the one before,
  # and still reproduce the uninterrupted run exactly (same batches, same order, same parameters).
  steps = sorted(int(p.name) for p in (killed / "checkpoints").iterdir() if p.name.isdigit())
  assert steps[:2] == [5, 10], steps
  for f in (killed / "checkpoints" / str(steps[-1]) / "state").rglob("*"):
    if f.is_file():
      f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
  rerun = subprocess.run(_cli(corpus, killed), env=env, capture_output=True, text=True, timeout=300)
  assert rerun.returncode == 0, rerun.stderr[-3000:]
  assert f"checkpoint step {steps[-1]}" in rerun.stderr and f"falling back to step {steps[-2]}" in rerun.stderr
  assert f"resuming {killed} from step {steps[-2]}" in rerun.stderr
  assert _losses(log) == expected
  got = json.loads((killed / "result.json").read_text())
  want = json.loads((full / "result.json").read_text())
  assert got["eval"] == want["eval"] and got["budgets"] == want["budgets"]
  assert got["realized_proportions"] == want["realized_proportions"]
