"""Reads a HumanEval Python problem into a language-neutral form: signature, docstring, literal tests.

MultiPL-E style: only problems whose prompt is one function and whose tests are asserts on literal
calls translate; everything else raises Untranslatable with a reason."""

from __future__ import annotations

import ast
import dataclasses
import math
from typing import Any

from codelaw.evals.harness.transpile import pytypes as T
from codelaw.evals.harness.transpile.errors import Untranslatable


@dataclasses.dataclass(frozen=True)
class Case:
  args: tuple
  expected: Any
  approx: float | None = None  # tolerance for abs(candidate(...) - expected) < tol


@dataclasses.dataclass(frozen=True)
class PyProblem:
  task_id: str
  name: str
  params: tuple[str, ...]
  param_types: tuple[T.Type, ...]
  return_type: T.Type
  docstring: str
  cases: tuple[Case, ...]


_CONST_NODES = (
  ast.Expression,
  ast.Constant,
  ast.BinOp,
  ast.UnaryOp,
  ast.Tuple,
  ast.List,
  ast.Dict,
  ast.operator,
  ast.unaryop,
  ast.Load,
)


def _literal(node: ast.AST) -> Any:
  try:
    return ast.literal_eval(node)
  except (ValueError, SyntaxError, TypeError):
    pass
  # Constant arithmetic such as `3 * 19` or `2.0 / 3.0`: still a literal value, fold it.
  expr = ast.Expression(node)
  if all(isinstance(n, _CONST_NODES) for n in ast.walk(expr)):
    try:
      return eval(compile(expr, "<test>", "eval"), {"__builtins__": {}})  # noqa: S307 (constants only)
    except ArithmeticError:
      pass
  raise Untranslatable(f"non-literal value in test: {ast.unparse(node)[:60]}")


def _is_candidate_call(node: ast.AST) -> bool:
  return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "candidate"


def _call_args(node: ast.Call) -> tuple:
  if node.keywords:
    raise Untranslatable("keyword arguments in test call")
  return tuple(_literal(a) for a in node.args)


def _case(test: ast.AST) -> Case | None:
  if isinstance(test, ast.Constant) and test.value is True:
    return None  # `assert True, "..."` placeholders
  if _is_candidate_call(test):
    return Case(_call_args(test), True)
  if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and _is_candidate_call(test.operand):
    return Case(_call_args(test.operand), False)
  if isinstance(test, ast.Compare) and len(test.ops) == 1:
    left, right, op = test.left, test.comparators[0], test.ops[0]
    # tuple(candidate(...)) == (...) : same check as a tuple-valued comparison
    if (
      isinstance(left, ast.Call)
      and isinstance(left.func, ast.Name)
      and left.func.id == "tuple"
      and len(left.args) == 1
      and _is_candidate_call(left.args[0])
    ):
      left = left.args[0]
    if isinstance(op, (ast.Eq, ast.Is)):
      if _is_candidate_call(left):
        return Case(_call_args(left), _literal(right))
      if _is_candidate_call(right):
        return Case(_call_args(right), _literal(left))
    if (
      isinstance(op, (ast.Lt, ast.LtE))
      and isinstance(left, ast.Call)
      and ast.unparse(left.func) in ("abs", "math.fabs")
      and len(left.args) == 1
    ):
      inner = left.args[0]
      if isinstance(inner, ast.BinOp) and isinstance(inner.op, ast.Sub) and _is_candidate_call(inner.left):
        return Case(_call_args(inner.left), _literal(inner.right), approx=float(_literal(right)))
  raise Untranslatable(f"assert not of a translatable form: {ast.unparse(test)[:60]}")


def parse_tests(test_src: str) -> tuple[Case, ...]:
  mod = ast.parse(test_src)
  checks = [n for n in mod.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
  if len(checks) != 1:
    raise Untranslatable("no single check(candidate) function")
  cases = []
  for stmt in checks[0].body:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
      continue  # stray strings / docstrings
    if not isinstance(stmt, ast.Assert):
      raise Untranslatable(f"test statement is not an assert: {ast.unparse(stmt)[:60]}")
    case = _case(stmt.test)
    if case is not None:
      cases.append(case)
  if not cases:
    raise Untranslatable("no literal test cases")
  return tuple(cases)


def parse_problem(task_id: str, prompt: str, test: str, entry_point: str) -> PyProblem:
  mod = ast.parse(prompt)
  funcs = [n for n in mod.body if isinstance(n, ast.FunctionDef)]
  others = [n for n in mod.body if not isinstance(n, (ast.FunctionDef, ast.Import, ast.ImportFrom))]
  if len(funcs) != 1 or others:
    raise Untranslatable("prompt holds more than one function (helpers do not translate)")
  fn = funcs[0]
  if fn.name != entry_point:
    raise Untranslatable("prompt function is not the entry point")
  a = fn.args
  if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs:
    raise Untranslatable("varargs/defaults in signature")
  params = tuple(x.arg for x in a.args)
  docstring = ast.get_docstring(fn, clean=True) or ""
  cases = parse_tests(test)
  for c in cases:
    if len(c.args) != len(params):
      raise Untranslatable("test call arity differs from the signature")
    _check_values(c.args + (c.expected,))
  ann = [T.from_annotation(x.annotation) for x in a.args]
  param_types = []
  for i, name in enumerate(params):
    param_types.append(T.resolve(ann[i], [c.args[i] for c in cases], f"parameter {name}"))
  ret_ann = T.from_annotation(fn.returns)
  values = [c.expected for c in cases]
  return_type = T.resolve(ret_ann, values, "return value")
  return PyProblem(task_id, fn.name, params, tuple(param_types), return_type, docstring, cases)


def _check_values(values) -> None:
  for v in values:
    if isinstance(v, bool) or v is None or isinstance(v, str):
      continue
    if isinstance(v, int) and not -(2**63) <= v < 2**63:
      raise Untranslatable("integer outside 64 bits")
    if isinstance(v, float) and not math.isfinite(v):
      raise Untranslatable("non-finite float")
    if isinstance(v, (list, tuple)):
      _check_values(v)
    if isinstance(v, dict):
      _check_values(list(v.keys()) + list(v.values()))
