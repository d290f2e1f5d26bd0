"""report.json: what the report job concluded, in a form other tools can read back.

Every claim carries its statistic, estimate, 95% interval, null value and a verdict that the interval
must support: `supported` / `contradicted` only where the interval lies entirely on one side of the null
(an ordering or a conjunction is written as a margin that must stay above 0, so the same rule covers it);
`inconclusive` where it straddles the null; `not enough data` where runs are missing or the fit the claim
rests on is not identifiable (then estimate and interval may be null). The contract checks this on
construction, so a report.json that breaks the rule cannot be written or read. The epochs panel (`Epochs`)
gives per study and language the most epochs any run made over the training documents; where no run recorded
epochs the maximum is null, never 0.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Mapping

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NO_DATA = "supported", "contradicted", "inconclusive", "not enough data"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NO_DATA)
ALTERNATIVES = ("greater", "less")  # the claim says the statistic is above / below the null
SOURCES = ("ours", "paper")  # our runs, or the paper's published numbers


def _pair(x: Any) -> tuple[float, float] | None:
  return None if x is None else (float(x[0]), float(x[1]))


def _num(x: Any) -> float | None:
  return None if x is None else float(x)


def _finite(x: float | None) -> float | None:
  # JSON has no NaN; a missing number is null.
  return None if x is None or not math.isfinite(x) else x


@dataclasses.dataclass(frozen=True)
class Claim:
  """One claim checked on one source of numbers."""

  id: str  # stable key, e.g. "irreducible_order/ours"
  claim: str  # the claim in words, as the paper makes it
  statistic: str  # what was computed, with its unit
  estimate: float | None
  interval: tuple[float, float] | None  # 95%; [x, x] where the source publishes no interval (said in reason)
  null: float
  verdict: str
  reason: str  # one line: why this verdict, from which numbers
  alternative: str = "greater"
  source: str = "ours"
  section: str = ""  # where the paper makes the claim

  def __post_init__(self):
    if self.verdict not in VERDICTS:
      raise ValueError(f"claim {self.id}: verdict {self.verdict!r} is not one of {VERDICTS}")
    if self.alternative not in ALTERNATIVES or self.source not in SOURCES:
      raise ValueError(f"claim {self.id}: alternative {self.alternative!r} / source {self.source!r} unknown")
    if self.interval is not None and not self.interval[0] <= self.interval[1]:
      raise ValueError(f"claim {self.id}: interval {self.interval} has lo > hi")
    if self.verdict in (SUPPORTED, CONTRADICTED):
      if self.interval is None or not all(math.isfinite(v) for v in self.interval):
        raise ValueError(f"claim {self.id}: {self.verdict} needs a finite interval")
      above, below = self.interval[0] > self.null, self.interval[1] < self.null
      holds = above if self.alternative == "greater" else below
      fails = below if self.alternative == "greater" else above
      if not (holds if self.verdict == SUPPORTED else fails):
        raise ValueError(
          f"claim {self.id}: {self.verdict} but the interval {self.interval} does not exclude "
          f"the null {self.null} on that side"
        )

  def to_json(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    d["estimate"] = _finite(self.estimate)
    d["interval"] = None if self.interval is None else [_finite(v) for v in self.interval]
    if d["interval"] is not None and None in d["interval"]:
      d["interval"] = None
    return d

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "Claim":
    return cls(
      **{**d, "estimate": _num(d.get("estimate")), "interval": _pair(d.get("interval")), "null": float(d["null"])}
    )


@dataclasses.dataclass(frozen=True)
class RunGap:
  """One run's final validation loss against the unigram model of its language on the same tokens."""

  run_id: str
  language: str
  N: float
  D: float
  loss: float  # nats/token
  unigram: float | None  # nats/token; None where the corpus could not be read
  gap: float | None  # loss - unigram, nats/token (negative = the model learned more than frequencies)
  gap_bpb: float | None  # the same in bits per byte
  study: str = ""  # the study the run belongs to (results.csv `study`); "" in reports written before it was kept

  def to_json(self) -> dict[str, Any]:
    return {k: (_finite(v) if isinstance(v, float) else v) for k, v in dataclasses.asdict(self).items()}

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "RunGap":
    return cls(**{**d, **{k: _num(d.get(k)) for k in ("N", "D", "loss", "unigram", "gap", "gap_bpb")}})


@dataclasses.dataclass(frozen=True)
class LanguageRegime:
  """Whether one language's runs are in the regime a scaling law describes, and whether its law is identified."""

  language: str
  distinct_N: int
  distinct_D: int
  runs: int
  tokens_per_param: tuple[float, float]  # D / N over the language's rows
  identifiable: bool | None  # from fit.json, or the design itself; None without any rows
  problems: tuple[str, ...]
  runs_near_unigram: int  # runs of every study not clearly below the unigram loss
  gaps: tuple[RunGap, ...]
  # Parameters the fit's data do not pin (fit.json diagnostics `weak`): an identifiable design whose alpha or
  # beta is weak still leaves the exponents undetermined.
  weak: tuple[str, ...] = ()
  # Of runs_near_unigram, those on the per-language grid (study "per_language"); None where not recorded.
  grid_runs_near_unigram: int | None = None
  # Every point of the per-language grid (each budget, cooldown branches included); () where not recorded.
  grid_points: tuple[RunGap, ...] = ()

  def to_json(self) -> dict[str, Any]:
    return {
      "language": self.language,
      "distinct_N": self.distinct_N,
      "distinct_D": self.distinct_D,
      "runs": self.runs,
      "tokens_per_param": list(self.tokens_per_param),
      "identifiable": self.identifiable,
      "problems": list(self.problems),
      "runs_near_unigram": self.runs_near_unigram,
      "gaps": [g.to_json() for g in self.gaps],
      "weak": list(self.weak),
      "grid_runs_near_unigram": self.grid_runs_near_unigram,
      "grid_points": [g.to_json() for g in self.grid_points],
    }

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "LanguageRegime":
    return cls(
      language=d["language"],
      distinct_N=int(d["distinct_N"]),
      distinct_D=int(d["distinct_D"]),
      runs=int(d["runs"]),
      tokens_per_param=_pair(d["tokens_per_param"]),
      identifiable=d["identifiable"],
      problems=tuple(d["problems"]),
      runs_near_unigram=int(d["runs_near_unigram"]),
      gaps=tuple(RunGap.from_json(g) for g in d["gaps"]),
      # Reports written before these were kept have neither key.
      weak=tuple(d.get("weak") or ()),
      grid_runs_near_unigram=None if d.get("grid_runs_near_unigram") is None else int(d["grid_runs_near_unigram"]),
      grid_points=tuple(RunGap.from_json(g) for g in d.get("grid_points") or ()),
    )


@dataclasses.dataclass(frozen=True)
class Regime:
  languages: tuple[LanguageRegime, ...]
  summary: str  # one sentence: what this scale can and cannot show

  def to_json(self) -> dict[str, Any]:
    return {"languages": [l.to_json() for l in self.languages], "summary": self.summary}

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "Regime":
    return cls(tuple(LanguageRegime.from_json(l) for l in d["languages"]), d["summary"])


@dataclasses.dataclass(frozen=True)
class RunEpochs:
  """Expected epochs one run made over one language's training documents (its result.json `epochs`)."""

  run_id: str
  study: str
  language: str
  epochs: float

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "RunEpochs":
    return cls(**{**d, "epochs": float(d["epochs"])})


@dataclasses.dataclass(frozen=True)
class StudyEpochs:
  """The most epochs any run of one study made over one language, and the run that made them."""

  study: str
  language: str
  runs: int  # runs of the study that train the language
  not_recorded: int  # of those, runs whose result.json records no epochs (older results, or none found)
  max_epochs: float | None  # None where none of the runs recorded epochs
  run_id: str | None  # the run reaching max_epochs

  def __post_init__(self):
    if not 0 <= self.not_recorded <= self.runs:
      raise ValueError(f"epochs {self.study}/{self.language}: {self.not_recorded} of {self.runs} runs not recorded")
    recorded = self.not_recorded < self.runs
    if (self.max_epochs is not None) != recorded or (self.run_id is not None) != recorded:
      raise ValueError(
        f"epochs {self.study}/{self.language}: a maximum and its run go with at least one recorded run "
        f"(max {self.max_epochs}, run {self.run_id!r}, {self.runs - self.not_recorded} recorded)"
      )

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "StudyEpochs":
    return cls(
      **{**d, "runs": int(d["runs"]), "not_recorded": int(d["not_recorded"]), "max_epochs": _num(d["max_epochs"])}
    )


@dataclasses.dataclass(frozen=True)
class Epochs:
  """How often each language's training documents were seen, per study, against the most epochs allowed."""

  limit: float  # the most epochs the scales promise any language in any run
  studies: tuple[StudyEpochs, ...]
  above: tuple[RunEpochs, ...]  # every (run, language) above `limit`
  not_recorded: tuple[str, ...]  # runs whose result.json records no epochs
  summary: str  # one sentence: no language above the limit, or which runs are

  def __post_init__(self):
    below = [a for a in self.above if not a.epochs > self.limit]
    if below:
      raise ValueError(
        f"epochs: {below[0].run_id}/{below[0].language} is listed above {self.limit} at {below[0].epochs}"
      )

  def to_json(self) -> dict[str, Any]:
    return {
      "limit": self.limit,
      "studies": [s.to_json() for s in self.studies],
      "above": [a.to_json() for a in self.above],
      "not_recorded": list(self.not_recorded),
      "summary": self.summary,
    }

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "Epochs":
    return cls(
      float(d["limit"]),
      tuple(StudyEpochs.from_json(s) for s in d["studies"]),
      tuple(RunEpochs.from_json(a) for a in d["above"]),
      tuple(d["not_recorded"]),
      d["summary"],
    )


@dataclasses.dataclass(frozen=True)
class Report:
  """The whole of report.json."""

  study: str
  regime: Regime
  claims: tuple[Claim, ...]
  claims_tested: int  # claims on our data with an interval (tested at once: discount one lucky interval)
  warnings: tuple[str, ...]
  sections: tuple[Mapping[str, Any], ...]  # what each report section drew and what it lacked
  provenance: Mapping[str, Any]
  files: Mapping[str, Any]
  problems: tuple[str, ...]
  epochs: Epochs | None = None  # None in a report.json written before the epochs panel

  def to_json(self) -> dict[str, Any]:
    return {
      "study": self.study,
      "regime": self.regime.to_json(),
      "claims": [c.to_json() for c in self.claims],
      "claims_tested": self.claims_tested,
      "warnings": list(self.warnings),
      "sections": [dict(s) for s in self.sections],
      "provenance": dict(self.provenance),
      "files": dict(self.files),
      "problems": list(self.problems),
      "epochs": None if self.epochs is None else self.epochs.to_json(),
    }

  @classmethod
  def from_json(cls, d: Mapping[str, Any]) -> "Report":
    return cls(
      study=d["study"],
      regime=Regime.from_json(d["regime"]),
      claims=tuple(Claim.from_json(c) for c in d["claims"]),
      claims_tested=int(d["claims_tested"]),
      warnings=tuple(d["warnings"]),
      sections=tuple(d["sections"]),
      provenance=d["provenance"],
      files=d["files"],
      problems=tuple(d["problems"]),
      epochs=None if d.get("epochs") is None else Epochs.from_json(d["epochs"]),
    )

  def dumps(self) -> str:
    return json.dumps(self.to_json(), indent=2, sort_keys=True, allow_nan=False)
