"""Bilingual synergy (paper §4, Table 1): Delta_ij = L_i(i+i) - L_i(i+j) and rel_ij = Delta_ij / L_i(i+i)
(positive = auxiliary j helps target i), drawn from codelaw.laws.synergy: three arms per cell (the target
seen twice, `self_capped`, the paper's baseline; the target on fresh data, `self_fresh`; the 50:50 `pair`),
Delta split into the repetition penalty (capped - fresh) and the auxiliary's value against fresh data
(fresh - pair), each a paired t interval over the seeds the arms share.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from codelaw import languages
from codelaw.errors import UserError
from codelaw.laws import presets
from codelaw.laws import synergy as law_synergy
from codelaw.report import figures, units, verdicts
from codelaw.report.figures import Figure, Section, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.tables import Table
from codelaw.report.verdicts import Estimate


@dataclasses.dataclass
class Synergy:
  langs: list[str]
  baseline: dict[str, float]  # L_i(i+i): the capped arm, else the fresh arm; seed mean
  loss: dict[str, dict[str, float]]  # L_i(i+j), seed mean
  delta: dict[str, dict[str, float]]  # baseline - pair, nats/token
  rel: dict[str, dict[str, float]]  # fraction
  size: str
  paper_baseline: bool = True  # the baseline is the target seen twice (the paper's)
  rel_ci: dict[str, dict[str, Estimate]] = dataclasses.field(default_factory=dict)  # paired, fraction
  delta_ci: dict[str, dict[str, Estimate]] = dataclasses.field(default_factory=dict)  # paired, nats
  aux_value: dict[str, dict[str, Estimate]] = dataclasses.field(default_factory=dict)  # fresh - pair, nats
  penalty: dict[str, Estimate] = dataclasses.field(default_factory=dict)  # capped - fresh, nats
  seeds: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)  # paired seeds per cell
  bpb: dict[str, float] = dataclasses.field(default_factory=dict)  # bpb per nat


def _estimate(stat: dict[str, Any] | None) -> Estimate | None:
  """(estimate, interval) of a codelaw.laws.synergy statistic; None where the arms share no seed."""
  if not stat or stat.get("estimate") is None:
    return None
  ci = stat.get("interval")
  return float(stat["estimate"]), (float(ci[0]), float(ci[1])) if ci else None


def compute(inputs: StudyInputs) -> Synergy | None:
  try:
    matrix = law_synergy.synergy(inputs.results)
  except UserError:
    return None  # no synergy arms in this study
  targets = matrix["targets"]
  capped = {t: c["self_capped"]["loss"] for t, c in targets.items() if c["self_capped"]["loss"] is not None}
  fresh = {t: c["self_fresh"]["loss"] for t, c in targets.items() if c["self_fresh"]["loss"] is not None}
  paper_baseline = bool(capped)
  base = capped if paper_baseline else fresh
  if not base:
    return None
  size = next((r["size"] for r in inputs.results if r.get("kind") in law_synergy.KINDS and r.get("size")), "")
  langs = [n for n in languages.NAMES if n in targets or any(n in c["aux"] for c in targets.values())]
  out = Synergy(langs, base, {}, {}, {}, size=size, paper_baseline=paper_baseline, bpb=units.bpb_per_nat(inputs))
  for t, c in targets.items():
    if t in capped and t in fresh:
      out.penalty[t] = _estimate(c["repetition_penalty"]["loss"])
    for a, cell in c["aux"].items():
      pair = cell["pair"]["loss"]
      if t not in base or pair is None:
        continue
      out.loss.setdefault(t, {})[a] = pair
      out.delta.setdefault(t, {})[a] = base[t] - pair
      out.rel.setdefault(t, {})[a] = (base[t] - pair) / base[t]
      contrast = cell["delta"] if paper_baseline else cell["aux_vs_fresh"]
      out.seeds.setdefault(t, {})[a] = contrast["loss"]["n_seeds"]
      if paper_baseline and (rel := _estimate(cell["rel"])) is not None:
        out.delta_ci.setdefault(t, {})[a] = _estimate(cell["delta"]["loss"])
        out.rel_ci.setdefault(t, {})[a] = rel
      if t in fresh:
        out.aux_value.setdefault(t, {})[a] = _estimate(cell["aux_vs_fresh"]["loss"])
  return out


def _heatmap(ax, langs: list[str], rel: dict, delta: dict, baseline: dict, title: str) -> None:
  K = len(langs)
  M = np.full((K, K), np.nan)
  for i, t in enumerate(langs):
    for j, a in enumerate(langs):
      if a in rel.get(t, {}):
        M[i, j] = 100 * rel[t][a]
  vmax = max(1.0, float(np.nanmax(np.abs(M)))) if np.isfinite(M).any() else 1.0
  im = ax.imshow(M, cmap="RdBu", vmin=-vmax, vmax=vmax)
  for i, t in enumerate(langs):
    for j, a in enumerate(langs):
      if i == j and t in baseline:
        ax.text(j, i, f"L={baseline[t]:.3f}\n(self)", ha="center", va="center", fontsize=6.5, color="0.3")
      elif np.isfinite(M[i, j]):
        ax.text(
          j,
          i,
          f"{delta[t][a]:+.3f}\n{M[i, j]:+.1f}%",
          ha="center",
          va="center",
          fontsize=6.5,
          color="white" if abs(M[i, j]) > 0.6 * vmax else "black",
        )
  names = [display(n) for n in langs]
  ax.set_xticks(range(K), names, rotation=45, ha="right", fontsize=8)
  ax.set_yticks(range(K), names, fontsize=8)
  ax.set_xlabel("auxiliary language j")
  ax.set_ylabel("target language i (evaluated)")
  ax.set_title(title, fontsize=10)
  figures.plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="relative gain rel_ij (%)")


def _matrix_table(
  name: str, title: str, langs: list[str], baseline: dict, loss: dict, delta: dict, rel: dict, note: str
) -> Table:
  rows = []
  for t in langs:
    cells = [display(t)]
    for a in langs:
      if a == t:
        cells.append(f"**{baseline[t]:.4f}**" if t in baseline else "—")
      elif a in delta.get(t, {}):
        cells.append(f"{loss[t][a]:.4f} (Δ {delta[t][a]:+.4f}, {100 * rel[t][a]:+.2f}%)")
      else:
        cells.append("—")
    rows.append(cells)
  return Table(name, title, ["target \\ aux"] + [display(a) for a in langs], rows, note)


def paper() -> Synergy:
  loss = presets.table1()["loss"]
  langs = list(languages.NAMES)
  rel = presets.synergy_relative()
  return Synergy(
    langs,
    {t: loss[t][t] for t in langs},
    {t: {a: loss[t][a] for a in langs if a != t} for t in langs},
    presets.synergy_delta(),
    rel,
    size="not stated",
    rel_ci={t: {a: verdicts.exact(v) for a, v in row.items()} for t, row in rel.items()},
  )


def _est(e: Estimate | None, factor: float | None) -> str:
  """'x [lo, hi] bpb (x nats/token)'; no interval with fewer than 2 paired seeds."""
  if e is None:
    return "— (arm missing)"
  point, ci = e
  f, unit = (factor, "bpb") if factor is not None else (1.0, "nats/token")
  text = f"{point * f:+.4f}" + (f" [{ci[0] * f:+.4f}, {ci[1] * f:+.4f}]" if ci else "") + f" {unit}"
  text += f" ({point:+.4f} nats/token)" if factor is not None else ""
  return text + ("" if ci else "; 1 seed: no interval")


def _split_table(syn: Synergy) -> Table:
  rows = []
  for t in syn.langs:
    for a in syn.langs:
      if a == t or a not in syn.delta.get(t, {}):
        continue
      f = syn.bpb.get(t)
      rows.append(
        [
          display(t),
          display(a),
          syn.seeds.get(t, {}).get(a, 0),
          _est(syn.delta_ci[t].get(a), f) if syn.paper_baseline else "— (no self_capped arm)",
          _est(syn.penalty.get(t), f),
          _est(syn.aux_value.get(t, {}).get(a), f),
        ]
      )
  return Table(
    "synergy_split",
    "The paper's Delta split: repetition penalty + the auxiliary's value vs fresh data",
    [
      "target",
      "auxiliary",
      "paired seeds",
      "Delta = capped − pair",
      "repetition penalty = capped − fresh",
      "auxiliary vs fresh = fresh − pair",
    ],
    rows,
    "Positive Delta: the auxiliary beats the target's data seen twice (the paper's baseline); positive "
    "penalty: seeing the target's data twice is worse than fresh data; positive 'vs fresh': the "
    "auxiliary beats fresh target data. Brackets: 95% paired t intervals over seeds. Bits per byte of "
    "the target's validation text, nats/token beside.",
  )


def section(inputs: StudyInputs, syn: Synergy | None) -> Section:
  sec = Section(
    "synergy",
    "Bilingual synergy (paper Table 1)",
    intro="Delta_ij = L_i(i+i) - L_i(i+j): validation loss of target i after training on i alone with "
    "its data seen twice (the paper's self-repetition baseline) minus after a 50:50 mix of i and "
    "auxiliary j at the same total tokens; rel_ij = Delta_ij / L_i(i+i). Positive = j helps i. "
    "A third arm, i alone on fresh data, splits Delta into the repetition penalty and the "
    "auxiliary's value against fresh data.",
  )
  ref = paper()
  if syn is None:
    sec.missing.append(
      "no synergy runs (kinds self_capped/self_fresh/pair) in results.csv; only the paper's matrix is shown"
    )
  elif not syn.paper_baseline:
    sec.missing.append(
      "no self_capped runs (the target's data seen twice): the matrix uses the fresh-data arm "
      "as baseline, which is not the paper's Delta; the paper's synergy claims are not tested"
    )
  elif not syn.penalty:
    sec.missing.append("no self_fresh runs: Delta cannot be split into repetition penalty and auxiliary value")
  fig, axes = figures.subplots(2 if syn else 1, ncols=2, size=(6.2, 5.6))
  if syn:
    base = "data seen twice" if syn.paper_baseline else "fresh data (not the paper's baseline)"
    _heatmap(axes[0], syn.langs, syn.rel, syn.delta, syn.baseline, f"Ours (model {syn.size or '?'}; self = {base})")
  _heatmap(axes[-1], ref.langs, ref.rel, ref.delta, ref.baseline, "Paper, Table 1 (reconstructed)")
  fig.suptitle("Synergy: cell = Delta (loss) and rel (%); diagonal = self baseline loss", fontsize=11)
  fig.tight_layout()
  sec.figures.append(
    Figure(
      "synergy_heatmap",
      "Synergy matrix, ours beside the paper's (rows = target, columns = auxiliary language).",
      figures.to_png(fig),
    )
  )
  if syn:
    sec.tables.append(
      _matrix_table(
        "synergy_ours",
        "Our synergy matrix: loss of target on target+aux (Delta, rel)",
        syn.langs,
        syn.baseline,
        syn.loss,
        syn.delta,
        syn.rel,
        f"Bold diagonal: the self baseline L_i(i+i) ({'seen twice' if syn.paper_baseline else 'fresh data'}), "
        f"mean over seeds, nats/token. Model size {syn.size or 'unknown'}.",
      )
    )
    sec.tables.append(_split_table(syn))
  sec.tables.append(
    _matrix_table(
      "synergy_paper",
      "The paper's Table 1 (reconstructed, docs/paper.md §3.2)",
      ref.langs,
      ref.baseline,
      ref.loss,
      ref.delta,
      ref.rel,
      "128B tokens per run (64B + 64B); model size not stated by the paper.",
    )
  )
  return sec
