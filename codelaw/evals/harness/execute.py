"""Runs completions against problem tests in the sandbox, compiling in batches, `parallelism` at a time."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codelaw.errors import UserError
from codelaw.evals.harness import passk, sandbox
from codelaw.evals.harness.problems import Problem, load
from codelaw.evals.harness.runners import runner


class ToolchainMissing(RuntimeError):
  pass


@dataclasses.dataclass
class Outcome:
  task_id: str
  index: int
  passed: bool
  status: str  # "passed" | "failed" | "timeout" | "compile_error" | "output_limit"
  detail: str = ""


def check_toolchain(language: str) -> None:
  missing = runner(language).missing_tools()
  if missing:
    raise ToolchainMissing(f"{language}: missing {', '.join(missing)} (run scripts/install_toolchains.sh)")


def run_programs(
  language: str,
  programs: Sequence[tuple[str, int, str]],
  *,
  parallelism: int = 2,
  batch_size: int = 64,
  timeout_s: float | None = None,
) -> list[Outcome]:
  """programs: (task_id, index, full source). Each runs in its own fresh directory.

  timeout_s overrides the runner's wall-clock limit (the CPU limit follows it)."""
  check_toolchain(language)
  r = runner(language)
  r.parallelism = parallelism
  limits = r.run_limits
  if timeout_s is not None:
    limits = dataclasses.replace(limits, wall_s=timeout_s, cpu_s=max(1, int(timeout_s)))
  outcomes: list[Outcome] = []
  for start in range(0, len(programs), batch_size):
    batch = programs[start : start + batch_size]
    root = Path(tempfile.mkdtemp(prefix=f"codelaw-{language}-"))
    try:
      os.chmod(root, 0o755)  # sandbox uids read the compiled batch (e.g. Java classes)
      dirs = []
      for i, (_, _, src) in enumerate(batch):
        d = root / f"p{i}"
        d.mkdir()
        os.chmod(d, 0o755)
        (d / r.source).write_text(r.prepare(i, src))
        dirs.append(d)
      errors = r.compile(root, dirs)

      def one(i: int) -> Outcome:
        tid, idx, _ = batch[i]
        d = dirs[i]
        if d in errors:
          return Outcome(tid, idx, False, "compile_error", errors[d][-300:])
        res = sandbox.run(r.run_argv(root, d), str(d), limits, env=r.env())
        status = (
          "passed" if res.ok else "timeout" if res.timed_out else "output_limit" if res.output_truncated else "failed"
        )
        return Outcome(tid, idx, res.ok, status, res.stderr[-300:])

      with ThreadPoolExecutor(max(1, parallelism)) as pool:
        outcomes.extend(pool.map(one, range(len(batch))))
    finally:
      shutil.rmtree(root, ignore_errors=True)
  return outcomes


def evaluate_completions(
  language: str,
  problems: Mapping[str, Problem] | None,
  completions: Mapping[str, Sequence[str]],
  k: Iterable[int] = (1, 10),
  *,
  parallelism: int = 2,
  timeout_s: float | None = None,
) -> tuple[dict[str, list[bool]], dict[str, float]]:
  """Run each completion (already cut at the stop sequences) against its problem's tests.

  Returns ({task_id: [passed per completion]}, {"pass@k": value}) with the unbiased estimator."""
  problems = load(language) if problems is None else problems
  unknown = sorted(set(completions) - set(problems))
  if unknown:
    raise UserError(f"completions for unknown {language} problems: {unknown[:3]}")
  programs = [(tid, i, problems[tid].program(c)) for tid, cs in completions.items() for i, c in enumerate(cs)]
  results = {tid: [False] * len(cs) for tid, cs in completions.items()}
  for o in run_programs(language, programs, parallelism=parallelism, timeout_s=timeout_s):
    results[o.task_id][o.index] = o.passed
  return results, passk.estimate(results, k)
