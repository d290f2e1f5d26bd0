"""allocation.json: the recommended token mixture, what it is predicted to gain, and how sure that is.

A recommendation is written only when the solver converged (`converged: true`; otherwise the job stops
with the reason). `gain` = objective(uniform) - objective(p*) under the fitted law, with its interval from
evaluating the FIXED p* and uniform under every bootstrap law (so it can be negative: the data may not
show that p* beats uniform). `warnings` lists what the user must know (e.g. a law allowed through although
its data do not identify it). Every other key of the job's output travels in `extra` unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping

from codelaw.contracts import extra_of, with_extra
from codelaw.errors import UserError

_CORE = (
  "law",
  "fit",
  "languages",
  "N",
  "D",
  "p_star",
  "p_uniform",
  "objective_star",
  "objective_uniform",
  "gain",
  "converged",
  "reason",
  "kkt_residual",
  "kkt_tolerance",
  "warnings",
)


@dataclasses.dataclass(frozen=True)
class Gain:
  estimate: float
  interval: tuple[float, float] | None = None  # at `level`, over `resamples` bootstrap laws; None without them
  level: float | None = None
  resamples: int = 0

  def to_json(self) -> dict:
    return {
      "estimate": self.estimate,
      "interval": None if self.interval is None else list(self.interval),
      "level": self.level,
      "resamples": self.resamples,
    }

  @classmethod
  def from_json(cls, obj: Any, where: str) -> "Gain":
    if not isinstance(obj, Mapping) or not isinstance(obj.get("estimate"), (int, float)):
      raise UserError(f"{where}: expected {{estimate, interval}}")
    iv = obj.get("interval")
    if iv is not None and not (isinstance(iv, list) and len(iv) == 2 and iv[0] <= iv[1]):
      raise UserError(f"{where}.interval = {iv!r}: expected [lo, hi] with lo <= hi")
    return cls(
      float(obj["estimate"]),
      None if iv is None else (float(iv[0]), float(iv[1])),
      obj.get("level"),
      int(obj.get("resamples", 0)),
    )


@dataclasses.dataclass(frozen=True)
class Allocation:
  law: str
  fit: str
  languages: tuple[str, ...]
  N: float
  D: float
  p_star: Mapping[str, float]
  p_uniform: Mapping[str, float]
  objective_star: float
  objective_uniform: float
  gain: Gain
  converged: bool
  reason: str
  kkt_residual: float
  kkt_tolerance: float
  warnings: tuple[str, ...] = ()
  extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    if not self.converged:
      raise ValueError(f"allocation did not converge ({self.reason}): no recommendation may be written")
    if set(self.p_star) != set(self.languages) or not math.isclose(sum(self.p_star.values()), 1.0, abs_tol=1e-6):
      raise ValueError(f"p_star {dict(self.p_star)} is not a mixture over {self.languages}")

  def to_json(self) -> dict:
    out = {
      "law": self.law,
      "fit": self.fit,
      "languages": list(self.languages),
      "N": self.N,
      "D": self.D,
      "p_star": dict(self.p_star),
      "p_uniform": dict(self.p_uniform),
      "objective_star": self.objective_star,
      "objective_uniform": self.objective_uniform,
      "gain": self.gain.to_json(),
      "converged": self.converged,
      "reason": self.reason,
      "kkt_residual": self.kkt_residual,
      "kkt_tolerance": self.kkt_tolerance,
      "warnings": list(self.warnings),
    }
    return with_extra(out, self.extra, _CORE, "allocation.json")

  @classmethod
  def from_json(cls, obj: Any, where: str = "allocation.json") -> "Allocation":
    if not isinstance(obj, Mapping):
      raise UserError(f"{where}: expected a JSON object")
    missing = [k for k in _CORE if k not in obj]
    if missing:
      raise UserError(f"{where}: missing key(s) {', '.join(missing)}")
    if obj["converged"] is not True:
      raise UserError(
        f"{where}: converged = {obj['converged']!r}: the allocation did not converge "
        f"({obj['reason'] or 'no reason given'}); the solver's p* is not a recommendation"
      )
    try:
      return cls(
        obj["law"],
        obj["fit"],
        tuple(obj["languages"]),
        float(obj["N"]),
        float(obj["D"]),
        dict(obj["p_star"]),
        dict(obj["p_uniform"]),
        float(obj["objective_star"]),
        float(obj["objective_uniform"]),
        Gain.from_json(obj["gain"], f"{where}.gain"),
        True,
        str(obj["reason"]),
        float(obj["kkt_residual"]),
        float(obj["kkt_tolerance"]),
        tuple(obj["warnings"]),
        extra_of(obj, _CORE),
      )
    except (TypeError, ValueError) as e:
      raise UserError(f"{where}: {e}") from None
