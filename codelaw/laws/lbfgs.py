"""Multi-start L-BFGS: many starts (and many data weightings) minimised in one compiled, vmapped call.

Every fit in codelaw.laws goes through `multistart_minimize`: an objective `f(params, data, weights)` where
`weights` (one per data row) carries resampling (bootstrap counts), hold-out masks (0 = left out) and padding,
so that bootstraps, folds and languages are all just more rows of one vmapped batch with one compilation.
The optimizer is optax's L-BFGS with its zoom (strong Wolfe) line search, run for a fixed number of
iterations inside `lax.scan` (a vmapped while-loop would run as long as its slowest member anyway).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

Objective = Callable[[Any, Any, jax.Array], jax.Array]


def _minimize_one(objective: Objective, num_steps: int, params0, data, weights):
  fun = lambda p: objective(p, data, weights)
  solver = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(fun)

  def step(carry, _):
    params, state, best_params, best_value = carry
    # `value` belongs to `params` (the point at the start of this step).
    value, grad = value_and_grad(params, state=state)
    # Keep the best finite point seen: a start in a flat or overflowing region must not poison the result.
    better = jnp.isfinite(value) & (value < best_value)
    best_params = jax.tree.map(lambda b, p: jnp.where(better, p, b), best_params, params)
    updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=fun)
    params = optax.apply_updates(params, updates)
    best_value = jnp.where(better, value, best_value)
    return (params, state, best_params, best_value), None

  init = (params0, solver.init(params0), params0, jnp.asarray(jnp.inf, jnp.result_type(float)))
  (params, _, best_params, best_value), _ = jax.lax.scan(step, init, None, length=num_steps)
  final_value = fun(params)
  better = jnp.isfinite(final_value) & (final_value < best_value)
  best_params = jax.tree.map(lambda b, p: jnp.where(better, p, b), best_params, params)
  return best_params, jnp.where(better, final_value, best_value)


@functools.partial(jax.jit, static_argnums=(0, 1))
def multistart_minimize(objective: Objective, num_steps: int, params0_GxS, data_G, weights_GxM):
  """Minimises `objective` from every start of every group in one call.

  G groups (languages, bootstrap resamples, hold-out folds...) each have their own data and row weights
  (bootstrap counts, 0 for held-out or padding rows); each group is started from S points.
  params0_GxS: pytree with leaves [G, S, ...]; data_G: pytree with leaves [G, ...]; weights_GxM: [G, M].
  Returns (params with leaves [G, S, ...], objective values [G, S]). Call inside `jax.enable_x64(True)`.
  """
  one = functools.partial(_minimize_one, objective, num_steps)
  per_group = jax.vmap(one, in_axes=(0, None, None))
  return jax.vmap(per_group, in_axes=(0, 0, 0))(params0_GxS, data_G, weights_GxM)


def best_start(params_GxS, values_GxS):
  """The best start of each group: (params with leaves [G, ...], values [G])."""
  values_GxS = jnp.where(jnp.isfinite(values_GxS), values_GxS, jnp.inf)
  idx_G = jnp.argmin(values_GxS, axis=1)
  take = lambda x: jnp.take_along_axis(x, idx_G.reshape((-1,) + (1,) * (x.ndim - 1)), axis=1)[:, 0]
  return jax.tree.map(take, params_GxS), take(values_GxS)


def huber_sum(residuals: jax.Array, weights: jax.Array, delta: float) -> jax.Array:
  """Summed (not averaged: Hoffmann / Epoch) Huber loss of residuals, each row counted `weights` times."""
  # Zero-weight rows may hold padding with non-finite residuals; zero them before the loss, not after.
  r = jnp.where(weights > 0, residuals, 0.0)
  return jnp.sum(weights * optax.losses.huber_loss(r, jnp.zeros_like(r), delta=delta))
