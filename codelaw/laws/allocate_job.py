"""Job `allocate`: solve for p*, compare with uniform (and with the paper's guided mix on the paper preset),
re-solve under the bootstrap fits, and write OUT/allocation.json and OUT/allocation.png.

Refused with a one-line error (nothing written): a fit whose data do not identify some language's law
(unless config.allow_unidentifiable; then allocation.json carries the reasons in `warnings`), and a solve
that did not converge (KKT residual above config.kkt_tol, failed line search or config.max_iter reached).
The gain interval evaluates the fixed p* and uniform under every bootstrap law, so it can include 0 or
lie below it. Exponents the fit calls weakly determined are allowed through with a warning in
allocation.json: the validation runs are what test such an allocation.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from codelaw import checks
from codelaw.contracts.allocation import Allocation, Gain
from codelaw.errors import UserError
from codelaw.interop import mixtures
from codelaw.io import atomic_write_bytes, atomic_write_json
from codelaw.laws import allocation, compute_optimal, presets
from codelaw.laws.fit_file import FitFile, load_fit

PAPER_N, PAPER_D = 1.5e9, 350e9


def _num(config, key: str, *, minimum: float = 0.0) -> float:
  return checks.number(config[key], f"config.{key}", lo=minimum)


def _subset(values: Mapping[str, Any], langs: tuple[str, ...], skip: float) -> dict[str, float]:
  # Config dicts list all 7 languages; keep the fitted ones whose value differs from "no constraint".
  return {n: float(v) for n, v in values.items() if n in langs and float(v) != skip}


def _interval(x: np.ndarray, level: float) -> list[float]:
  q = (1.0 - level) / 2.0
  return [float(np.quantile(x, q)), float(np.quantile(x, 1.0 - q))]


def _chart(langs, shares: dict[str, np.ndarray], errors: np.ndarray | None, title: str) -> bytes:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from codelaw.languages import BY_NAME

  fig, ax = plt.subplots(figsize=(1.3 * len(langs) + 2, 4.2))
  width = 0.8 / len(shares)
  x = np.arange(len(langs))
  for k, (label, p) in enumerate(shares.items()):
    pos = x + (k - (len(shares) - 1) / 2) * width
    yerr = None
    if errors is not None and label.startswith("p*"):
      yerr = np.abs(errors * 100 - p[None, :] * 100)
    bars = ax.bar(pos, p * 100, width, label=label, yerr=yerr, capsize=2)
    ax.bar_label(bars, labels=[f"{v * 100:.1f}" for v in p], fontsize=7, padding=2)
  ax.set_xticks(x, [BY_NAME[n].display for n in langs])
  ax.set_ylabel("share of training tokens (%)")
  ax.set_title(title, fontsize=10)
  ax.legend(fontsize=8)
  fig.tight_layout()
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=120)
  plt.close(fig)
  return buf.getvalue()


def run(config) -> dict:
  """Computes the allocation.json contents (no files written)."""
  fit_arg = str(config.fit or "")
  if not fit_arg:
    raise UserError("config.fit is required: a fit.json path or 'paper'")
  if fit_arg == "paper":
    fit = FitFile(law=presets.paper_law(tau_mapping=config.paper_tau), bootstrap=(), source="paper")
  else:
    fit = load_fit(fit_arg)
  law = fit.law
  langs = law.langs
  warnings = _identifiability_warnings(fit, bool(config.get("allow_unidentifiable", False)))
  N, D, C = _num(config, "N"), _num(config, "D"), _num(config, "flops")
  k_flops = _num(config, "flops_per_param_token", minimum=1e-12)
  if config.method not in ("auto", "water_filling", "numerical"):
    raise UserError(f"config.method = {config.method!r}: expected auto, water_filling or numerical")
  level = checks.fraction(config.confidence, "config.confidence")
  weights = allocation.normalise_weights(_subset(config.weights, langs, math.nan), langs)
  # The feasible set of p, as the solver, the compute-optimal plan and allocation.json's "constraints" name it.
  limits = dict(
    min_share=_subset(config.min_share, langs, 0.0),
    max_share=_subset(config.max_share, langs, 1.0),
    max_epochs=_num(config, "max_epochs") or None,
    unique_tokens=_subset(config.unique_tokens, langs, 0.0),
  )
  notes = []
  plan = None
  if C > 0:
    fpt = lambda n: k_flops * n
    plan = compute_optimal.for_mix(law, C, weights=weights, flops_per_token=fpt, method=config.method, **limits)
  if N == 0 and D == 0:
    if plan is not None:
      N, D = plan.N, plan.D
      notes.append("N and D are the compute-optimal plan for config.flops")
    elif fit_arg == "paper":
      N, D = PAPER_N, PAPER_D
      notes.append("N, D = the paper's guided run: 1.5B parameters, 350B code tokens")
  if not (N > 0 and D > 0):
    raise UserError(f"config.N = {N}, config.D = {D}: both must be > 0 (or set config.flops to plan them)")

  cons = allocation.build_constraints(law, D, **limits)
  max_iter = checks.positive_int(config.get("max_iter", allocation.MAX_ITER), "config.max_iter")
  kkt_tol = _num(config, "kkt_tol") if "kkt_tol" in config else allocation.KKT_TOL
  sol = allocation.solve(
    law, N, D, weights=weights, constraints=cons, method=config.method, max_iter=max_iter, kkt_tol=kkt_tol
  )
  if not sol.converged:
    raise UserError(
      f"allocation did not converge ({sol.reason}; {sol.method}, {sol.iterations} iterations, "
      f"KKT residual {sol.kkt_residual_relative:.3g} relative); no p* written"
    )
  p_uni = allocation.uniform(cons)
  losses_uni = [float(allocation.objective(law, N, D, np.eye(len(langs))[i], p_uni)) for i in range(len(langs))]
  obj_uni = float(weights @ np.asarray(losses_uni))
  as_dict = lambda v: {n: float(x) for n, x in zip(langs, v)}
  out: dict[str, Any] = {
    "weights": as_dict(weights),
    "units": {
      "N": "non-embedding parameters (raw count)",
      "D": "training tokens (raw count)",
      "law_evaluated_at": f"N / {law.n_unit:g}, D / {law.d_unit:g}",
    },
    "tokens_star": as_dict(sol.p * D),
    "losses_star": as_dict(sol.losses),
    "losses_uniform": as_dict(losses_uni),
    "uniform_feasible": bool(np.all(p_uni >= cons.lower - 1e-12) and np.all(p_uni <= cons.upper + 1e-12)),
    "kkt_residual_relative": sol.kkt_residual_relative,
    "marginal_utility": sol.marginal_utility,
    "active_constraints": sol.active,
    "method": sol.method,
    "iterations": sol.iterations,
    "constraints": {
      "lower": as_dict(cons.lower),
      "upper": as_dict(cons.upper),
      "upper_kind": dict(zip(langs, cons.upper_kind)),
      **limits,
    },
    "uncertainty": None,
    "notes": notes,
  }
  gain = Gain(obj_uni - sol.objective)
  if fit.bootstrap:
    boot = list(fit.bootstrap)
    # The gain of THIS recommendation: the fixed p* against uniform under each resampled law. (Re-solving
    # per resample would measure each resample's own optimum, which is >= uniform by construction.)
    gains = np.asarray(
      [allocation.objective(b, N, D, weights, p_uni) - allocation.objective(b, N, D, weights, sol.p) for b in boot]
    )
    gain = Gain(gain.estimate, tuple(_interval(gains, level)), level, len(boot))
    # Where p* itself would move under each resampled law.
    P = allocation.solve_many(boot, N, D, weights, cons)
    ints = np.asarray([_interval(P[:, i], level) for i in range(len(langs))])  # [K, 2]
    out["uncertainty"] = {
      "level": level,
      "resamples": len(boot),
      "p_star": {n: ints[i].tolist() for i, n in enumerate(langs)},
      "gain": list(gain.interval),
    }
  if plan is not None:
    out["compute_optimal"] = {
      "flops": C,
      "flops_per_param_token": k_flops,
      "per_language": compute_optimal.per_language(law, C, None if k_flops == 6.0 else (lambda n: k_flops * n)),
      "mix": {"N": plan.N, "D": plan.D, "p": as_dict(plan.solution.p), "objective": plan.solution.objective},
    }
  if fit_arg == "paper":
    fig5 = presets.figure5()
    guided = np.asarray([presets.paper_guided_shares(config.paper_reading)[n] for n in langs])
    out["paper_guided"] = {
      "reading": config.paper_reading,
      "description": fig5["readings"][config.paper_reading]["description"],
      "p": as_dict(guided),
      "objective": allocation.objective(law, N, D, weights, guided),
      "deltas_billion_tokens": fig5["published_deltas"],
      "notes": fig5["notes"],
      "preset_assumptions": "A_i = B_i = 1 with N, D in billions (not published); tau = Table 1 "
      f"({config.paper_tau}); alpha, beta, E from Figure 2",
    }
  return Allocation(
    law=law.family,
    fit=fit.source,
    languages=langs,
    N=N,
    D=D,
    p_star=as_dict(sol.p),
    p_uniform=as_dict(p_uni),
    objective_star=sol.objective,
    objective_uniform=obj_uni,
    gain=gain,
    converged=True,
    reason="",
    kkt_residual=sol.kkt_residual,
    kkt_tolerance=sol.kkt_tolerance,
    warnings=tuple(warnings),
    extra=out,
  ).to_json()


def _identifiability_warnings(fit: FitFile, allow: bool) -> list[str]:
  """Refuses a law some language's data do not identify (one line), or returns the warnings to carry."""
  if fit.unidentifiable is None:
    return [] if fit.source == "paper" else [f"{fit.source} records no identifiability diagnostics"]
  # Weak exponents are not refused (the validation runs test the allocation); the warning says why its
  # predicted gain may be loose.
  weak = "; ".join(f"{lang}: {', '.join(p)}" for lang, p in fit.weak_exponents.items())
  warnings = (
    [f"exponents weakly determined by the data ({weak}): the allocation and its gain rest on them"] if weak else []
  )
  if fit.unidentifiable and not allow:
    lines = [f"{lang}: {'; '.join(p)}" for lang, p in fit.unidentifiable.items()]
    raise UserError(
      f"config.fit = {fit.source!r}: the data do not identify the law of "
      f"{', '.join(fit.unidentifiable)} ({lines[0]}); set config.allow_unidentifiable=True to "
      "allocate anyway"
    )
  return [f"law not identifiable: {lang}: {'; '.join(p)}" for lang, p in fit.unidentifiable.items()] + warnings


def main(config, workdir: str) -> None:
  result = run(config)
  out = Path(workdir)
  langs = result["languages"]
  shares = {
    "uniform": np.asarray([result["p_uniform"][n] for n in langs]),
    "p* (ours)": np.asarray([result["p_star"][n] for n in langs]),
  }
  if "paper_guided" in result:
    shares[f"paper guided ({result['paper_guided']['reading']})"] = np.asarray(
      [result["paper_guided"]["p"][n] for n in langs]
    )
  errors = None
  if result["uncertainty"]:
    errors = np.asarray([result["uncertainty"]["p_star"][n] for n in langs]).T
  title = (
    f"{result['law']} law, N={result['N']:.3g}, D={result['D']:.3g}: "
    f"objective {result['objective_uniform']:.4f} (uniform) -> {result['objective_star']:.4f} (p*)"
  )
  atomic_write_bytes(out / "allocation.png", _chart(langs, shares, errors, title))
  atomic_write_json(out / "allocation.json", result)
  mixtures.write(out, result)  # OUT/mixtures/: p* and uniform in the formats other trainers read
  gain = result["gain"]
  interval = "" if gain["interval"] is None else f" [{gain['interval'][0]:.6g}, {gain['interval'][1]:.6g}]"
  print(
    f"wrote {out / 'allocation.json'}: gain {gain['estimate']:.6g}{interval}, "
    f"kkt residual {result['kkt_residual']:.2e}" + "".join(f"\nwarning: {w}" for w in result["warnings"])
  )
