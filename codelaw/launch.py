"""Single entry point: `python -m codelaw.launch --config configs/X.py[:arg] --workdir DIR [--config.k=v ...]`.

The config's `job` field picks the module that runs it; every job module exposes
`main(config: ml_collections.ConfigDict, workdir: str) -> None`.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from absl import app, flags
from ml_collections import config_flags

from codelaw.errors import UserError

JOBS: dict[str, str] = {
  "corpus": "codelaw.data.build_corpus",
  "tokenizer": "codelaw.data.tokenizer",
  "train": "codelaw.train.trainer",
  "study": "codelaw.study.runner",
  "fit": "codelaw.laws.fit_job",
  "allocate": "codelaw.laws.allocate_job",
  "evaluate": "codelaw.evals.evaluate",
  "report": "codelaw.report.build",
  "quickstart": "codelaw.study.quickstart",
}

_CONFIG = config_flags.DEFINE_config_file("config", None, "Job config file, optionally with `:arg`.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for this job's outputs.")


def _fail(message: str) -> None:
  print(f"codelaw: error: {message}", file=sys.stderr)
  sys.exit(2)


def check_workdir(workdir: str) -> None:
  """A job's outputs go in a directory: refuse a path that is (or lies under) a file before any work."""
  path = Path(workdir).expanduser()
  for p in (path, *path.parents):
    if p.exists():
      if not p.is_dir():
        where = "" if p == path else f" ({p} is a file)"
        raise UserError(f"--workdir {workdir}: not a directory{where}; give a new or existing directory")
      if not os.access(p, os.W_OK | os.X_OK):
        raise UserError(f"--workdir {workdir}: {p} is not writable (permission denied)")
      return


def run(config, workdir: str) -> None:
  """Runs the job a config names; raises UserError for bad input."""
  job = config.get("job")
  if job not in JOBS:
    raise UserError(f"config.job = {job!r}: expected one of {', '.join(sorted(JOBS))}")
  check_workdir(workdir)
  importlib.import_module(JOBS[job]).main(config, workdir)


def _main(argv: list[str]) -> None:
  if len(argv) > 1:
    _fail(f"unexpected arguments: {' '.join(argv[1:])}")
  if _WORKDIR.value is None:
    _fail("--workdir is required")
  config = _CONFIG.value
  try:
    config.get("job")  # a config file that failed to load raises here, not at parse time
  except OSError as e:
    _fail(f"could not load the config: {str(e).splitlines()[-1].strip()}")
  try:
    run(config, _WORKDIR.value)
  except UserError as e:
    _fail(str(e))


def _parse_flags(argv: list[str]) -> list[str]:
  # absl prints a multi-line usage dump on bad flags; users get one line naming the bad flag or key instead.
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    # ml_collections puts the reason a config file failed on the lines after a generic first line.
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    _fail(" ".join(lines[:1] + lines[-1:]) if len(lines) > 1 else str(e))
  except (KeyError, AttributeError) as e:
    # Name the whole override (base.data.proportions.python), not only the last key ml_collections reports.
    key = str(e).strip(chr(34)).strip("'")
    names = [a.split("=")[0].removeprefix("--config.") for a in argv if a.startswith("--config.")]
    path = next((n for n in names if key in n.split(".")), key)
    _fail(f"unknown config key {path!r} in the --config.* overrides")
  except (ValueError, TypeError, OSError) as e:
    _fail(str(e).splitlines()[0])
  return []


def main() -> None:
  app.run(_main, flags_parser=_parse_flags)


if __name__ == "__main__":
  main()
