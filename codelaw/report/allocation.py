"""Allocation (paper §6): uniform vs recommended mixture p* (Figure 5) with the paper's guided deltas beside
ours, and the equal-weighted multilingual loss of guided vs uniform against size and tokens (Figure 1):
the fitted law's prediction as curves, the validation runs as measured points."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from codelaw import languages
from codelaw.errors import UserError
from codelaw.laws import allocation as solver
from codelaw.laws import presets
from codelaw.laws.fit_file import LawParams, load_fit
from codelaw.report import figures, verdicts
from codelaw.report.figures import Figure, Section, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.tables import Table, fixed, fmt, interval, signed

PAPER_CODE_TOKENS = 350e9  # the paper's guided run: 350B code tokens (plus 50B FineWeb-Edu, unchanged)
ARMS = ("uniform", "guided")


def _langs(alloc: dict) -> list[str]:
  langs = alloc.get("languages") or list(alloc["p_star"])
  return [n for n in languages.NAMES if n in langs]


def law_for(inputs: StudyInputs, alloc: dict) -> tuple[LawParams | None, str]:
  """The law the allocation was solved with: its fit file if still there, else a matching fit.json block."""
  src = str(alloc.get("fit", ""))
  try:
    if src == "paper":
      return presets.paper_law(), "the paper preset"
    if src and Path(src).is_file():
      return load_fit(src).law, src
    for path, block in inputs.fits:
      if block.get("law") == alloc.get("law"):
        return load_fit(block).law, str(path.relative_to(inputs.root))
  except UserError as e:
    return None, f"unusable fit ({e})"
  return None, "no fit file matching the allocation's law"


def objective_weights(inputs: StudyInputs, alloc: dict, langs: list[str]) -> dict[str, float]:
  """The language weights of the objective the validation tests: the prediction's, else the allocation's,
  else equal."""
  raw = (
    (inputs.prediction[1] if inputs.prediction else {}).get("weights")
    or alloc.get("weights")
    or {n: 1.0 for n in langs}
  )
  w = {n: float(raw.get(n, 0.0)) for n in langs}
  total = sum(w.values())
  return {n: v / total for n, v in w.items()} if total > 0 else {n: 1 / len(langs) for n in langs}


def measured(
  inputs: StudyInputs, langs: list[str], weights: dict[str, float] | None = None
) -> dict[str, dict[tuple[float, float], dict]]:
  """{arm: {(N, D): {"loss": weighted mean over langs (equal by default), then mean over seeds, "by_seed",
  "seeds", "complete"}}} from the validation runs (arms pair by seed)."""
  weights = weights or {n: 1.0 for n in langs}
  per_run: dict[tuple, dict[str, float]] = defaultdict(dict)
  for r in inputs.results:
    if r.get("kind") == "validation" and r.get("arm") in ARMS:
      per_run[(r["arm"], r["N"], r["D"], r["run_id"], str(r.get("seed", "")))][r["language"]] = r["loss"]
  out: dict[str, dict] = defaultdict(dict)
  for (arm, N, D, run_id, seed), losses in per_run.items():
    have = [n for n in langs if n in losses]
    if sum(weights.get(n, 0.0) for n in have) <= 0:
      continue
    e = out[arm].setdefault((N, D), {"values": [], "by_seed": {}, "complete": True})
    e["values"].append(float(np.average([losses[n] for n in have], weights=[weights.get(n, 0.0) for n in have])))
    e["by_seed"][seed or run_id] = e["values"][-1]
    e["complete"] &= len(have) == len(langs)
  for by_nd in out.values():
    for e in by_nd.values():
      e["loss"], e["seeds"] = float(np.mean(e["values"])), len(e["values"])
  return dict(out)


def _vec(alloc: dict, key: str, law: LawParams) -> np.ndarray:
  return np.asarray([float(alloc[key].get(n, 0.0)) for n in law.langs])


def _bars(alloc: dict, langs: list[str]) -> bytes:
  shares = {
    "uniform": [alloc["p_uniform"].get(n, 0.0) for n in langs],
    "p* (ours)": [alloc["p_star"][n] for n in langs],
  }
  if set(langs) == set(languages.NAMES):
    for reading in ("H1", "H2"):
      g = presets.paper_guided_shares(reading)
      shares[f"paper guided ({reading})"] = [g[n] for n in langs]
  unc = ((alloc.get("uncertainty") or {}).get("p_star")) or {}
  fig, ax = figures.plt.subplots(figsize=(1.5 * len(langs) + 2.5, 4.2))
  width, x = 0.8 / len(shares), np.arange(len(langs))
  for k, (label, p) in enumerate(shares.items()):
    p = np.asarray(p) * 100
    yerr = None
    if label.startswith("p*") and all(n in unc for n in langs):
      ci = np.asarray([unc[n] for n in langs]).T * 100
      yerr = np.abs(ci - p[None, :])
    bars = ax.bar(x + (k - (len(shares) - 1) / 2) * width, p, width, label=label, yerr=yerr, capsize=2)
    ax.bar_label(bars, labels=[f"{v:.1f}" for v in p], fontsize=6, padding=2)
  ax.set_xticks(x, [display(n) for n in langs])
  ax.set_ylabel("share of training tokens (%)")
  ax.set_title(
    f"Token allocation at N={figures.count_label(alloc['N'])} parameters, "
    f"D={figures.count_label(alloc['D'])} tokens ({alloc.get('law', '?')} law)",
    fontsize=10,
  )
  ax.legend(fontsize=8)
  ax.grid(axis="y", alpha=0.3)
  fig.tight_layout()
  return figures.to_png(fig)


def _objective_curve(law: LawParams, N, D, w: np.ndarray, p: np.ndarray) -> np.ndarray:
  """sum_i w_i L_i along a grid of N or D, in one batched float64 evaluation of the allocation's law."""
  n, d = (np.asarray(x, np.float64).reshape(-1, 1) for x in (N, D))
  with jax.enable_x64(True):
    losses = solver.law_losses(law, jnp.asarray(n), jnp.asarray(d), jnp.asarray(p, jnp.float64))
  return np.asarray(losses, np.float64) @ w


def _multilingual(alloc: dict, law: LawParams | None, meas: dict) -> bytes:
  """Top: the equal-weighted loss of both arms against N (at the allocation's D) and D (at its N).
  Bottom: the gain uniform - guided, which the top row's scale hides."""
  N0, D0 = float(alloc["N"]), float(alloc["D"])
  fig, axes = figures.subplots(4, ncols=2, size=(4.8, 3.3))
  styles = {"uniform": dict(color="tab:gray", ls="--"), "guided": dict(color="tab:red", ls="-")}
  for col, axis in enumerate(("N", "D")):
    top, bottom = axes[col], axes[2 + col]
    x0 = N0 if axis == "N" else D0
    at = lambda N, D: math.isclose(D, D0, rel_tol=0.05) if axis == "N" else math.isclose(N, N0, rel_tol=0.05)
    if law is not None:
      w = np.asarray([float((alloc.get("weights") or {}).get(n, 0.0)) for n in law.langs])
      w = np.full(len(law.langs), 1 / len(law.langs)) if w.sum() <= 0 else w / w.sum()
      grid = np.geomspace(x0 / 10, x0 * 10, 25)
      curves = {}
      for arm, key in (("uniform", "p_uniform"), ("guided", "p_star")):
        p = _vec(alloc, key, law)
        curves[arm] = _objective_curve(law, grid if axis == "N" else N0, D0 if axis == "N" else grid, w, p)
        top.plot(grid, curves[arm], label=f"{arm} (law)", **styles[arm])
      bottom.plot(grid, curves["uniform"] - curves["guided"], color="tab:red", label="predicted gain")
    for arm, by_nd in meas.items():
      pts = sorted((N if axis == "N" else D, e["loss"]) for (N, D), e in by_nd.items() if at(N, D))
      if pts:
        top.plot(*zip(*pts), "o", color=styles[arm]["color"], label=f"{arm} (measured)")
    gains = sorted(
      (k[0] if axis == "N" else k[1], meas["uniform"][k]["loss"] - e["loss"])
      for k, e in meas.get("guided", {}).items()
      if k in meas.get("uniform", {}) and at(*k)
    )
    if gains:
      bottom.plot(*zip(*gains), "o", color="tab:red", label="measured gain")
    bottom.axhline(0.0, color="0.5", lw=0.8)
    xlabel = "model size N (non-embedding parameters)" if axis == "N" else "training tokens D"
    where = f"D = {figures.count_label(D0)}" if axis == "N" else f"N = {figures.count_label(N0)}"
    for ax, ylabel in ((top, "equal-weighted loss (nats/token)"), (bottom, "uniform − guided (nats/token)")):
      ax.axvline(x0, color="0.7", lw=0.8)
      ax.set_xscale("log")
      figures.log_count_axis(ax.xaxis)
      ax.set_xlabel(xlabel)
      ax.set_ylabel(ylabel)
      ax.grid(alpha=0.3)
      if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    top.set_title(f"against {'size' if axis == 'N' else 'tokens'}, {where}", fontsize=10)
  fig.suptitle("Equal-weighted multilingual loss: guided (p*) vs uniform", fontsize=11)
  fig.tight_layout()
  return figures.to_png(fig)


def _delta_table(alloc: dict, langs: list[str]) -> Table:
  unc = ((alloc.get("uncertainty") or {}).get("p_star")) or {}
  D = float(alloc["D"])
  h1 = presets.figure5()["readings"]["H1"]["tokens"]
  h2 = presets.figure5()["readings"]["H2"]["tokens"]
  uni_paper = presets.figure5()["setup"]["uniform_per_language"]
  rows = []
  for n in langs:
    d_share = alloc["p_star"][n] - alloc["p_uniform"].get(n, 0.0)
    ci = unc.get(n)
    rows.append(
      [
        display(n),
        f"{100 * alloc['p_uniform'].get(n, 0.0):.2f}%",
        f"{100 * alloc['p_star'][n]:.2f}%" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""),
        signed(100 * d_share, 2, " pp"),
        f"{d_share * D:+.3g}",
        signed(d_share * PAPER_CODE_TOKENS / 1e9, 2),
        signed(h1[n] - uni_paper, 2),
        signed(h2[n] - uni_paper, 2),
        fixed(alloc.get("losses_uniform", {}).get(n)),
        fixed(alloc.get("losses_star", {}).get(n)),
      ]
    )
  gain = alloc.get("objective_uniform", math.nan) - alloc.get("objective_star", math.nan)
  gci = (_gain(alloc) or (None, None))[1]
  return Table(
    "allocation",
    "Uniform vs p*: shares, token deltas beside the paper's Figure 5, predicted losses",
    [
      "language",
      "uniform",
      "p* [CI]",
      "Δ share",
      "Δ tokens (ours, at D)",
      "Δ at 350B (B tokens)",
      "paper Δ H1 (B)",
      "paper Δ H2 (B)",
      "pred. loss uniform",
      "pred. loss p*",
    ],
    rows,
    f"Objective (equal-weighted predicted loss): uniform {fixed(alloc.get('objective_uniform'))} → p* "
    f"{fixed(alloc.get('objective_star'))} (gain {fmt(gain)}"
    + (f", CI [{fmt(gci[0])}, {fmt(gci[1])}]" if gci else "")
    + "). "
    "'Δ at 350B' rescales our share change to the paper's 350B code tokens. The paper's deltas: only "
    "Python +26.77B is unambiguous; H1 cuts Go (§6.1), H2 cuts Rust (abstract, §6.4) — paper.md §3.7.",
  )


def _gain(obj: Any) -> tuple[float, list[float] | None] | None:
  """(estimate, interval) of a predicted gain: {"gain": {"estimate", "interval"}}, that block alone, or an older
  allocation.json's "gain" number with "uncertainty.gain" as its interval."""
  if not isinstance(obj, dict):
    return None
  g = obj.get("gain", obj)
  if isinstance(g, (int, float)) and not isinstance(g, bool):
    g = {"estimate": g, "interval": (obj.get("uncertainty") or {}).get("gain")}
  try:
    est = float(g["estimate"])
  except (TypeError, KeyError, ValueError):
    return None
  ci = g.get("interval")
  return est, [float(ci[0]), float(ci[1])] if isinstance(ci, (list, tuple)) and len(ci) == 2 else None


def _gain_table(inputs: StudyInputs, alloc: dict, meas: dict) -> Table:
  """Predicted gain (written before the validation runs) beside the measured paired gain, per (N, D)."""
  pred, src, when = None, "none", ""
  if inputs.prediction is not None:
    pred, src = _gain(inputs.prediction[1]), str(inputs.prediction[0].relative_to(inputs.root))
    when = (
      ", written before the validation runs"
      if inputs.prediction[1].get("written_before_runs", True)
      else ", written AFTER some validation runs had started (runs_started_before)"
    )
  if pred is None and alloc:
    pred, src = _gain(alloc), "allocation.json (no validation/prediction.json)"
  rows = []
  for k, e in sorted(meas.get("guided", {}).items()):
    u = meas.get("uniform", {}).get(k)
    if u is None:
      continue
    point, ci = verdicts.paired([u["by_seed"][s] - e["by_seed"][s] for s in e["by_seed"] if s in u["by_seed"]])
    seeds = len([s for s in e["by_seed"] if s in u["by_seed"]])
    rows.append(
      [
        fmt(k[0]),
        fmt(k[1]),
        interval(pred[0], pred[1]) if pred else "—",
        interval(point, ci) if ci else f"{fixed(point)} (1 seed: no interval)",
        seeds,
      ]
    )
  return Table(
    "validation_gain",
    "Guided vs uniform: predicted gain beside measured gain",
    ["N", "D", "predicted gain [95%]", "measured gain [95%, paired over seeds]", "paired seeds"],
    rows,
    f"Gain = weighted loss of uniform − guided, the allocation's objective (nats/token; positive = "
    "guided is better). "
    f"Predicted: {src}{when}. Measured: Student's t over the per-seed "
    "differences of the two arms (same seeds, same evaluation tokens).",
  )


def section(inputs: StudyInputs) -> tuple[Section, Section, dict]:
  """(Figure 5 section, Figure 1 section, facts for the claims table)."""
  fig5 = Section(
    "allocation",
    "Token allocation: uniform vs p* (paper Figure 5)",
    intro="p* minimises the weighted sum of predicted per-language losses at fixed N and D "
    "(default: equal weights, the paper's 'equal-weighted average').",
  )
  fig1 = Section(
    "multilingual",
    "Equal-weighted multilingual loss, guided vs uniform (paper Figure 1)",
    intro="Mean validation loss over the languages (equal weights): lines from the fitted law at p* and "
    "at the uniform mixture (both held at the allocation's values while N or D varies), points "
    "from the guided-vs-uniform validation runs.",
  )
  facts: dict[str, Any] = {}
  if inputs.allocation is None:
    fig5.missing.append("no allocation.json (run the allocate job); the paper's guided deltas are listed alone")
    g = {r: presets.figure5()["readings"][r]["tokens"] for r in ("H1", "H2")}
    fig5.tables.append(
      Table(
        "allocation_paper",
        "The paper's Figure 5 guided allocation (billions of tokens)",
        ["language", "uniform", "guided H1", "guided H2"],
        [[display(n), 50.0, g["H1"][n], g["H2"][n]] for n in languages.NAMES],
        "H1/H2: the two readings of the lost labels (paper.md §3.7).",
      )
    )
  langs: list[str] = []
  alloc: dict = {}
  law = None
  if inputs.allocation is not None:
    path, alloc = inputs.allocation
    langs = _langs(alloc)
    fig5.notes.append(
      f"From {path.relative_to(inputs.root)}: {alloc.get('law', '?')} law, N = {fmt(alloc.get('N'))}, "
      f"D = {fmt(alloc.get('D'))}, KKT residual {fmt(alloc.get('kkt_residual'))}."
    )
    fig5.figures.append(
      Figure(
        "allocation_shares",
        "Token shares per language: uniform, p* (with its bootstrap "
        "interval when available) and the paper's guided mixture.",
        _bars(alloc, langs),
      )
    )
    fig5.tables.append(_delta_table(alloc, langs))
    law, law_src = law_for(inputs, alloc)
    facts["allocation"] = alloc
    facts["warnings"] = [f"allocation.json: {w}" for w in alloc.get("warnings") or []]
    if alloc.get("converged") is False:
      facts["warnings"].append(f"allocation.json: the solver did not converge ({alloc.get('reason', 'no reason')})")
    fig5.notes += [f"Warning: {w}" for w in facts["warnings"]]
    if law is None:
      fig1.missing.append(f"law curves left out: {law_src}")
    else:
      fig1.notes.append(f"Law curves from {law_src}.")
  langs = langs or list(languages.NAMES)
  weights = objective_weights(inputs, alloc, langs)
  meas = measured(inputs, langs, weights)
  facts["validation"] = meas
  if not meas:
    fig1.missing.append("no validation runs (kind validation, arm guided/uniform) in results.csv")
  if alloc and (law is not None or meas):
    fig1.figures.append(
      Figure(
        "multilingual_loss",
        "Equal-weighted loss against model size (at the allocation's D) and against tokens (at its N).",
        _multilingual(alloc, law, meas),
      )
    )
  elif not alloc:
    fig1.missing.append("no allocation.json: the guided and uniform mixtures are unknown, so no curves")
  if meas:
    rows = []
    for arm, by_nd in sorted(meas.items()):
      for (N, D), e in sorted(by_nd.items()):
        pred = None
        if law is not None and alloc:
          w = np.asarray([weights.get(n, 0.0) for n in law.langs])
          w = w / w.sum() if w.sum() > 0 else np.full(len(law.langs), 1 / len(law.langs))
          pred = solver.objective(law, N, D, w, _vec(alloc, "p_star" if arm == "guided" else "p_uniform", law))
        rows.append([arm, fmt(N), fmt(D), fixed(e["loss"]), fixed(pred), e["seeds"], e["complete"]])
    fig1.tables.append(
      Table(
        "validation",
        "Guided vs uniform: measured and predicted equal-weighted loss",
        ["arm", "N", "D", "measured loss", "predicted (law)", "seeds", "all languages"],
        rows,
        "Measured: the objective's weighted mean over languages of the validation loss (nats/token; "
        "equal weights unless the prediction or allocation sets them), then the mean over seeds.",
      )
    )
    if "guided" in meas and "uniform" in meas:
      fig1.tables.append(_gain_table(inputs, alloc, meas))
  return fig5, fig1, facts
