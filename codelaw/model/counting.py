"""Exact parameter counts and training FLOPs of a `ModelConfig`, without building the model.

Conventions:
- `n_params` is non-embedding: every attention and MLP matrix plus every RMSNorm scale (per layer two, and
  the final norm). The token embedding and, when untied, the output projection are embedding parameters.
- `flops_per_token(cfg, seq_len)` counts training (forward + backward = 3 x forward) multiply-adds as 2
  FLOPs each: 6 x (matmul weights, including the output projection, which is a matmul even when tied) plus
  attention 12 * n_layers * n_heads * head_dim * seq_len, i.e. QK^T and AV over the full `seq_len`
  context without halving for the causal mask (the PaLM / Chinchilla appendix convention). Norms,
  softmax, RoPE and the embedding gather are not counted. Run results keep this convention.
- `causal=True` halves the attention term: the work a causal kernel actually does (MaxText's MFU
  convention). MFU uses it, so skipping the masked half is not counted as useful work.
"""

from __future__ import annotations

from codelaw.model.config import ModelConfig


def _layer_matmul_params(cfg: ModelConfig) -> int:
  d, k = cfg.d_model, cfg.head_dim
  attn = d * cfg.n_heads * k + 2 * d * cfg.n_kv_heads * k + cfg.n_heads * k * d
  return attn + 3 * d * cfg.d_ff


def n_norm_params(cfg: ModelConfig) -> int:
  return (2 * cfg.n_layers + 1) * cfg.d_model


def n_params(cfg: ModelConfig) -> int:
  """Non-embedding parameters (attention, MLP, RMSNorm scales)."""
  return cfg.n_layers * _layer_matmul_params(cfg) + n_norm_params(cfg)


def n_embedding_params(cfg: ModelConfig) -> int:
  return cfg.vocab_size * cfg.d_model * (1 if cfg.tie_embeddings else 2)


def n_params_total(cfg: ModelConfig) -> int:
  return n_params(cfg) + n_embedding_params(cfg)


def flops_per_token(cfg: ModelConfig, seq_len: int, *, causal: bool = False) -> float:
  """Training FLOPs per token (forward + backward), attention included; see the module docstring."""
  matmul_params = cfg.n_layers * _layer_matmul_params(cfg) + cfg.vocab_size * cfg.d_model
  attention = 12 * cfg.n_layers * cfg.n_heads * cfg.head_dim * seq_len
  return float(6 * matmul_params + (attention / 2 if causal else attention))
