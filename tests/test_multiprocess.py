"""Two processes on 127.0.0.1 (gloo, 2 CPU devices each) train like one process with 4 devices; the process
and GPU layout of SLURM and other multi-worker launches, computed from their environment variables."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import multiprocess_worker as worker
import numpy as np
import pytest
from submitit.slurm import slurm as submitit_slurm

from codelaw.errors import UserError
from codelaw.study import executor
from codelaw.study.studies.base import executor_config
from codelaw.train import distributed
from codelaw.train import mesh as mesh_lib

WORKER = Path(__file__).with_name("multiprocess_worker.py")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_single_process(tmp_path):
  port = _free_port()
  env = dict(
    os.environ,
    JAX_PLATFORMS="cpu",
    XLA_FLAGS="--xla_force_host_platform_device_count=2",
    PYTHONPATH=os.pathsep.join([str(WORKER.parent), os.environ.get("PYTHONPATH", "")]),
  )
  procs = [
    subprocess.Popen(
      [sys.executable, str(WORKER), str(i), "2", str(port), str(tmp_path / f"{i}.json")],
      env=env,
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
      text=True,
    )
    for i in range(2)
  ]
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


def _task_env(node: int, local: int, tasks_per_node: int, gpus: int = 8, nodes: int = 2, bound: bool = True):
  """The SLURM variables of one task of an `srun` step over `nodes` x `gpus` GPUs (SLURM's own names)."""
  share = gpus // tasks_per_node
  mine = range(local * share, (local + 1) * share) if bound else range(gpus)
  return {
    "SLURM_JOB_ID": "77",
    "SLURM_STEP_NUM_TASKS": str(nodes * tasks_per_node),
    "SLURM_NTASKS": str(nodes * tasks_per_node),
    "SLURM_PROCID": str(node * tasks_per_node + local),
    "SLURM_LOCALID": str(local),
    "SLURM_NODEID": str(node),
    "SLURM_GPUS_ON_NODE": str(gpus),
    "SLURM_STEP_TASKS_PER_NODE": f"{tasks_per_node}(x{nodes})",
    "CUDA_VISIBLE_DEVICES": ",".join(map(str, mine)),
  }


@pytest.mark.parametrize("tasks_per_node,bound", [(8, True), (8, False), (1, False), (4, True)])
def test_two_nodes_of_eight_gpus_use_every_gpu_once(tasks_per_node, bound):
  """Each task's local device ids, mapped through its CUDA_VISIBLE_DEVICES, cover all 16 GPUs exactly once."""
  used, ids = [], []
  for node in range(2):
    for local in range(tasks_per_node):
      env = _task_env(node, local, tasks_per_node, bound=bound)
      layout = distributed.slurm_layout(env)
      assert layout.num_processes == 2 * tasks_per_node
      visible = env["CUDA_VISIBLE_DEVICES"].split(",")
      used += [(node, int(visible[i])) for i in layout.local_device_ids]
      ids.append(layout.process_id)
  assert sorted(used) == [(n, g) for n in range(2) for g in range(8)]
  assert sorted(ids) == list(range(2 * tasks_per_node))


def test_slurm_layout_edge_cases():
  assert distributed.tasks_per_node("8(x2),4") == [8, 8, 4]
  cpu = {k: v for k, v in _task_env(1, 3, 8).items() if k not in ("CUDA_VISIBLE_DEVICES", "SLURM_GPUS_ON_NODE")}
  assert distributed.slurm_layout(cpu) == distributed.ProcessLayout(16, 11, None)
  with pytest.raises(UserError, match="evenly"):
    distributed.slurm_layout(_task_env(0, 1, 3, gpus=8, bound=False))


def test_other_multi_worker_environments():
  assert distributed.other_multi_worker({"TPU_WORKER_HOSTNAMES": "w0,w1,w2,w3"})
  assert not distributed.other_multi_worker({"TPU_WORKER_HOSTNAMES": "localhost"})
  assert distributed.other_multi_worker({"MEGASCALE_COORDINATOR_ADDRESS": "w0:8080"})
  assert distributed.other_multi_worker({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_MCA_orte_hnp_uri": "1.2.3.4:5"})
  assert not distributed.other_multi_worker({"OMPI_COMM_WORLD_SIZE": "1", "OMPI_MCA_orte_hnp_uri": "1.2.3.4:5"})
  assert not distributed.other_multi_worker({})


def test_gpu_study_jobs_start_one_task_per_gpu(tmp_path):
  """The submitit path asks for as many tasks per node as GPUs, one GPU each (never all GPUs in one task)."""
  cfg = executor_config()
  cfg.kind = "slurm"
  cfg.slurm.update(nodes=2, gpus_per_node=8)
  params = executor.slurm_parameters(cfg)
  assert params["ntasks_per_node"] == 8 and params["gpus_per_task"] == 1 and "gpus_per_node" not in params
  sbatch = submitit_slurm._make_sbatch_string(command="true", folder=tmp_path, **params)
  assert "#SBATCH --ntasks-per-node=8" in sbatch and "#SBATCH --gpus-per-task=1" in sbatch
  assert "--gpus-per-node" not in sbatch and "#SBATCH --nodes=2" in sbatch


def test_initialize_arguments_per_launch():
  task = _task_env(1, 5, 8)  # node 1, local GPU 5, bound by SLURM: the task sees one GPU
  assert distributed.initialize_kwargs(None, task) == dict(num_processes=16, process_id=13, local_device_ids=[0])
  one_step = dict(task, SLURM_STEP_NUM_TASKS="1")  # the batch script itself, outside srun
  assert distributed.initialize_kwargs(None, one_step) is None
  assert distributed.initialize_kwargs(None, {"TPU_WORKER_HOSTNAMES": "w0,w1"}) == {}
  assert distributed.initialize_kwargs(None, {}) is None
  explicit = dict(coordinator="h:1234", num_processes=2, process_id=1)
  assert distributed.initialize_kwargs(explicit, task) == dict(
    coordinator_address="h:1234", num_processes=2, process_id=1
  )
  with pytest.raises(UserError, match="together"):
    distributed.initialize_kwargs(dict(coordinator="h:1"), {})


def test_multinode_template_starts_one_task_per_gpu_and_trains_the_gpu_config():
  template = (Path(__file__).parents[1] / "launch" / "train_multinode.sbatch").read_text()
  directives = [line.split()[1] for line in template.splitlines() if line.startswith("#SBATCH ")]
  assert "--ntasks-per-node=8" in directives and "--gpus-per-task=1" in directives
  assert not any(d.startswith("--gpus-per-node") for d in directives)
  assert "launch/train_multinode.sbatch configs/train/gpu_1b.py" in template
  assert (Path(__file__).parents[1] / "configs" / "train" / "gpu_1b.py").exists()
