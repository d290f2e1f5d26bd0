"""The study progress line: its ETA weighs runs by their work, its counts stay counts of runs, and it redraws in
place on a terminal but prints a line per change in a log. Time comes from a clock the test moves."""

import io

import pytest

from codelaw.study.progress import Progress
from codelaw.study.run_progress import logged_steps


class Clock:
  def __init__(self) -> None:
    self.t = 0.0

  def __call__(self) -> float:
    return self.t


class Terminal(io.StringIO):
  def isatty(self) -> bool:
    return True


def progress(stream=None, clock=None) -> Progress:
  return Progress("study", stream=stream or io.StringIO(), clock=clock or Clock())


def test_eta_weighs_the_remaining_runs_by_their_work():
  # One cheap run (work 1) finishes after 10 s; two expensive ones (work 10 each) are left.
  clock = Clock()
  weighted, counted = progress(clock=clock), progress(clock=clock)
  weighted.start(total=3, done=0, work_total=21.0, work_done=0.0)
  counted.start(total=3, done=0)
  clock.t = 10.0
  weighted.finished(ok=True, work=1.0)
  counted.finished(ok=True)
  assert counted.eta_s() == pytest.approx(20.0)  # 2 runs left at 10 s a run
  assert weighted.eta_s() == pytest.approx(200.0)  # 20 work left at 0.1 work a second
  assert weighted.eta_s() > counted.eta_s()
  # The line still counts runs, and adds the share of the work done.
  assert "done 1/3 | running 0 | failed 0 | left 3 | work 4% |" in weighted.line()
  assert "ETA 3m20s" in weighted.line()


def test_eta_counts_work_finished_before_the_session_as_done_but_not_towards_the_rate():
  clock = Clock()
  p = progress(clock=clock)
  p.start(total=4, done=2, work_total=40.0, work_done=30.0)  # the two complete runs were the big ones
  assert p.eta_s() is None and p.work_percent() == 75
  clock.t = 50.0
  p.finished(ok=False, work=5.0)  # a run that failed for good has finished too: its work is not left
  assert p.eta_s() == pytest.approx(5.0 * 50.0 / 5.0)
  assert "failed 1" in p.line() and "work 87%" in p.line()
  clock.t = 60.0
  p.finished(ok=True, work=5.0)
  assert p.eta_s() == 0.0 and p.work_percent() == 100


def test_log_prints_a_line_when_the_counts_change_and_a_terminal_redraws_in_place():
  clock = Clock()
  log = io.StringIO()
  p = progress(log, clock)
  p.start(total=2, done=0, work_total=3.0)
  p.update(running=2, left=0)
  clock.t = 5.0
  p.update(running=2, left=0)  # same counts, too soon: nothing printed
  assert len(log.getvalue().splitlines()) == 2
  clock.t = 40.0
  p.update(running=2, left=0)  # same counts after min_interval_s: printed again with the new elapsed time
  p.finished(ok=True, work=1.0)
  lines = log.getvalue().splitlines()
  assert len(lines) == 4 and "\r" not in log.getvalue()
  assert "elapsed 0m40s" in lines[2] and "done 1/2" in lines[3] and "work 33%" in lines[3]

  tty = Terminal()
  p = progress(tty, Clock())
  p.start(total=2, done=0)
  p.finished(ok=True)
  p.note("hello")
  p.close()
  out = tty.getvalue()
  assert out.startswith("\r\033[K[study] done 0/2") and "\r\033[K[study] hello\n" in out
  assert out.count("\n") == 2  # the note's line and the final one: the progress line itself is redrawn


def test_running_runs_count_their_logged_work_towards_the_share_and_the_eta():
  clock = Clock()
  p = progress(clock=clock)
  p.start(total=2, done=0, work_total=20.0)
  assert p.eta_s() is None
  # A resumed run shows 2 of its 10 at first sight: done before this session, so not part of the rate.
  p.update(running=2, left=0, in_flight={"a": 2.0, "b": 0.0})
  clock.t = 30.0
  p.update(running=2, left=0, in_flight={"a": 5.0, "b": 3.0})
  assert p.work_percent() == 40  # 8 of 20
  assert p.eta_s() == pytest.approx(12.0 * 30.0 / 6.0)  # 12 left at 6 work per 30 s
  clock.t = 60.0
  p.finished(ok=True, work=10.0, run_id="a")
  # a's 10 less the 2 it had before the session, and b's 3: 11 work in 60 s, 7 left.
  assert p.eta_s() == pytest.approx(7.0 * 60.0 / 11.0)
  p.update(running=1, left=0, in_flight={"b": 10.0})
  assert p.work_percent() == 99  # 100 only once the runs have finished
  p.finished(ok=True, work=10.0, run_id="b")
  assert p.work_percent() == 100 and p.eta_s() == 0.0


def test_a_log_gets_a_line_per_change_of_the_counts_not_per_step_of_the_work():
  clock = Clock()
  log = io.StringIO()
  p = progress(log, clock)
  p.start(total=1, done=0, work_total=100.0)
  for step in range(1, 11):
    clock.t = float(step)
    p.update(running=1, left=0, in_flight={"a": float(step)})
  assert len(log.getvalue().splitlines()) == 2  # start, and the run starting
  clock.t = 45.0
  p.update(running=1, left=0, in_flight={"a": 40.0})
  assert "work 40%" in log.getvalue().splitlines()[-1]


def test_logged_steps_add_the_branches_steps_and_skip_a_line_being_written(tmp_path):
  assert logged_steps(tmp_path / "not-started") == 0
  (tmp_path / "train_log.jsonl").write_text("".join(f'{{"loss": 5.0, "step": {s}}}\n' for s in range(1, 301)))
  branch = tmp_path / "branches" / "1024"
  branch.mkdir(parents=True)
  (branch / "train_log.jsonl").write_text('{"step": 41}\n{"step": 42}\n{"step": 43}\n{"loss": 4.')
  assert logged_steps(tmp_path) == 300 + 3
