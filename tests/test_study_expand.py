"""Study configs expand into the designed runs with ids that are stable across processes; bad keys and
impossible values are one-line errors."""

import json
import subprocess
import sys

import importlib.util
from pathlib import Path

import pytest

from codelaw import languages
from codelaw.errors import UserError
from codelaw.study import studies
from codelaw.study.studies import base
from codelaw.study.studies.translation import directions


CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "studies"


def load(name: str, arg: str = "scale=smoke"):
  spec = importlib.util.spec_from_file_location(f"study_config_{name}", CONFIGS / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def test_per_language_grid_uses_cooldown_branches_for_budgets():
  for scale in ("smoke", "cpu-tiny", "paper"):
    config = load("per_language", f"scale={scale}")
    runs = studies.expand(config)
    p = base.PRESETS[scale]
    assert len(runs) == len(languages.NAMES) * len(p["sizes"])
    for run in runs:
      assert run.config["train"]["tokens"] == max(p["budgets"])
      assert run.config["train"]["cooldown_budgets"] == sorted(p["budgets"])[:-1]
      assert run.config["optim"]["schedule"] == "wsd"
      assert list(run.config["data"]["proportions"]) == list(run.eval_languages)
  paper = studies.expand(load("per_language", "scale=paper"))
  assert len({r.config["model"]["size"] for r in paper}) == 10 and len(base.PRESETS["paper"]["budgets"]) == 6


def test_synergy_has_21_pairs_and_7_baselines_at_equal_tokens():
  runs = studies.expand(load("synergy"))
  pairs = [r for r in runs if r.meta["kind"] == "pair"]
  selfs = [r for r in runs if r.meta["kind"] == "self"]
  assert len(pairs) == 21 and len(selfs) == 7
  assert len({r.config["train"]["tokens"] for r in runs}) == 1
  assert all(sorted(r.config["data"]["proportions"].values()) == [0.5, 0.5] for r in pairs)
  assert all(set(r.eval_languages) == set(r.config["data"]["proportions"]) for r in runs)


def test_translation_strategies_and_seen_directions():
  seen, unseen = directions(languages.NAMES, "python")
  assert len(seen) == 12 and len(unseen) == 30
  runs = studies.expand(load("translation"))
  assert sorted(r.config["data"]["translation"]["strategy"] for r in runs) == ["concat", "paired", "shuffle"]
  assert all(sorted(r.config["data"]["translation"]["directions"]) == sorted(seen) for r in runs)


def test_mixtures_are_on_the_simplex_and_reproducible():
  a, b = studies.expand(load("mixtures", "scale=cpu-tiny")), studies.expand(load("mixtures", "scale=cpu-tiny"))
  assert [r.run_id for r in a] == [r.run_id for r in b]
  for run in a:
    assert abs(sum(run.config["data"]["proportions"].values()) - 1.0) < 1e-6
  assert len({json.dumps(r.config["data"]["proportions"], sort_keys=True) for r in a}) == len(a)


def test_validation_reads_p_star_from_allocation(tmp_path):
  config = load("validation")
  with pytest.raises(UserError, match="config.allocation is empty"):
    studies.expand(config)
  config.allocation = str(tmp_path / "missing.json")
  with pytest.raises(UserError, match="file not found"):
    studies.expand(config)
  p_star = {name: (3.0 if name == "java" else 1.0) for name in languages.NAMES}
  (tmp_path / "a.json").write_text(json.dumps({"p_star": p_star, "p_uniform": {n: 1 for n in languages.NAMES}}))
  config.allocation = str(tmp_path / "a.json")
  runs = studies.expand(config)
  guided = [r for r in runs if r.meta["arm"] == "guided"]
  uniform = [r for r in runs if r.meta["arm"] == "uniform"]
  assert len(guided) == len(uniform) == len(config.seeds)
  assert guided[0].config["data"]["proportions"]["java"] == pytest.approx(3 / 9)
  assert guided[0].config["train"]["tokens"] == uniform[0].config["train"]["tokens"]
  assert guided[0].config["model"] == uniform[0].config["model"]


def test_ids_are_stable_across_processes_and_change_with_the_config():
  ids = [r.run_id for r in studies.expand(load("per_language"))]
  code = ("from tests.test_study_expand import load; from codelaw.study import studies; "
          "print(' '.join(r.run_id for r in studies.expand(load('per_language'))))")
  other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert other.stdout.split() == ids and len(set(ids)) == len(ids)
  config = load("per_language")
  config.base.optim.peak_lr = 1e-3
  changed = [r.run_id for r in studies.expand(config)]
  assert not set(changed) & set(ids)


@pytest.mark.parametrize("override, message", [
    ("--config.bogus=1", "bogus"),
    ("--config.budgets=(64,)", "config.budgets = 64"),
    ("--config.languages=('python','cobol')", "cobol"),
    ("--config.sizes=('cpu-huge',)", "cpu-huge"),
    ("--config.executor.kind=pbs", "executor.kind"),
])
def test_bad_study_config_is_a_one_line_error(tmp_path, override, message):
  out = subprocess.run([sys.executable, "-m", "codelaw.launch", "--config",
                        "configs/studies/per_language.py:scale=smoke", "--workdir", str(tmp_path), override],
                       capture_output=True, text=True, timeout=120)
  assert out.returncode == 2
  assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr
  assert not (tmp_path / "runs").exists()


def test_bad_scale_argument_is_rejected():
  with pytest.raises(UserError, match="scale=huge"):
    load("synergy", "scale=huge")
