"""Python HumanEval → Java, JavaScript, TypeScript, C#, Go, Rust (MultiPL-E style)."""

from __future__ import annotations

from codelaw.evals.harness.transpile.base import Target
from codelaw.evals.harness.transpile.errors import Untranslatable
from codelaw.evals.harness.transpile.golang import Go, add_imports
from codelaw.evals.harness.transpile.jvmlike import CSharp, Java
from codelaw.evals.harness.transpile.pyparse import PyProblem, parse_problem
from codelaw.evals.harness.transpile.rust import Rust
from codelaw.evals.harness.transpile.scripting import JavaScript, TypeScript

TARGETS: dict[str, Target] = {t.name: t for t in (Java(), JavaScript(), TypeScript(), CSharp(), Go(), Rust())}

__all__ = ["TARGETS", "PyProblem", "Untranslatable", "parse_problem", "add_imports"]
