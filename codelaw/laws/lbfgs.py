"""Multi-start L-BFGS: many starts (and many data weightings) minimised in one compiled, vmapped call.

Every fit in codelaw.laws goes through `multistart_minimize`: an objective `f(params, data, weights)` where
`weights` (one per data row) carries resampling (bootstrap counts), hold-out masks (0 = left out) and padding,
so that bootstraps, folds and languages are all just more rows of one vmapped batch with one compilation.
The optimizer is L-BFGS: optax's `scale_by_lbfgs` gives the direction, and a branch-free parallel line
search (all candidate step sizes evaluated at once, best kept) gives the step; a fixed number of iterations
runs inside `lax.scan`. optax's zoom line search is a data-dependent while-loop, which under vmap runs every
start for as long as the slowest one needs; it was several times slower here.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

Objective = Callable[[Any, Any, jax.Array], jax.Array]


# Candidate step sizes tried at once on every iteration: 2, 1/2, 1/8, ..., 2^-19.
STEP_SIZES = 2.0 ** -np.arange(-1, 21, 2)


def _minimize_one(objective: Objective, num_steps: int, params0, data, weights):
  fun = lambda p: objective(p, data, weights)
  precond = optax.scale_by_lbfgs(memory_size=10)
  steps = jnp.asarray(STEP_SIZES, jnp.result_type(float))

  def step(carry, _):
    params, state = carry
    value, grad = jax.value_and_grad(fun)(params)
    direction, state = precond.update(grad, state, params)
    # An L-BFGS pair with negative curvature can give an ascent direction; fall back to the gradient then.
    slope = optax.tree.vdot(grad, direction)
    direction = jax.tree.map(lambda d, g: jnp.where(slope > 0, d, g), direction, grad)
    # Parallel line search: all candidate steps are evaluated together (no data-dependent loop, so the
    # vmapped batch never waits for its slowest member); the lowest objective wins, no move if none improves.
    trial = jax.vmap(lambda t: fun(jax.tree.map(lambda p, d: p - t * d, params, direction)))(steps)
    trial = jnp.where(jnp.isfinite(trial), trial, jnp.inf)
    best = jnp.argmin(trial)
    t = jnp.where(trial[best] < value, steps[best], 0.0)
    params = jax.tree.map(lambda p, d: p - t * d, params, direction)
    return (params, state), None

  init = (params0, precond.init(params0))
  (params, _), _ = jax.lax.scan(step, init, None, length=num_steps)
  return params, fun(params)


@functools.partial(jax.jit, static_argnums=(0, 1))
def multistart_minimize(objective: Objective, num_steps: int, params0_GxS, data_G, weights_GxM):
  """Minimises `objective` from every start of every group in one call.

  G groups (languages, bootstrap resamples, hold-out folds...) each have their own data and row weights
  (bootstrap counts, 0 for held-out or padding rows); each group is started from S points.
  params0_GxS: pytree with leaves [G, S, ...]; data_G: pytree with leaves [G, ...]; weights_GxM: [G, M].
  Returns (params with leaves [G, S, ...], objective values [G, S]). Call inside `jax.enable_x64(True)`.
  """
  # The optimizer works on one flat vector per start: a pytree of scalars would make every L-BFGS
  # operation a handful of tiny ops per leaf.
  example = jax.tree.map(lambda x: x[0, 0], params0_GxS)
  _, unravel = ravel_pytree(example)
  flat0 = jax.vmap(jax.vmap(lambda p: ravel_pytree(p)[0]))(params0_GxS)
  flat_objective = lambda x, data, weights: objective(unravel(x), data, weights)
  one = functools.partial(_minimize_one, flat_objective, num_steps)
  per_group = jax.vmap(one, in_axes=(0, None, None))
  flat, values = jax.vmap(per_group, in_axes=(0, 0, 0))(flat0, data_G, weights_GxM)
  return jax.vmap(jax.vmap(unravel))(flat), values


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
