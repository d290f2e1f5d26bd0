"""The panel the report opens with: is this study in the regime a scaling law describes, and can its design
identify the laws (docs/science.md §1-2)? Per language: distinct sizes and budgets, tokens per parameter,
every run's final loss minus the unigram model's loss on the same validation tokens, every grid point
against the margin the CPU scales require, identifiability; and one sentence on what this scale can and
cannot show. An identifiable design is not enough: where the fit's diagnostics call alpha or beta weakly
determined, the data do not pin the exponents and the panel says so."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

from codelaw import languages
from codelaw.contracts.report import LanguageRegime, Regime, RunGap
from codelaw.errors import UserError
from codelaw.evals.unigram import UnigramLoss, unigram_loss
from codelaw.laws import identifiability
from codelaw.report.figures import Section, count_label, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.scaling import identification, monolingual_rows, per_language_law
from codelaw.report.tables import Table, fixed
from codelaw.train.defaults import train_config

NEAR_UNIGRAM = 0.05  # a run within 5% of the unigram loss has learned little beyond token frequencies
# How far below the unigram loss every point of the per-language grid (each budget, cooldown branches
# included) must be for the CPU scales' regime check: 0.25 nats/token, or 0.1 bits/byte.
MARGIN_NATS, MARGIN_BPB = 0.25, 0.1
GRID_STUDY = "per_language"  # results.csv `study` of the per-language grid the laws are fitted on
_DEFAULTS = train_config()


@functools.lru_cache(maxsize=256)
def _unigram(corpus: str, lang: str, eval_tokens: int, seq_len: int, batch_size: int) -> UnigramLoss:
  return unigram_loss(corpus, lang, eval_tokens, seq_len=seq_len, batch_size=batch_size)


def _setting(cfg: dict[str, Any], section: str, key: str) -> Any:
  value = (cfg.get(section) or {}).get(key)
  return _DEFAULTS[section][key] if value is None else value


def run_unigram(cfg: dict[str, Any] | None, lang: str, problems: list[str]) -> UnigramLoss | None:
  """The unigram loss on the validation tokens the run with config `cfg` evaluated; None (with a problem
  noted once) where the run has no config or its corpus cannot be read."""
  if cfg is None:
    return None
  corpus = str(_setting(cfg, "data", "corpus"))
  try:
    return _unigram(
      corpus,
      lang,
      int(_setting(cfg, "train", "eval_tokens")),
      int(_setting(cfg, "model", "seq_len")),
      int(_setting(cfg, "train", "global_batch_size")),
    )
  except (UserError, OSError, ValueError, TypeError) as e:
    msg = f"unigram reference for {lang} on corpus {corpus!r} not computed ({e})"
    if msg not in problems:
      problems.append(msg)
    return None


def _gap(inputs: StudyInputs, r: dict, problems: list[str]) -> RunGap:
  """One results.csv row against the unigram loss of its language on the run's validation tokens."""
  u = run_unigram(inputs.configs.get(r["run_id"]), r["language"], problems)
  bpb = r.get("bpb", math.nan)
  return RunGap(
    r["run_id"],
    r["language"],
    r["N"],
    r["D"],
    r["loss"],
    None if u is None else u.nats_per_token,
    None if u is None else r["loss"] - u.nats_per_token,
    None if u is None or not math.isfinite(bpb) else bpb - u.bits_per_byte,
    str(r.get("study") or ""),
  )


def _gaps(inputs: StudyInputs, problems: list[str]) -> dict[str, list[RunGap]]:
  """Each run's final (largest-D) point per language, every study."""
  final: dict[tuple[str, str], dict] = {}
  for r in inputs.results:
    k = (r["run_id"], r["language"])
    if k not in final or r["D"] > final[k]["D"]:
      final[k] = r
  out: dict[str, list[RunGap]] = {}
  for _, r in sorted(final.items()):
    out.setdefault(r["language"], []).append(_gap(inputs, r, problems))
  return out


def _grid_points(inputs: StudyInputs, problems: list[str]) -> dict[str, list[RunGap]]:
  """Every point of the per-language grid: each budget of each run, cooldown branches included."""
  out: dict[str, list[RunGap]] = {}
  rows = sorted((r for r in inputs.results if r.get("study") == GRID_STUDY), key=lambda r: (r["run_id"], r["D"]))
  for r in rows:
    out.setdefault(r["language"], []).append(_gap(inputs, r, problems))
  return out


def clearly_below(g: RunGap) -> bool:
  """Whether a point is at least MARGIN_NATS nats/token, or MARGIN_BPB bits/byte, below the unigram loss."""
  if g.gap is None:
    return False
  return g.gap <= -MARGIN_NATS or (g.gap_bpb is not None and g.gap_bpb <= -MARGIN_BPB)


def near_unigram(g: RunGap) -> bool:
  """Whether a run's final loss is not clearly below the unigram loss (above 1 - NEAR_UNIGRAM of it)."""
  return g.gap is not None and g.unigram is not None and g.gap > -NEAR_UNIGRAM * g.unigram


def _weak(block: Mapping[str, Any], lang: str) -> tuple[str, ...]:
  """The parameters the per-language fit calls weakly determined for `lang` (fit.json diagnostics)."""
  diag = block.get("diagnostics")
  d = diag.get(lang) if isinstance(diag, Mapping) else None
  return tuple(str(x) for x in (d.get("weak") or [])) if isinstance(d, Mapping) else ()


def weak_exponents(l: LanguageRegime) -> list[str]:
  return list(identifiability.weak_exponents(l.weak))


def exponents_determined(l: LanguageRegime) -> bool:
  """The design identifies the law and the data pin both exponents."""
  return l.identifiable is True and not weak_exponents(l)


def _grid(gaps: Iterable[RunGap]) -> list[RunGap]:
  """The gaps of the per-language grid's runs."""
  return [g for g in gaps if g.study == GRID_STUDY]


def _near_text(langs: list[LanguageRegime]) -> str:
  grid = [g for l in langs for g in _grid(l.gaps)]
  other = [g for l in langs for g in l.gaps if g.study != GRID_STUDY]
  n_grid, n_other = sum(map(near_unigram, grid)), sum(map(near_unigram, other))
  if not n_grid and not n_other:
    return ""
  parts = []
  if grid:
    parts.append(
      f"{n_grid} of {len(grid)} per-language-grid run(s)" + (" (these carry no scaling information)" if n_grid else "")
    )
  if other:
    parts.append(f"{n_other} of {len(other)} run-language result(s) of the other studies")
  return f" Not clearly below the unigram loss: {' and '.join(parts)}."


def _margin_text(langs: list[LanguageRegime], shown: int = 8) -> str:
  points = [g for l in langs for g in l.grid_points if g.gap is not None]
  if not points:
    return ""
  misses = [g for g in points if not clearly_below(g)]
  text = (
    f" {len(points) - len(misses)} of {len(points)} per-language grid points are at least {MARGIN_NATS} nats "
    f"(or {MARGIN_BPB} bits/byte) below the unigram loss"
  )
  if not misses:
    return text + "."
  listed = ", ".join(
    f"{display(g.language)} N={count_label(g.N)} at D={count_label(g.D)} ({g.gap:+.3f} nats)" for g in misses[:shown]
  )
  more = f" and {len(misses) - shown} more" if len(misses) > shown else ""
  return f"{text}; not: {listed}{more}."


def _summary(langs: list[LanguageRegime], rows: dict[str, list[dict]]) -> str:
  all_rows = [r for v in rows.values() for r in v]
  if not all_rows:
    return (
      "This study has no per-language runs, so it can show the pipeline's mixture effects at most; it cannot "
      "fit or test any scaling law."
    )
  Ns, tpp = [r["N"] for r in all_rows], [r["D"] / r["N"] for r in all_rows]
  where = (
    f"N {count_label(min(Ns))}–{count_label(max(Ns))} non-embedding parameters, "
    f"{min(tpp):.3g}–{max(tpp):.3g} tokens per parameter"
  )
  det = [display(l.language) for l in langs if exponents_determined(l)]
  undet = [display(l.language) for l in langs if l.identifiable is True and weak_exponents(l)]
  loose = [display(l.language) for l in langs if l.identifiable is False]
  undet_text = (
    f"the exponents of {', '.join(undet)} are not determined by these runs (the fits are shown, no verdict "
    "rests on them)"
  )
  loose_text = (
    f"the design cannot identify the laws of {', '.join(loose)} (too few sizes, budgets or residual degrees of "
    "freedom), so claims on their exponents and irreducible losses are 'not enough data'"
  )
  if det:
    others = "; ".join(t for t, ns in ((undet_text, undet), (loose_text, loose)) if ns)
    return (
      f"At this scale ({where}) the study can estimate the laws of {', '.join(det)} inside that range; it cannot "
      f"show whether the exponents hold at the paper's 0.1–14B parameters."
      + (f" {others[0].upper()}{others[1:]}." if others else "")
      + _near_text(langs)
      + _margin_text(langs)
    )
  why = []
  if undet:
    why.append(
      f"the loss differences between the sizes and budgets of {', '.join(undet)} are not resolved well enough "
      "to pin their exponents (the fits are shown, no verdict rests on them)"
    )
  if loose:
    why.append(loose_text)
  return (
    f"At this scale ({where}) the study can show that the method runs end to end and which effects exceed "
    f"the seed-to-seed noise; it cannot estimate any per-language exponent: {'; '.join(why) or 'no law is fitted'}."
    + _near_text(langs)
    + _margin_text(langs)
  )


def compute(inputs: StudyInputs, problems: list[str]) -> Regime:
  rows = monolingual_rows(inputs)
  found = per_language_law(inputs)
  block = found[1] if found else {}
  ident = identification(inputs, block)
  gaps = _gaps(inputs, problems)
  points = _grid_points(inputs, problems)
  out = []
  for lang in languages.NAMES:
    if lang not in rows and lang not in gaps:
      continue
    r = rows.get(lang, [])
    tpp = [x["D"] / x["N"] for x in r]
    g = gaps.get(lang, [])
    ok, why = ident.get(lang, (None, []))
    out.append(
      LanguageRegime(
        lang,
        len({x["N"] for x in r}),
        len({x["D"] for x in r}),
        len({x["run_id"] for x in r}),
        (min(tpp), max(tpp)) if tpp else (math.nan, math.nan),
        ok,
        tuple(why),
        sum(map(near_unigram, g)),
        tuple(g),
        _weak(block, lang),
        sum(map(near_unigram, _grid(g))),
        tuple(points.get(lang, ())),
      )
    )
  return Regime(tuple(out), _summary(out, rows))


def _range(xs: list[float]) -> str:
  xs = [x for x in xs if x is not None and math.isfinite(x)]
  return "—" if not xs else f"{min(xs):+.3f} … {max(xs):+.3f}"


def _identifiable_cells(l: LanguageRegime) -> tuple[str, str]:
  """The table's 'identifiable' and 'why not' cells."""
  if l.identifiable is None:
    return "—", "; ".join(l.problems) or "—"
  if not l.identifiable:
    return "**no**", "; ".join(l.problems) or "—"
  weak = weak_exponents(l)
  if weak:
    return "design only", f"{'/'.join(weak)} not pinned by the data"
  return "yes", "; ".join(l.problems) or "—"


def _near_cell(l: LanguageRegime) -> str:
  if l.grid_runs_near_unigram is None:  # a report.json from before the split was kept
    return f"{l.runs_near_unigram}/{len(l.gaps)}"
  grid = len(_grid(l.gaps))
  parts = [f"{l.grid_runs_near_unigram}/{grid} grid"] if grid else []
  if len(l.gaps) > grid:
    parts.append(f"{l.runs_near_unigram - l.grid_runs_near_unigram}/{len(l.gaps) - grid} other")
  return "; ".join(parts) or "—"


def _margin_cell(l: LanguageRegime) -> str:
  points = [g for g in l.grid_points if g.gap is not None]
  return f"{sum(map(clearly_below, points))}/{len(points)}" if points else "—"


def section(regime: Regime) -> Section:
  sec = Section("regime", "Regime and identifiability: what this study can show", intro=regime.summary)
  if not regime.languages:
    sec.missing.append("no complete runs in results.csv: nothing to place against the unigram model")
  rows = []
  for l in regime.languages:
    tpp = (
      "—" if not math.isfinite(l.tokens_per_param[0]) else f"{l.tokens_per_param[0]:.3g} – {l.tokens_per_param[1]:.3g}"
    )
    ident, why = _identifiable_cells(l)
    rows.append(
      [
        display(l.language),
        l.distinct_N,
        l.distinct_D,
        l.runs,
        tpp,
        _range([g.gap for g in l.gaps]),
        _range([g.gap_bpb for g in l.gaps]),
        _near_cell(l),
        _margin_cell(l),
        ident,
        ", ".join(l.weak) or "—",
        why,
      ]
    )
  sec.tables.append(
    Table(
      "regime",
      "Per language: design, tokens per parameter, loss against the unigram model, identifiability",
      [
        "language",
        "distinct N",
        "distinct D",
        "runs (per-language grid)",
        "tokens / parameter",
        "loss − unigram (nats/token)",
        "loss − unigram (bits/byte)",
        "runs near unigram",
        "grid points below the margin",
        "identifiable",
        "weakly determined",
        "why not",
      ],
      rows,
      "Unigram: add-0.5 token frequencies of the language's train split, scored on the same validation tokens as "
      f"each run (codelaw.evals.unigram). 'Near unigram': loss above {1 - NEAR_UNIGRAM:.0%} of the unigram loss. "
      "Identifiable: at least 3 distinct N, 3 distinct D and 3 residual degrees of freedom (fit.json diagnostics); "
      "'design only' where the design passes but the data do not pin alpha or beta. Weakly determined: the fit's "
      "interval reaches a bound of its start box or spans more than a decade (codelaw.laws.identifiability). "
      "Runs near unigram: per-language grid and, separately, the other studies' run-language results. "
      f"Grid points below the margin: every budget of the per-language grid (cooldown branches included) at "
      f"least {MARGIN_NATS} nats/token or {MARGIN_BPB} bits/byte below the unigram loss. "
      "Chinchilla-optimal is about 20 tokens per parameter; a grid should reach from below 5 to well above 20.",
    )
  )
  run_rows = [
    [
      g.run_id,
      display(g.language),
      count_label(g.N),
      count_label(g.D),
      fixed(g.loss),
      fixed(g.unigram),
      fixed(g.gap),
      fixed(g.gap_bpb),
    ]
    for l in regime.languages
    for g in l.gaps
  ]
  if run_rows:
    sec.tables.append(
      Table(
        "regime_runs",
        "Every run's final loss against the unigram model",
        [
          "run",
          "language",
          "N",
          "D",
          "loss (nats/token)",
          "unigram (nats/token)",
          "loss − unigram (nats/token)",
          "loss − unigram (bits/byte)",
        ],
        run_rows,
      )
    )
  return sec
