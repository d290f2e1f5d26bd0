"""Loads a fit.json (or a preset) into arrays the allocation solver uses, validating every field it reads.

Supported families for allocation: "effective_data" (per-language effective-data law with transfer tau),
"chinchilla" (per-language law; no transfer, i.e. tau = identity) and "he" (He et al. 2024,
L_i = (E_i + A_i/N^alpha_i + B_i/D^beta_i) p_i^-gamma_i). The paper's aggregate law is vertex-seeking over p
(design §3), so it is refused here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from codelaw import checks, languages
from codelaw.contracts.fit import FitResult
from codelaw.errors import UserError
from codelaw.io import read_json
from codelaw.laws import identifiability

FAMILIES = ("effective_data", "chinchilla", "he")
_PARAMS = ("E", "A", "B", "alpha", "beta")


@dataclasses.dataclass(frozen=True)
class LawParams:
  """One multilingual law as arrays over `langs` (in languages.NAMES order).

  The law is evaluated at N / n_unit and D / d_unit: fit.json uses raw counts (units 1); the paper's numbers
  were fitted in billions (units 1e9).
  """

  family: str
  langs: tuple[str, ...]
  E: np.ndarray
  A: np.ndarray
  B: np.ndarray
  alpha: np.ndarray
  beta: np.ndarray
  tau: np.ndarray  # [K, K], tau[i, j] = transfer from j's data to i's loss; identity = none
  gamma: np.ndarray | None = None  # "he" only
  unique_tokens: np.ndarray | None = None  # raw token counts, NaN where unknown
  repetition_decay: np.ndarray | None = None
  n_unit: float = 1.0
  d_unit: float = 1.0

  @property
  def has_transfer(self) -> bool:
    return not np.allclose(self.tau, np.eye(len(self.langs)), atol=0.0)


@dataclasses.dataclass(frozen=True)
class FitFile:
  law: LawParams
  bootstrap: tuple[LawParams, ...]
  source: str
  # {lang: problems} of fitted languages the data do not identify; None when the file records no diagnostics
  unidentifiable: Mapping[str, tuple[str, ...]] | None = None
  # {lang: exponents} of identifiable languages whose alpha or beta the data leave weakly determined
  weak_exponents: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


def _langs(block: Any, where: str) -> tuple[str, ...]:
  if not isinstance(block, Mapping) or not block:
    raise UserError(f"{where}: expected a non-empty object {{language: parameters}}")
  for name in block:
    if name not in languages.BY_NAME:
      raise UserError(f"{where}.{name}: unknown language; expected one of {', '.join(languages.NAMES)}")
  return tuple(n for n in languages.NAMES if n in block)


def _param_arrays(block: Mapping, langs: tuple[str, ...], names: tuple[str, ...], where: str) -> dict[str, np.ndarray]:
  out = {}
  for p in names:
    vals = []
    for lang in langs:
      entry = block.get(lang)
      if not isinstance(entry, Mapping):
        raise UserError(f"{where}.{lang}: expected an object with keys {', '.join(names)}")
      if p not in entry:
        raise UserError(f"{where}.{lang}.{p}: missing")
      # Exponents and scales must be positive for the law to decrease in N and D; E may be any finite value.
      vals.append((checks.finite if p == "E" else checks.positive)(entry[p], f"{where}.{lang}.{p}"))
    out[p] = np.asarray(vals, dtype=np.float64)
  return out


def _tau(block: Any, langs: tuple[str, ...], where: str) -> np.ndarray:
  if not isinstance(block, Mapping):
    raise UserError(f"{where}: expected an object {{target: {{source: value}}}}")
  K = len(langs)
  tau = np.eye(K)
  for i, tgt in enumerate(langs):
    row = block.get(tgt)
    if not isinstance(row, Mapping):
      raise UserError(f"{where}.{tgt}: missing row for target language {tgt}")
    for j, src in enumerate(langs):
      if i == j:
        continue  # the diagonal is 1 by definition (own data)
      if src not in row:
        raise UserError(f"{where}.{tgt}.{src}: missing transfer coefficient")
      tau[i, j] = checks.finite(row[src], f"{where}.{tgt}.{src}")
  return tau


def parse_law(
  obj: Mapping, where: str = "fit.json", *, family: str | None = None, langs: tuple[str, ...] | None = None
) -> LawParams:
  """Parses one law block ({"law", "languages", "tau", ...}) into LawParams."""
  if not isinstance(obj, Mapping):
    raise UserError(f"{where}: expected a JSON object")
  family = family or obj.get("law")
  if family not in FAMILIES:
    raise UserError(
      f"{where}: law = {family!r}: allocation supports {', '.join(FAMILIES)}"
      + (" (the paper's aggregate law is vertex-seeking over p)" if family == "paper_aggregate" else "")
    )
  if "languages" not in obj:
    raise UserError(f"{where}: missing key 'languages'")
  found = _langs(obj["languages"], f"{where}.languages")
  if langs is not None and found != langs:
    raise UserError(f"{where}.languages: languages {list(found)} differ from the main fit's {list(langs)}")
  langs = found
  names = _PARAMS + (("gamma",) if family == "he" else ())
  arr = _param_arrays(obj["languages"], langs, names, f"{where}.languages")
  if family == "effective_data":
    if "tau" not in obj:
      raise UserError(f"{where}: missing key 'tau' (required for law 'effective_data')")
    tau = _tau(obj["tau"], langs, f"{where}.tau")
  else:
    tau = np.eye(len(langs))
  unique = None
  if obj.get("unique_tokens") is not None:
    ut = obj["unique_tokens"]
    if not isinstance(ut, Mapping):
      raise UserError(f"{where}.unique_tokens: expected an object {{language: tokens}}")
    unique = np.full(len(langs), np.nan)
    for i, lang in enumerate(langs):
      if lang in ut:
        unique[i] = checks.positive(ut[lang], f"{where}.unique_tokens.{lang}")
  decay = None
  if obj.get("repetition_decay") is not None and unique is not None and np.all(np.isfinite(unique)):
    rd = obj["repetition_decay"]
    if not isinstance(rd, Mapping):
      raise UserError(f"{where}.repetition_decay: expected an object {{language: R*}}")
    decay = np.asarray([checks.positive(rd.get(l), f"{where}.repetition_decay.{l}") for l in langs])
  return LawParams(
    family=family,
    langs=langs,
    tau=tau,
    gamma=arr.get("gamma"),
    unique_tokens=unique,
    repetition_decay=decay,
    **{p: arr[p] for p in _PARAMS},
  )


def _bootstrap(obj: Mapping, law: LawParams, where: str) -> tuple[LawParams, ...]:
  boot = obj.get("bootstrap")
  if boot is None:
    return ()
  if isinstance(boot, list):  # [{"languages": ..., "tau": ...}, ...]
    # Unique tokens, the repetition decay and the units are data, not fitted: a resample that does not
    # restate them has the main law's.
    inherit = {k: obj[k] for k in ("unique_tokens", "repetition_decay") if k in obj}
    out = []
    for k, b in enumerate(boot):
      if not isinstance(b, Mapping):
        raise UserError(f"{where}.bootstrap[{k}]: expected an object")
      b_law = parse_law({**inherit, **b}, f"{where}.bootstrap[{k}]", family=law.family, langs=law.langs)
      out.append(dataclasses.replace(b_law, n_unit=law.n_unit, d_unit=law.d_unit))
    return tuple(out)
  if isinstance(boot, Mapping):  # per-language law: {lang: {param: [values...]}}
    names = _PARAMS + (("gamma",) if law.family == "he" else ())
    sizes = set()
    for lang in law.langs:
      entry = boot.get(lang)
      if not isinstance(entry, Mapping):
        raise UserError(f"{where}.bootstrap.{lang}: missing")
      for p in names:
        if not isinstance(entry.get(p), list):
          raise UserError(f"{where}.bootstrap.{lang}.{p}: expected a list of resampled values")
        sizes.add(len(entry[p]))
    if len(sizes) != 1:
      raise UserError(f"{where}.bootstrap: parameter lists have different lengths {sorted(sizes)}")
    out = []
    for k in range(sizes.pop()):
      block = {lang: {p: boot[lang][p][k] for p in names} for lang in law.langs}
      out.append(parse_law({"languages": block}, f"{where}.bootstrap[{k}]", family=law.family, langs=law.langs))
    return tuple(
      dataclasses.replace(b, tau=law.tau, unique_tokens=law.unique_tokens, repetition_decay=law.repetition_decay)
      for b in out
    )
  raise UserError(f"{where}.bootstrap: expected a list or an object")


def load_fit(source: str | Path | Mapping, what: str = "config.fit") -> FitFile:
  """Reads fit.json (a path, given as config key `what`, or an already-parsed dict) through its contract and
  validates what allocation needs."""
  if isinstance(source, Mapping):
    obj, where = source, "fit.json"
  else:
    obj, where = read_json(checks.readable_file(source, what), what), str(source)
  law = parse_law(obj, where)
  recorded = FitResult.from_json(obj, where).identifiability(where)
  unidentifiable = (
    {lang: i.problems for lang, i in recorded.items() if not i.identifiable and lang in law.langs} if recorded else None
  )
  weak = {
    lang: identifiability.weak_exponents(i.weak)
    for lang, i in (recorded or {}).items()
    if i.identifiable and lang in law.langs and identifiability.weak_exponents(i.weak)
  }
  return FitFile(
    law=law, bootstrap=_bootstrap(obj, law, where), source=where, unidentifiable=unidentifiable, weak_exponents=weak
  )


def law_to_json(law: LawParams) -> dict:
  """The inverse of `parse_law` for fit.json's raw-count units: every field of the law as a law block."""
  if law.n_unit != 1.0 or law.d_unit != 1.0:
    raise ValueError("fit.json holds laws in raw counts (units 1); this law is in other units")
  names = _PARAMS + (("gamma",) if law.family == "he" else ())
  out: dict[str, Any] = {
    "law": law.family,
    "languages": {lang: {p: float(getattr(law, p)[i]) for p in names} for i, lang in enumerate(law.langs)},
  }
  if law.family == "effective_data":
    out["tau"] = {t: {s: float(law.tau[i, j]) for j, s in enumerate(law.langs)} for i, t in enumerate(law.langs)}
  if law.unique_tokens is not None:
    out["unique_tokens"] = {l: float(u) for l, u in zip(law.langs, law.unique_tokens) if np.isfinite(u)}
  if law.repetition_decay is not None:
    out["repetition_decay"] = {l: float(r) for l, r in zip(law.langs, law.repetition_decay)}
  return out
