"""Cooldown branch planning: where each budget's decay starts, validation, and the cost saving."""

from __future__ import annotations

import pytest

from codelaw.errors import UserError
from codelaw.train import cooldown


def test_plan_places_each_decay_in_the_last_fraction_of_its_budget():
  budgets = cooldown.plan([1000, 2000], total_tokens=4000, tokens_per_step=100, cooldown_fraction=0.2)
  assert [(b.tokens, b.steps, b.decay_start, b.final) for b in budgets] == [
    (1000, 10, 8, False),
    (2000, 20, 16, False),
    (4000, 40, 32, True),
  ]
  assert [b.cooldown_steps for b in budgets] == [2, 4, 8]


def test_plan_rounds_budgets_up_to_whole_steps_and_merges_duplicates():
  budgets = cooldown.plan([950, 1000, 4000], total_tokens=4000, tokens_per_step=100, cooldown_fraction=0.25)
  assert [(b.steps, b.decay_start) for b in budgets] == [(10, 7), (40, 30)]
  assert budgets[-1].final


def test_cost_of_branches_is_about_one_plus_fraction_of_the_largest_run():
  budgets = cooldown.plan([2**k * 100 for k in range(6)], total_tokens=6400, tokens_per_step=10, cooldown_fraction=0.2)
  c = cooldown.cost(budgets)
  assert c["branched_steps"] == 640 + sum(b.cooldown_steps for b in budgets[:-1])
  assert c["independent_steps"] == sum(b.steps for b in budgets)
  assert c["branched_steps"] <= 1.2 * 640 + 1e-9 and c["ratio"] < 0.65


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(budgets=[5000]), "exceeds train.tokens"),
    (dict(budgets=[-1]), "cooldown_budgets"),
    (dict(budgets=[float("nan")]), "cooldown_budgets"),
    (dict(budgets=[1000], cooldown_fraction=0.0), "cooldown_fraction"),
    (dict(budgets=[1000], cooldown_fraction=1.0), "cooldown_fraction"),
    (dict(budgets=[300], warmup_steps=5), "too small for optim.warmup_steps"),
  ],
)
def test_bad_budgets_name_the_key(kwargs, match):
  args = dict(total_tokens=4000, tokens_per_step=100, cooldown_fraction=0.2) | kwargs
  with pytest.raises(UserError, match=match):
    cooldown.plan(args.pop("budgets"), **args)
