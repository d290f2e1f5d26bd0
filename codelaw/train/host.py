"""Process-level settings of a training process: its host allocator and the persistent compilation cache.

- **Host allocator (glibc).** XLA's CPU runtime allocates each execution's temporaries as large blocks and
  frees them when the step ends. glibc serves blocks that large from a fresh `mmap` (XLA's worker threads
  allocate from per-thread arenas, which fall back to `mmap` for them) and gives them back with `munmap`,
  so every train step faults its whole working set back in, page by page: on 2 cores about 30% of a
  training run's CPU time went to the kernel (BENCHMARKS.md, "train"). One arena that never uses `mmap`
  and never trims keeps those pages mapped and reuses them from step to step. glibc reads these tunables
  only when a process starts (and `mallopt` cannot move threads that already have an arena), so they are
  set in the environment of the processes that train: the local study executor's runs.
- **Persistent compilation cache.** The runs of a study compile the same few train/eval steps; a shared
  on-disk cache turns every compilation after the first into a read. CPU executables compile in well
  under JAX's default 1 s threshold, so every entry is cached.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from pathlib import Path

import jax

KEEP_MAPPED_TUNABLES = ("glibc.malloc.arena_max=1", "glibc.malloc.mmap_max=0", f"glibc.malloc.trim_threshold={2**62}")


def training_env(env: Mapping[str, str]) -> dict[str, str]:
  """`env` plus the glibc allocator tunables above (appended to any the user set; unchanged off glibc)."""
  out = dict(env)
  if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
    return out
  given = [t for t in out.get("GLIBC_TUNABLES", "").split(":") if t]
  names = {t.split("=")[0] for t in given}
  out["GLIBC_TUNABLES"] = ":".join(given + [t for t in KEEP_MAPPED_TUNABLES if t.split("=")[0] not in names])
  return out


def default_cache_dir() -> Path:
  """`$CODELAW_COMPILE_CACHE`, else `$XDG_CACHE_HOME/codelaw/jax` (`~/.cache/codelaw/jax`)."""
  if os.environ.get("CODELAW_COMPILE_CACHE"):
    return Path(os.environ["CODELAW_COMPILE_CACHE"])
  return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "codelaw" / "jax"


def use_compilation_cache(directory: str | os.PathLike | None = None) -> str:
  """Turns on JAX's persistent compilation cache (every entry, however fast it compiled); returns its dir.

  A directory already configured (`JAX_COMPILATION_CACHE_DIR`, `jax.config`) is kept.
  """
  current = jax.config.jax_compilation_cache_dir
  if not current:
    current = str(directory or default_cache_dir())
    jax.config.update("jax_compilation_cache_dir", current)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return current
