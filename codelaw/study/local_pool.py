"""The local executor: up to N worker processes (codelaw.study.worker) that each train run after run.

A study's local runs are short (one to a few minutes on a laptop), and a fresh process per run spent seconds
of each on the interpreter, the imports, the backend and tracing before its first step (BENCHMARKS.md, "One
compilation per size, then the worker pool"). A worker pays for them once. The handles it returns behave like submitit's jobs where
the study executor uses them (`done`, `result`, `cancel`, `stdout`, `stderr`, `job_id`), so retries,
failure records and the run locks work as they do on SLURM:
- a task that raises is a failed task; its worker goes on with the next;
- a worker that dies (killed, out of memory) fails its task, and the next task starts a new worker;
- a task past `timeout_min` is stopped by killing its worker;
- `cancel` kills the worker (and anything it started); the run resumes from its checkpoints next time.

Every task leaves FOLDER/<id>_submitted.pkl (written when it is handed to a worker), its logs and
FOLDER/<id>_result.json (written when it ends), so a task's wall time is the difference of their times.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import cloudpickle

from codelaw.study.worker import task_paths

WORKER_LOG = "worker_{n}.log"  # what a worker prints between tasks (nothing, normally)


class Worker:
  def __init__(self, folder: Path, n: int, env: dict[str, str]):
    self.n = n
    self.log = open(folder / WORKER_LOG.format(n=n), "a")
    # Its own session: a Ctrl-C in the terminal reaches the study, which stops the workers itself.
    self.proc = subprocess.Popen(
      [sys.executable, "-m", "codelaw.study.worker", str(folder)],
      stdin=subprocess.PIPE,
      stdout=self.log,
      stderr=subprocess.STDOUT,
      env=env,
      text=True,
      start_new_session=True,
    )
    self.task: Task | None = None

  def alive(self) -> bool:
    return self.proc.poll() is None

  def idle(self) -> bool:
    return self.alive() and (self.task is None or self.task.done())

  def send(self, task: Task) -> None:
    self.task = task
    self.proc.stdin.write(task.job_id + "\n")
    self.proc.stdin.flush()

  def kill(self) -> None:
    with contextlib.suppress(ProcessLookupError):
      os.killpg(self.proc.pid, signal.SIGKILL)
    self.proc.wait()
    self.log.close()

  def close(self) -> None:
    """Ends the worker after its current task (end of stdin)."""
    with contextlib.suppress(BrokenPipeError, OSError):
      self.proc.stdin.close()
    self.log.close()


class Task:
  """One call `fn(*args)` on a worker; the submitit-job-like handle the study executor polls."""

  def __init__(self, job_id: str, folder: Path, worker: Worker, timeout_s: float):
    self.job_id = job_id
    self.paths = task_paths(folder, job_id)
    self.worker = worker
    self.deadline = time.monotonic() + timeout_s
    self._error = ""  # why the task ended without a result file

  def done(self) -> bool:
    if self._error or self.paths["result"].exists():
      return True
    if not self.worker.alive():
      # The result may land between the two checks: look once more before calling the worker lost.
      if not self.paths["result"].exists():
        self._error = f"worker exited with code {self.worker.proc.returncode} before the task finished"
      return True
    if time.monotonic() > self.deadline:
      self.worker.kill()
      self._error = "timed out (config.executor.timeout_min); its worker was stopped"
      return True
    return False

  def result(self) -> Any:
    """The task's return value; raises RuntimeError with the task's error if it failed."""
    if not self.done():
      raise RuntimeError(f"task {self.job_id} has not finished")
    if self._error:
      raise RuntimeError(self._error)
    record = json.loads(self.paths["result"].read_text())
    if not record["ok"]:
      raise RuntimeError(record["error"])
    return record["value"]

  def cancel(self, check: bool = False) -> None:
    if not self.done():
      self.worker.kill()
      self._error = "cancelled"

  def stdout(self) -> str:
    return _read(self.paths["out"])

  def stderr(self) -> str:
    return _read(self.paths["err"])


def _read(path: Path) -> str:
  return path.read_text(errors="replace") if path.exists() else ""


class WorkerPool:
  """Hands tasks to at most `size` workers, starting one when none is idle; `close()` ends them all."""

  def __init__(self, folder: str | Path, size: int, timeout_min: float, env: dict[str, str] | None = None):
    self.folder = Path(folder)
    self.folder.mkdir(parents=True, exist_ok=True)
    self.size = int(size)
    self.timeout_s = 60.0 * float(timeout_min)
    self.env = dict(os.environ if env is None else env)
    self.workers: list[Worker] = []
    # Ids continue over earlier studies in the same folder, so a rerun's files never overwrite a task's.
    self._next = 1 + max((int(p.name.split("_")[0]) for p in self.folder.glob("*_submitted.pkl")), default=0)

  def batch(self) -> contextlib.AbstractContextManager:
    """submitit's job-array context; locally every task starts on its own."""
    return contextlib.nullcontext()

  def submit(self, fn: Callable, *args: Any) -> Task:
    worker = self._idle_worker()
    job_id = str(self._next)
    self._next += 1
    path = task_paths(self.folder, job_id)["submitted"]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
      cloudpickle.dump((fn, args), f)
    tmp.rename(path)
    task = Task(job_id, self.folder, worker, self.timeout_s)
    worker.send(task)
    return task

  def _idle_worker(self) -> Worker:
    for w in [w for w in self.workers if not w.alive()]:
      w.close()
      self.workers.remove(w)
    for w in self.workers:
      if w.idle():
        return w
    if len(self.workers) >= self.size:
      raise RuntimeError(f"all {self.size} workers are busy; submit only when a task has finished")
    n = 1 + max((w.n for w in self.workers), default=0)
    worker = Worker(self.folder, n, self.env)
    self.workers.append(worker)
    return worker

  def kill(self) -> None:
    for w in self.workers:
      w.kill()
    self.workers = []

  def close(self) -> None:
    for w in self.workers:
      w.close()
    for w in self.workers:
      with contextlib.suppress(subprocess.TimeoutExpired):
        w.proc.wait(timeout=30)
    self.workers = []
