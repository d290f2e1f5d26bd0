"""Where a result came from: the commit of the code that produced it."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit() -> str:
  """HEAD of the checkout codelaw runs from, or "unknown" outside a git checkout (an installed wheel)."""
  try:
    out = subprocess.run(
      ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=10, check=True
    )
    return out.stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return "unknown"
