"""Go: `package main`, a top-level function, tests in main() that panic on the first failure.

Go rejects unused imports and a completion cannot add imports after the prompt, so the assembled
program gets an import block computed from the packages it references (what goimports would do)."""

from __future__ import annotations

import re

from codelaw.evals.harness.transpile import pytypes as T
from codelaw.evals.harness.transpile.base import SCALAR_LITERALS, Target, camel, items

STD_PACKAGES = (
  "bytes",
  "fmt",
  "math",
  "reflect",
  "regexp",
  "sort",
  "strconv",
  "strings",
  "unicode",
  "math/big",
  "math/bits",
  "crypto/md5",
  "encoding/hex",
  "container/heap",
  "slices",
)


def add_imports(src: str) -> str:
  """Insert `import (...)` after `package main` for each std package the source refers to."""
  used = []
  for pkg in STD_PACKAGES:
    short = pkg.rsplit("/", 1)[-1]
    if re.search(rf"(?<![\w.]){short}\.[A-Za-z]", src) and not re.search(rf'import[^)]*"{pkg}"', src):
      used.append(pkg)
  if not used:
    return src
  block = "import (\n" + "".join(f'    "{p}"\n' for p in used) + ")\n"
  return src.replace("package main\n", "package main\n\n" + block, 1)


class Go(Target):
  name = "go"
  stop_sequences = ("\n}",)
  keywords = frozenset(
    "break case chan const continue default defer else fallthrough for func go goto if "
    "import interface map package range return select struct switch type var "
    "bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 "
    "rune string uint uint8 uint16 uint32 uint64 uintptr true false iota nil append cap "
    "close complex copy delete imag len make new panic print println real recover "
    "max min clear".split()
  )

  fn_name = staticmethod(camel)

  def supports(self, t: T.Type) -> bool:
    if t[0] in ("tuple", "optional"):
      return False
    return all(self.supports(x) for x in t[1:])

  types = {
    "int": "int",
    "float": "float64",
    "bool": "bool",
    "str": "string",
    "list": "[]{0}",
    "dict": "map[{0}]{1}",
  }
  literals = {
    **SCALAR_LITERALS,
    "list": lambda tg, v, t: f"{tg.type_name(t)}{{{items(tg, v, t)}}}",
    "dict": lambda tg, v, t: (
      tg.type_name(t) + "{" + ", ".join(f"{tg.literal(a, t[1])}: {tg.literal(b, t[2])}" for a, b in v.items()) + "}"
    ),
  }

  prelude = "package main\n\n"

  signature_format = "func {fn}({params}) {type} {{"
  param_format = "{name} {type}"

  assert_equal = "    if !deepEq__({call}, {expected}) {{ panic(\"test failed\") }}"

  assert_close = "    if d := {call} - {expected}; !(d < {tol} && -d < {tol}) {{ panic(\"test failed\") }}"

  def suffix(self, checks: list[str]) -> str:
    # nil and empty slices are the same answer; reflect.DeepEqual alone says they differ.
    eq = (
      "func deepEq__(a, b interface{}) bool {\n"
      "    va, vb := reflect.ValueOf(a), reflect.ValueOf(b)\n"
      "    if va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice {\n"
      "        if va.Len() != vb.Len() { return false }\n"
      "        for i := 0; i < va.Len(); i++ {\n"
      "            if !deepEq__(va.Index(i).Interface(), vb.Index(i).Interface()) { return false }\n"
      "        }\n"
      "        return true\n"
      "    }\n"
      "    return reflect.DeepEqual(a, b)\n"
      "}\n"
    )
    return "\n}\n\n" + eq + "\nfunc main() {\n" + "\n".join(checks) + "\n}\n"
