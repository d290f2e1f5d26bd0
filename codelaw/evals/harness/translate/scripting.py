"""JavaScript and TypeScript: a top-level function; tests compare with a structural deep-equal."""
from __future__ import annotations

from codelaw.evals.harness.translate import pytypes as T
from codelaw.evals.harness.translate.base import Target, float_lit, str_lit
from codelaw.evals.harness.translate.pyparse import PyProblem

_DEEP_EQ = ("function __deepEqual(a{any}, b{any}){ret} {{\n"
            "  if (a === b) return true;\n"
            "  if (a === null || b === null || typeof a !== \"object\" || typeof b !== \"object\") return false;\n"
            "  if (Array.isArray(a) !== Array.isArray(b)) return false;\n"
            "  const ka = Object.keys(a), kb = Object.keys(b);\n"
            "  if (ka.length !== kb.length) return false;\n"
            "  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && __deepEqual(a[k], b[k]));\n"
            "}}\n")


class JavaScript(Target):
    name = "javascript"
    stop_sequences = ("\nfunction ", "\n/*", "\n//", "\nconsole.log", "\n}")
    keywords = frozenset("break case catch class const continue debugger default delete do else export extends "
                         "finally for function if import in instanceof new return super switch this throw try "
                         "typeof var void while with yield let static enum await implements package protected "
                         "interface private public arguments eval".split())
    typed = False
    needs_complete_types = False

    def type_name(self, t: T.Type) -> str:
        k = t[0]
        if k in ("int", "float"):
            return "number"
        if k == "bool":
            return "boolean"
        if k == "str":
            return "string"
        if k == "list":
            return f"{self.type_name(t[1])}[]"
        if k == "tuple":
            return "[" + ", ".join(self.type_name(x) for x in t[1:]) + "]"
        if k == "dict":
            return f"{{[key: {self.type_name(t[1])}]: {self.type_name(t[2])}}}"
        if k == "optional":
            return f"{self.type_name(t[1])} | undefined"
        raise ValueError(t)

    def literal(self, v, t: T.Type) -> str:
        k = t[0]
        if k == "int":
            return str(v)
        if k == "float":
            return float_lit(v)
        if k == "bool":
            return "true" if v else "false"
        if k == "str":
            return str_lit(v)
        if k == "list":
            return "[" + ", ".join(self.literal(x, t[1]) for x in v) + "]"
        if k == "tuple":
            return "[" + ", ".join(self.literal(x, xt) for x, xt in zip(v, t[1:])) + "]"
        if k == "dict":
            return "{" + ", ".join(f"{str_lit(str(a))}: {self.literal(b, t[2])}" for a, b in v.items()) + "}"
        if k == "optional":
            return "undefined" if v is None else self.literal(v, t[1])
        raise ValueError(t)

    def signature(self, pp: PyProblem) -> str:
        if not self.typed:
            return f"function {pp.name}(" + ", ".join(self.param(p) for p in pp.params) + "){"
        params = ", ".join(f"{self.param(p)}: {self.type_name(t)}" for p, t in zip(pp.params, pp.param_types))
        return f"function {pp.name}({params}): {self.type_name(pp.return_type)} {{"

    def check_eq(self, call: str, expected: str, t: T.Type) -> str:
        return f"  if (!__deepEqual({call}, {expected})) throw new Error(\"test failed\");"

    def check_approx(self, call: str, expected: str, tol: str) -> str:
        return f"  if (!(Math.abs({call} - {expected}) < {tol})) throw new Error(\"test failed\");"

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
    needs_complete_types = True
