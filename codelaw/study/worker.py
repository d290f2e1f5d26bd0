"""A local worker process: trains run after run, so a study pays for the interpreter, the imports and the
backend once per worker instead of once per run.

    python -m codelaw.study.worker FOLDER

It reads task ids from stdin, one per line. For task T it loads `(fn, args)` from FOLDER/T_submitted.pkl,
calls `fn(*args)` with stdout and stderr going to FOLDER/T_log.out and FOLDER/T_log.err, and writes
FOLDER/T_result.json ({"ok": true, "value": ...} or {"ok": false, "error": "..."}) atomically. It exits
at the end of stdin, i.e. when the pool closes it or its study process is gone. The pool
(codelaw.study.local_pool) stops a worker by killing it; SIGINT is left to the pool, so a Ctrl-C in the
terminal reaches the study alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Iterator

import cloudpickle

from codelaw.io import atomic_write_json


def task_paths(folder: Path, task_id: str) -> dict[str, Path]:
  """The files of one task; the pool writes `submitted`, the worker the rest."""
  return {
    "submitted": folder / f"{task_id}_submitted.pkl",
    "out": folder / f"{task_id}_log.out",
    "err": folder / f"{task_id}_log.err",
    "result": folder / f"{task_id}_result.json",
  }


@contextlib.contextmanager
def _redirected(out: Path, err: Path) -> Iterator[None]:
  """File descriptors 1 and 2 (not only sys.stdout/err: XLA and absl write to the descriptors) to files."""
  sys.stdout.flush()
  sys.stderr.flush()
  saved = os.dup(1), os.dup(2)
  with open(out, "a") as fo, open(err, "a") as fe:
    os.dup2(fo.fileno(), 1)
    os.dup2(fe.fileno(), 2)
    try:
      yield
    finally:
      sys.stdout.flush()
      sys.stderr.flush()
      os.dup2(saved[0], 1)
      os.dup2(saved[1], 2)
      os.close(saved[0])
      os.close(saved[1])


def run_task(folder: Path, task_id: str) -> None:
  paths = task_paths(folder, task_id)
  with _redirected(paths["out"], paths["err"]):
    try:
      with open(paths["submitted"], "rb") as f:
        fn, args = cloudpickle.load(f)
      record = {"ok": True, "value": fn(*args)}
    except BaseException as e:  # noqa: BLE001 - any failure of the task is its result; the worker goes on
      traceback.print_exc()
      record = {"ok": False, "error": f"{type(e).__name__}: {e}"}
  try:
    atomic_write_json(paths["result"], record)
  except TypeError:  # a value JSON cannot hold: the task still ran
    atomic_write_json(paths["result"], {"ok": True, "value": repr(record["value"])})


def main(argv: list[str]) -> None:
  signal.signal(signal.SIGINT, signal.SIG_IGN)
  folder = Path(argv[1])
  for line in sys.stdin:
    if line.strip():
      run_task(folder, line.strip())


if __name__ == "__main__":
  main(sys.argv)
