"""One-line progress of a study: runs done / running / failed / left, the share of the work done, and an
ETA from the work done in this session (on a terminal the line is redrawn in place; in logs a line is
printed when the run counts change, and every `min_interval_s` otherwise).

Runs differ in cost by an order of magnitude, so the ETA weighs each run by its work (its estimated training
FLOPs, codelaw.study.cost); without weights every run weighs 1 and the ETA counts runs. The work of running
runs counts as far as their logs show (codelaw.study.run_progress), so a study of a few long runs has an
ETA before its first run ends."""

from __future__ import annotations

import math
import sys
import time
from typing import Callable, Mapping, TextIO


def _fmt_duration(seconds: float) -> str:
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
  def __init__(
    self,
    name: str,
    stream: TextIO = sys.stderr,
    min_interval_s: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
  ):
    self.name = name
    self.stream = stream
    self.tty = getattr(stream, "isatty", lambda: False)()
    self.min_interval_s = min_interval_s
    self.clock = clock
    self.total = self.done = self.failed = self.running = self.left = 0
    self.work_total = self.work_finished = 0.0  # finished: done or failed, this session or before
    self._work_here = 0.0  # finished in this session: what the rate is measured on
    self._in_flight: dict[str, float] = {}  # work done so far by each running run
    self._in_flight_before: dict[str, float] = {}  # ... when it was first seen (a resumed run's earlier work)
    self._t0 = clock()
    self._last_line = ""
    self._last_time = 0.0

  def start(self, total: int, done: int, *, work_total: float | None = None, work_done: float | None = None) -> None:
    """`total` runs, `done` of them complete already; `work_total` and `work_done` weigh them (default: one
    per run)."""
    self.total, self.done, self.left = total, done, total - done
    self.work_total = float(total if work_total is None else work_total)
    self.work_finished = float(done if work_done is None else work_done)
    self._t0 = self.clock()
    self._render(force=True)

  def update(self, running: int, left: int, in_flight: Mapping[str, float] | None = None) -> None:
    """`in_flight`: the work each running run has done so far, by run id (from its logs), when known."""
    self.running, self.left = running, left
    if in_flight is not None:
      self._in_flight = dict(in_flight)
      for run_id, work in in_flight.items():
        self._in_flight_before.setdefault(run_id, work)
    self._render()

  def finished(self, ok: bool, work: float = 1.0, run_id: str = "") -> None:
    """A run ended for good (complete, or failed with no retry left); `work` is its weight."""
    self._in_flight.pop(run_id, None)
    self._work_here += work - self._in_flight_before.pop(run_id, 0.0)
    self.work_finished += work
    if ok:
      self.done += 1
    else:
      self.failed += 1
    self.running = max(0, self.running - 1)
    self._render()

  def _work_done(self) -> float:
    return self.work_finished + sum(self._in_flight.values())

  def eta_s(self) -> float | None:
    """Remaining work over the work done per second of wall time so far in this session (concurrency
    included): finished runs, and running runs' work since they were first seen."""
    remaining = self.work_total - self._work_done()
    if self.total - self.done - self.failed <= 0:
      return 0.0
    here = self._work_here + sum(w - self._in_flight_before.get(r, w) for r, w in self._in_flight.items())
    if here <= 0:
      return None
    return max(0.0, remaining) * (self.clock() - self._t0) / here

  def work_percent(self) -> int:
    """Whole percent of the work done, rounded down: 100 only once every run has finished."""
    if self.work_total <= 0:
      return 100
    percent = math.floor(100.0 * self._work_done() / self.work_total)
    return min(percent, 99) if self.total - self.done - self.failed > 0 else percent

  def line(self) -> str:
    eta = self.eta_s()
    eta_text = "?" if eta is None else _fmt_duration(eta)
    return (
      f"[{self.name}] done {self.done}/{self.total} | running {self.running} | failed {self.failed} | "
      f"left {self.left} | work {self.work_percent()}% | elapsed {_fmt_duration(self.clock() - self._t0)} | "
      f"ETA {eta_text}"
    )

  def note(self, message: str) -> None:
    if self.tty:
      self.stream.write("\r\033[K")
    self.stream.write(f"[{self.name}] {message}\n")
    self._render(force=True)

  def close(self) -> None:
    self._render(force=True)
    if self.tty:
      self.stream.write("\n")
    self.stream.flush()

  def _render(self, force: bool = False) -> None:
    line = self.line()
    counts = line.split("| work")[0]  # runs started or ended; the work share moves with every step
    now = self.clock()
    if (
      not force
      and counts == self._last_line.split("| work")[0]
      and now - self._last_time < (1.0 if self.tty else self.min_interval_s)
    ):
      return
    self._last_line, self._last_time = line, now
    self.stream.write(f"\r\033[K{line}" if self.tty else line + "\n")
    self.stream.flush()
