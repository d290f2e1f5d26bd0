"""Shared machinery for the target languages: spelling types and values from their tables (spellings.json),
docstring translation, test-suffix assembly."""

from __future__ import annotations

import ast
import functools
import json
import re
import string
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

from codelaw.evals.harness.transpile import pytypes as T
from codelaw.evals.harness.transpile.errors import Untranslatable
from codelaw.evals.harness.transpile.pyparse import PyProblem


def camel(name: str) -> str:
  head, *rest = name.split("_")
  return head + "".join(w[:1].upper() + w[1:] for w in rest)


def pascal(name: str) -> str:
  c = camel(name)
  return c[:1].upper() + c[1:]


def str_lit(s: str) -> str:
  """A double-quoted literal with JSON escapes (valid in Java, C#, Go, JS/TS and Rust for \\uXXXX*)."""
  return json.dumps(s)


def float_lit(v: float) -> str:
  r = repr(float(v))
  return r if any(c in r for c in ".e") else r + ".0"


# Per target: {"types": {key: format}, "literals": {key: format}, "boxed": {kind: name}} (see spellings.json).
SPELLINGS: dict[str, dict[str, Any]] = json.loads((resources.files(__package__) / "spellings.json").read_text())

_SCALARS: dict[str, Callable[[Any], str]] = {
  "int": str,
  "float": float_lit,
  "bool": lambda v: "true" if v else "false",
  "str": str_lit,
}


def _items(target: "Target", v, t: T.Type) -> str:
  """The literals of a tuple's elements (t = ("tuple", T1, ..., Tn)) or a list's (t = ("list", T))."""
  if t[0] == "tuple":
    return ", ".join(target.literal(x, xt) for x, xt in zip(v, t[1:]))
  return ", ".join(target.literal(x, t[1]) for x in v)


# What the fields of a literal's format stand for, given the target, the value and its type; a dict's entry is the
# value (key, value) of type ("entry", K, V).
_LITERAL_FIELDS: dict[str, Callable[["Target", Any, T.Type], str]] = {
  "v": lambda tg, v, t: _SCALARS[t[0]](v),
  "type": lambda tg, v, t: tg.type_name(t),
  "elem": lambda tg, v, t: tg.type_name(t[1]),
  "inner": lambda tg, v, t: tg.inner_type_name(t[1]),
  "items": _items,
  "entries": lambda tg, v, t: ", ".join(tg.literal(e, ("entry", t[1], t[2])) for e in v.items()),
  "key": lambda tg, v, t: tg.literal(v[0], t[1]),
  "value": lambda tg, v, t: tg.literal(v[1], t[2]),
  "key_text": lambda tg, v, t: str_lit(str(v[0])),
  "some": lambda tg, v, t: tg.literal(v, t[1]),
}

_NO_VALUE = object()


def _keys(t: T.Type, v: Any = _NO_VALUE) -> tuple[str, ...]:
  """Where a type (or, given v, a value of it) is looked up in a table: "kind:tag" first, then "kind"."""
  kind = t[0]
  if kind == "tuple":
    tag = str(len(t) - 1)
  elif v is _NO_VALUE:
    tag = t[1][0] if kind == "optional" else ""
  else:
    tag = "none" if v is None else "empty" if kind == "list" and not v else ""
  return (f"{kind}:{tag}", kind) if tag else (kind,)


@functools.cache
def _fields(fmt: str) -> tuple[str, ...]:
  return tuple(name for _, name, _, _ in string.Formatter().parse(fmt) if name)


class Target:
  name = ""
  stop_sequences: tuple[str, ...] = ()
  comment = "//"
  keywords: frozenset[str] = frozenset()
  # How the target spells types and values: one of SPELLINGS.
  spellings: Mapping[str, Mapping[str, Any]] = {"types": {}, "literals": {}}
  prelude = ""  # text before the doc comment (imports, an enclosing class)
  # The solution's first line: formats over {fn}, {params} and {type} (the return type); each parameter over
  # {name} and {type}.
  signature_format = ""
  param_format = "{name}: {type}"
  # One test line: formats over {call} and {expected} (and {tol} for floats compared within a tolerance).
  assert_equal = ""
  assert_close = ""
  # What follows the completion: text that closes the solution and opens a main, the test lines, text that closes it.
  tests_open = ""
  tests_close = ""

  # --- per language -------------------------------------------------------------------------
  def fn_name(self, name: str) -> str:
    return name

  def type_name(self, t: T.Type) -> str:
    inner = [self.inner_type_name(x) for x in t[1:]]
    return self._spelling("types", t).format(*inner, items=", ".join(inner))

  def inner_type_name(self, t: T.Type) -> str:
    """The name of a type inside a container (Java boxes its primitives there)."""
    return self.spellings.get("boxed", {}).get(t[0]) or self.type_name(t)

  def literal(self, v, t: T.Type) -> str:
    fmt = self._spelling("literals", t, v)
    return fmt.format_map({name: _LITERAL_FIELDS[name](self, v, t) for name in _fields(fmt)})

  def header(self, pp: PyProblem) -> str:
    return self.prelude

  def signature(self, pp: PyProblem) -> str:
    def spell(fmt: str, t: T.Type, **names: str) -> str:
      # Untyped targets never ask for a type name (their types may be incomplete).
      return fmt.format(**names, type=self.type_name(t) if "{type}" in fmt else "")

    params = ", ".join(spell(self.param_format, t, name=self.param(p)) for p, t in zip(pp.params, pp.param_types))
    return spell(self.signature_format, pp.return_type, fn=self.fn_name(pp.name), params=params)

  def check_eq(self, call: str, expected: str, t: T.Type) -> str:
    return self.assert_equal.format(call=call, expected=expected)

  def check_approx(self, call: str, expected: str, tol: str) -> str:
    return self.assert_close.format(call=call, expected=expected, tol=tol)

  def suffix(self, checks: list[str]) -> str:
    return self.tests_open + "\n".join(checks) + self.tests_close

  def supports(self, t: T.Type) -> bool:
    return self._spelled("types", t) is not None and all(self.supports(x) for x in t[1:])

  def doc_indent(self) -> str:
    return ""

  # --- shared -------------------------------------------------------------------------------
  def _spelled(self, table: str, t: T.Type, v: Any = _NO_VALUE) -> str | None:
    spellings = self.spellings[table]
    return next((spellings[k] for k in _keys(t, v) if k in spellings), None)

  def _spelling(self, table: str, t: T.Type, v: Any = _NO_VALUE) -> str:
    fmt = self._spelled(table, t, v)
    if fmt is None:
      raise ValueError(t)
    return fmt

  def param(self, name: str) -> str:
    return name + "_" if name in self.keywords else name

  def call(self, pp: PyProblem, args: tuple) -> str:
    return f"{self.fn_name(pp.name)}(" + ", ".join(self.literal(a, t) for a, t in zip(args, pp.param_types)) + ")"

  def check_types(self, pp: PyProblem) -> None:
    for t in pp.param_types + (pp.return_type,):
      if not self.supports(t):
        raise Untranslatable(f"{self.name} has no mapping for type {T.show(t)}")

  def prompt(self, pp: PyProblem) -> str:
    self.check_types(pp)
    ind = self.doc_indent()
    doc = self.translate_doc(pp)
    lines = [f"{ind}{self.comment} {line}".rstrip() for line in doc.splitlines()]
    return self.header(pp) + "\n".join(lines) + ("\n" if lines else "") + self.signature(pp) + "\n"

  def tests(self, pp: PyProblem) -> str:
    self.check_types(pp)
    checks = []
    for c in pp.cases:
      call = self.call(pp, c.args)
      if c.approx is not None:
        checks.append(self.check_approx(call, self.literal(float(c.expected), T.FLOAT), float_lit(c.approx)))
      else:
        checks.append(self.check_eq(call, self.literal(c.expected, pp.return_type), pp.return_type))
    return self.suffix(checks)

  def translate_doc(self, pp: PyProblem) -> str:
    """Rewrite `>>> f(args)` examples and their outputs in the target syntax (MultiPL-E style)."""
    out, lines, i = [], pp.docstring.splitlines(), 0
    name_re = re.compile(rf"\b{re.escape(pp.name)}\b")
    while i < len(lines):
      line = lines[i]
      m = re.match(r"(\s*)>>>\s*(.*)$", line)
      if m:
        call = self._doc_call(pp, m.group(2))
        if call is not None:
          out.append(f"{m.group(1)}>>> {call}")
          if i + 1 < len(lines) and lines[i + 1].strip() and ">>>" not in lines[i + 1]:
            out.append(m.group(1) + self._doc_value(pp, lines[i + 1].strip()))
            i += 1
          i += 1
          continue
      out.append(name_re.sub(self.fn_name(pp.name), line))
      i += 1
    return "\n".join(out)

  def _doc_call(self, pp: PyProblem, src: str) -> str | None:
    try:
      node = ast.parse(src, mode="eval").body
      if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == pp.name):
        return None
      args = tuple(ast.literal_eval(a) for a in node.args)
      if len(args) != len(pp.params) or node.keywords:
        return None
      for a, t in zip(args, pp.param_types):
        T.join(t, T.of_value(a))
      return self.call(pp, args)
    except Exception:  # noqa: BLE001 (examples that do not parse stay as written)
      return None

  def _doc_value(self, pp: PyProblem, src: str) -> str:
    try:
      v = ast.literal_eval(src)
      T.join(pp.return_type, T.of_value(v))
      return self.literal(v, pp.return_type)
    except Exception:  # noqa: BLE001
      return src
