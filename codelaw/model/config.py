"""The decoder's hyper-parameters as one frozen dataclass, validated on construction."""

from __future__ import annotations

import dataclasses

from codelaw.errors import UserError

DTYPES = ("float32", "bfloat16")
REMATS = ("none", "full", "dots")  # what each block saves for the backward pass (layers.REMAT_POLICIES)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """LLaMA-2 style decoder shape. Parameters are always float32; `dtype` is the compute dtype."""

  d_model: int
  n_layers: int
  n_heads: int
  n_kv_heads: int
  d_ff: int
  vocab_size: int
  tie_embeddings: bool = True
  rope_theta: float = 10000.0
  dtype: str = "float32"
  attention: str = "xla"
  remat: str = "none"
  norm_eps: float = 1e-5

  def __post_init__(self):
    for key in ("d_model", "n_layers", "n_heads", "n_kv_heads", "d_ff", "vocab_size"):
      value = getattr(self, key)
      if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise UserError(f"model.{key} = {value!r}: expected a positive integer")
    if self.d_model % self.n_heads:
      raise UserError(f"model.n_heads = {self.n_heads} does not divide model.d_model = {self.d_model}")
    if self.n_heads % self.n_kv_heads:
      raise UserError(f"model.n_kv_heads = {self.n_kv_heads} does not divide model.n_heads = {self.n_heads}")
    if (self.d_model // self.n_heads) % 2:
      raise UserError(f"head dim {self.d_model // self.n_heads} must be even for RoPE")
    if self.dtype not in DTYPES:
      raise UserError(f"model.dtype = {self.dtype!r}: expected one of {', '.join(DTYPES)}")
    if self.remat not in REMATS:
      raise UserError(f"model.remat = {self.remat!r}: expected one of {', '.join(REMATS)}")
    if not self.rope_theta > 0:
      raise UserError(f"model.rope_theta = {self.rope_theta!r}: expected a positive number")

  @property
  def head_dim(self) -> int:
    return self.d_model // self.n_heads
