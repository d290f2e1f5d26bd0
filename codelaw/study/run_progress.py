"""How far a running run has got, from the per-step logs it writes (codelaw.train.metrics): the study's
progress line counts the work of its running runs, not only of its finished ones, so a study of a few long
runs shows an ETA before the first of them ends.

A run's steps are its main run's last logged step plus, for each cooldown branch, the steps it has logged
since its decay start. Reading the tail of a few JSON-lines files per poll costs next to nothing, here or on
a cluster's shared file system.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

_TAIL_BYTES = 4096  # one log line is about 150 bytes


def _step(line: bytes) -> int | None:
  try:
    return int(json.loads(line)["step"])
  except (ValueError, KeyError, TypeError):  # a line being written, or not a step record
    return None


def _first_and_last_step(log: Path) -> tuple[int, int] | None:
  try:
    with open(log, "rb") as f:
      first = _step(f.readline())
      size = f.seek(0, os.SEEK_END)
      f.seek(max(0, size - _TAIL_BYTES))
      lines = f.read().splitlines()
  except OSError:
    return None
  steps = [s for s in map(_step, lines[1:] if size > _TAIL_BYTES else lines) if s is not None]
  if first is None or not steps:
    return None
  return first, steps[-1]


def logged_steps(run_dir: str | os.PathLike) -> int:
  """Optimizer steps run so far by the main run and the cooldown branches of the run in `run_dir`."""
  run_dir = Path(run_dir)
  main = _first_and_last_step(run_dir / "train_log.jsonl")
  steps = main[1] if main else 0
  for log in sorted((run_dir / "branches").glob("*/train_log.jsonl")):
    branch = _first_and_last_step(log)
    if branch:
      steps += branch[1] - branch[0] + 1
  return steps
