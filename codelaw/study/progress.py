"""One-line progress of a study: runs done / running / failed / left, with an ETA from the runs finished
in this session (on a terminal the line is redrawn in place; in logs a line is printed when it changes)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _fmt_duration(seconds: float) -> str:
  seconds = int(round(seconds))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Progress:
  def __init__(self, name: str, stream: TextIO = sys.stderr, min_interval_s: float = 30.0):
    self.name = name
    self.stream = stream
    self.tty = getattr(stream, "isatty", lambda: False)()
    self.min_interval_s = min_interval_s
    self.total = self.done = self.failed = self.running = self.left = 0
    self._finished_here = 0
    self._t0 = time.monotonic()
    self._last_line = ""
    self._last_time = 0.0

  def start(self, total: int, done: int) -> None:
    self.total, self.done, self.left = total, done, total - done
    self._t0 = time.monotonic()
    self._render(force=True)

  def update(self, running: int, left: int) -> None:
    self.running, self.left = running, left
    self._render()

  def finished(self, ok: bool) -> None:
    self._finished_here += 1
    if ok:
      self.done += 1
    else:
      self.failed += 1
    self.running = max(0, self.running - 1)
    self._render()

  def eta_s(self) -> float | None:
    """Remaining runs times the mean wall time per finished run so far (concurrency included)."""
    remaining = self.total - self.done - self.failed
    if remaining <= 0:
      return 0.0
    if self._finished_here == 0:
      return None
    return (time.monotonic() - self._t0) / self._finished_here * remaining

  def line(self) -> str:
    eta = self.eta_s()
    eta_text = "?" if eta is None else _fmt_duration(eta)
    return (
      f"[{self.name}] done {self.done}/{self.total} | running {self.running} | failed {self.failed} | "
      f"left {self.left} | elapsed {_fmt_duration(time.monotonic() - self._t0)} | ETA {eta_text}"
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
    counts = line.split("| elapsed")[0]
    now = time.monotonic()
    if (
      not force
      and counts == self._last_line.split("| elapsed")[0]
      and now - self._last_time < (1.0 if self.tty else self.min_interval_s)
    ):
      return
    self._last_line, self._last_time = line, now
    self.stream.write(f"\r\033[K{line}" if self.tty else line + "\n")
    self.stream.flush()
