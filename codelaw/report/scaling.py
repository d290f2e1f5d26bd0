"""Per-language scaling (paper Figure 2): measured loss against tokens for each model size, the fitted law
L = E + A/N^alpha + B/D^beta with its bootstrap band, and the fitted parameters beside the paper's.

A language whose law the design cannot identify (fit.json `diagnostics.<lang>.identifiable` false, or, for a
fit without diagnostics, fewer than 3 sizes, 3 budgets or 3 residual degrees of freedom in its rows) is shown
as "not identifiable": its points are drawn, its curve and parameters are not, and no claim uses it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from codelaw import languages
from codelaw.laws import identifiability, presets
from codelaw.report import figures, units
from codelaw.report.figures import Figure, Section, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.tables import Table, fmt, interval

PARAMS = ("E", "A", "B", "alpha", "beta")
# Families whose per-language terms reduce to the Chinchilla law on a monolingual run (p_i = 1, Deff = D).
MONOLINGUAL_FAMILIES = ("chinchilla", "effective_data", "he")


def monolingual_rows(inputs: StudyInputs) -> dict[str, list[dict[str, Any]]]:
  """Rows of runs trained on one language only and evaluated on it (the per-language grid)."""
  out: dict[str, list[dict[str, Any]]] = {}
  for r in inputs.results:
    lang = r["language"]
    if r.get("kind", "") in ("monolingual", "") and r.get(f"p_{lang}", 0.0) >= 1 - 1e-9:
      out.setdefault(lang, []).append(r)
  return {n: out[n] for n in languages.NAMES if n in out}


def per_language_law(inputs: StudyInputs) -> tuple[Path, dict] | None:
  """The fit whose per-language parameters draw the curves: a chinchilla fit first, else a family that
  reduces to it on monolingual data."""
  usable = [(p, b) for p, b in inputs.fits if b.get("law") in MONOLINGUAL_FAMILIES]
  usable.sort(key=lambda pb: MONOLINGUAL_FAMILIES.index(pb[1]["law"]))
  return usable[0] if usable else None


def law_params(block: dict) -> dict[str, dict[str, float]]:
  """{lang: {E, A, B, alpha, beta}} for the languages whose five parameters are all finite numbers."""
  edge = nonfinite(block)
  return {
    lang: {k: float(entry[k]) for k in PARAMS}
    for lang, entry in (block.get("languages") or {}).items()
    if lang in languages.BY_NAME and isinstance(entry, Mapping) and lang not in edge
  }


def nonfinite(block: dict) -> dict[str, list[str]]:
  """{lang: parameters} for languages whose fitted law has parameters that are missing or not finite numbers
  (A = inf: the optimum sits at the edge of the parameter space, where the N-term cannot be told from E)."""
  out = {}
  for lang, entry in (block.get("languages") or {}).items():
    if lang in languages.BY_NAME and isinstance(entry, Mapping):
      bad = [k for k in PARAMS if not _finite(entry.get(k))]
      if bad:
        out[lang] = bad
  return out


def _finite(v: Any) -> bool:
  return math.isfinite(_number(v))


def _nonfinite_reason(keys: list[str]) -> str:
  return f"fit at the edge of the parameter space ({', '.join(f'{k} not finite' for k in keys)})"


BPB_UNIT = "bits/byte"


def fitted_in_bpb(block: dict) -> bool:
  """Whether the law was fitted on bits per byte (fit.json loss_unit) rather than nats per token."""
  return block.get("loss_unit") == BPB_UNIT


def identification(inputs: StudyInputs, block: dict) -> dict[str, tuple[bool, list[str]]]:
  """{language: (identifiable, problems)} for every language with a fitted law or monolingual rows."""
  diag = block.get("diagnostics") or {}
  rows = monolingual_rows(inputs)
  out = {}
  for lang in [n for n in languages.NAMES if n in law_params(block) or n in rows]:
    d = diag.get(lang) if isinstance(diag, Mapping) else None
    if isinstance(d, Mapping) and "identifiable" in d:
      out[lang] = (bool(d["identifiable"]), [str(x) for x in d.get("problems") or []])
    elif lang in rows:
      r = rows[lang]
      design = identifiability.design(
        np.asarray([x["N"] for x in r]),
        np.asarray([x["D"] for x in r]),
        np.asarray([x["run_id"] for x in r]),
        len(PARAMS),
      )
      found = identifiability.problems(design)
      out[lang] = (not found, found)
    else:
      out[lang] = (False, ["the fit records no design diagnostics and the study has no monolingual rows for it"])
  return out


@dataclasses.dataclass
class Evidence:
  """The per-language laws claims may rest on: identifiable languages only, with their bootstrap draws."""

  params: dict[str, dict[str, float]]
  draws: dict[str, dict[str, np.ndarray]]
  excluded: dict[str, str]  # language -> why it is left out
  weak: dict[str, list[str]]  # language -> weakly determined parameters (fit.json diagnostics)
  in_bpb: bool = False  # E is in bits per byte (the law was fitted on bpb)


def evidence(inputs: StudyInputs) -> Evidence | None:
  found = per_language_law(inputs)
  if not found:
    return None
  block = found[1]
  ident = identification(inputs, block)
  params = law_params(block)
  draws = bootstrap_draws(block)
  ok = {n: p for n, p in params.items() if ident.get(n, (False, []))[0]}
  excluded = {
    n: "not identifiable: " + "; ".join(ident.get(n, (False, ["no diagnostics"]))[1]) for n in params if n not in ok
  } | {n: _nonfinite_reason(keys) for n, keys in nonfinite(block).items()}
  diag = block.get("diagnostics") or {}
  weak = {n: [str(x) for x in (diag.get(n) or {}).get("weak") or []] for n in ok if isinstance(diag.get(n), Mapping)}
  return Evidence(ok, {n: d for n, d in draws.items() if n in ok}, excluded, weak, fitted_in_bpb(block))


def bootstrap_draws(block: dict) -> dict[str, dict[str, np.ndarray]]:
  """{lang: {param: draws}} from fit.json's bootstrap in either layout ({lang: {param: [values]}} or
  [{"languages": {lang: {param: value}}}, ...]); {} if none. Read as plain numbers (a missing or non-numeric
  value is NaN): a resample may put an exponent at or below 0, a legitimate draw for an interval, which the
  allocation's fit contract (positive exponents only) would refuse."""
  boot = block.get("bootstrap")
  if isinstance(boot, list):
    resamples = [d.get("languages") or {} for d in boot if isinstance(d, Mapping)]
    names = {lang for r in resamples if isinstance(r, Mapping) for lang in r}
    boot = {lang: {k: [(r.get(lang) or {}).get(k) for r in resamples] for k in PARAMS} for lang in names}
  if not isinstance(boot, Mapping):
    return {}
  out = {}
  for lang in languages.NAMES:
    entry = boot.get(lang)
    if isinstance(entry, Mapping) and all(isinstance(entry.get(k), list) for k in PARAMS):
      arrs = {k: np.asarray([_number(v) for v in entry[k]], np.float64) for k in PARAMS}
      if len({a.size for a in arrs.values()}) == 1 and arrs["E"].size:
        out[lang] = arrs
  return out


def _number(v: Any) -> float:
  try:
    return float(v)
  except (TypeError, ValueError):
    return float("nan")


def predict(p: dict[str, Any], N, D):
  # N**alpha overflowing to inf (alpha in the hundreds, a weakly determined fit) is the right limit: A / inf = 0.
  with np.errstate(over="ignore"):
    return p["E"] + p["A"] / np.power(N, p["alpha"]) + p["B"] / np.power(D, p["beta"])


def _draw_curves(draws: dict[str, np.ndarray], N: float, grid: np.ndarray) -> np.ndarray:
  """[draws, grid] predicted losses of the bootstrap draws whose curve is finite everywhere on `grid`.

  A draw at the edge of the parameter space (A or B infinite, an exponent at 0) predicts inf - inf or 0 * inf
  somewhere; one such draw would turn the whole band into NaN. No band at all (an empty array) when fewer than
  half of the draws are finite: the band would then describe a minority of the resamples.
  """
  with np.errstate(divide="ignore", invalid="ignore"):  # predict() already takes an overflow as its limit
    curves = predict({k: v[:, None] for k, v in draws.items()}, N, grid[None, :])
  finite = np.all(np.isfinite(curves), axis=1)
  return curves[finite] if 2 * finite.sum() >= len(finite) else curves[:0]


def _intervals(block: dict, lang: str, draws: dict[str, np.ndarray] | None, level: float) -> dict[str, list]:
  ci = ((block.get("languages") or {}).get(lang) or {}).get("ci") or {}
  if not ci and draws:
    q = 100 * (1 - level) / 2
    ci = {k: [float(np.percentile(v, q)), float(np.percentile(v, 100 - q))] for k, v in draws.items()}
  return ci


def _figure(
  rows: dict[str, list[dict]], params: dict[str, dict], draws: dict, level: float, key: str = "loss"
) -> bytes:
  fig, axes = figures.subplots(len(rows), ncols=4)
  for ax, (lang, lang_rows) in zip(axes, rows.items()):
    Ns = sorted({r["N"] for r in lang_rows})
    cmap = figures.plt.get_cmap("viridis")
    Ds = np.asarray([r["D"] for r in lang_rows])
    grid = np.geomspace(Ds.min() / 1.5, Ds.max() * 1.5, 60)
    for k, N in enumerate(Ns):
      color = cmap(0.1 + 0.8 * k / max(1, len(Ns) - 1))
      sel = sorted((r for r in lang_rows if r["N"] == N), key=lambda r: r["D"])
      size = sel[0].get("size") or ""
      ax.plot(
        [r["D"] for r in sel],
        [r[key] for r in sel],
        "o",
        color=color,
        ms=4,
        label=f"{size} (N={figures.count_label(N)})".strip(),
      )
      if lang in params:
        # A law at the edge of the parameter space (A = inf and N**alpha = inf) has no curve: nothing is drawn.
        with np.errstate(invalid="ignore"):
          ax.plot(grid, predict(params[lang], N, grid), "-", color=color, lw=1.2)
        if lang in draws:
          curves = _draw_curves(draws[lang], N, grid)
          if len(curves):
            q = 100 * (1 - level) / 2
            ax.fill_between(
              grid,
              np.percentile(curves, q, axis=0),
              np.percentile(curves, 100 - q, axis=0),
              color=color,
              alpha=0.18,
              lw=0,
            )
    # Keep the measured points readable: a fit with a huge B/D^beta term can shoot up just outside the data.
    losses = np.asarray([r[key] for r in lang_rows])
    margin = 0.5 * max(float(np.ptp(losses)), 0.05 * float(losses.max()))
    ax.set_ylim(losses.min() - margin, losses.max() + margin)
    ax.set_xscale("log")
    figures.log_count_axis(ax.xaxis)
    ax.set_title(display(lang), fontsize=10)
    ax.set_xlabel("training tokens D")
    ax.set_ylabel("validation loss (bits/byte)" if key == "bpb" else "validation loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
  fig.suptitle(
    "Per-language scaling: points = measured runs, lines = fitted law"
    + (f", bands = {level:.0%} bootstrap interval" if draws else ""),
    fontsize=11,
  )
  fig.tight_layout()
  return figures.to_png(fig)


def _profile(ci: Any, diag: Any) -> str:
  """The profile-likelihood interval, marked open where the profile does not bound the exponent (it reaches an
  end of its grid, or no grid value comes within the critical value of the optimum: fit.json diagnostics)."""
  if not (isinstance(ci, (list, tuple)) and len(ci) == 2):
    return ""
  is_open = isinstance(diag, dict) and bool(diag.get("open"))
  return f"; profile [{fmt(float(ci[0]), 3)}, {fmt(float(ci[1]), 3)}]" + (" (open)" if is_open else "")


def section(inputs: StudyInputs, level: float = 0.95) -> Section:
  sec = Section(
    "scaling",
    "Per-language scaling laws (paper Figure 2)",
    intro="L(N, D) = E + A / N^alpha + B / D^beta with N = non-embedding parameters and D = training "
    "tokens as raw counts; losses are validation cross-entropy in nats per token.",
  )
  rows = monolingual_rows(inputs)
  bpb = units.bpb_per_nat(inputs)
  found = per_language_law(inputs)
  block = found[1] if found else {}
  ident = identification(inputs, block) if block else {}
  fitted = law_params(block)
  params = {n: p for n, p in fitted.items() if ident.get(n, (False, []))[0]}
  draws = {n: d for n, d in (bootstrap_draws(block) if block else {}).items() if n in params}
  edge = nonfinite(block)
  for n, keys in edge.items():
    sec.notes.append(
      f"{display(n)}: {_nonfinite_reason(keys)}; its points are drawn without a curve and its parameters are not "
      "used by any claim."
    )
  for n in fitted:
    if n not in params:
      sec.notes.append(
        f"{display(n)}: not identifiable ({'; '.join(ident.get(n, (False, []))[1])}); its points "
        "are drawn without a curve and its parameters are not used by any claim."
      )
  if found:
    sec.notes.insert(0, f"Fitted law: {block.get('law')} from {found[0].relative_to(inputs.root)}.")
  else:
    sec.missing.append(
      "no per-language law in any fit.json (run the fit job on this study); curves and the parameter table are left out"
    )
  if rows:
    sec.figures.append(
      Figure(
        "scaling_per_language",
        "Validation loss against training tokens, one colour per model size, for each language.",
        _figure(rows, params, draws, level, "bpb" if fitted_in_bpb(block) else "loss"),
      )
    )
  else:
    sec.missing.append("no monolingual runs in results.csv (the per-language study); no scaling curves")
  paper = presets.figure2()["languages"]
  if fitted or edge:
    table_rows = []
    for lang in languages.NAMES:
      if lang in edge:
        table_rows.append(
          [display(lang), len(rows.get(lang, []))]
          + ["edge of parameter space"] * 8
          + [paper[lang]["L_inf"], paper[lang]["alpha_N"], paper[lang]["alpha_D"]]
        )
        continue
      if lang not in fitted:
        continue
      if lang not in params:
        table_rows.append(
          [display(lang), len(rows.get(lang, []))]
          + ["not identifiable"] * 8
          + [paper[lang]["L_inf"], paper[lang]["alpha_N"], paper[lang]["alpha_D"]]
        )
        continue
      p, ci = params[lang], _intervals(block, lang, draws.get(lang), level)
      diag = (block.get("diagnostics") or {}).get(lang) or {}
      held = (diag.get("leave_largest_out") or {}).get("mean_abs_rel_error") if isinstance(diag, dict) else None
      prof = (block.get("profile") or {}).get(lang) or {}
      profile_diag = (diag.get("profile") or {}) if isinstance(diag, dict) else {}
      f = bpb.get(lang)
      # Convert the fitted unit into the other one (bits per byte = nats per token * f).
      g = (1 / f if fitted_in_bpb(block) else f) if f else None
      other = interval(p["E"] * g, [v * g for v in ci["E"]] if ci.get("E") else None) if g else "—"
      e_bpb, e_nats = (
        (interval(p["E"], ci.get("E")), other) if fitted_in_bpb(block) else (other, interval(p["E"], ci.get("E")))
      )
      table_rows.append(
        [
          display(lang),
          len(rows.get(lang, [])),
          e_bpb,
          e_nats,
          interval(p["alpha"], ci.get("alpha")) + _profile(prof.get("alpha"), profile_diag.get("alpha")),
          interval(p["beta"], ci.get("beta")) + _profile(prof.get("beta"), profile_diag.get("beta")),
          fmt(p["A"]),
          fmt(p["B"]),
          fmt(diag.get("rmse_log")) if isinstance(diag, dict) else "—",
          fmt(held),
          paper[lang]["L_inf"],
          paper[lang]["alpha_N"],
          paper[lang]["alpha_D"],
        ]
      )
    sec.tables.append(
      Table(
        "per_language_parameters",
        "Fitted per-language parameters beside the paper's Figure 2",
        [
          "language",
          "points (branches included)",
          "E (ours, bits/byte)",
          "E (ours, nats/token)",
          "alpha (N, ours)",
          "beta (D, ours)",
          "A (ours)",
          "B (ours)",
          "rmse log L",
          "held-out rel. err.",
          "L_inf (paper)",
          "alpha_N (paper)",
          "alpha_D (paper)",
        ],
        table_rows,
        note=f"Brackets: {level:.0%} bootstrap intervals (run-level), then the profile-likelihood interval where "
        "the fit records one, '(open)' where it does not bound the exponent. E compares across languages in "
        "bits per byte (tokenizers compress languages differently); in nats/token it compares with the paper's "
        "L_inf. Exponents do not depend on units; A and B do (ours: raw counts; the paper's are not published). "
        "Held-out rel. err.: mean |relative error| on the largest model when it is left out of the fit.",
      )
    )
  return sec
