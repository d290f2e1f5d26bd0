"""Integration with a real one-node SLURM (scripts/slurm_up.sh): a 3-run study submitted as a job array,
and a 2-process jax.distributed job under srun. Skipped where no SLURM is up, except in CI, which sets
CODELAW_REQUIRE_SLURM=1 so that a cluster that failed to start fails the tests instead."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import pytest

from codelaw.study import studies
from codelaw.study.runner import run_study

sys.path.insert(0, str(Path(__file__).parent))
import test_executor  # noqa: E402  (its fake run function, shipped to the workers by value)
import test_study_expand  # noqa: E402

cloudpickle.register_pickle_by_value(test_executor)

pytestmark = pytest.mark.slurm


def _slurm_up() -> bool:
  try:
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
  except (OSError, subprocess.TimeoutExpired):
    return False
  return out.returncode == 0 and any(s.strip() in ("idle", "mixed", "allocated") for s in out.stdout.split())


@pytest.fixture(scope="module", autouse=True)
def slurm():
  if not _slurm_up():
    if os.environ.get("CODELAW_REQUIRE_SLURM") == "1":
      pytest.fail("CODELAW_REQUIRE_SLURM=1 but no SLURM node is up (run scripts/slurm_up.sh)")
    pytest.skip("no SLURM cluster (scripts/slurm_up.sh starts one)")


def test_three_run_study_as_a_job_array(tmp_path):
  config = test_study_expand.load("per_language", "scale=smoke")
  config.languages = ("python", "go", "rust")
  config.sizes = ("cpu-50k",)
  config.executor.kind = "slurm"
  config.executor.poll_s = 0.5
  config.executor.timeout_min = 10
  config.executor.slurm.cpus_per_task = 1
  config.base.sleep_s, config.base.crash_attempts = 0.5, 0  # knobs of the fake run function
  runs = studies.expand(config)
  assert len(runs) == 3
  run_fn = test_executor.fake_train
  _, outcomes = run_study(config, tmp_path, run_fn=run_fn)
  assert {o.status for o in outcomes.values()} == {"complete"}
  rows = (tmp_path / "results.csv").read_text().splitlines()
  assert len(rows) == 1 + 3 and {r.split(",")[2] for r in rows[1:]} == {"python", "go", "rust"}
  # One sbatch array: the three tasks share a job id, with array indices 0..2.
  logs = sorted(p.name for p in (tmp_path / "submitit").rglob("*_log.out"))
  assert len({name.split("_")[0] for name in logs}) == 1 and len(logs) == 3, logs
  for run in runs:
    result = json.loads((tmp_path / "runs" / run.run_id / "result.json").read_text())
    assert result["status"] == "complete"
  # Rerunning submits nothing: every run is complete.
  _, again = run_study(config, tmp_path, run_fn=run_fn)
  assert {o.attempts for o in again.values()} == {0}


DIST = textwrap.dedent("""
    import pathlib
    import sys

    import jax
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
      from codelaw.train.distributed import maybe_initialize
    except ImportError:
      maybe_initialize = None
    if maybe_initialize is not None:
      import ml_collections
      maybe_initialize(ml_collections.ConfigDict(dict(coordinator="", num_processes=0, process_id=-1)))
    else:
      jax.distributed.initialize()  # SLURM auto-detected
    import jax.numpy as jnp
    from jax.experimental import multihost_utils
    ids = multihost_utils.process_allgather(jnp.array([jax.process_index()]))
    # One file per rank: srun merges the ranks' stdout, where Gloo's own log lines can split a line.
    result = f"RESULT {jax.process_index()} {jax.process_count()} {jax.device_count()} {ids.ravel().tolist()}"
    (pathlib.Path(sys.argv[1]) / f"rank{jax.process_index()}.txt").write_text(result)
""")


def test_two_process_jax_distributed_under_srun(tmp_path):
  script = tmp_path / "dist.py"
  script.write_text(DIST)
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
  out = subprocess.run(
    ["srun", "-n", "2", "--cpus-per-task=1", "--time=5", sys.executable, str(script), str(tmp_path)],
    capture_output=True,
    text=True,
    timeout=240,
    env=env,
  )
  assert out.returncode == 0, out.stderr[-3000:]
  lines = sorted(p.read_text() for p in tmp_path.glob("rank*.txt"))
  assert lines == ["RESULT 0 2 4 [0, 1]", "RESULT 1 2 4 [0, 1]"], out.stdout + out.stderr[-2000:]


DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import test_executor as t
    from codelaw.study.executor import StudyExecutor
    runs = t.make_runs(2, sleep_s=4.0)
    cfg = t.executor_cfg(kind="slurm", timeout_min=10)
    cfg.slurm.cpus_per_task = 1
    StudyExecutor(sys.argv[1], cfg, t.fake_train).run(runs)
""")


def test_killed_driver_reattaches_to_queued_jobs(tmp_path):
  driver = tmp_path / "driver.py"
  driver.write_text(DRIVER.format(tests=str(Path(__file__).parent)))
  study = tmp_path / "study"
  runs = test_executor.make_runs(2, sleep_s=4.0)
  proc = subprocess.Popen([sys.executable, str(driver), str(study)], stderr=subprocess.DEVNULL)
  jobs = study / "submitit" / "jobs.json"
  deadline = time.time() + 60
  while not (jobs.exists() and len(json.loads(jobs.read_text() or "{}")) == 2):
    assert time.time() < deadline and proc.poll() is None
    time.sleep(0.1)
  proc.kill()
  proc.wait()
  again = subprocess.run([sys.executable, str(driver), str(study)], capture_output=True, text=True, timeout=180)
  assert again.returncode == 0, again.stderr[-2000:]
  first = again.stderr.splitlines()[0]  # "[study] done K/2 ...": runs that finished before the rerun
  assert again.stderr.count("re-attached to SLURM job") == 2 - int(first.split("done ")[1][0])
  assert [test_executor.executions(study, r) for r in runs] == [1, 1]
  # Nothing was submitted again: the only job directories are the two tasks of the first array.
  array_ids = {p.name.split("_")[0] for p in (study / "submitit").iterdir() if p.is_dir() and p.name != "%j"}
  assert len(array_ids) == 1, array_ids
