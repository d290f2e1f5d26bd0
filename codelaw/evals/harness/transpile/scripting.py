"""JavaScript and TypeScript: a top-level function; tests compare with a structural deep-equal."""

from __future__ import annotations

from codelaw.evals.harness.transpile.base import SPELLINGS, Target

# Closes the solution, defines a structural deep-equal ({any}, {ret}: its TypeScript annotations), opens the tests.
_TESTS_OPEN = """
}}

function __deepEqual(a{any}, b{any}){ret} {{
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && __deepEqual(a[k], b[k]));
}}

function __test() {{
"""


class JavaScript(Target):
  name = "javascript"
  stop_sequences = ("\nfunction ", "\n/*", "\n//", "\nconsole.log", "\n}")
  keywords = frozenset(
    "break case catch class const continue debugger default delete do else export extends "
    "finally for function if import in instanceof new return super switch this throw try "
    "typeof var void while with yield let static enum await implements package protected "
    "interface private public arguments eval".split()
  )
  spellings = SPELLINGS["javascript"]

  signature_format = "function {fn}({params}){{"
  param_format = "{name}"

  assert_equal = "  if (!__deepEqual({call}, {expected})) throw new Error(\"test failed\");"

  assert_close = "  if (!(Math.abs({call} - {expected}) < {tol})) throw new Error(\"test failed\");"

  tests_open = _TESTS_OPEN.format(any="", ret="")
  tests_close = "\n}\n__test();\n"


class TypeScript(JavaScript):
  name = "typescript"
  signature_format = "function {fn}({params}): {type} {{"
  param_format = "{name}: {type}"
  tests_open = _TESTS_OPEN.format(any=": any", ret=": boolean")
  # In TypeScript a file without import/export is a global script: batch compiles would clash.
  tests_close = JavaScript.tests_close + "export {};\n"
