"""A small type language for HumanEval values, inferred MultiPL-E style (annotation first, then values)."""

from __future__ import annotations

import ast
from typing import Any, Union

from codelaw.evals.harness.transpile.errors import Untranslatable

# A type is a tuple: ("int",) ("float",) ("bool",) ("str",) ("list", T) ("tuple", T1, ..., Tn)
# ("dict", K, V) ("optional", T); UNKNOWN marks what the values cannot tell (e.g. an empty list).
Type = tuple
INT, FLOAT, BOOL, STR, UNKNOWN = ("int",), ("float",), ("bool",), ("str",), ("unknown",)
NONE = ("none",)


class TypeError_(Exception):
  pass


def from_annotation(node: ast.AST | None) -> Type | None:
  """Annotation → type, None when absent or not expressible (then values decide)."""
  if node is None:
    return None
  if isinstance(node, ast.Name):
    return {
      "int": INT,
      "float": FLOAT,
      "bool": BOOL,
      "str": STR,
      "list": ("list", UNKNOWN),
      "List": ("list", UNKNOWN),
      "tuple": None,
      "dict": ("dict", UNKNOWN, UNKNOWN),
      "Dict": ("dict", UNKNOWN, UNKNOWN),
    }.get(node.id)
  if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
    head = node.value.id
    args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    sub = [from_annotation(x) for x in args]
    if any(s is None for s in sub):
      sub = [s if s is not None else UNKNOWN for s in sub]
    if head in ("List", "list") and len(sub) == 1:
      return ("list", sub[0])
    if head in ("Tuple", "tuple"):
      if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is Ellipsis:
        return None
      return ("tuple",) + tuple(sub)
    if head in ("Dict", "dict") and len(sub) == 2:
      return ("dict", sub[0], sub[1])
    if head == "Optional" and len(sub) == 1:
      return ("optional", sub[0])
  return None  # Union, Any, ... : let the values decide


def of_value(v: Any) -> Type:
  if isinstance(v, bool):
    return BOOL
  if isinstance(v, int):
    return INT
  if isinstance(v, float):
    return FLOAT
  if isinstance(v, str):
    return STR
  if v is None:
    return NONE
  if isinstance(v, list):
    return ("list", _join_all([of_value(x) for x in v]))
  if isinstance(v, tuple):
    return ("tuple",) + tuple(of_value(x) for x in v)
  if isinstance(v, dict):
    return ("dict", _join_all([of_value(k) for k in v]), _join_all([of_value(x) for x in v.values()]))
  raise TypeError_(f"unsupported value {type(v).__name__}")


def _join_all(ts: list[Type]) -> Type:
  out = UNKNOWN
  for t in ts:
    out = join(out, t)
  return out


def join(a: Type, b: Type) -> Type:
  """Least common type; raises TypeError_ when the values disagree (e.g. int and str)."""
  if a == b:
    return a
  if a == UNKNOWN:
    return b
  if b == UNKNOWN:
    return a
  if {a, b} == {INT, FLOAT}:
    return FLOAT
  if a == NONE:
    return b if b[0] == "optional" else ("optional", b)
  if b == NONE:
    return join(b, a)
  if a[0] == "optional" or b[0] == "optional":
    ia = a[1] if a[0] == "optional" else a
    ib = b[1] if b[0] == "optional" else b
    return ("optional", join(ia, ib))
  if a[0] == b[0] and len(a) == len(b) and a[0] in ("list", "tuple", "dict"):
    return (a[0],) + tuple(join(x, y) for x, y in zip(a[1:], b[1:]))
  raise TypeError_(f"values of types {show(a)} and {show(b)} mix")


def complete(t: Type) -> bool:
  return t != UNKNOWN and t != NONE and all(complete(x) for x in t[1:])


def show(t: Type) -> str:
  return t[0] if len(t) == 1 else f"{t[0]}[{', '.join(show(x) for x in t[1:])}]"


def resolve(annotation: Type | None, values: list, what: str) -> Type:
  try:
    t = annotation if annotation is not None else UNKNOWN
    for v in values:
      vt = of_value(v)
      # An annotation wins over an int value where it says float (3 passed as a float).
      t = join(t, vt)
  except TypeError_ as e:
    raise Untranslatable(f"{what}: {e}") from e
  if annotation is not None and annotation[0] == "int" and t == FLOAT:
    raise Untranslatable(f"{what}: annotated int but given floats")
  if not complete(t):
    raise Untranslatable(f"{what}: type {show(t)} cannot be inferred from the tests")
  return t


Value = Union[int, float, str, bool, list, tuple, dict, None]
