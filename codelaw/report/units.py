"""Bits per byte for cross-language comparisons (docs/science.md §5): tokenizers compress languages
differently, so nats per token do not compare across languages. The factor per language comes from the
results table itself (bpb / loss of the same row: 1 / (bytes per token * ln 2) of its validation split)."""

from __future__ import annotations

import math

import numpy as np

from codelaw.report.inputs import StudyInputs


def bpb_per_nat(inputs: StudyInputs) -> dict[str, float]:
  """{language: bits per byte per nat per token}, the median over its rows that carry both numbers."""
  ratios: dict[str, list[float]] = {}
  for r in inputs.results:
    bpb = r.get("bpb", math.nan)
    if isinstance(bpb, float) and math.isfinite(bpb) and bpb > 0:
      ratios.setdefault(r["language"], []).append(bpb / r["loss"])
  return {lang: float(np.median(v)) for lang, v in ratios.items()}


def both(nats: float | None, factor: float | None, digits: int = 4) -> str:
  """'x bpb (y nats/token)', or nats alone where the factor is unknown."""
  if nats is None or not math.isfinite(nats):
    return "—"
  if factor is None:
    return f"{nats:+.{digits}f} nats/token"
  return f"{nats * factor:+.{digits}f} bpb ({nats:+.{digits}f} nats/token)"
