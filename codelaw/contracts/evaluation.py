"""evaluation.json: what the evaluate job measured on one checkpoint of a training run.

`eval` has result.json's per-language shape (the final checkpoint reproduces the run's own "eval");
`translation` is present when translation loss was measured, `passk` / `passk_settings` when pass@k was.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from codelaw.contracts import Flat, check_keys, fields_of, without_none
from codelaw.contracts.result import LanguageEval, evals_from_json, evals_to_json


@dataclasses.dataclass(frozen=True)
class Checkpoint(Flat):
  dir: str
  step: int
  tokens: int


@dataclasses.dataclass(frozen=True)
class ModelInfo(Flat):
  size: str | None
  n_params: int
  n_params_total: int
  seq_len: int


@dataclasses.dataclass(frozen=True)
class DirectionLoss(Flat):
  loss: float
  tokens: int


@dataclasses.dataclass(frozen=True)
class TranslationEval:
  """Loss of y given x per direction with held-out pairs, and unweighted means over directions."""

  strategy: str
  format: str
  data: str
  max_pairs: int | None
  directions: Mapping[str, DirectionLoss]
  without_data: tuple[str, ...]
  by_source: Mapping[str, float]
  by_target: Mapping[str, float]
  seen: Mapping[str, Any]  # {"loss": float | None, "directions": [str]}
  unseen: Mapping[str, Any]
  all: Mapping[str, Any]

  def to_json(self) -> dict[str, Any]:
    directions = {d: v.to_json() for d, v in self.directions.items()}
    return {**fields_of(self), "directions": directions, "without_data": list(self.without_data)}

  @classmethod
  def from_json(cls, data: Any, where: str = "translation") -> "TranslationEval":
    check_keys(cls, data, where)
    directions = {d: DirectionLoss.from_json(v, f"{where}.directions.{d}") for d, v in data["directions"].items()}
    return cls(**{**data, "directions": directions, "without_data": tuple(data["without_data"])})


@dataclasses.dataclass(frozen=True)
class Evaluation:
  run: str  # the training run's workdir (absolute)
  run_id: str
  branch: int  # the cooldown branch evaluated (branches/<n>), 0 = the main run
  checkpoint: Checkpoint
  model: ModelInfo
  eval: Mapping[str, LanguageEval]
  eval_tokens: int
  wall_time_s: float | None = None
  translation: TranslationEval | None = None
  passk: Mapping[str, Mapping[str, Any]] | None = None  # {lang: {"pass@k"..., problems, samples, ...}}
  passk_settings: Mapping[str, Any] | None = None

  def to_json(self) -> dict[str, Any]:
    translation = None if self.translation is None else self.translation.to_json()
    return without_none(
      {
        **fields_of(self),
        "checkpoint": self.checkpoint.to_json(),
        "model": self.model.to_json(),
        "eval": evals_to_json(self.eval),
        "translation": translation,
      }
    )

  @classmethod
  def from_json(cls, data: Any, where: str = "evaluation.json") -> "Evaluation":
    check_keys(cls, data, where)
    translation = data.get("translation")
    return cls(
      **{
        **data,
        "checkpoint": Checkpoint.from_json(data["checkpoint"], f"{where}: checkpoint"),
        "model": ModelInfo.from_json(data["model"], f"{where}: model"),
        "eval": evals_from_json(data["eval"], f"{where}: eval"),
        "translation": None if translation is None else TranslationEval.from_json(translation, f"{where}: translation"),
      }
    )
