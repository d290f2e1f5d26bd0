"""The local worker pool: one process trains task after task; a failing task leaves its worker alive, a dying
worker fails only its task, a task past its timeout is stopped, and each task's output is its own."""

import os
import signal
import sys
import time

import cloudpickle
import pytest

from codelaw.study.local_pool import WorkerPool

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def report(value):
  print(f"stdout of {value}")
  print(f"stderr of {value}", file=sys.stderr)
  return [value, os.getpid()]


def fail(message):
  raise ValueError(message)


def die():
  os.kill(os.getpid(), signal.SIGKILL)


def wait(task, timeout_s=60.0):
  deadline = time.monotonic() + timeout_s
  while not task.done():
    assert time.monotonic() < deadline, f"task {task.job_id} did not finish"
    time.sleep(0.02)
  return task


@pytest.fixture
def pool(tmp_path):
  p = WorkerPool(tmp_path / "workers", size=1, timeout_min=1.0)
  yield p
  p.kill()


def test_one_worker_runs_task_after_task_with_its_own_logs(pool):
  results = [wait(pool.submit(report, i)).result() for i in range(3)]
  assert [r[0] for r in results] == [0, 1, 2]
  assert len({r[1] for r in results}) == 1  # one process for all three
  task = wait(pool.submit(report, "x"))
  assert task.stdout() == "stdout of x\n" and task.stderr() == "stderr of x\n"
  assert (pool.folder / f"{task.job_id}_submitted.pkl").exists() and task.paths["result"].exists()


def test_a_failing_task_fails_alone_and_its_worker_goes_on(pool):
  failed = wait(pool.submit(fail, "deliberate"))
  with pytest.raises(RuntimeError, match="ValueError: deliberate"):
    failed.result()
  assert "Traceback" in failed.stderr()
  first_pid = failed.worker.proc.pid
  assert wait(pool.submit(report, 1)).result()[1] == first_pid


def test_a_dying_worker_fails_its_task_and_the_next_task_gets_a_new_worker(pool):
  before = wait(pool.submit(report, 0)).result()[1]
  dead = wait(pool.submit(die))
  with pytest.raises(RuntimeError, match="worker exited with code -9"):
    dead.result()
  after = wait(pool.submit(report, 1)).result()[1]
  assert after != before


def test_a_task_past_its_timeout_is_stopped(tmp_path):
  pool = WorkerPool(tmp_path / "workers", size=1, timeout_min=2.0 / 60)
  try:
    start = time.monotonic()
    task = wait(pool.submit(time.sleep, 60))
    assert time.monotonic() - start < 30
    with pytest.raises(RuntimeError, match="timed out"):
      task.result()
  finally:
    pool.kill()


def test_cancel_stops_the_task_and_close_ends_idle_workers(pool):
  task = pool.submit(time.sleep, 60)
  task.cancel()
  assert task.done() and not task.worker.alive()
  with pytest.raises(RuntimeError, match="cancelled"):
    task.result()
  idle = wait(pool.submit(report, 0)).worker
  pool.close()
  assert idle.proc.wait(timeout=30) == 0


def test_a_second_pool_in_the_same_folder_continues_the_task_ids(tmp_path):
  first = WorkerPool(tmp_path, size=1, timeout_min=1.0)
  ids = [wait(first.submit(report, i)).job_id for i in range(2)]
  first.close()
  second = WorkerPool(tmp_path, size=1, timeout_min=1.0)
  try:
    assert int(wait(second.submit(report, 2)).job_id) == int(ids[-1]) + 1
  finally:
    second.kill()
