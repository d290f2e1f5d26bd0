"""The cost estimate of a study's runs: training FLOPs from the config alone (main run plus the cooldown
branches' decay steps), equal weights where a run cannot be estimated, and the longest-first order."""

import pytest
from helpers import write_corpus

from codelaw.model import counting
from codelaw.model.sizes import model_config
from codelaw.study import cost
from codelaw.study.spec import make_run
from codelaw.train import defaults

TOKENS_PER_STEP = 2 * 256


def config(size: str, steps: int, budgets=(), corpus: str = "sample") -> dict:
  return defaults.train_config(
    model=dict(size=size, seq_len=256),
    data=dict(corpus=corpus),
    optim=dict(warmup_steps=5),
    train=dict(global_batch_size=2, tokens=steps * TOKENS_PER_STEP, cooldown_budgets=tuple(budgets)),
  )


def test_trained_tokens_add_each_branch_s_decay_to_the_main_run():
  # 100 steps with branches at 50 and 20 steps, cooldown_fraction 0.2: the branches decay 10 and 4 steps.
  cfg = config("cpu-50k", 100, budgets=(50 * TOKENS_PER_STEP, 20 * TOKENS_PER_STEP))
  assert cost.trained_tokens(cfg) == (100 + 10 + 4) * TOKENS_PER_STEP
  assert cost.trained_tokens(config("cpu-50k", 100)) == 100 * TOKENS_PER_STEP


def test_run_costs_are_training_flops_at_the_corpus_vocabulary(tmp_path):
  corpus = write_corpus(
    tmp_path / "corpus", ["python"], 300, {"train": 2, "val": 1}, lambda r, li, n: r.integers(2, 300, n)
  )
  assert cost.corpus_vocab(str(corpus)) == 300
  assert cost.corpus_vocab("sample") == cost.REFERENCE_VOCAB
  assert cost.corpus_vocab(str(tmp_path / "missing")) == cost.REFERENCE_VOCAB
  small = make_run("unit", "small", config("cpu-50k", 100, corpus=str(corpus)))
  large = make_run("unit", "large", config("cpu-500k", 400, corpus=str(corpus)))
  costs = cost.run_costs([small, large])
  per_token = counting.flops_per_token(model_config("cpu-500k", 300), 256)
  assert costs[large.run_id] == pytest.approx(400 * TOKENS_PER_STEP * per_token)
  assert costs[large.run_id] / costs[small.run_id] > 4 * 3  # 4x the tokens and a larger model


def test_a_run_that_cannot_be_estimated_gives_every_run_equal_weight():
  made_up = make_run("unit", "made-up", config("cpu-50k", 100) | {"model": {"size": "nano", "seq_len": 8}})
  real = make_run("unit", "real", config("cpu-500k", 100))
  assert cost.run_costs([real, made_up]) == {real.run_id: 1.0, made_up.run_id: 1.0}


def test_longest_first_is_stable_for_equal_costs():
  runs = [make_run("unit", f"r{i}", config("cpu-50k", 10 + i % 2, budgets=()) | {"seed": i}) for i in range(5)]
  costs = cost.run_costs(runs)
  ordered = cost.longest_first(runs, costs)
  assert [r.run_id for r in ordered] == [runs[i].run_id for i in (1, 3, 0, 2, 4)]
