"""JavaScript and TypeScript: a top-level function; tests compare with a structural deep-equal."""

from __future__ import annotations

from codelaw.evals.harness.transpile.base import SCALAR_LITERALS, Target, items, str_lit

_DEEP_EQ = (
  "function __deepEqual(a{any}, b{any}){ret} {{\n"
  "  if (a === b) return true;\n"
  "  if (a === null || b === null || typeof a !== \"object\" || typeof b !== \"object\") return false;\n"
  "  if (Array.isArray(a) !== Array.isArray(b)) return false;\n"
  "  const ka = Object.keys(a), kb = Object.keys(b);\n"
  "  if (ka.length !== kb.length) return false;\n"
  "  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && __deepEqual(a[k], b[k]));\n"
  "}}\n"
)


class JavaScript(Target):
  name = "javascript"
  stop_sequences = ("\nfunction ", "\n/*", "\n//", "\nconsole.log", "\n}")
  keywords = frozenset(
    "break case catch class const continue debugger default delete do else export extends "
    "finally for function if import in instanceof new return super switch this throw try "
    "typeof var void while with yield let static enum await implements package protected "
    "interface private public arguments eval".split()
  )
  typed = False
  needs_complete_types = False

  types = {
    "int": "number",
    "float": "number",
    "bool": "boolean",
    "str": "string",
    "list": "{0}[]",
    "tuple": "[{items}]",
    "dict": "{{[key: {0}]: {1}}}",
    "optional": "{0} | undefined",
  }
  literals = {
    **SCALAR_LITERALS,
    "list": lambda tg, v, t: f"[{items(tg, v, t)}]",
    "tuple": lambda tg, v, t: f"[{items(tg, v, t)}]",
    # Object keys are strings whatever the Python key type was.
    "dict": lambda tg, v, t: "{" + ", ".join(f"{str_lit(str(a))}: {tg.literal(b, t[2])}" for a, b in v.items()) + "}",
    "optional": lambda tg, v, t: "undefined" if v is None else tg.literal(v, t[1]),
  }

  signature_format = "function {fn}({params}){{"
  param_format = "{name}"

  assert_equal = "  if (!__deepEqual({call}, {expected})) throw new Error(\"test failed\");"

  assert_close = "  if (!(Math.abs({call} - {expected}) < {tol})) throw new Error(\"test failed\");"

  def suffix(self, checks: list[str]) -> str:
    if self.typed:
      eq = _DEEP_EQ.format(any=": any", ret=": boolean")
    else:
      eq = _DEEP_EQ.format(any="", ret="")
    body = "\n}\n\n" + eq + "\nfunction __test() {\n" + "\n".join(checks) + "\n}\n__test();\n"
    # In TypeScript a file without import/export is a global script: batch compiles would clash.
    return body + ("export {};\n" if self.typed else "")


class TypeScript(JavaScript):
  name = "typescript"
  typed = True
  signature_format = "function {fn}({params}): {type} {{"
  param_format = "{name}: {type}"
  needs_complete_types = True
