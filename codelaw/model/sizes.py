"""The size family, in one place: the paper's sizes (plus 7B and 14B) and a CPU family for laptops.

Paper sizes are LLaMA-like shapes (SwiGLU with d_ff about 8/3 d_model, head_dim 64-128, MHA); the name is
the approximate total parameter count with a 32k vocabulary and tied embeddings. The CPU family spans about
10k to 5M non-embedding parameters in roughly geometric steps (head_dim 16-64, d_ff about 3 d_model; the
smallest, for the quickstart, have one head).
`tests/test_counting.py` checks every name against its exact count.
"""

from __future__ import annotations

import dataclasses

from codelaw.errors import UserError
from codelaw.model.config import ModelConfig


@dataclasses.dataclass(frozen=True)
class Shape:
  d_model: int
  n_layers: int
  n_heads: int
  d_ff: int
  n_kv_heads: int = 0  # 0 = same as n_heads (plain multi-head attention)


SIZES: dict[str, Shape] = {
  # CPU family: name = approximate non-embedding parameters.
  "cpu-10k": Shape(d_model=16, n_layers=3, n_heads=1, d_ff=48),
  "cpu-20k": Shape(d_model=24, n_layers=3, n_heads=1, d_ff=64),
  "cpu-50k": Shape(d_model=32, n_layers=4, n_heads=2, d_ff=96),
  "cpu-100k": Shape(d_model=48, n_layers=4, n_heads=3, d_ff=112),
  "cpu-200k": Shape(d_model=64, n_layers=4, n_heads=4, d_ff=176),
  "cpu-500k": Shape(d_model=96, n_layers=5, n_heads=3, d_ff=240),
  "cpu-1m": Shape(d_model=128, n_layers=5, n_heads=4, d_ff=352),
  "cpu-2m": Shape(d_model=160, n_layers=6, n_heads=5, d_ff=480),
  "cpu-5m": Shape(d_model=256, n_layers=6, n_heads=4, d_ff=768),
  # Paper family: name = approximate total parameters with a 32k vocabulary (tied embeddings).
  "0.1B": Shape(d_model=768, n_layers=12, n_heads=12, d_ff=2048),
  "0.2B": Shape(d_model=1024, n_layers=14, n_heads=16, d_ff=2816),
  "0.4B": Shape(d_model=1280, n_layers=18, n_heads=20, d_ff=3456),
  "0.6B": Shape(d_model=1536, n_layers=20, n_heads=24, d_ff=4096),
  "1.1B": Shape(d_model=2048, n_layers=20, n_heads=16, d_ff=5632),
  "1.3B": Shape(d_model=2048, n_layers=24, n_heads=16, d_ff=5632),
  "1.6B": Shape(d_model=2304, n_layers=24, n_heads=18, d_ff=6144),
  "2.0B": Shape(d_model=2560, n_layers=24, n_heads=20, d_ff=6912),
  "2.4B": Shape(d_model=2560, n_layers=28, n_heads=20, d_ff=7168),
  "3.1B": Shape(d_model=3072, n_layers=26, n_heads=24, d_ff=8448),
  "7B": Shape(d_model=4096, n_layers=32, n_heads=32, d_ff=11008),
  "14B": Shape(d_model=5120, n_layers=44, n_heads=40, d_ff=13824),
}

PAPER_SIZES = ("0.1B", "0.2B", "0.4B", "0.6B", "1.1B", "1.3B", "1.6B", "2.0B", "2.4B", "3.1B")
CPU_SIZES = tuple(name for name in SIZES if name.startswith("cpu-"))


def model_config(size: str, vocab_size: int, **overrides) -> ModelConfig:
  """The `ModelConfig` of a named size; `overrides` replace any field (dtype, attention, n_kv_heads, ...)."""
  if size not in SIZES:
    raise UserError(f"model.size = {size!r}: expected one of {', '.join(SIZES)}")
  shape = SIZES[size]
  fields = dict(
    d_model=shape.d_model,
    n_layers=shape.n_layers,
    n_heads=shape.n_heads,
    n_kv_heads=shape.n_kv_heads or shape.n_heads,
    d_ff=shape.d_ff,
    vocab_size=vocab_size,
  )
  known = {f.name for f in dataclasses.fields(ModelConfig)}
  for key, value in overrides.items():
    if key not in known:
      raise UserError(f"model.{key}: not a model field (known: {', '.join(sorted(known))})")
    fields[key] = value
  return ModelConfig(**fields)
