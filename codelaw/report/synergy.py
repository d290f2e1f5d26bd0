"""Bilingual synergy (paper §4, Table 1): Delta_ij = L_i(i+i) - L_i(i+j) and rel_ij = Delta_ij / L_i(i+i)
(positive = auxiliary j helps target i), from the synergy study's self-repetition and 50:50 pair runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from codelaw import languages
from codelaw.laws import presets
from codelaw.report import figures
from codelaw.report.figures import Figure, Section, display
from codelaw.report.inputs import StudyInputs
from codelaw.report.tables import Table


@dataclasses.dataclass
class Synergy:
  langs: list[str]
  baseline: dict[str, float]                        # L_i(i+i), mean over seeds
  loss: dict[str, dict[str, float]]                 # L_i(i+j), mean over seeds
  delta: dict[str, dict[str, float]]
  rel: dict[str, dict[str, float]]                  # fraction
  delta_sd: dict[str, dict[str, float]]             # across seeds (only where >= 2 seeds)
  size: str


def _final(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
  """One row per (run, language): the final budget (the largest D a run reports)."""
  best: dict[tuple, dict] = {}
  for r in rows:
    k = (r["run_id"], r["language"])
    if k not in best or r["D"] > best[k]["D"]:
      best[k] = r
  return list(best.values())


def _aux(r: dict[str, Any]) -> str:
  if r.get("aux"):
    return r["aux"]
  others = [n for n in languages.NAMES if n != r["language"] and r.get(f"p_{n}", 0.0) > 0]
  return others[0] if len(others) == 1 else ""


def compute(inputs: StudyInputs) -> Synergy | None:
  rows = _final([r for r in inputs.results if r.get("kind") in ("self", "pair")])
  base: dict[str, dict[str, float]] = {}                 # target -> seed -> loss
  mix: dict[tuple[str, str], dict[str, float]] = {}      # (target, aux) -> seed -> loss
  for r in rows:
    seed = str(r.get("seed", ""))
    if r["kind"] == "self":
      base.setdefault(r["language"], {})[seed] = r["loss"]
    elif (aux := _aux(r)) and aux != r["language"]:
      mix.setdefault((r["language"], aux), {})[seed] = r["loss"]
  if not base or not mix:
    return None
  langs = [n for n in languages.NAMES if n in base or any(n in k for k in mix)]
  out = Synergy(langs, {t: float(np.mean(list(s.values()))) for t, s in base.items()}, {}, {}, {}, {},
                size=next((r.get("size", "") for r in rows if r.get("size")), ""))
  for (t, a), seeds in mix.items():
    if t not in base:
      continue
    L_ii = out.baseline[t]
    out.loss.setdefault(t, {})[a] = float(np.mean(list(seeds.values())))
    out.delta.setdefault(t, {})[a] = L_ii - out.loss[t][a]
    out.rel.setdefault(t, {})[a] = out.delta[t][a] / L_ii
    paired = [base[t][s] - seeds[s] for s in seeds if s in base[t]]
    if len(paired) >= 2:
      out.delta_sd.setdefault(t, {})[a] = float(np.std(paired, ddof=1))
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
        ax.text(j, i, f"{delta[t][a]:+.3f}\n{M[i, j]:+.1f}%", ha="center", va="center", fontsize=6.5,
                color="white" if abs(M[i, j]) > 0.6 * vmax else "black")
  names = [display(n) for n in langs]
  ax.set_xticks(range(K), names, rotation=45, ha="right", fontsize=8)
  ax.set_yticks(range(K), names, fontsize=8)
  ax.set_xlabel("auxiliary language j")
  ax.set_ylabel("target language i (evaluated)")
  ax.set_title(title, fontsize=10)
  figures.plt.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="relative gain rel_ij (%)")


def _matrix_table(name: str, title: str, langs: list[str], baseline: dict, loss: dict, delta: dict, rel: dict,
                  note: str) -> Table:
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
  return Synergy(langs, {t: loss[t][t] for t in langs}, {t: {a: loss[t][a] for a in langs if a != t} for t in langs},
                 presets.synergy_delta(), presets.synergy_relative(), {}, size="not stated")


def section(inputs: StudyInputs, syn: Synergy | None) -> Section:
  sec = Section("synergy", "Bilingual synergy (paper Table 1)",
                intro="Delta_ij = L_i(i+i) - L_i(i+j): validation loss of target i after training on i alone "
                      "(self-repetition baseline) minus after a 50:50 mix of i and auxiliary j at the same total "
                      "tokens; rel_ij = Delta_ij / L_i(i+i). Positive = j helps i.")
  ref = paper()
  if syn is None:
    sec.missing.append("no synergy runs (kind self/pair) in results.csv; only the paper's matrix is shown")
  fig, axes = figures.subplots(2 if syn else 1, ncols=2, size=(6.2, 5.6))
  if syn:
    _heatmap(axes[0], syn.langs, syn.rel, syn.delta, syn.baseline, f"Ours (model {syn.size or '?'})")
  _heatmap(axes[-1], ref.langs, ref.rel, ref.delta, ref.baseline, "Paper, Table 1 (reconstructed)")
  fig.suptitle("Synergy: cell = Delta (loss) and rel (%); diagonal = self-repetition baseline loss", fontsize=11)
  fig.tight_layout()
  sec.figures.append(Figure("synergy_heatmap", "Synergy matrix, ours beside the paper's (rows = target, "
                            "columns = auxiliary language).", figures.to_png(fig)))
  if syn:
    sd_note = ""
    if syn.delta_sd:
      sds = [v for row in syn.delta_sd.values() for v in row.values()]
      sd_note = f" Across seeds the standard deviation of Delta is {np.median(sds):.4f} (median over cells)."
    sec.tables.append(_matrix_table(
        "synergy_ours", "Our synergy matrix: loss of target on target+aux (Delta, rel)", syn.langs, syn.baseline,
        syn.loss, syn.delta, syn.rel,
        f"Bold diagonal: self-repetition baseline L_i(i+i). Model size {syn.size or 'unknown'}." + sd_note))
  sec.tables.append(_matrix_table(
      "synergy_paper", "The paper's Table 1 (reconstructed, docs/paper.md §3.2)", ref.langs, ref.baseline,
      ref.loss, ref.delta, ref.rel, "128B tokens per run (64B + 64B); model size not stated by the paper."))
  return sec
