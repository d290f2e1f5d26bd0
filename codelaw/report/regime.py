"""The panel the report opens with: is this study in the regime a scaling law describes, and can its design
identify the laws (docs/science.md §1-2)? Per language: distinct sizes and budgets, tokens per parameter,
every run's final loss minus the unigram model's loss on the same validation tokens, identifiability; and
one sentence on what this scale can and cannot show."""

from __future__ import annotations

import functools
import math
from typing import Any

from codelaw import languages
from codelaw.contracts.report import LanguageRegime, Regime, RunGap
from codelaw.errors import UserError
from codelaw.evals.unigram import UnigramLoss, unigram_loss
from codelaw.report.figures import Section, count_label, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.scaling import identification, monolingual_rows, per_language_law
from codelaw.report.tables import Table, fixed
from codelaw.train.defaults import train_config

NEAR_UNIGRAM = 0.05  # a run within 5% of the unigram loss has learned little beyond token frequencies
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


def _gaps(inputs: StudyInputs, problems: list[str]) -> dict[str, list[RunGap]]:
  final: dict[tuple[str, str], dict] = {}
  for r in inputs.results:
    k = (r["run_id"], r["language"])
    if k not in final or r["D"] > final[k]["D"]:
      final[k] = r
  out: dict[str, list[RunGap]] = {}
  for (run_id, lang), r in sorted(final.items()):
    u = run_unigram(inputs.configs.get(run_id), lang, problems)
    bpb = r.get("bpb", math.nan)
    gap = None if u is None else r["loss"] - u.nats_per_token
    gap_bpb = None if u is None or not math.isfinite(bpb) else bpb - u.bits_per_byte
    out.setdefault(lang, []).append(
      RunGap(run_id, lang, r["N"], r["D"], r["loss"], None if u is None else u.nats_per_token, gap, gap_bpb)
    )
  return out


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
  loose = [display(l.language) for l in langs if l.identifiable is False]
  near = sum(l.runs_near_unigram for l in langs)
  near_text = f"; {near} run(s) are not clearly below the unigram loss and carry no scaling information" if near else ""
  if loose:
    return (
      f"At this scale ({where}) the study can show that the method runs end to end and which effects exceed "
      f"the seed-to-seed noise; it cannot identify the laws of {', '.join(loose)} (too few sizes, budgets "
      f"or residual degrees of freedom), so claims on their exponents and irreducible losses are 'not "
      f"enough data'{near_text}."
    )
  return (
    f"At this scale ({where}) the study can estimate per-language laws inside that range; it cannot show "
    f"whether the exponents hold at the paper's 0.1–14B parameters{near_text}."
  )


def compute(inputs: StudyInputs, problems: list[str]) -> Regime:
  rows = monolingual_rows(inputs)
  found = per_language_law(inputs)
  ident = identification(inputs, found[1] if found else {})
  gaps = _gaps(inputs, problems)
  out = []
  for lang in languages.NAMES:
    if lang not in rows and lang not in gaps:
      continue
    r = rows.get(lang, [])
    tpp = [x["D"] / x["N"] for x in r]
    g = gaps.get(lang, [])
    near = sum(x.gap is not None and x.unigram is not None and x.gap > -NEAR_UNIGRAM * x.unigram for x in g)
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
        near,
        tuple(g),
      )
    )
  return Regime(tuple(out), _summary(out, rows))


def _range(xs: list[float]) -> str:
  xs = [x for x in xs if x is not None and math.isfinite(x)]
  return "—" if not xs else f"{min(xs):+.3f} … {max(xs):+.3f}"


def section(regime: Regime) -> Section:
  sec = Section("regime", "Regime and identifiability: what this study can show", intro=regime.summary)
  if not regime.languages:
    sec.missing.append("no complete runs in results.csv: nothing to place against the unigram model")
  rows = []
  for l in regime.languages:
    tpp = (
      "—" if not math.isfinite(l.tokens_per_param[0]) else f"{l.tokens_per_param[0]:.3g} – {l.tokens_per_param[1]:.3g}"
    )
    ident = "—" if l.identifiable is None else ("yes" if l.identifiable else "**no**")
    rows.append(
      [
        display(l.language),
        l.distinct_N,
        l.distinct_D,
        l.runs,
        tpp,
        _range([g.gap for g in l.gaps]),
        _range([g.gap_bpb for g in l.gaps]),
        f"{l.runs_near_unigram}/{len(l.gaps)}",
        ident,
        "; ".join(l.problems) or "—",
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
        "identifiable",
        "why not",
      ],
      rows,
      "Unigram: add-0.5 token frequencies of the language's train split, scored on the same validation tokens as "
      f"each run (codelaw.evals.unigram). 'Near unigram': loss above {1 - NEAR_UNIGRAM:.0%} of the unigram loss. "
      "Identifiable: at least 3 distinct N, 3 distinct D and 3 residual degrees of freedom (fit.json diagnostics). "
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
