"""The `evaluate` job on a real (tiny) training run: per-language loss equal to the trainer's final eval,
translation losses over every direction with data and their aggregates, pass@k end to end through
generation and the sandbox, runs without result.json, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import load_config, run_launcher

from codelaw import languages, launch
from codelaw.data import translation
from codelaw.errors import UserError


def train_config():
  config = load_config("train/tiny.py", "size=cpu-50k,tokens=10240,seq_len=128,batch=8")  # 10 steps
  config.optim.warmup_steps = 2
  config.train.update(dict(eval_every=0, eval_tokens=1024, checkpoint_every=5, log_every=5))
  # Trained with paired translation data, so the job must score in the paired format.
  config.data.translation = dict(
    strategy="paired", directions=translation.seen_directions(), weight=0.25, data="sample"
  )
  return config


def eval_config(run: Path, **overrides):
  config = load_config("evaluate.py")
  config.run = str(run)
  for key, value in overrides.items():
    section, _, leaf = key.rpartition(".")
    (config[section] if section else config)[leaf] = value
  return config


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
  workdir = tmp_path_factory.mktemp("run")
  launch.run(train_config(), str(workdir))
  return workdir


@pytest.fixture(scope="module")
def evaluation(run_dir, tmp_path_factory) -> tuple[dict, Path]:
  out = tmp_path_factory.mktemp("eval")
  launch.run(
    eval_config(run_dir, **{"passk.languages": "python", "passk.limit": 2, "passk.max_new_tokens": 24}), str(out)
  )
  return json.loads((out / "evaluation.json").read_text()), out


def test_per_language_eval_equals_trainer_final_eval(run_dir, evaluation):
  result, _ = evaluation
  trained = json.loads((run_dir / "result.json").read_text())
  assert result["checkpoint"]["step"] == 10 and result["run_id"] == trained["run_id"]
  assert set(result["eval"]) == set(languages.NAMES)
  for lang in languages.NAMES:
    got, want = result["eval"][lang], trained["eval"][lang]
    assert got["tokens"] == want["tokens"] > 0
    assert abs(got["loss"] - want["loss"]) <= 1e-5, lang
    assert abs(got["bits_per_byte"] - want["bits_per_byte"]) <= 1e-5, lang
    assert got["bits_per_byte"] != pytest.approx(got["loss"])  # a real conversion, not a copy


def test_translation_losses_and_aggregates(run_dir, evaluation):
  result, _ = evaluation
  t = result["translation"]
  assert t["strategy"] == "paired" and t["format"] == "paired"
  # Exactly the directions whose held-out pairs fit seq_len (128) have a loss.
  expected = [
    d
    for d in translation.all_directions()
    if translation.translation_eval_batches(d, seq_len=128, batch_size=8, strategy="paired")
  ]
  assert 0 < len(expected) < 42
  assert sorted(t["directions"]) == sorted(expected)
  assert sorted(t["without_data"] + expected) == sorted(translation.all_directions())
  losses = {d: v["loss"] for d, v in t["directions"].items()}
  assert all(np.isfinite(v) and v > 0 for v in losses.values())
  assert all(v["tokens"] > 0 for v in t["directions"].values())
  # The trained directions reproduce the trainer's own translation losses (same checkpoint, same format).
  trained = json.loads((run_dir / "result.json").read_text())["translation"]
  for d, loss in trained.items():
    assert abs(losses[d] - loss) <= 1e-5, d
  seen = [d for d in expected if d in set(translation.seen_directions())]
  unseen = [d for d in expected if d not in set(seen)]
  assert seen and unseen
  assert t["seen"]["directions"] == seen and t["unseen"]["directions"] == unseen
  assert t["seen"]["loss"] == pytest.approx(np.mean([losses[d] for d in seen]), abs=1e-9)
  assert t["unseen"]["loss"] == pytest.approx(np.mean([losses[d] for d in unseen]), abs=1e-9)
  assert t["all"]["loss"] == pytest.approx(np.mean(list(losses.values())), abs=1e-9)
  for lang in languages.NAMES:
    src = [v for d, v in losses.items() if d.split("->")[0] == lang]
    tgt = [v for d, v in losses.items() if d.split("->")[1] == lang]
    assert t["by_source"].get(lang) == (pytest.approx(np.mean(src), abs=1e-9) if src else None)
    assert t["by_target"].get(lang) == (pytest.approx(np.mean(tgt), abs=1e-9) if tgt else None)


def test_passk_generates_and_executes(evaluation):
  result, out = evaluation
  p = result["passk"]["python"]
  assert p["problems"] == 2 and p["samples"] == 2
  rows = [json.loads(line) for line in (out / "passk" / "python.jsonl").read_text().splitlines()]
  assert [r["task_id"] for r in rows] == ["HumanEval/0", "HumanEval/1"]
  assert all(isinstance(r["completion"], str) and isinstance(r["passed"], bool) for r in rows)
  # The completions are what the model generated (24 new tokens at most, cut at Python's stop sequences).
  assert p["completion_chars"] == sum(len(r["completion"]) for r in rows) > 0
  assert not any(s in r["completion"] for r in rows for s in ("\ndef", "\nclass", "\nif", "\n#", "\nprint"))
  assert p["passed"] == sum(r["passed"] for r in rows)
  assert p["pass@1"] == pytest.approx(p["passed"] / 2)


def test_run_without_result_json_uses_train_config(run_dir, tmp_path):
  partial = tmp_path / "partial"
  partial.mkdir()
  shutil.copy(run_dir / "run.json", partial / "run.json")
  shutil.copytree(run_dir / "checkpoints", partial / "checkpoints")
  with pytest.raises(UserError, match="no result.json"):
    launch.run(eval_config(partial), str(tmp_path / "o1"))
  config_file = tmp_path / "train.json"
  config_file.write_text(json.dumps(train_config().to_dict()))
  launch.run(
    eval_config(partial, train_config=str(config_file), languages="python,go", **{"translation.enabled": False}),
    str(tmp_path / "o2"),
  )
  evaluated = json.loads((tmp_path / "o2" / "evaluation.json").read_text())
  trained = json.loads((run_dir / "result.json").read_text())
  assert set(evaluated["eval"]) == {"python", "go"} and "translation" not in evaluated
  assert abs(evaluated["eval"]["go"]["loss"] - trained["eval"]["go"]["loss"]) <= 1e-5
  other = train_config()
  other.seed = 1
  config_file.write_text(json.dumps(other.to_dict()))
  with pytest.raises(UserError, match="holds run"):
    launch.run(eval_config(partial, train_config=str(config_file)), str(tmp_path / "o3"))


@pytest.mark.parametrize(
  "overrides, match",
  [
    (dict(run="/nonexistent/run"), r"config.run: /nonexistent/run is not a directory"),
    (dict(branch=4096), r"config.run: no checkpoints at .*branches/4096/checkpoints"),
    (dict(eval_tokens=-1), r"config.eval_tokens = -1: expected an integer >= 0"),
    (dict(languages="python,cobol"), r"config.languages: unknown language 'cobol'"),
    (dict(**{"passk.languages": "fortran"}), r"config.passk.languages: unknown language 'fortran'"),
    (dict(**{"passk.languages": "python", "passk.k": "1,10"}), r"config.passk.k = '1,10'"),
    (dict(**{"passk.languages": "python", "passk.n": 4}), r"temperature"),
  ],
)
def test_bad_config(run_dir, tmp_path, overrides, match):
  config = eval_config(run_dir)
  for key, value in overrides.items():
    section, _, leaf = key.rpartition(".")
    (config[section] if section else config)[leaf] = value
  with pytest.raises(UserError, match=match):
    launch.run(config, str(tmp_path))
  assert not (tmp_path / "evaluation.json").exists()


def test_run_without_checkpoints(run_dir, tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  shutil.copy(run_dir / "result.json", empty / "result.json")
  with pytest.raises(UserError, match="no checkpoints"):
    launch.run(eval_config(empty), str(tmp_path / "o"))
  (empty / "checkpoints").mkdir()
  with pytest.raises(UserError, match="no checkpoint in"):
    launch.run(eval_config(empty), str(tmp_path / "o"))


def test_cli_reports_bad_run_in_one_line(tmp_path):
  proc = run_launcher("configs/evaluate.py", tmp_path / "out", f"--config.run={tmp_path / 'missing'}", timeout=120)
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines() == [
    f"codelaw: error: config.run: {tmp_path / 'missing'} is not a directory (expected a training run's workdir)"
  ]
