"""Runs every shipped reference solution: `python -m codelaw.evals.harness.check_references [langs...]`."""

from __future__ import annotations

import argparse
import json
import time

from codelaw.evals.harness import problems as P
from codelaw.evals.harness.execute import run_programs
from codelaw.languages import NAMES


def check(language: str, parallelism: int = 2) -> dict:
  probs = P.load(language)
  refs = P.references(language)
  t0 = time.time()
  outs = run_programs(
    language, [(tid, 0, p.program(refs[tid])) for tid, p in sorted(probs.items())], parallelism=parallelism
  )
  failed = {o.task_id: f"{o.status}: {o.detail[-200:]}" for o in outs if not o.passed}
  return {
    "language": language,
    "passed": len(outs) - len(failed),
    "shipped": len(probs),
    "translatable": len(P.load(language, include_unverified=True)),
    "humaneval": len(P.python_raw()),
    "failed": failed,
    "seconds": round(time.time() - t0, 1),
  }


def main() -> None:
  ap = argparse.ArgumentParser(description=__doc__)
  ap.add_argument("languages", nargs="*", default=list(NAMES))
  ap.add_argument("--parallelism", type=int, default=2)
  args = ap.parse_args()
  for lang in args.languages:
    res = check(lang, args.parallelism)
    res["failed"] = dict(list(res["failed"].items())[:10])  # keep the line readable
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
  main()
