"""HumanEval execution harness in 7 languages (MultiPL-E style translations, sandboxed runs, pass@k)."""

from codelaw.evals.harness.execute import evaluate_completions, run_programs
from codelaw.evals.harness.passk import pass_at_k
from codelaw.evals.harness.problems import STOP_SEQUENCES, load, prompt, references, skipped, truncate

__all__ = [
  "evaluate_completions",
  "run_programs",
  "pass_at_k",
  "STOP_SEQUENCES",
  "load",
  "prompt",
  "references",
  "skipped",
  "truncate",
]
