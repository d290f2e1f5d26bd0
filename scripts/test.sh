#!/usr/bin/env bash
# The test command: sets up everything the tests need on a fresh Debian machine, runs lint and the tests,
# and stops what it started. Rerunning it where everything is installed takes seconds before pytest starts.
#   bash scripts/test.sh                  # the whole suite (what CI runs)
#   bash scripts/test.sh tests/test_x.py  # extra arguments go to pytest instead of "-n 2 tests"
# What it sets up (each step skips itself when already done):
#   .venv with codelaw[dev,interop]; the execution harness's compilers; headless Chromium; a one-node SLURM
#   (started here, stopped on exit; one that is already up is used and left running).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "test.sh: needs root or sudo to install system packages" >&2; exit 1; }
  SUDO="sudo"
fi

# Python environment: reinstalled only when pyproject.toml changed since the last install.
[[ -x .venv/bin/python ]] || python3 -m venv .venv
stamp=.venv/.codelaw-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  .venv/bin/pip install -q -e ".[dev,interop]"
  echo "$want" > "$stamp"
fi

$SUDO env PYTHON=.venv/bin/python bash scripts/install_toolchains.sh
$SUDO bash scripts/install_report_deps.sh

if sinfo -h >/dev/null 2>&1; then
  echo "test.sh: using the SLURM cluster that is already up"
else
  $SUDO bash scripts/slurm_up.sh >/dev/null
  trap '$SUDO bash scripts/slurm_down.sh >/dev/null' EXIT
fi
export CODELAW_REQUIRE_SLURM=1

.venv/bin/ruff check codelaw tests benchmarks configs scripts
.venv/bin/ruff format --check codelaw tests benchmarks configs scripts
if [[ $# -gt 0 ]]; then
  .venv/bin/python -m pytest "$@"
else
  .venv/bin/python -m pytest -n 2 tests
fi
