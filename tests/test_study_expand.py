"""Study configs expand into the designed runs with ids that are stable across processes; the CPU scales'
grids meet their design constraints; bad keys, refused overrides and impossible values are one-line errors."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from codelaw import languages
from codelaw.data import sample
from codelaw.errors import UserError
from codelaw.model import counting, sizes
from codelaw.study import studies
from codelaw.study.studies import base
from codelaw.study.studies.translation import directions
from codelaw.train import cooldown

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
CHINCHILLA_PARAMS = 5  # E, A, alpha, B, beta


def load(name: str, arg: str = "scale=smoke"):
  path = CONFIGS / (f"{name}.py" if "/" in name else f"studies/{name}.py")
  spec = importlib.util.spec_from_file_location(f"study_config_{name.replace('/', '_')}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def sample_meta(corpus: str) -> dict:
  assert corpus == sample.SAMPLE_NAME  # the CPU scales train on the bundled sample
  return json.loads((sample.shipped_dir() / sample.META).read_text())


def train_split(corpus: str) -> dict[str, int]:
  """Training tokens + documents (each document adds an EOS) per language of the bundled sample."""
  meta = sample_meta(corpus)
  return {lang: s["train"]["tokens"] + s["train"]["documents"] for lang, s in meta["splits"].items()}


def n_params(size: str) -> int:
  return counting.n_params(sizes.model_config(size, vocab_size=4096))


def size_budgets(grid: dict, size: str) -> list[int]:
  """The budgets one size of a per-language preset trains to (the grid times its budget_scale)."""
  factor = dict(grid.get("budget_scale", ())).get(size, 1.0)
  return [int(round(b * factor)) for b in sorted(grid["budgets"])]


def test_per_language_grid_uses_cooldown_branches_for_budgets():
  for scale in base.scale_names():
    config = load("per_language", f"scale={scale}")
    runs = studies.expand(config)
    p = base.preset(scale)["per_language"]
    assert len(runs) == len(p["languages"]) * len(p["sizes"]) * len(p["seeds"])
    for run in runs:
      budgets = size_budgets(p, run.config["model"]["size"])
      assert run.config["train"]["tokens"] == budgets[-1]
      assert run.config["train"]["cooldown_budgets"] == budgets[:-1]
      assert run.config["optim"]["schedule"] == "wsd"
      assert run.config["optim"]["peak_lr"] == base.preset(scale)["peak_lr"][run.config["model"]["size"]]
      assert list(run.config["data"]["proportions"]) == list(run.eval_languages)
  paper = studies.expand(load("per_language", "scale=paper"))
  assert (
    len({r.config["model"]["size"] for r in paper}) == 10 and len(base.preset("paper")["per_language"]["budgets"]) == 6
  )


@pytest.mark.parametrize(
  "scale, min_sizes, n_span, min_budgets, d_span",
  [
    ("cpu-tiny", 3, 4.0, 3, 4.0),
    ("cpu-study", 5, 10.0, 4, 4.0),
  ],
)
def test_cpu_grids_span_n_and_d_and_identify_the_law(scale, min_sizes, n_span, min_budgets, d_span):
  p = base.preset(scale)["per_language"]
  assert set(p["languages"]) == set(languages.NAMES)
  ns = sorted(n_params(s) for s in p["sizes"])
  assert len(ns) >= min_sizes and ns[-1] / ns[0] >= n_span
  for size in p["sizes"]:
    ds = size_budgets(p, size)
    assert len(ds) >= min_budgets and ds[-1] / ds[0] >= d_span
  # Every (N, D) cell of every language is measured: more points than the law has parameters, and at
  # least 3 distinct values on each axis so the exponents are not confounded.
  runs = [r for r in studies.expand(load("per_language", f"scale={scale}")) if r.meta["target"] == "python"]
  points = {
    (r.config["model"]["size"], d)
    for r in runs
    for d in r.config["train"]["cooldown_budgets"] + [r.config["train"]["tokens"]]
  }
  assert len(points) == len(ns) * len(p["budgets"]) > CHINCHILLA_PARAMS + 2
  assert len({d for _, d in points}) >= 3


def test_cpu_study_covers_tokens_per_parameter_and_repeats():
  p = base.preset("cpu-study")
  grid = p["per_language"]
  ratios = [d / n_params(s) for s in grid["sizes"] for d in size_budgets(grid, s)]
  assert min(ratios) <= 5
  assert max(ratios) >= 40
  assert len(p["synergy"]["seeds"]) >= 3 and len(p["validation"]["seeds"]) >= 3
  assert len(p["translation"]["sizes"]) >= 2 and len(p["translation"]["seeds"]) >= 3
  assert set(p["translation"]["strategies"]) == {"shuffle", "concat", "paired"}
  assert p["mixtures"]["n_mixtures"] >= 24


@pytest.mark.parametrize("scale", ["cpu-tiny", "cpu-study"])
def test_cpu_scales_see_no_language_more_than_4_epochs(scale):
  p = base.preset(scale)
  train = train_split(p["train"]["corpus"])
  worst = {}
  for study in ("per_language", "synergy", "translation", "mixtures"):
    for run in studies.expand(load(study, f"scale={scale}")):
      props = run.config["data"]["proportions"]
      total = sum(props.values())
      share = 1.0 - (run.config["data"]["translation"] or {}).get("weight", 0.0)
      for lang, w in props.items():
        epochs = run.config["train"]["tokens"] * share * w / total / train[lang]
        worst[lang] = max(worst.get(lang, 0.0), epochs)
  # Validation's guided mixture is unknown before the allocation: bound it by putting all tokens on one language.
  worst_validation = p["validation"]["tokens"] / min(train.values())
  assert max(worst.values()) <= 4.0 and worst_validation <= 4.0, (worst, worst_validation)


@pytest.mark.parametrize("scale, min_eval", [("cpu-tiny", 16384), ("cpu-study", 50000)])
def test_cpu_scales_evaluate_every_run_on_the_same_fixed_tokens(scale, min_eval):
  p = base.preset(scale)
  meta = sample_meta(p["train"]["corpus"])
  for lang in languages.NAMES:
    assert meta["splits"][lang]["val"]["tokens"] >= min(p["train"]["eval_tokens"], 50000) >= min_eval - 2048
  eval_tokens = set()
  for study in ("per_language", "synergy", "translation", "mixtures"):
    for run in studies.expand(load(study, f"scale={scale}")):
      eval_tokens.add(
        (run.config["train"]["eval_tokens"], run.config["data"]["corpus"], run.config["model"]["seq_len"])
      )
  assert len(eval_tokens) == 1  # one evaluation set (same corpus, length and token count) for every run


def test_every_size_of_a_scale_has_its_learning_rate():
  for scale in base.scale_names():
    p = base.preset(scale)
    used = set(p["per_language"]["sizes"]) | {p["synergy"]["size"], p["validation"]["size"]}
    used |= set(p["translation"]["sizes"]) | set(p["mixtures"]["sizes"])
    assert used <= set(p["peak_lr"]), (scale, used - set(p["peak_lr"]))
  small, large = base.preset("cpu-study")["peak_lr"]["cpu-50k"], base.preset("cpu-study")["peak_lr"]["cpu-1m"]
  assert small > large  # one rate for all sizes is what the sweep ruled out


def test_synergy_has_every_pair_and_the_self_baselines_at_equal_tokens():
  config = load("synergy")
  langs = tuple(config.languages)
  runs = studies.expand(config)
  pairs = [r for r in runs if r.meta["kind"] == "pair"]
  assert len(pairs) == math.comb(len(langs), 2) * len(config.seeds)
  assert {r.meta["kind"] for r in runs} - {"pair"}  # the self baselines
  assert len({r.config["train"]["tokens"] for r in runs}) == 1
  assert all(sorted(r.config["data"]["proportions"].values()) == [0.5, 0.5] for r in pairs)
  assert all(set(r.eval_languages) == set(r.config["data"]["proportions"]) for r in runs)


def test_translation_strategies_and_seen_directions():
  seen, unseen = directions(languages.NAMES, "python")
  assert len(seen) == 12 and len(unseen) == 30
  runs = studies.expand(load("translation", "scale=cpu-tiny"))
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
  code = (
    "from tests.test_study_expand import load; from codelaw.study import studies; "
    "print(' '.join(r.run_id for r in studies.expand(load('per_language'))))"
  )
  other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
  assert other.stdout.split() == ids and len(set(ids)) == len(ids)
  config = load("per_language")
  config.peak_lr = tuple((size, 1e-3 if size == "cpu-50k" else lr) for size, lr in config.peak_lr)
  changed = {r.run_id for r in studies.expand(config) if r.config["model"]["size"] == "cpu-50k"}
  assert changed and not changed & set(ids)


def test_a_base_key_the_study_sets_per_run_is_refused():
  for key, value in (("data.proportions", {"python": 2.0}), ("train.tokens", 10_000), ("optim.peak_lr", 1e-3)):
    config = load("per_language")
    section, name = key.split(".")
    config.base[section][name] = value
    with pytest.raises(UserError, match=rf"config\.base\.{key}: set per run"):
      studies.expand(config)


def test_budget_scale_shifts_one_size_and_refuses_unknown_sizes():
  config = load("per_language")
  config.budget_scale = (("cpu-100k", 2.0),)
  runs = {r.config["model"]["size"]: r for r in studies.expand(config) if r.meta["target"] == "python"}
  assert runs["cpu-100k"].config["train"]["tokens"] == 2 * runs["cpu-50k"].config["train"]["tokens"] == 12288
  assert runs["cpu-100k"].config["train"]["cooldown_budgets"] == [3072, 6144]
  config.budget_scale = (("cpu-5m", 0.5),)
  with pytest.raises(UserError, match="budget_scale: cpu-5m is not one of config.sizes"):
    studies.expand(config)


def test_budgets_written_as_fractions_follow_train_tokens():
  config = load("train/cpu_small", "")
  config.train.tokens = 4_000_000
  plan = cooldown.plan(config.train.cooldown_budgets, config.train.tokens, 2048, config.train.cooldown_fraction)
  assert [b.tokens for b in plan] == [500_000, 1_000_000, 2_000_000, 4_000_000]


def test_parse_arg_converts_to_the_defaults_types():
  a = base.parse_arg("size=cpu-1m,tokens=2e6,lr=0.01,cool", size="cpu-50k", tokens=1, lr=1e-3, cool=False)
  assert (a.size, a.tokens, a.lr, a.cool) == ("cpu-1m", 2_000_000, 0.01, True)
  assert isinstance(a.tokens, int)
  for arg, message in (
    ("tokens=abc", "tokens='abc': expected int"),
    ("tokens=1.5", "tokens='1.5': expected int"),
    ("cool=maybe", "cool='maybe': expected bool"),
    ("bogus=1", "unknown key 'bogus'"),
    ("tokens", "expected tokens=<int>"),
  ):
    with pytest.raises(base.ConfigArgError, match=message):
      base.parse_arg(arg, tokens=1, cool=False)


@pytest.mark.parametrize(
  "config, override, message",
  [
    ("configs/studies/per_language.py:scale=smoke", "--config.bogus=1", "bogus"),
    ("configs/studies/per_language.py:scale=smoke", "--config.budgets=(64,)", "config.budgets = 64"),
    ("configs/studies/per_language.py:scale=smoke", "--config.languages=('python','cobol')", "cobol"),
    ("configs/studies/per_language.py:scale=smoke", "--config.sizes=('cpu-huge',)", "cpu-huge"),
    ("configs/studies/per_language.py:scale=smoke", "--config.executor.kind=pbs", "executor.kind"),
    ("configs/studies/per_language.py:scale=smoke", "--config.base.data.proportions.python=2", "base.data.proportions"),
    ("configs/studies/per_language.py:scale=huge", "--config.seeds=(0,)", "scale=huge"),
    ("configs/train/tiny.py:tokens=many", "--config.seed=0", "tokens='many'"),
  ],
)
def test_bad_config_is_a_one_line_error(tmp_path, config, override, message, run_launcher):
  out = run_launcher(config, tmp_path, override, timeout=120)
  assert out.returncode == 2
  assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr
  assert not (tmp_path / "runs").exists()
