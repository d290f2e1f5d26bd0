"""Go: `package main`, a top-level function, tests in main() that panic on the first failure.

Go rejects unused imports and a completion cannot add imports after the prompt, so the assembled
program gets an import block computed from the packages it references (what goimports would do)."""

from __future__ import annotations

import re

from codelaw.evals.harness.transpile.base import SPELLINGS, Target, camel

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


# nil and empty slices are the same answer; reflect.DeepEqual alone says they differ.
_DEEP_EQ = """func deepEq__(a, b interface{}) bool {
    va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
    if va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice {
        if va.Len() != vb.Len() { return false }
        for i := 0; i < va.Len(); i++ {
            if !deepEq__(va.Index(i).Interface(), vb.Index(i).Interface()) { return false }
        }
        return true
    }
    return reflect.DeepEqual(a, b)
}
"""


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
  spellings = SPELLINGS["go"]

  prelude = "package main\n\n"

  signature_format = "func {fn}({params}) {type} {{"
  param_format = "{name} {type}"

  assert_equal = "    if !deepEq__({call}, {expected}) {{ panic(\"test failed\") }}"

  assert_close = "    if d := {call} - {expected}; !(d < {tol} && -d < {tol}) {{ panic(\"test failed\") }}"

  tests_open = "\n}\n\n" + _DEEP_EQ + "\nfunc main() {\n"
  tests_close = "\n}\n"
