"""result.json: what a finished training run measured (written by the trainer, read by studies, the
evaluate job and the report). A cooldown branch writes a `BudgetResult` to branches/<n>/result.json, and
the run lists them in `budgets`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from codelaw.contracts import Flat, check_keys, fields_of, without_none

COMPLETE = "complete"


@dataclasses.dataclass(frozen=True)
class LanguageEval(Flat):
  """Validation loss of one language: nats per token, bits per byte, and the tokens it was measured on."""

  loss: float
  bits_per_byte: float
  tokens: int


def evals_to_json(evals: Mapping[str, LanguageEval]) -> dict[str, Any]:
  return {lang: e.to_json() for lang, e in evals.items()}


def evals_from_json(data: Any, where: str) -> dict[str, LanguageEval]:
  if not isinstance(data, Mapping):
    raise ValueError(f"{where}: expected {{language: {{loss, bits_per_byte, tokens}}}}")
  return {lang: LanguageEval.from_json(e, f"{where}.{lang}") for lang, e in data.items()}


@dataclasses.dataclass(frozen=True)
class BudgetResult:
  """The evaluation at one token budget: a cooldown branch's end (steps, decay_start and budget given) or a
  budget listed without them."""

  tokens: int
  eval: Mapping[str, LanguageEval]
  flops: float | None = None
  steps: int | None = None
  decay_start: int | None = None
  budget: int | None = None

  def to_json(self) -> dict[str, Any]:
    return without_none({**fields_of(self), "eval": evals_to_json(self.eval)})

  @classmethod
  def from_json(cls, data: Any, where: str = "budget") -> "BudgetResult":
    check_keys(cls, data, where)
    return cls(**{**data, "eval": evals_from_json(data["eval"], f"{where}.eval")})


@dataclasses.dataclass(frozen=True)
class Result:
  """A training run's result.json. `eval` is the final budget's evaluation; `budgets` the cooldown branches
  (ascending); `translation` {direction: nats per target token} when the run trained on translation."""

  run_id: str
  config: Mapping[str, Any]
  n_params: int
  tokens: int
  eval: Mapping[str, LanguageEval]
  status: str = COMPLETE
  n_params_total: int | None = None
  flops: float | None = None
  proportions: Mapping[str, float] | None = None
  realized_proportions: Mapping[str, float] | None = None
  epochs: Mapping[str, float] | None = None
  budgets: tuple[BudgetResult, ...] = ()
  wall_time_s: float | None = None
  git_commit: str | None = None
  translation: Mapping[str, float] | None = None

  @property
  def complete(self) -> bool:
    return self.status == COMPLETE

  def to_json(self) -> dict[str, Any]:
    budgets = [b.to_json() for b in self.budgets]
    return without_none({**fields_of(self), "eval": evals_to_json(self.eval), "budgets": budgets})

  @classmethod
  def from_json(cls, data: Any, where: str = "result.json") -> "Result":
    check_keys(cls, data, where)
    if not isinstance(data["config"], Mapping):
      raise ValueError(f"{where}: 'config' is not an object")
    budgets = data.get("budgets") or ()
    return cls(
      **{
        **data,
        "eval": evals_from_json(data["eval"], f"{where}: eval"),
        "budgets": tuple(BudgetResult.from_json(b, f"{where}: budgets[{i}]") for i, b in enumerate(budgets)),
      }
    )
