"""fit.json: a fitted law, its uncertainty and whether the data could determine it.

Layout (every law): {"law", "languages": {lang: {param: value, "ci": {param: [lo, hi]}}}, "diagnostics",
"bootstrap", ...}. Per-language diagnostics always carry the identifiability block
diagnostics.<lang> = {"identifiable": bool, "problems": [one-line str], "design": {distinct_N, distinct_D,
runs, rows, dof}, "weak": [param]}; multilingual laws keep their family-level keys (objective, rows, ...)
beside the per-language blocks. The per-language law adds profile.<lang> = {"alpha": [lo, hi], "beta":
[lo, hi]} (profile-likelihood intervals beside the run-level bootstrap in "ci"). Other top-level keys (tau,
synergy, unique_tokens, repetition_decay, bits_per_byte, loss_unit, ...) travel in `extra` unchanged.
The fit job writes through `FitResult.to_json`; readers go through `FitResult.from_json`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from codelaw.contracts import extra_of, with_extra
from codelaw.errors import UserError

DESIGN_KEYS = ("distinct_N", "distinct_D", "runs", "rows", "dof")
_CORE = ("law", "languages", "diagnostics", "bootstrap", "profile")


@dataclasses.dataclass(frozen=True)
class Design:
  distinct_N: int
  distinct_D: int
  runs: int
  rows: int
  dof: int


@dataclasses.dataclass(frozen=True)
class Identifiability:
  """Whether one language's law is determined by its design, why not, and which parameters stay loose."""

  identifiable: bool
  problems: tuple[str, ...]
  design: Design
  weak: tuple[str, ...] = ()

  def to_json(self) -> dict:
    return {
      "identifiable": self.identifiable,
      "problems": list(self.problems),
      "design": dataclasses.asdict(self.design),
      "weak": list(self.weak),
    }

  @classmethod
  def from_json(cls, obj: Mapping, where: str) -> "Identifiability":
    if not isinstance(obj.get("identifiable"), bool):
      raise UserError(f"{where}.identifiable: expected true or false")
    problems = obj.get("problems")
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
      raise UserError(f"{where}.problems: expected a list of strings")
    if obj["identifiable"] == bool(problems):
      raise UserError(f"{where}: identifiable = {obj['identifiable']} disagrees with problems {problems}")
    design = obj.get("design")
    if not isinstance(design, Mapping) or any(not isinstance(design.get(k), int) for k in DESIGN_KEYS):
      raise UserError(f"{where}.design: expected integers {', '.join(DESIGN_KEYS)}")
    weak = obj.get("weak", [])
    if not isinstance(weak, list) or not all(isinstance(p, str) for p in weak):
      raise UserError(f"{where}.weak: expected a list of parameter names")
    return cls(obj["identifiable"], tuple(problems), Design(**{k: design[k] for k in DESIGN_KEYS}), tuple(weak))


@dataclasses.dataclass(frozen=True)
class FitResult:
  """The body of fit.json. `languages`, `diagnostics`, `bootstrap`, `profile` and `extra` hold JSON values."""

  law: str
  languages: Mapping[str, Any]
  diagnostics: Mapping[str, Any]
  bootstrap: Any = None
  profile: Mapping[str, Mapping[str, list]] | None = None
  extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def identifiability(self, where: str = "fit.json") -> dict[str, Identifiability]:
    """{lang: Identifiability} for every fitted language whose diagnostics record it."""
    out = {}
    for lang in self.languages:
      block = self.diagnostics.get(lang)
      if isinstance(block, Mapping) and "identifiable" in block:
        out[lang] = Identifiability.from_json(block, f"{where}.diagnostics.{lang}")
    return out

  def unidentifiable(self) -> dict[str, tuple[str, ...]]:
    """{lang: problems} of the languages whose law the data do not determine."""
    return {lang: i.problems for lang, i in self.identifiability().items() if not i.identifiable}

  def to_json(self) -> dict:
    out: dict[str, Any] = {"law": self.law, "languages": dict(self.languages), "diagnostics": dict(self.diagnostics)}
    if self.bootstrap is not None:
      out["bootstrap"] = self.bootstrap
    if self.profile is not None:
      out["profile"] = dict(self.profile)
    return with_extra(out, self.extra, _CORE, "fit.json")

  @classmethod
  def from_json(cls, obj: Any, where: str = "fit.json") -> "FitResult":
    if not isinstance(obj, Mapping):
      raise UserError(f"{where}: expected a JSON object")
    if not isinstance(obj.get("law"), str):
      raise UserError(f"{where}: missing key 'law' (the fitted family)")
    langs = obj.get("languages", {})
    if not isinstance(langs, Mapping):
      raise UserError(f"{where}.languages: expected an object {{language: parameters}}")
    diag = obj.get("diagnostics", {})
    if not isinstance(diag, Mapping):
      raise UserError(f"{where}.diagnostics: expected an object")
    profile = obj.get("profile")
    if profile is not None and not isinstance(profile, Mapping):
      raise UserError(f"{where}.profile: expected an object {{language: {{alpha: [lo, hi], beta: [lo, hi]}}}}")
    for lang, block in (profile or {}).items():
      for k, v in (block or {}).items():
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
          raise UserError(f"{where}.profile.{lang}.{k}: expected [lo, hi]")
    result = cls(obj["law"], langs, diag, obj.get("bootstrap"), profile, extra_of(obj, _CORE))
    result.identifiability(where)  # validates every recorded block
    return result
