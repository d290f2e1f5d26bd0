"""The `train` job: one WSD or cosine run (plus its cooldown branches), resumable, ending in result.json.

    python -m codelaw.launch --config configs/train/tiny.py --workdir DIR

Workdir layout:
    run.json                   the run id this workdir belongs to (a different config is refused)
    checkpoints/<step>/        Orbax: train state + Grain iterator + counters (keep-N)
    train_log.jsonl            one line per step: loss, lr, grad_norm (the exact loss record)
    eval_log.jsonl             periodic per-language validation loss and bits/byte
    tensorboard/               the same, plus tokens/s and MFU, as TensorBoard events
    branches/<tokens>/         one cooldown branch each: its own checkpoints, logs and result.json
    result.json                written atomically at the end; its presence (status complete) ends reruns

Rerunning the same command resumes from the newest readable checkpoint: same parameters, optimizer state,
and data position, so the per-step losses equal those of an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np
from tqdm import tqdm

from codelaw import languages, provenance
from codelaw.contracts.result import BudgetResult, LanguageEval, Result, evals_from_json
from codelaw.data.accounting import ProportionMeter, epochs_per_language, realised_proportions
from codelaw.data.pipeline import mixture_dataset
from codelaw.data.translation import all_directions
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, read_json
from codelaw.model import counting
from codelaw.train import checkpoints, cooldown, distributed, host, metrics, optim, settings
from codelaw.train import step as step_lib
from codelaw.train.evaluation import direction_losses, evaluate_languages

log = logging.getLogger(__name__)


class DivergedError(UserError):
  """The loss or gradient norm became NaN/inf; the last good checkpoint is kept."""


@dataclasses.dataclass
class Segment:
  """One stretch of training with one optimizer schedule: the main run or one cooldown branch."""

  name: str
  workdir: Path
  stop: int  # train until state.step == stop
  schedule: Callable[[int], float]  # the learning rate of each step
  ckpt: checkpoints.Checkpointer
  logger: metrics.RunLogger
  eval_every: int
  save_steps: frozenset = frozenset()  # extra checkpoint steps (the main run's branch points)


class Trainer:
  def __init__(self, s: settings.Settings, workdir: Path):
    self.s = s
    self.workdir = workdir
    self.primary = jax.process_index() == 0
    self.flops_per_token = counting.flops_per_token(s.model_cfg, s.seq_len)
    self.peak = metrics.peak_flops(s.peak_flops)
    self.schedule = optim.make_schedule(s.config["optim"], s.total_steps, decay_start_step=s.decay_start_step)
    steps = _steps(s.model_cfg, _frozen(s.config["optim"]), s.mesh, s.microbatch_per_device, s.loss_vocab_chunk)
    self.state, self.shardings = steps.init(s.seed), steps.shardings
    self.template = checkpoints.abstract_like(self.state)
    self.train_step, self.eval_step = steps.train, steps.eval
    self.dataset = mixture_dataset(global_batch_size=s.global_batch_size, **self._stream())
    self._meter_cls = ProportionMeter
    self.wall_time = 0.0  # seconds trained so far, carried across resumes

  def _stream(self) -> dict[str, Any]:
    """What fixes the training data stream: the dataset draws it, and the epoch count describes the same one."""
    s = self.s
    return dict(
      corpus_dir=s.corpus_dir,
      proportions=s.proportions,
      seq_len=s.seq_len,
      seed=s.seed,
      translation=s.translation,
      unique_tokens=s.unique_tokens,
    )

  def _eval_batches(self) -> dict[str, Any]:
    """How every evaluation batches its sequences: the language losses and the translation losses alike."""
    s = self.s
    return dict(corpus_dir=s.corpus_dir, seq_len=s.seq_len, batch_size=s.global_batch_size, mesh=s.mesh)

  # ----------------------------------------------------------------------------------------- the run
  def run(self) -> Result:
    start_time = time.perf_counter()
    it = iter(self.dataset)
    ckpt = checkpoints.Checkpointer(self.workdir / "checkpoints", keep=self.s.keep_checkpoints)
    restored = ckpt.restore_latest(self.template, it)
    meter = self._meter_cls()
    start = 0
    if restored is not None:
      self.state, start = restored.state, restored.step
      self._load_meta(meter, restored.meta)
      if self.primary:
        print(f"resuming {self.workdir} from step {start}", file=sys.stderr)
    main = Segment(
      "train",
      self.workdir,
      self.s.total_steps,
      self.schedule,
      ckpt,
      metrics.RunLogger(self.workdir, resume_step=start),
      self.s.eval_every,
    )
    branch_at = {b.decay_start: b for b in self.s.budgets[:-1]}
    main.save_steps = frozenset(branch_at)
    budgets = []

    def at_step(step: int, state: Any) -> Any:
      """After the main run's checkpoint at a branch point: run the branch, then reload the main run."""
      b = branch_at.get(step)
      if b is None:
        return state
      record = self._branch_result(b)
      if record is None:
        # The branch consumes (donates) the state; the main run reloads it from the checkpoint just
        # written, so only one copy of the state is in memory at any time.
        ckpt.wait()
        record = self._run_branch(b, state, it.get_state(), meter, start_time)
        reloaded = ckpt.restore_latest(self.template, None)
        if reloaded is None or reloaded.step != step:
          raise UserError(f"could not reload the main run's checkpoint at step {step} in {ckpt.directory}")
        state = reloaded.state
      budgets.append(record)
      return state

    state, self.state = self.state, None
    for b in self.s.budgets[:-1]:  # branch points at or before the resumed step
      if b.decay_start < start:
        record = self._branch_result(b)
        if record is None:
          log.warning(
            "%s: the result of cooldown branch %d is missing and the main run is past its branch "
            "point (step %d); it is left out of budgets",
            self.workdir,
            b.tokens,
            b.decay_start,
          )
        else:
          budgets.append(record)
      elif b.decay_start == start:
        state = at_step(start, state)
    state = self._train(main, state, it, meter, start, start_time, at_step)
    final_eval = self._evaluate(state, main, self.s.total_steps)
    budgets.append(self._budget_result(self.s.budgets[-1], final_eval))
    ckpt.close()
    main.logger.close()
    counts = self._global_counts(meter)
    self.wall_time += time.perf_counter() - start_time
    result = self._result(final_eval, budgets, counts, state)
    if self.primary:
      atomic_write_json(self.workdir / "result.json", result.to_json())
    return result

  def _train(
    self, seg: Segment, state: Any, it: Any, meter: Any, start: int, start_time: float, at_step: Callable | None = None
  ) -> Any:
    s = self.s
    throughput = metrics.Throughput(self.flops_per_token, self.peak)
    bar = tqdm(
      total=seg.stop,
      initial=start,
      desc=seg.name,
      unit="step",
      disable=not self.primary,
      dynamic_ncols=True,
      mininterval=1.0,
    )
    last_saved = start
    # Metrics of dispatched steps not read yet. A step's metrics are read only after the next step is
    # dispatched, so the host waits on step t-1 while step t is queued: the device never idles while the
    # host loads the next batch and writes logs. Before anything that needs the state to be known good
    # (checkpoint, evaluation, a branch, the end) every pending step is read and checked.
    pending: list[tuple[int, dict]] = []

    def settle() -> None:
      for done, m in pending:
        values = {k: float(v) for k, v in jax.device_get(m).items()}
        self._record(seg, bar, done, values, throughput, first=done == start + 1)
      pending.clear()

    try:
      for step in range(start, seg.stop):
        batch = next(it)
        meter.update(batch)
        state, m = self.train_step(state, step_lib.shard_batch(batch, s.mesh), seg.schedule(step))
        done = step + 1
        settle()
        pending.append((done, m))
        evaluate = seg.eval_every and done % seg.eval_every == 0 and done != seg.stop
        save = done % s.checkpoint_every == 0 or done == seg.stop or done in seg.save_steps
        if evaluate or save:
          settle()
        if evaluate:
          self._evaluate(state, seg, done)
        if save:
          seg.ckpt.save(done, state, it, self._meta(meter, start_time))
          last_saved = done
        if at_step is not None:
          state = at_step(done, state)
      settle()
    finally:
      bar.close()
      if last_saved:
        seg.ckpt.wait()
    return state

  def _record(
    self, seg: Segment, bar: tqdm, done: int, m: dict, throughput: metrics.Throughput, *, first: bool
  ) -> None:
    """Checks and logs one finished step's metrics (`first`: the invocation's first step, with compilation)."""
    if not (math.isfinite(m["loss"]) and math.isfinite(m["grad_norm"])):
      seg.ckpt.wait()
      kept = seg.ckpt.steps()
      raise DivergedError(
        f"{seg.name}: loss = {m['loss']}, grad_norm = {m['grad_norm']} at step {done}; stopped. "
        + (
          f"The last good checkpoint (step {kept[-1]}) is kept in {seg.ckpt.directory}; "
          if kept
          else "No checkpoint was saved yet; "
        )
        + "lower optim.peak_lr or raise optim.warmup_steps"
      )
    throughput.add(self.s.tokens_per_step)
    if first:
      throughput.reset()  # the first step of an invocation includes compilation
    scalars = {"loss": m["loss"], "lr": m["lr"], "grad_norm": m["grad_norm"]}
    if done % self.s.log_every == 0 or done == seg.stop:
      speed = throughput.report() if not first else {}
      scalars.update(speed)
      bar.set_postfix(loss=f"{m['loss']:.4f}", tok_s=f"{speed.get('tokens_per_s', 0):.0f}", refresh=False)
    seg.logger.train(done, scalars)
    bar.update(1)

  # ------------------------------------------------------------------------------------ branches
  def _branch_dir(self, b: cooldown.Budget) -> Path:
    return self.workdir / "branches" / str(b.tokens)

  def _branch_result(self, b: cooldown.Budget) -> BudgetResult | None:
    path = self._branch_dir(b) / "result.json"
    if not path.exists():
      return None
    return _read_own(path, BudgetResult)

  def _budget_result(self, b: cooldown.Budget, evals: dict[str, LanguageEval]) -> BudgetResult:
    """What budget `b` measured; a branch also records the budget it was asked for (the final one is the run's)."""
    tokens = b.steps * self.s.tokens_per_step
    return BudgetResult(
      tokens=tokens,
      eval=evals,
      flops=tokens * self.flops_per_token,
      steps=b.steps,
      decay_start=b.decay_start,
      budget=None if b.final else b.tokens,
    )

  def _run_branch(
    self, b: cooldown.Budget, state: Any, data_state: Any, main_meter: Any, start_time: float
  ) -> BudgetResult:
    """Decays from the main run's state at `b.decay_start` to `b.steps` on the main run's data stream."""
    s = self.s
    bdir = self._branch_dir(b)
    schedule = optim.make_schedule(s.config["optim"], b.steps, decay_start_step=b.decay_start)
    it = iter(self.dataset)
    it.set_state(data_state)
    ckpt = checkpoints.Checkpointer(bdir / "checkpoints", keep=s.keep_checkpoints)
    meter = self._meter_cls(counts=main_meter.counts.copy())
    restored = ckpt.restore_latest(self.template, it)
    start = b.decay_start
    if restored is not None:
      state, start = restored.state, restored.step
      self._load_meta(meter, restored.meta)
    # Branches evaluate only at their end: their intermediate points are covered by the main run.
    seg = Segment(
      f"cooldown {b.tokens}", bdir, b.steps, schedule, ckpt, metrics.RunLogger(bdir, resume_step=start), eval_every=0
    )
    state = self._train(seg, state, it, meter, start, start_time)
    evals = self._evaluate(state, seg, b.steps)
    ckpt.close()
    seg.logger.close()
    record = self._budget_result(b, evals)
    if self.primary:
      atomic_write_json(bdir / "result.json", record.to_json())
    return record

  # ---------------------------------------------------------------------------------- evaluation
  def _evaluate(self, state: Any, seg: Segment, step: int) -> dict[str, LanguageEval]:
    s = self.s
    results = evaluate_languages(
      self.eval_step, state.params, languages=s.eval_languages, max_tokens=s.eval_tokens, **self._eval_batches()
    )
    seg.logger.eval(step, results)
    return evals_from_json(results, f"{seg.name}: eval at step {step}")

  def _translation_losses(self, state: Any) -> dict[str, float]:
    s = self.s
    # Every direction, not only the trained ones: transfer to unseen directions is what the study measures.
    losses = direction_losses(
      self.eval_step,
      state.params,
      all_directions(),
      strategy=s.translation.strategy,
      data=s.translation.data,
      **self._eval_batches(),
    )
    return {direction: v["loss"] for direction, v in losses.items()}

  # ------------------------------------------------------------------------------ counters / result
  def _meta(self, meter: Any, start_time: float) -> dict:
    return {
      "run_id": self.s.run_id,
      "language_tokens": self._global_counts(meter).tolist(),
      "wall_time_s": self.wall_time + time.perf_counter() - start_time,
    }

  def _load_meta(self, meter: Any, meta: dict) -> None:
    # Saved counts are global; process 0 carries them and the others restart at 0, so the sum stays right.
    counts = np.asarray(meta.get("language_tokens", np.zeros(len(languages.NAMES))), dtype=np.float64)
    meter.counts = counts if self.primary else np.zeros_like(counts)
    self.wall_time = float(meta.get("wall_time_s", 0.0))

  @staticmethod
  def _global_counts(meter: Any) -> np.ndarray:
    if jax.process_count() == 1:
      return np.asarray(meter.counts, dtype=np.float64)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(np.asarray(meter.counts, np.float64))).sum(axis=0)

  def _result(
    self, final_eval: dict[str, LanguageEval], budgets: list[BudgetResult], counts: np.ndarray, state: Any
  ) -> Result:
    s = self.s
    tokens = s.total_steps * s.tokens_per_step
    realized = realised_proportions(counts)
    return Result(
      run_id=s.run_id,
      config=s.config,
      n_params=counting.n_params(s.model_cfg),
      n_params_total=counting.n_params_total(s.model_cfg),
      tokens=tokens,
      flops=tokens * self.flops_per_token,
      proportions={name: float(p) for name, p in s.proportions.items()},
      realized_proportions={name: realized[name] for name in languages.NAMES if name in s.proportions},
      epochs=epochs_per_language(tokens=tokens, **self._stream()),
      eval=final_eval,
      budgets=tuple(budgets),
      wall_time_s=self.wall_time,
      git_commit=provenance.git_commit(),
      translation=None if s.translation is None else self._translation_losses(state),
    )


@dataclasses.dataclass(frozen=True)
class Steps:
  init: Callable  # seed -> initial TrainState
  shardings: Any  # of the TrainState
  train: Callable  # (state, batch, lr) -> (state, metrics)
  eval: Callable  # (params, batch) -> (sum loss, sum weight)


def _frozen(section: Any) -> tuple:
  """A flat config section (optim) as a hashable key."""
  return tuple(sorted(dict(section).items()))


@functools.lru_cache(maxsize=8)
def _steps(model_cfg: Any, optim_cfg: tuple, mesh: Any, microbatch_per_device: int, loss_vocab_chunk: int) -> Steps:
  """The jitted steps of one model, optimizer and mesh. One step serves the main run and every branch (the
  schedule is an argument); and a worker that trains run after run (codelaw.study.local_pool) traces
  and compiles them once per model size, not once per run. The optimizer's hyperparameters start in the
  state `init` creates, so the key holds the whole optim section."""
  tx = optim.make_optimizer(dict(optim_cfg))
  init, shardings = step_lib.make_init(model_cfg, tx, mesh)
  train = step_lib.make_train_step(
    model_cfg, tx, mesh, shardings, microbatch_per_device=microbatch_per_device, loss_vocab_chunk=loss_vocab_chunk
  )
  return Steps(
    init, shardings, train, step_lib.make_eval_step(model_cfg, mesh, shardings, loss_vocab_chunk=loss_vocab_chunk)
  )


def _read_own(path: Path, contract: Any) -> Any:
  """A result file an earlier invocation of this run wrote, through its contract (`Result`, `BudgetResult`);
  one that breaks the contract stops the run with one line naming it rather than being trained over."""
  try:
    return contract.from_json(read_json(path), str(path))
  except ValueError as e:
    raise UserError(f"{e}; move the file away to train it again") from None


def _claim_workdir(workdir: Path, run_id: str) -> Result | None:
  """Returns the finished result if this run already completed here; refuses a workdir of another run."""
  marker = workdir / "run.json"
  if marker.exists():
    other = json.loads(marker.read_text()).get("run_id")
    if other != run_id:
      raise UserError(
        f"--workdir {workdir} holds run {other}, but this config is run {run_id}; "
        "use a new workdir (or the original config)"
      )
  result_path = workdir / "result.json"
  if result_path.exists():
    result = _read_own(result_path, Result)
    if result.complete and result.run_id == run_id:
      return result
  if jax.process_index() == 0:
    atomic_write_json(marker, {"run_id": run_id})
  return None


def main(config: Any, workdir: str) -> dict:
  """Trains the run `config` describes in `workdir` (resuming it if it was interrupted); returns result.json."""
  from absl import logging as absl_logging

  # Orbax logs every save at INFO through absl; keep the console to the progress bar and real warnings.
  absl_logging.set_verbosity(absl_logging.WARNING)
  host.use_compilation_cache()  # the runs of a study (and reruns) compile the same steps: read them back
  distributed.maybe_initialize(config.distributed)
  s = settings.resolve(config)
  workdir = Path(workdir)
  done = _claim_workdir(workdir, s.run_id)
  if done is not None:
    print(f"run {s.run_id} is already complete: {workdir / 'result.json'}")
    return done.to_json()
  result = Trainer(s, workdir).run()
  if jax.process_index() == 0:
    means = np.mean([e.loss for e in result.eval.values()])
    print(
      f"run {s.run_id} complete: mean eval loss {means:.4f} over {len(result.eval)} languages, "
      f"{result.tokens} tokens in {result.wall_time_s:.1f}s -> {workdir / 'result.json'}"
    )
  return result.to_json()
