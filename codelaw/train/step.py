"""Train state, its sharded initialisation, and the jitted train / eval steps.

Parameters live as a plain nested dict (`nnx.State.to_pure_dict()` of the Decoder), so the state is an
ordinary pytree for optax and Orbax; the module is rebuilt inside the step with `nnx.merge`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from codelaw.model import sharding
from codelaw.model.config import ModelConfig
from codelaw.model.decoder import Decoder, init_params
from codelaw.train import loss as loss_lib
from codelaw.train import optim

# The batch fields the steps read; other pipeline fields (language_ids, ...) stay on the host.
BATCH_KEYS = ("inputs", "targets", "segment_ids", "positions", "weights")


@flax.struct.dataclass
class TrainState:
  params: Any
  opt_state: Any
  step: jax.Array
  rng: jax.Array


def abstract_decoder(model_cfg: ModelConfig) -> tuple[nnx.GraphDef, nnx.State]:
  """The decoder's graph and its parameter shapes (no memory allocated)."""
  with nnx.use_eager_sharding(False):
    model = nnx.eval_shape(lambda: Decoder(model_cfg, rngs=nnx.Rngs(params=0)))
  return nnx.split(model, nnx.Param)


def param_logical_axes(model_cfg: ModelConfig) -> dict:
  """Pure-dict tree of each parameter's logical axis names."""
  _, abstract = abstract_decoder(model_cfg)
  return jax.tree.map(
    lambda v: tuple(v.get_metadata()["out_sharding"]), abstract, is_leaf=lambda x: isinstance(x, nnx.Variable)
  ).to_pure_dict()


def param_shardings(model_cfg: ModelConfig, mesh: Mesh) -> dict:
  """Pure-dict tree of each parameter's NamedSharding under `sharding.LOGICAL_RULES`."""
  _, abstract = abstract_decoder(model_cfg)
  return jax.tree.map(
    lambda v: sharding.logical_to_sharding(v.get_metadata()["out_sharding"], mesh, v.shape),
    abstract,
    is_leaf=lambda x: isinstance(x, nnx.Variable),
  ).to_pure_dict()


def make_init(
  model_cfg: ModelConfig, tx: optax.GradientTransformation, mesh: Mesh
) -> tuple[Callable[[int], TrainState], TrainState]:
  """`(init(seed) -> state, state shardings)`: `init` creates parameters, optimizer state, step and RNG
  directly in their shardings. Initial values do not depend on the mesh, so every mesh trains alike."""
  replicated = NamedSharding(mesh, PartitionSpec())
  params_sh = param_shardings(model_cfg, mesh)
  abstract_params = jax.eval_shape(lambda: init_params(model_cfg, jax.random.key(0)))
  abstract_opt = jax.eval_shape(tx.init, abstract_params)
  opt_sh = optax.tree_map_params(
    tx, lambda _, sharding: sharding, abstract_opt, params_sh, transform_non_params=lambda _: replicated
  )
  shardings = TrainState(params=params_sh, opt_state=opt_sh, step=replicated, rng=replicated)

  def init(seed_):
    rng = jax.random.fold_in(jax.random.key(seed_), 1)
    # RBG keys for the parameter draw: XLA compiles RngBitGenerator far faster than unrolled threefry
    # (4x on CPU), and on these backends the draw does not depend on the sharding (tests check it).
    params = init_params(model_cfg, jax.random.key(seed_, impl="rbg"))
    return TrainState(
      params=params, opt_state=tx.init(params), step=jnp.zeros((), jnp.int32), rng=jax.random.key_data(rng)
    )

  jitted = jax.jit(init, out_shardings=shardings)

  def init_on_mesh(seed: int) -> TrainState:
    with jax.set_mesh(mesh):
      return jitted(seed)

  return init_on_mesh, shardings


def init_train_state(
  model_cfg: ModelConfig, tx: optax.GradientTransformation, mesh: Mesh, seed: int
) -> tuple[TrainState, TrainState]:
  """The initial state of `make_init` for `seed`, and its shardings."""
  init, shardings = make_init(model_cfg, tx, mesh)
  return init(seed), shardings


def _sums(
  graphdef: nnx.GraphDef, params: dict, batch: Mapping[str, jax.Array], vocab_chunk: int
) -> tuple[jax.Array, jax.Array]:
  model = nnx.merge(graphdef, params)
  if vocab_chunk:
    hidden_BxLxD = model.hidden(batch["inputs"], batch["positions"], batch["segment_ids"])
    return loss_lib.chunked_cross_entropy(
      hidden_BxLxD, model.head_VxD(), batch["targets"], batch["weights"], vocab_chunk
    )
  logits_BxLxV = model(batch["inputs"], batch["positions"], batch["segment_ids"])
  return loss_lib.weighted_cross_entropy(logits_BxLxV, batch["targets"], batch["weights"])


def _batch_shardings(mesh: Mesh) -> dict:
  return {key: sharding.batch_sharding(mesh) for key in BATCH_KEYS}


def _microbatches(batch: Mapping[str, jax.Array], mesh: Mesh, per_device: int) -> dict[str, jax.Array]:
  """`[B, ...]` -> `[k, B / k, ...]`, each micro-batch taking `per_device` rows of every device's shard, so
  splitting moves no data between devices."""
  parallel = sharding.data_parallel_size(mesh)
  out = {}
  for key, x in batch.items():
    local_rows = x.shape[0] // parallel
    x = x.reshape(parallel, local_rows // per_device, per_device, *x.shape[1:]).swapaxes(0, 1)
    x = x.reshape(local_rows // per_device, parallel * per_device, *x.shape[3:])
    spec = sharding.batch_sharding(mesh, x.ndim - 1).spec
    out[key] = jax.lax.with_sharding_constraint(x, NamedSharding(mesh, PartitionSpec(None, *spec)))
  return out


def make_train_step(
  model_cfg: ModelConfig,
  tx: optax.GradientTransformation,
  mesh: Mesh,
  state_shardings: TrainState,
  *,
  microbatch_per_device: int = 0,
  loss_vocab_chunk: int = 0,
) -> Callable[[TrainState, Mapping[str, jax.Array], float], tuple[TrainState, dict]]:
  """`fn(state, batch, lr) -> (state, {loss, grad_norm, lr, tokens})`; the input state is donated.

  `lr` is this step's learning rate (the host evaluates the schedule), so one compilation serves every
  schedule: a run's cooldown branches and the other runs of its size.

  loss = sum(weights * token loss) / sum(weights) over the global batch; tokens = sum(weights).
  `microbatch_per_device` > 0 accumulates gradients over micro-batches of that many rows per device
  (the global batch's rows per device must be a multiple); the update equals the full batch's.
  `loss_vocab_chunk` > 0 computes the cross-entropy over vocabulary chunks of that size.
  """
  graphdef, _ = abstract_decoder(model_cfg)
  replicated = NamedSharding(mesh, PartitionSpec())

  def sum_grads(params, batch):
    """Gradient of the summed (not averaged) loss, with the sums: micro-batches add up exactly."""
    (sum_loss, sum_weight), grads = jax.value_and_grad(
      lambda p: _sums(graphdef, p, batch, loss_vocab_chunk), has_aux=True
    )(params)
    return sum_loss, sum_weight, grads

  def accumulated(params, batch):
    micro = _microbatches(batch, mesh, microbatch_per_device)

    def body(carry, one):
      sums = sum_grads(params, one)
      return jax.tree.map(jnp.add, carry, sums), None

    zeros = (jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32), jax.tree.map(jnp.zeros_like, params))
    return jax.lax.scan(body, zeros, micro)[0]

  def train_step(state: TrainState, batch, lr):
    sum_loss, tokens, grads = (accumulated if microbatch_per_device else sum_grads)(state.params, batch)
    scale = 1.0 / jnp.maximum(tokens, 1.0)
    grads = jax.tree.map(lambda g: g * scale.astype(g.dtype), grads)
    updates, opt_state = tx.update(grads, optim.with_learning_rate(state.opt_state, lr), state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {"loss": sum_loss * scale, "grad_norm": optax.global_norm(grads), "lr": lr, "tokens": tokens}
    return state.replace(params=params, opt_state=opt_state, step=state.step + 1), metrics

  metric_sh = {k: replicated for k in ("loss", "grad_norm", "lr", "tokens")}
  jitted = jax.jit(
    train_step,
    in_shardings=(state_shardings, _batch_shardings(mesh), replicated),
    out_shardings=(state_shardings, metric_sh),
    donate_argnums=(0,),
  )

  def step(state: TrainState, batch: Mapping[str, jax.Array], lr: float) -> tuple[TrainState, dict]:
    with jax.set_mesh(mesh):
      return jitted(state, {k: batch[k] for k in BATCH_KEYS}, np.float32(lr))

  return step


def make_eval_step(
  model_cfg: ModelConfig, mesh: Mesh, state_shardings: TrainState, *, loss_vocab_chunk: int = 0
) -> Callable[[dict, Mapping[str, jax.Array]], tuple[jax.Array, jax.Array]]:
  """`fn(params, batch) -> (sum_loss, sum_weight)`, so losses over many batches aggregate exactly."""
  graphdef, _ = abstract_decoder(model_cfg)
  replicated = NamedSharding(mesh, PartitionSpec())
  jitted = jax.jit(
    lambda params, batch: _sums(graphdef, params, batch, loss_vocab_chunk),
    in_shardings=(state_shardings.params, _batch_shardings(mesh)),
    out_shardings=(replicated, replicated),
  )

  def eval_step(params: dict, batch: Mapping[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
    with jax.set_mesh(mesh):
      return jitted(params, {k: batch[k] for k in BATCH_KEYS})

  return eval_step


def shard_batch(batch: Mapping[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
  """Global arrays, split over the batch axis, from each process's local slice of the global batch."""
  out = {}
  for key, local in batch.items():
    local = np.asarray(local)
    out[key] = jax.make_array_from_process_local_data(sharding.batch_sharding(mesh, local.ndim), local)
  return out
