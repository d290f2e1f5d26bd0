"""The local submitit executor: runs once, skips complete runs, retries then records a crashing run, and a
study SIGKILLed mid-run and rerun loses nothing and trains nothing twice."""

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import ml_collections
import pytest

from codelaw.errors import UserError
from codelaw.study import results
from codelaw.study.executor import StudyExecutor, is_complete
from codelaw.study.spec import make_run
from codelaw.study.studies.base import executor_config, train_config

# Workers unpickle the run function; this module is not importable there, so ship it by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def fake_train(config: dict, workdir: str) -> None:
  """Stands in for the trainer where the trainer is not under test: logs each execution, sleeps, crashes on
  demand (config["crash_attempts"] first executions), then writes a result.json like the trainer's."""
  path = Path(workdir)
  with open(path / "executions.log", "a") as f:
    f.write(f"{os.getpid()}\n")
  executions = len((path / "executions.log").read_text().split())
  time.sleep(config["sleep_s"])
  if executions <= config["crash_attempts"]:
    raise RuntimeError(f"deliberate crash number {executions}")
  lang = next(iter(config["data"]["proportions"]))
  result = {
    "run_id": path.name,
    "config": config,
    "n_params": 1000 * (config["seed"] + 1),
    "n_params_total": 5000,
    "tokens": config["train"]["tokens"],
    "flops": 1.0,
    "proportions": config["data"]["proportions"],
    "eval": {lang: {"loss": 2.0 + config["seed"], "bits_per_byte": 1.0, "tokens": 64}},
    "budgets": [],
    "status": "complete",
  }
  (path / "result.json").write_text(json.dumps(result))


def make_runs(n: int, sleep_s: float = 0.0, crash_attempts: int = 0):
  runs = []
  for i in range(n):
    cfg = train_config("smoke")
    cfg.update(seed=i, sleep_s=sleep_s, crash_attempts=crash_attempts)
    runs.append(make_run("unit", f"r{i}", cfg, eval_languages=("python",), kind="test", seed=i))
  return runs


def executor_cfg(**kw) -> ml_collections.ConfigDict:
  cfg = executor_config()
  cfg.update(dict(poll_s=0.2, retries=0) | kw)
  return cfg


def executions(tmp_path: Path, run) -> int:
  log = tmp_path / "runs" / run.run_id / "executions.log"
  return len(log.read_text().split()) if log.exists() else 0


def test_runs_once_and_skips_complete_runs(tmp_path):
  runs = make_runs(3)
  out = StudyExecutor(tmp_path, executor_cfg(parallel=2), fake_train).run(runs)
  assert {o.status for o in out.values()} == {"complete"}
  assert [executions(tmp_path, r) for r in runs] == [1, 1, 1]
  results.write_results(runs, tmp_path)
  rows = (tmp_path / "results.csv").read_text().splitlines()
  assert len(rows) == 4 and rows[0].startswith("run_id,study,language,N,D,loss,bpb,p_python")
  # A second pass finds every result and submits nothing.
  out = StudyExecutor(tmp_path, executor_cfg(), fake_train).run(runs)
  assert {o.attempts for o in out.values()} == {0}
  assert [executions(tmp_path, r) for r in runs] == [1, 1, 1]


def ordered_train(config: dict, workdir: str) -> None:
  """fake_train that first appends its run's id to the study's order.log."""
  with open(Path(workdir).parents[1] / "order.log", "a") as f:
    f.write(Path(workdir).name + "\n")
  fake_train(config, workdir)


def test_runs_start_longest_first_and_the_line_weighs_them(tmp_path):
  shapes = [("cpu-50k", 1), ("cpu-100k", 2), ("cpu-50k", 2), ("cpu-50k", 1)]  # (size, tokens x the smoke run's)
  runs = []
  for i, (size, scale) in enumerate(shapes):
    cfg = train_config("smoke")
    cfg.update(seed=i, sleep_s=0.0, crash_attempts=0)
    cfg["model"]["size"] = size
    cfg["train"]["tokens"] *= scale
    runs.append(make_run("unit", f"r{i}", cfg, eval_languages=("python",), kind="test", seed=i))
  log = io.StringIO()
  StudyExecutor(tmp_path, executor_cfg(parallel=1), ordered_train, stream=log).run(runs)
  # The larger model first, then the longer run, then the two equal ones in the order they were given.
  assert (tmp_path / "order.log").read_text().split() == [runs[i].run_id for i in (1, 2, 0, 3)]
  lines = log.getvalue().splitlines()
  first_done = next(line for line in lines if "done 1/4" in line)
  # The first run done is the largest of the four: more than a quarter of the work.
  assert int(first_done.split("| work ")[1].split("%")[0]) > 25
  assert "done 4/4" in lines[-1] and "work 100%" in lines[-1]


def test_crashing_run_is_retried_then_recorded_failed(tmp_path):
  always, once = make_runs(1, crash_attempts=99)[0], make_runs(2, crash_attempts=1)[1]
  out = StudyExecutor(tmp_path, executor_cfg(retries=2), fake_train).run([always, once])
  assert out[once.run_id].status == "complete" and executions(tmp_path, once) == 2
  failed = out[always.run_id]
  assert failed.status == "failed" and failed.attempts == 3 and executions(tmp_path, always) == 3
  record = json.loads((tmp_path / "runs" / always.run_id / "failure.json").read_text())
  assert "deliberate crash number 3" in record["log_tail"]
  assert not is_complete(tmp_path / "runs" / always.run_id)


def test_complete_means_a_result_json_that_meets_its_contract(tmp_path):
  result = {"run_id": "r", "config": {}, "n_params": 1, "tokens": 2, "eval": {}, "status": "complete"}
  assert not is_complete(tmp_path)  # no result.json yet
  for text in ("{", json.dumps({"status": "complete"}), json.dumps(result | {"status": "running"})):
    (tmp_path / "result.json").write_text(text)
    assert not is_complete(tmp_path), text
  (tmp_path / "result.json").write_text(json.dumps(result))
  assert is_complete(tmp_path)


def test_bad_executor_config_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match="executor.kind"):
    StudyExecutor(tmp_path, executor_cfg(kind="pbs"), fake_train)
  with pytest.raises(UserError, match="executor.parallel"):
    StudyExecutor(tmp_path, executor_cfg(parallel=0), fake_train)


# The driver stands for a study started from a terminal, where SIGINT raises KeyboardInterrupt whatever
# disposition the test process passed down (a shell's background job, for one, starts with SIGINT ignored).
DRIVER = textwrap.dedent("""
    import signal
    import sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {tests!r})
    import test_executor as t
    from codelaw.study.executor import StudyExecutor
    runs = t.make_runs(3, sleep_s={sleep_s})
    StudyExecutor(sys.argv[1], t.executor_cfg(parallel=1), t.fake_train).run(runs)
""")


def test_sigkill_and_rerun_loses_nothing_and_duplicates_nothing(tmp_path):
  driver = tmp_path / "driver.py"
  driver.write_text(DRIVER.format(tests=str(Path(__file__).parent), sleep_s=1.5))
  study = tmp_path / "study"
  runs = make_runs(3, sleep_s=1.5)
  proc = subprocess.Popen([sys.executable, str(driver), str(study)], stderr=subprocess.DEVNULL)
  deadline = time.time() + 60
  # Kill the study while the second run trains (the first is complete).
  while not (is_complete(study / "runs" / runs[0].run_id) and executions(study, runs[1]) == 1):
    assert time.time() < deadline and proc.poll() is None
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  # Rerun: the orphaned worker of run 1 finishes; the new job for it waits on the run lock, then skips.
  subprocess.run([sys.executable, str(driver), str(study)], check=True, timeout=120, stderr=subprocess.DEVNULL)
  assert all(is_complete(study / "runs" / r.run_id) for r in runs)
  assert [executions(study, r) for r in runs] == [1, 1, 1]


def test_ctrl_c_stops_running_runs_and_rerun_completes(tmp_path):
  driver = tmp_path / "driver.py"
  # Run 0 lasts long enough that the interrupt lands inside it even when the machine is busy and this
  # process is scheduled late.
  driver.write_text(DRIVER.format(tests=str(Path(__file__).parent), sleep_s=5.0))
  study = tmp_path / "study"
  runs = make_runs(3, sleep_s=5.0)
  proc = subprocess.Popen([sys.executable, str(driver), str(study)], stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 60
  while executions(study, runs[0]) == 0:
    assert time.time() < deadline and proc.poll() is None
    time.sleep(0.05)
  proc.send_signal(signal.SIGINT)
  _, err = proc.communicate(timeout=60)
  assert proc.returncode != 0 and "rerun the same command" in err
  time.sleep(5.5)  # a worker that survived the interrupt would finish run 0 now
  assert not is_complete(study / "runs" / runs[0].run_id)
  subprocess.run([sys.executable, str(driver), str(study)], check=True, timeout=120, stderr=subprocess.DEVNULL)
  assert all(is_complete(study / "runs" / r.run_id) for r in runs)
  # Run 0 was stopped once and trained again; nothing else ran twice.
  assert [executions(study, r) for r in runs] == [2, 1, 1]


DEFERRED = textwrap.dedent("""
    import os
    import signal
    import sys
    from codelaw.study.executor import DeferredInterrupt
    if sys.argv[1] == "ignored":
      signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
      signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupt = DeferredInterrupt()
    os.kill(os.getpid(), signal.SIGINT)
    print("requested", interrupt.requested, flush=True)
    try:
      os.kill(os.getpid(), signal.SIGINT)
      signal.pause() if sys.argv[1] != "ignored" else None
      print("second: none", flush=True)
    except KeyboardInterrupt:
      print("second: raised", flush=True)
    interrupt.restore()
    print("after restore", signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.default_int_handler))
""")


@pytest.mark.parametrize("disposition, first, second", [("default", True, "raised"), ("ignored", False, "none")])
def test_deferred_interrupt_flags_the_first_ctrl_c_and_raises_on_the_second(disposition, first, second):
  out = subprocess.run(
    [sys.executable, "-c", DEFERRED, disposition], capture_output=True, text=True, timeout=60, check=True
  ).stdout.split("\n")
  # A study started with SIGINT ignored (in the background) stays deaf to it; otherwise the first Ctrl-C is
  # only recorded and the second raises.
  assert out[:3] == [f"requested {first}", f"second: {second}", "after restore True"]
