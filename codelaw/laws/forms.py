"""Functional forms of the scaling and mixing laws, as pure jnp functions of a parameter dict.

N = non-embedding parameters, D = training tokens (raw counts), p = proportions over languages (rows sum
to 1). Per-language parameters are arrays with one entry per language, in `languages.NAMES` order unless a
caller says otherwise; `tau[i, j]` is the transfer from language j's data to language i's loss.
"""

from __future__ import annotations

import jax.numpy as jnp

# Effective data may not reach zero (the law would be infinite); floor it at this fraction of D.
DEFF_FLOOR = 1e-6


def chinchilla(N, D, E, A, B, alpha, beta):
  """Per-language law (paper Eq. 1): L = E + A / N^alpha + B / D^beta."""
  return E + A / N**alpha + B / D**beta


def chinchilla_log(logN, logD, e, a, b, alpha, beta):
  """log L in the form the fitter uses: LSE(a - alpha log N, b - beta log D, e), with A=e^a, B=e^b, E=e^e."""
  return jnp.logaddexp(jnp.logaddexp(a - alpha * logN, b - beta * logD), e)


def effective_data(p, D, tau, unique_tokens=None, repetition_decay=None):
  """Deff_i = D (p_i + sum_{j!=i} tau_ij p_j), floored above 0; optionally discounted for repetition.

  With `unique_tokens` U_i and `repetition_decay` R*_i, tokens beyond U_i count as Muennighoff et al. (2023):
  U + U R* (1 - exp(-(D_i/U - 1) / R*)).
  """
  off_diag = tau * (1.0 - jnp.eye(tau.shape[-1]))
  own = p * D
  if unique_tokens is not None:
    epochs_beyond = jnp.maximum(own / unique_tokens - 1.0, 0.0)
    own = jnp.where(
      own > unique_tokens,
      unique_tokens + unique_tokens * repetition_decay * (1 - jnp.exp(-epochs_beyond / repetition_decay)),
      own,
    )
  deff = own + D * (p @ off_diag.T)
  return jnp.maximum(deff, DEFF_FLOOR * D)


def effective_data_law(N, D, p, E, A, B, alpha, beta, tau, unique_tokens=None, repetition_decay=None):
  """Per-language effective-data law: L_i = E_i + A_i / N^alpha_i + B_i / Deff_i^beta_i (one value per language)."""
  deff = effective_data(p, D, tau, unique_tokens, repetition_decay)
  return E + A / N**alpha + B / deff**beta


def paper_aggregate_law(N, D, p, A, B, alpha_N, alpha_D, L_inf, gamma, tau):
  """Paper Eq. 6-7: L = A N^-alpha_N(p) + B D_x^-alpha_D(p) + L_inf(p), with alpha_N, alpha_D, L_inf linear in p
  (given per language) and D_x = D (1 + gamma sum_{i!=j} p_i p_j tau_ij)."""
  off_diag = tau * (1.0 - jnp.eye(tau.shape[-1]))
  d_x = D * (1.0 + gamma * jnp.einsum("...i,ij,...j->...", p, off_diag, p))
  return A * N ** -(p @ alpha_N) + B * d_x ** -(p @ alpha_D) + p @ L_inf


def data_mixing_law(p, c, k, t):
  """Ye et al. (2024): L_i = c_i + k_i exp(sum_j t_ij p_j), at a fixed N and D."""
  return c + k * jnp.exp(p @ t.T)


def he_multilingual_law(N, D, p, E, A, B, alpha, beta, gamma):
  """He et al. (2024): L_i = (E_i + A_i / N^alpha_i + B_i / D^beta_i) p_i^-gamma_i."""
  return chinchilla(N, D, E, A, B, alpha, beta) * p**-gamma
