"""Hostile completions are contained, count as failures, and the harness keeps going."""

import os
import pathlib
import shutil
import tempfile
import time

import pytest

from codelaw.evals.harness import evaluate_completions, load, references
from codelaw.evals.harness.sandbox import Limits, network_isolation, run

TID = "HumanEval/0"  # has_close_elements
GOOD = references("python")[TID]


def _eval(completions, **kw):
  probs = load("python")
  kw.setdefault("timeout_s", 4.0)
  return evaluate_completions("python", {TID: probs[TID]}, {TID: completions}, k=(1,), **kw)


@pytest.fixture
def sbx_dir():
  d = tempfile.mkdtemp(prefix="codelaw-test-")
  os.chmod(d, 0o755)
  yield pathlib.Path(d)
  shutil.rmtree(d, ignore_errors=True)


def test_reference_passes_and_wrong_fails():
  res, pk = _eval([GOOD, "    return False\n", "    return not_defined\n"])
  assert res[TID] == [True, False, False]
  assert pk["pass@1"] == pytest.approx(1 / 3)


def test_infinite_loop_times_out_and_harness_continues():
  loop = "    while True:\n        pass\n"
  res, _ = _eval([loop, GOOD])
  assert res[TID] == [False, True]


def test_timeout_kills_whole_process_group(sbx_dir):
  tmp_path = sbx_dir
  marker = tmp_path / "late"
  # The child outlives the parent unless the group is killed; it would write a marker after 3 s.
  src = (
    "import os, time\nif os.fork() == 0:\n    time.sleep(3)\n    open(%r, 'w').write('x')\ntime.sleep(100)\n"
  ) % str(marker)
  (tmp_path / "m.py").write_text(src)
  r = run(["python3", "m.py"], str(tmp_path), Limits(wall_s=1.0, cpu_s=5))
  assert r.timed_out and not r.ok
  time.sleep(3.5)
  assert not marker.exists()


def test_fork_bomb_is_contained():
  bomb = (
    "    import os\n    for _ in range(200):\n        try:\n            os.fork()\n"
    "        except OSError:\n            pass\n    return True\n"
  )
  res, _ = _eval([bomb, GOOD])
  assert res[TID] == [False, True]


def test_huge_output_is_capped(sbx_dir):
  tmp_path = sbx_dir
  spam = "    import sys\n    while True:\n        sys.stdout.write('x' * 65536)\n"
  res, _ = _eval([spam, GOOD])
  assert res[TID] == [False, True]
  r = run(
    ["python3", "-c", "import sys\nwhile True: sys.stdout.write('y'*65536)"],
    str(tmp_path),
    Limits(wall_s=10, output_bytes=1 << 20),
  )
  assert r.output_truncated and len(r.stdout) <= 1 << 20


def test_write_outside_sandbox_fails():
  target = pathlib.Path(__file__).resolve().parent / "_sandbox_escape_marker"
  target.unlink(missing_ok=True)
  evil = f"    open({str(target)!r}, 'w').write('escaped')\n    return True\n"
  try:
    res, _ = _eval([evil])
    assert res[TID] == [False]
    assert not target.exists()
  finally:
    target.unlink(missing_ok=True)


def test_socket_cannot_reach_network():
  if network_isolation() == "none" and os.environ.get("CODELAW_ALLOW_MISSING_TOOLCHAINS") == "1":
    pytest.skip("no network namespace available here")
  assert network_isolation() != "none"
  # A server on the host's loopback is invisible from the sandbox's own network namespace.
  import socket

  srv = socket.socket()
  srv.bind(("127.0.0.1", 0))
  srv.listen(1)
  port = srv.getsockname()[1]
  try:
    probe = f"    import socket\n    s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    return True\n"
    outside = "    import socket\n    socket.create_connection(('pypi.org', 443), timeout=3)\n    return True\n"
    res, _ = _eval([probe, outside, GOOD])
    assert res[TID] == [False, False, True]
  finally:
    srv.close()


def test_memory_limit(sbx_dir):
  tmp_path = sbx_dir
  r = run(["python3", "-c", "x = bytearray(3 << 30)"], str(tmp_path), Limits(memory_bytes=1 << 30))
  assert not r.ok and "MemoryError" in r.stderr
