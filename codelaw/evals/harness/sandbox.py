"""Runs one untrusted program with wall/CPU timeouts, rlimits, no network and an output cap.

Containment, in order of what it stops:
- a fresh process group (start_new_session) that is killed as a whole on timeout or output overflow;
- rlimits set in the child before exec: RLIMIT_CPU, RLIMIT_AS (memory), RLIMIT_NPROC (fork bombs),
  RLIMIT_FSIZE (huge files), RLIMIT_CORE=0;
- when running as root, the child drops to an unprivileged uid (root ignores RLIMIT_NPROC and may write
  anywhere); each parallel slot gets its own uid so process counts do not add up across slots;
- a new network namespace (unshare(CLONE_NEWNET) as root, or the `unshare -rn` binary otherwise) so
  sockets cannot reach anything but a down loopback.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import resource
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

CLONE_NEWNET = 0x40000000
SANDBOX_UID_BASE = 61000  # uids with no passwd entry: own nothing outside the sandbox dir
_MAX_SLOTS = 64


@dataclasses.dataclass(frozen=True)
class Limits:
  wall_s: float = 15.0
  cpu_s: int = 10
  memory_bytes: int | None = 2 << 30  # RLIMIT_AS; None = unlimited (runtimes that reserve huge VM)
  nproc: int = 64
  fsize_bytes: int = 16 << 20
  output_bytes: int = 1 << 20


@dataclasses.dataclass
class Result:
  returncode: int | None
  stdout: str
  stderr: str
  timed_out: bool = False
  output_truncated: bool = False
  wall_s: float = 0.0

  @property
  def ok(self) -> bool:
    return self.returncode == 0 and not self.timed_out and not self.output_truncated


_slot_lock = threading.Lock()
_free_slots = list(range(_MAX_SLOTS))
_netns_mode: str | None = None


def network_isolation() -> str:
  """'netns' (root, unshare syscall), 'unshare-rn' (user namespaces) or 'none'."""
  global _netns_mode
  if _netns_mode is None:
    if os.geteuid() == 0:
      _netns_mode = "netns"
    elif shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
      _netns_mode = "unshare-rn"
    else:
      _netns_mode = "none"
  return _netns_mode


def _preexec(limits: Limits, uid: int | None, netns: bool):
  libc = ctypes.CDLL(None, use_errno=True)

  def fn() -> None:
    if netns and libc.unshare(CLONE_NEWNET) != 0:
      os._exit(125)  # refuse to run without the isolation we promised
    rl = resource.setrlimit
    rl(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    if limits.memory_bytes is not None:
      rl(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    rl(resource.RLIMIT_FSIZE, (limits.fsize_bytes, limits.fsize_bytes))
    rl(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
      os.setgroups([])
      os.setgid(uid)
      os.setuid(uid)
    rl(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))

  return fn


def _kill_group(proc: subprocess.Popen) -> None:
  try:
    os.killpg(proc.pid, signal.SIGKILL)
  except (ProcessLookupError, PermissionError):
    pass


def _uid_process_count(uid: int) -> int:
  n = 0
  for d in os.listdir("/proc"):
    if d.isdigit():
      try:
        if os.stat(f"/proc/{d}").st_uid == uid:
          n += 1
      except OSError:
        pass
  return n


def run(
  argv: Sequence[str], cwd: str, limits: Limits = Limits(), env: dict[str, str] | None = None, sandbox_user: bool = True
) -> Result:
  """Run argv in cwd (which the caller created fresh) under the limits; never raises on bad programs.

  sandbox_user=False runs as the caller (still with rlimits, timeouts and no network): used for trusted
  compilers that need the caller's caches."""
  is_root = os.geteuid() == 0
  mode = network_isolation()
  argv = list(argv)
  if mode == "unshare-rn":
    argv = ["unshare", "-rn", "--"] + argv
  slot = None
  uid = None
  nproc_limits = limits
  if is_root and sandbox_user:
    with _slot_lock:
      slot = _free_slots.pop(0)
    uid = SANDBOX_UID_BASE + slot
    _chown_tree(cwd, uid)
  elif not is_root:
    # RLIMIT_NPROC counts every process of the uid: leave room for what already runs.
    nproc_limits = dataclasses.replace(limits, nproc=_uid_process_count(os.getuid()) + limits.nproc)
  base_env = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": cwd,
    "TMPDIR": cwd,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
  }
  base_env.update(env or {})
  t0 = time.monotonic()
  try:
    proc = subprocess.Popen(
      argv,
      cwd=cwd,
      env=base_env,
      stdin=subprocess.DEVNULL,
      stdout=subprocess.PIPE,
      stderr=subprocess.PIPE,
      start_new_session=True,
      preexec_fn=_preexec(nproc_limits, uid, mode == "netns"),
    )
  except OSError as e:
    if slot is not None:
      with _slot_lock:
        _free_slots.append(slot)
    return Result(None, "", f"could not start {argv[0]}: {e}", wall_s=0.0)
  try:
    out, err, timed_out, truncated = _collect(proc, limits, t0)
  finally:
    _kill_group(proc)  # leftovers (daemonised children) die with the group
    proc.wait()
    if uid is not None:
      _kill_uid(uid)
      with _slot_lock:
        _free_slots.append(slot)
  return Result(None if timed_out else proc.returncode, out, err, timed_out, truncated, time.monotonic() - t0)


def _collect(proc: subprocess.Popen, limits: Limits, t0: float) -> tuple[str, str, bool, bool]:
  bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
  sel = selectors.DefaultSelector()
  for f in bufs:
    sel.register(f, selectors.EVENT_READ)
  total = 0
  timed_out = truncated = False
  open_streams = 2
  while open_streams:
    remaining = limits.wall_s - (time.monotonic() - t0)
    if remaining <= 0:
      timed_out = True
      break
    for key, _ in sel.select(timeout=min(remaining, 0.5)):
      chunk = os.read(key.fd, 65536)
      if not chunk:
        sel.unregister(key.fileobj)
        open_streams -= 1
        continue
      room = limits.output_bytes - total
      bufs[key.fileobj] += chunk[: max(room, 0)]
      total += len(chunk)
      if total > limits.output_bytes:
        truncated = True
    if truncated:
      break
  if not timed_out and not truncated:
    try:
      proc.wait(timeout=max(limits.wall_s - (time.monotonic() - t0), 0.01))
    except subprocess.TimeoutExpired:
      timed_out = True
  sel.close()
  for f in bufs:
    f.close()
  dec = lambda b: bytes(b).decode("utf-8", "replace")  # noqa: E731
  return dec(bufs[proc.stdout]), dec(bufs[proc.stderr]), timed_out, truncated


def _chown_tree(path: str, uid: int) -> None:
  for root, dirs, files in os.walk(path):
    os.chown(root, uid, uid)
    for name in files:
      os.chown(os.path.join(root, name), uid, uid)


def _kill_uid(uid: int) -> None:
  """Kill every process left under a sandbox uid (children that escaped the process group)."""
  for _ in range(3):
    found = False
    for d in os.listdir("/proc"):
      if not d.isdigit():
        continue
      try:
        if os.stat(f"/proc/{d}").st_uid == uid:
          os.kill(int(d), signal.SIGKILL)
          found = True
      except (OSError, ProcessLookupError):
        pass
    if not found:
      return
    time.sleep(0.05)
