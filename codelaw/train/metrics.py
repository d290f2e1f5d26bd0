"""What a run reports while it trains: TensorBoard scalars, a per-step JSON-lines log, a progress bar, MFU.

Only process 0 writes. The JSON-lines log (`train_log.jsonl`, one line per step) is the exact record of
the losses: a resumed run first drops the lines past its checkpoint, so the finished log of an interrupted
run is line-for-line comparable with an uninterrupted one.
"""

from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from codelaw.io import atomic_write_text

# Dense bf16 peak FLOP/s per device, by substrings of `device_kind` (first match wins). H100/H200 SXM
# report "NVIDIA H100 80GB HBM3" / "NVIDIA H200"; the PCIe and NVL cards run at lower clocks and power.
PEAK_FLOPS_BY_KIND: tuple[tuple[str, float], ...] = (
  ("h100 pcie", 756e12),
  ("h100 nvl", 835e12),
  ("h200 nvl", 835e12),
  ("h200", 989e12),
  ("h100", 989e12),
  ("h800", 989e12),
  ("b200", 2250e12),
  ("a100", 312e12),
  ("a800", 312e12),
  ("l40s", 362e12),
  ("l4", 121e12),
  ("a10", 125e12),
  ("v100", 125e12),
  ("tpu v6", 918e12),
  ("tpu v5 lite", 197e12),
  ("tpu v5e", 197e12),
  ("tpu v5", 459e12),
  ("tpu v4", 275e12),
)


@functools.lru_cache(maxsize=1)
def measured_matmul_flops(n: int = 1024, repeats: int = 5) -> float:
  """FLOP/s of a jitted f32 `n x n` matmul on the default device (best of `repeats`)."""
  a = jnp.ones((n, n), jnp.float32)
  dot = jax.jit(jnp.dot)
  dot(a, a).block_until_ready()
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    dot(a, a).block_until_ready()
    best = min(best, time.perf_counter() - start)
  return 2 * n**3 / best


def peak_flops(configured: float = 0.0) -> float:
  """Peak FLOP/s of all devices together, the denominator of MFU.

  `configured` > 0 wins. Otherwise known accelerators come from the table; CPUs (all fake CPU devices
  share the same cores) use a measured matmul.
  """
  if configured > 0:
    return float(configured)
  devices = jax.devices()
  kind = devices[0].device_kind.lower()
  if devices[0].platform != "cpu":
    for key, flops in PEAK_FLOPS_BY_KIND:
      if key in kind:
        return flops * len(devices)
  return measured_matmul_flops() * (1 if devices[0].platform == "cpu" else len(devices))


class RunLogger:
  """TensorBoard + JSON-lines logs of one run directory; a no-op on processes other than 0."""

  def __init__(self, logdir: str | os.PathLike, *, resume_step: int, enabled: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.logdir = Path(logdir)
    self._tb = None
    self._files: dict[str, Any] = {}
    if not self.enabled:
      return
    self.logdir.mkdir(parents=True, exist_ok=True)
    for name in ("train_log.jsonl", "eval_log.jsonl"):
      self._truncate(self.logdir / name, resume_step)
      self._files[name] = open(self.logdir / name, "a")
    from tensorboardX import SummaryWriter

    # purge_step hides the events a killed run wrote past its checkpoint from TensorBoard.
    self._tb = SummaryWriter(str(self.logdir / "tensorboard"), purge_step=resume_step + 1 if resume_step else None)

  @staticmethod
  def _truncate(path: Path, resume_step: int) -> None:
    if not path.exists():
      return
    kept = [
      line
      for line in path.read_text().splitlines(keepends=True)
      if line.endswith("\n") and json.loads(line)["step"] <= resume_step
    ]
    atomic_write_text(path, "".join(kept))

  def _line(self, name: str, record: dict) -> None:
    f = self._files[name]
    f.write(json.dumps(record, sort_keys=True) + "\n")
    f.flush()

  def train(self, step: int, scalars: Mapping[str, float]) -> None:
    if not self.enabled:
      return
    self._line("train_log.jsonl", {"step": step, **scalars})
    for key, value in scalars.items():
      self._tb.add_scalar(f"train/{key}", value, step)

  def eval(self, step: int, results: Mapping[str, Mapping[str, float]], prefix: str = "eval") -> None:
    if not self.enabled:
      return
    self._line("eval_log.jsonl", {"step": step, "eval": results})
    for lang, values in results.items():
      self._tb.add_scalar(f"{prefix}/loss/{lang}", values["loss"], step)
      self._tb.add_scalar(f"{prefix}/bits_per_byte/{lang}", values["bits_per_byte"], step)
    mean = float(np.mean([v["loss"] for v in results.values()]))
    self._tb.add_scalar(f"{prefix}/loss/mean", mean, step)

  def close(self) -> None:
    for f in self._files.values():
      f.close()
    self._files = {}
    if self._tb is not None:
      self._tb.close()
      self._tb = None


def read_jsonl(path: str | os.PathLike) -> list[dict]:
  return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


class Throughput:
  """Tokens/s and MFU over the steps since the last report (compilation excluded by the caller)."""

  def __init__(self, flops_per_token: float, peak: float):
    self.flops_per_token = flops_per_token
    self.peak = peak
    self.reset()

  def reset(self) -> None:
    self._start = time.perf_counter()
    self._tokens = 0

  def add(self, tokens: int) -> None:
    self._tokens += tokens

  def report(self) -> dict[str, float]:
    elapsed = max(time.perf_counter() - self._start, 1e-9)
    tokens_per_s = self._tokens / elapsed
    out = {"tokens_per_s": tokens_per_s, "mfu": tokens_per_s * self.flops_per_token / self.peak}
    self.reset()
    return out
