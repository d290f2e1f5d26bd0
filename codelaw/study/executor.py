"""Runs the runs of a study, locally (N worker processes that train run after run, codelaw.study.local_pool)
or on SLURM (job arrays through submitit).

Every run trains in `<study dir>/runs/<run_id>/`. The study is idempotent and safe to interrupt:
- a run whose result.json says "complete" is skipped;
- a worker holds an exclusive lock on its run directory while it trains, so a run started again while an
  earlier worker still lives (the study was SIGKILLed and rerun; a duplicate SLURM job) waits for that
  worker and then finds the result instead of training twice;
- training itself resumes from its latest checkpoint (trainer), and SLURM jobs are requeued on preemption or
  timeout through submitit checkpointing;
- a failing run is retried up to `retries` times, then recorded in runs/<id>/failure.json with its log tail.
Runs start longest first (their estimated training FLOPs, codelaw.study.cost), and the progress line weighs
them by the same estimate.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import submitit

from codelaw.errors import UserError
from codelaw.io import atomic_write_json
from codelaw.study.cost import longest_first, run_costs, run_steps
from codelaw.study.local_pool import WorkerPool
from codelaw.study.progress import Progress
from codelaw.study.results import read_result
from codelaw.study.run_progress import logged_steps
from codelaw.study.spec import Run
from codelaw.train import host

RunFn = Callable[[dict, str], Any]
LOG_TAIL_LINES = 40
IN_FLIGHT_EVERY_S = 5.0


def train_run(config: dict, workdir: str) -> None:
  """The run function of real studies: the trainer job on the run's resolved config."""
  import ml_collections

  from codelaw.train import trainer

  trainer.main(ml_collections.ConfigDict(config), workdir)


def is_complete(run_dir: str | Path) -> bool:
  """Whether the run's result.json is there, meets its contract and says the run completed."""
  return read_result(Path(run_dir)) is not None


class RunJob(submitit.helpers.Checkpointable):
  """What a worker executes for one run. Checkpointable: on preemption/timeout submitit requeues the same
  call, and the trainer resumes from its own checkpoints in the run directory."""

  def __call__(self, run_fn: RunFn, config: dict, run_dir: str) -> str:
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    rank = _task_rank()  # a multi-task SLURM job runs one call per task; they train the run together
    with open(path / f".lock.{rank}", "w") as lock:
      fcntl.flock(lock, fcntl.LOCK_EX)  # blocks while another worker trains this run
      if is_complete(path):
        return "skipped"
      run_fn(config, str(path))
      if rank == 0 and not is_complete(path):  # process 0 writes the result
        raise RuntimeError(f"run finished without a complete result.json in {path}")
      return "complete"


def _task_rank() -> int:
  try:
    return int(submitit.JobEnvironment().global_rank)
  except RuntimeError:  # called outside a submitit job (directly, in-process)
    return 0


@dataclasses.dataclass
class Outcome:
  run_id: str
  status: str  # "complete" | "failed"
  attempts: int = 0
  error: str = ""
  log_tail: str = ""


def check_executor_config(cfg) -> None:
  if cfg.kind not in ("local", "slurm"):
    raise UserError(f"config.executor.kind = {cfg.kind!r}: expected 'local' or 'slurm'")
  if cfg.kind == "local" and (not float(cfg.parallel).is_integer() or cfg.parallel < 1):
    raise UserError(f"config.executor.parallel = {cfg.parallel}: expected a whole number >= 1")
  if cfg.parallel < 0:
    raise UserError(f"config.executor.parallel = {cfg.parallel}: expected >= 0 (0 = no cap on SLURM)")
  if not float(cfg.retries).is_integer() or cfg.retries < 0:
    raise UserError(f"config.executor.retries = {cfg.retries}: expected a whole number >= 0")
  if cfg.timeout_min <= 0 or cfg.poll_s <= 0:
    raise UserError("config.executor.timeout_min and poll_s must be > 0")


def make_executor(cfg, folder: Path) -> submitit.Executor | WorkerPool:
  if cfg.kind == "local":
    # Local runs train on this machine's CPUs: their workers start with the allocator settings that keep
    # XLA's step buffers mapped (codelaw.train.host); glibc reads them only at process start.
    return WorkerPool(folder, size=int(cfg.parallel), timeout_min=cfg.timeout_min, env=host.training_env(os.environ))
  ex = submitit.SlurmExecutor(folder=str(folder / "%j"), max_num_timeout=int(cfg.slurm.max_requeues))
  ex.update_parameters(**slurm_parameters(cfg))
  return ex


def slurm_parameters(cfg) -> dict[str, Any]:
  """submitit's sbatch parameters for the executor config's `slurm` section."""
  s = cfg.slurm
  params: dict[str, Any] = dict(
    time=int(cfg.timeout_min),
    nodes=int(s.nodes),
    ntasks_per_node=int(s.tasks_per_node),
    cpus_per_task=int(s.cpus_per_task),
    setup=list(s.setup),
  )
  if cfg.parallel:
    params["array_parallelism"] = int(cfg.parallel)
  if s.gpus_per_node:
    # One task per GPU: under jax.distributed each process drives only the GPUs SLURM binds to its task.
    params.update(ntasks_per_node=int(s.gpus_per_node), gpus_per_task=1)
  if s.mem_gb:
    params["mem"] = f"{int(s.mem_gb)}G"
  for key in ("partition", "account", "qos", "constraint"):
    if s[key]:
      params[key] = s[key]
  return params


def _log_tail(job) -> str:
  text = ""
  for read in (job.stdout, job.stderr):
    try:
      text += read() or ""
    except Exception:  # a log that was never written (job lost before start)
      pass
  return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])


def _slurm_queued(job_ids: list[str]) -> set[str] | None:
  """Job ids SLURM still knows (pending, running, requeued); None when squeue cannot be asked. submitit
  reads states from sacct, which clusters without accounting lack; squeue tells a lost job apart."""
  if not job_ids:
    return set()
  try:
    out = subprocess.run(
      ["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(job_ids)], capture_output=True, text=True, timeout=60
    )
  except (OSError, subprocess.TimeoutExpired):
    return None
  if out.returncode != 0:  # squeue rejects ids it no longer knows: every one of them is gone
    return set() if "Invalid job id" in out.stderr else None
  return set(out.stdout.split())


class DeferredInterrupt:
  """While a study polls, Ctrl-C sets `requested` for the loop to act on, instead of raising wherever the main
  thread happens to be: a KeyboardInterrupt raised inside a finalizer (a Popen or file object's __del__
  during garbage collection) is printed as "Exception ignored" and dropped, and the study would carry on as
  if never interrupted. A second Ctrl-C raises at once. SIGINT left ignored (a study started in the
  background) or handled by the caller, and any thread but the main one, are left as they are."""

  def __init__(self):
    self.requested = False
    self._installed = (
      threading.current_thread() is threading.main_thread()
      and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if self._installed:
      signal.signal(signal.SIGINT, self._handle)

  def _handle(self, signum, frame) -> None:
    self.requested = True
    signal.signal(signal.SIGINT, signal.default_int_handler)

  def restore(self) -> None:
    if self._installed:
      signal.signal(signal.SIGINT, signal.default_int_handler)


class StudyExecutor:
  """Executes runs; `run()` returns an Outcome per run id. Job ids are recorded in submitit/jobs.json so a
  rerun re-attaches to SLURM jobs that are still queued or running instead of submitting them again."""

  def __init__(self, study_dir: str | Path, cfg, run_fn: RunFn = train_run, *, name: str = "study", stream=None):
    check_executor_config(cfg)
    self.dir = Path(study_dir)
    self.cfg = cfg
    self.run_fn = run_fn
    self.folder = self.dir / ("workers" if cfg.kind == "local" else "submitit")
    self.executor = make_executor(cfg, self.folder)
    self.progress = Progress(name, stream=stream or sys.stderr)
    self.jobs_file = self.folder / "jobs.json"
    self._in_flight_read_at, self._in_flight_work = -math.inf, {}

  def run_dir(self, run: Run) -> Path:
    return self.dir / "runs" / run.run_id

  def run(self, runs: list[Run]) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    todo = []
    for run in runs:
      if is_complete(self.run_dir(run)):
        outcomes[run.run_id] = Outcome(run.run_id, "complete")
      else:
        todo.append(run)
    costs, steps = run_costs(runs), run_steps(runs)
    self.progress.start(
      total=len(runs), done=len(outcomes), work_total=sum(costs.values()), work_done=sum(costs[r] for r in outcomes)
    )
    attempts = {r.run_id: 0 for r in todo}
    inflight: dict[str, tuple[Run, Any]] = self._reattach(todo)
    todo = [r for r in todo if r.run_id not in inflight]
    missing_polls: dict[str, int] = {}
    interrupt = DeferredInterrupt()
    try:
      while todo or inflight:
        free = len(todo) if self.cfg.kind == "slurm" else int(self.cfg.parallel) - len(inflight)
        if free > 0 and todo:
          # Longest first: the cheap runs fill the last slots, so no core idles while one long run finishes.
          todo = longest_first(todo, costs)
          batch, todo = todo[:free], todo[free:]
          for run, job in zip(batch, self._submit(batch)):
            attempts[run.run_id] += 1
            inflight[run.run_id] = (run, job)
          self._save_jobs(inflight)
        self.progress.update(running=len(inflight), left=len(todo), in_flight=self._in_flight(inflight, costs, steps))
        time.sleep(float(self.cfg.poll_s))
        if interrupt.requested:
          raise KeyboardInterrupt
        for run_id, (run, job) in list(self._finished(inflight, missing_polls).items()):
          del inflight[run_id]
          outcome = self._collect(run, job, attempts[run_id])
          if outcome.status == "complete":
            outcomes[run_id] = outcome
            self.progress.finished(ok=True, work=costs[run_id], run_id=run_id)
          elif attempts[run_id] <= int(self.cfg.retries):
            self.progress.note(f"run {run_id} failed (attempt {attempts[run_id]}); retrying: {outcome.error}")
            todo.append(run)
          else:
            outcomes[run_id] = outcome
            atomic_write_json(self.run_dir(run) / "failure.json", dataclasses.asdict(outcome))
            self.progress.finished(ok=False, work=costs[run_id], run_id=run_id)
            self.progress.note(
              f"run {run_id} failed {attempts[run_id]} times; see {self.run_dir(run) / 'failure.json'}"
            )
        self._save_jobs(inflight)
    except KeyboardInterrupt:
      self._interrupt(inflight)
      raise
    finally:
      interrupt.restore()
      if isinstance(self.executor, WorkerPool):
        self.executor.close()  # idle workers end now; a worker still training (an error above) ends after it
    self.progress.close()
    return outcomes

  def _in_flight(self, inflight: dict, costs: dict[str, float], steps: dict[str, int]) -> dict[str, float]:
    """The work each running run has done so far: its cost times the share of its steps its logs show.
    Logs are read every IN_FLIGHT_EVERY_S at most (a cluster's shared file system, hundreds of runs)."""
    now = time.monotonic()
    if now - self._in_flight_read_at >= IN_FLIGHT_EVERY_S:
      self._in_flight_read_at = now
      self._in_flight_work = {
        run_id: costs[run_id] * min(1.0, logged_steps(self.run_dir(run)) / steps[run_id])
        for run_id, (run, _) in inflight.items()
        if steps.get(run_id)
      }
    return {run_id: work for run_id, work in self._in_flight_work.items() if run_id in inflight}

  def _submit(self, batch: list[Run]) -> list[Any]:
    for run in batch:
      (self.run_dir(run) / "failure.json").unlink(missing_ok=True)
    with self.executor.batch():  # one SLURM job array; local: each run goes to an idle worker
      jobs = [self.executor.submit(RunJob(), self.run_fn, run.config, str(self.run_dir(run))) for run in batch]
    return jobs

  def _finished(self, inflight: dict, missing_polls: dict) -> dict:
    done = {rid: v for rid, v in inflight.items() if v[1].done()}
    if self.cfg.kind == "slurm":
      rest = {rid: v for rid, v in inflight.items() if rid not in done}
      queued = _slurm_queued([v[1].job_id for v in rest.values()])
      for rid, v in rest.items():
        if queued is not None and v[1].job_id not in queued:
          # Gone from the queue without a result: give the result file a few polls to appear (NFS).
          missing_polls[rid] = missing_polls.get(rid, 0) + 1
          if missing_polls[rid] >= 3:
            done[rid] = v
        else:
          missing_polls.pop(rid, None)
    return done

  def _collect(self, run: Run, job, attempt: int) -> Outcome:
    try:
      job.result()
    except Exception as e:  # the run raised, was killed, or was lost with its node
      lines = str(e).strip().splitlines()
      return Outcome(run.run_id, "failed", attempt, lines[-1] if lines else type(e).__name__, _log_tail(job))
    if is_complete(self.run_dir(run)):
      return Outcome(run.run_id, "complete", attempt)
    return Outcome(run.run_id, "failed", attempt, "no complete result.json", _log_tail(job))

  def _save_jobs(self, inflight: dict) -> None:
    atomic_write_json(self.jobs_file, {rid: v[1].job_id for rid, v in inflight.items()})

  def _reattach(self, todo: list[Run]) -> dict[str, tuple[Run, Any]]:
    if self.cfg.kind != "slurm" or not self.jobs_file.exists():
      return {}  # local workers of a killed study are not re-attached: the run lock makes them harmless
    recorded = json.loads(self.jobs_file.read_text())
    by_id = {r.run_id: r for r in todo if r.run_id in recorded}
    queued = _slurm_queued([recorded[rid] for rid in by_id]) or set()
    out = {}
    for rid, run in by_id.items():
      if recorded[rid] in queued:
        out[rid] = (run, submitit.SlurmJob(folder=self.folder / "%j", job_id=recorded[rid]))
        self.progress.note(f"re-attached to SLURM job {recorded[rid]} for run {rid}")
    return out

  def _interrupt(self, inflight: dict) -> None:
    if self.cfg.kind == "local":
      for _, job in inflight.values():
        job.cancel(check=False)  # the run keeps its checkpoints; the next study run resumes it
      self.progress.note("interrupted: running runs stopped; rerun the same command to continue")
    else:
      self.progress.note("interrupted: SLURM jobs keep running; rerun the same command to re-attach")
    self.progress.close()
