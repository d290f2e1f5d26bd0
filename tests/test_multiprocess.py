"""Two processes on 127.0.0.1 (gloo, 2 CPU devices each) train like one process with 4 devices."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

import multiprocess_worker as worker
from codelaw.train import mesh as mesh_lib

WORKER = Path(__file__).with_name("multiprocess_worker.py")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_single_process(tmp_path):
  port = _free_port()
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2",
             PYTHONPATH=os.pathsep.join([str(WORKER.parent), os.environ.get("PYTHONPATH", "")]))
  procs = [subprocess.Popen([sys.executable, str(WORKER), str(i), "2", str(port), str(tmp_path / f"{i}.json")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
           for i in range(2)]
  try:
    logs = [p.communicate(timeout=300)[0] for p in procs]
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  for p, log in zip(procs, logs):
    assert p.returncode == 0, log[-3000:]
  results = [json.loads((tmp_path / f"{i}.json").read_text()) for i in range(2)]
  assert [r["process_index"] for r in results] == [0, 1]
  assert all(r["process_count"] == 2 and r["global_devices"] == 4 and r["local_devices"] == 2 for r in results)

  mesh = mesh_lib.make_mesh(worker.MESH, devices=jax.devices()[:4])
  expected = worker.train_losses(mesh)
  for r in results:
    np.testing.assert_allclose(r["losses"], expected, rtol=1e-5)
  # Each step sees a different batch: distinct finite losses show three real steps were compared.
  assert np.all(np.isfinite(expected)) and len(set(expected)) == worker.STEPS
