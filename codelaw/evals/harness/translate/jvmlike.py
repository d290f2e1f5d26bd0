"""Java and C#: static methods in a `Problem` class; tests in Main throw on the first failure."""
from __future__ import annotations

from codelaw.evals.harness.translate import pytypes as T
from codelaw.evals.harness.translate.base import Target, camel, float_lit, pascal, str_lit
from codelaw.evals.harness.translate.pyparse import PyProblem

_JAVA_TUPLES = {2: "Pair", 3: "Triplet", 4: "Quartet"}


class Java(Target):
    name = "java"
    stop_sequences = ("\n    }\n",)
    keywords = frozenset("abstract assert boolean break byte case catch char class const continue default do "
                         "double else enum extends final finally float for goto if implements import instanceof "
                         "int interface long native new package private protected public return short static "
                         "strictfp super switch synchronized this throw throws transient try void volatile "
                         "while var record yield".split())

    def fn_name(self, name: str) -> str:
        return camel(name)

    def supports(self, t: T.Type) -> bool:
        if t[0] == "tuple" and len(t) - 1 not in _JAVA_TUPLES:
            return False
        return all(self.supports(x) for x in t[1:])

    def type_name(self, t: T.Type, boxed: bool = False) -> str:
        k = t[0]
        if k in ("int", "float", "bool"):
            return {"int": ("long", "Long"), "float": ("double", "Double"),
                    "bool": ("boolean", "Boolean")}[k][boxed]
        if k == "str":
            return "String"
        if k == "list":
            return f"ArrayList<{self.type_name(t[1], True)}>"
        if k == "tuple":
            return f"{_JAVA_TUPLES[len(t) - 1]}<" + ",".join(self.type_name(x, True) for x in t[1:]) + ">"
        if k == "dict":
            return f"HashMap<{self.type_name(t[1], True)},{self.type_name(t[2], True)}>"
        if k == "optional":
            return f"Optional<{self.type_name(t[1], True)}>"
        raise ValueError(t)

    def literal(self, v, t: T.Type) -> str:
        k = t[0]
        if k == "int":
            return f"(long){v}L"
        if k == "float":
            return float_lit(v)
        if k == "bool":
            return "true" if v else "false"
        if k == "str":
            return str_lit(v)
        if k == "list":
            inner = ", ".join(self.literal(x, t[1]) for x in v)
            return f"new ArrayList<{self.type_name(t[1], True)}>(Arrays.asList({inner}))"
        if k == "tuple":
            return f"{_JAVA_TUPLES[len(t) - 1]}.with(" + ", ".join(
                self.literal(x, xt) for x, xt in zip(v, t[1:])) + ")"
        if k == "dict":
            entries = ", ".join(f"Map.entry({self.literal(a, t[1])}, {self.literal(b, t[2])})"
                                for a, b in v.items())
            return f"new HashMap<{self.type_name(t[1], True)},{self.type_name(t[2], True)}>(Map.ofEntries({entries}))"
        if k == "optional":
            return "Optional.empty()" if v is None else f"Optional.of({self.literal(v, t[1])})"
        raise ValueError(t)

    def header(self, pp: PyProblem) -> str:
        return ("import java.util.*;\nimport java.lang.reflect.*;\nimport org.javatuples.*;\n"
                "import java.security.*;\nimport java.math.*;\nimport java.io.*;\nimport java.util.stream.*;\n"
                "class Problem {\n")

    def doc_indent(self) -> str:
        return "    "

    def signature(self, pp: PyProblem) -> str:
        params = ", ".join(f"{self.type_name(t)} {self.param(p)}" for p, t in zip(pp.params, pp.param_types))
        return f"    public static {self.type_name(pp.return_type)} {self.fn_name(pp.name)}({params}) {{"

    def check_eq(self, call: str, expected: str, t: T.Type) -> str:
        return f"        if (!(Objects.equals({call}, {expected}))) throw new AssertionError();"

    def check_approx(self, call: str, expected: str, tol: str) -> str:
        return f"        if (!(Math.abs({call} - {expected}) < {tol})) throw new AssertionError();"

    def suffix(self, checks: list[str]) -> str:
        return "\n    }\n    public static void main(String[] args) {\n" + "\n".join(checks) + "\n    }\n\n}\n"


class CSharp(Target):
    name = "csharp"
    stop_sequences = ("\n    }\n",)
    keywords = frozenset("abstract as base bool break byte case catch char checked class const continue decimal "
                         "default delegate do double else enum event explicit extern false finally fixed float "
                         "for foreach goto if implicit in int interface internal is lock long namespace new null "
                         "object operator out override params private protected public readonly ref return "
                         "sbyte sealed short sizeof stackalloc static string struct switch this throw true try "
                         "typeof uint ulong unchecked unsafe ushort using virtual void volatile while".split())

    def fn_name(self, name: str) -> str:
        return pascal(name)

    def param(self, name: str) -> str:
        return "@" + name if name in self.keywords else name

    def supports(self, t: T.Type) -> bool:
        if t[0] == "optional" and t[1][0] not in ("int", "float", "bool", "str"):
            return False
        return all(self.supports(x) for x in t[1:])

    def type_name(self, t: T.Type) -> str:
        k = t[0]
        if k in ("int", "float", "bool", "str"):
            return {"int": "long", "float": "double", "bool": "bool", "str": "string"}[k]
        if k == "list":
            return f"List<{self.type_name(t[1])}>"
        if k == "tuple":
            return "Tuple<" + ", ".join(self.type_name(x) for x in t[1:]) + ">"
        if k == "dict":
            return f"Dictionary<{self.type_name(t[1])},{self.type_name(t[2])}>"
        if k == "optional":
            inner = self.type_name(t[1])
            return inner if inner == "string" else inner + "?"
        raise ValueError(t)

    def literal(self, v, t: T.Type) -> str:
        k = t[0]
        if k == "int":
            return f"{v}L"
        if k == "float":
            return float_lit(v)
        if k == "bool":
            return "true" if v else "false"
        if k == "str":
            return str_lit(v)
        if k == "list":
            inner = ", ".join(self.literal(x, t[1]) for x in v)
            return f"new List<{self.type_name(t[1])}>(new {self.type_name(t[1])}[]{{{inner}}})"
        if k == "tuple":
            return "Tuple.Create(" + ", ".join(self.literal(x, xt) for x, xt in zip(v, t[1:])) + ")"
        if k == "dict":
            entries = ", ".join(f"{{{self.literal(a, t[1])}, {self.literal(b, t[2])}}}" for a, b in v.items())
            return f"new Dictionary<{self.type_name(t[1])},{self.type_name(t[2])}>(){{{entries}}}"
        if k == "optional":
            return "null" if v is None else self.literal(v, t[1])
        raise ValueError(t)

    def header(self, pp: PyProblem) -> str:
        return ("using System;\nusing System.Numerics;\nusing System.Diagnostics;\nusing System.Collections.Generic;\n"
                "using System.Linq;\nusing System.Text;\nusing System.Security.Cryptography;\nclass Problem {\n")

    def doc_indent(self) -> str:
        return "    "

    def signature(self, pp: PyProblem) -> str:
        params = ", ".join(f"{self.type_name(t)} {self.param(p)}" for p, t in zip(pp.params, pp.param_types))
        return f"    public static {self.type_name(pp.return_type)} {self.fn_name(pp.name)}({params}) {{"

    def check_eq(self, call: str, expected: str, t: T.Type) -> str:
        return f"        if (!(Eq({call}, {expected}))) throw new Exception(\"test failed\");"

    def check_approx(self, call: str, expected: str, tol: str) -> str:
        return f"        if (!(Math.Abs({call} - {expected}) < {tol})) throw new Exception(\"test failed\");"

    def suffix(self, checks: list[str]) -> str:
        # Structural equality: List/Dictionary compare by reference in .NET, so compare element-wise.
        eq = ("    static bool Eq(object a, object b) {\n"
              "        if (a == null || b == null) return a == null && b == null;\n"
              "        if (a is string || b is string) return a.Equals(b);\n"
              "        if (a is System.Collections.IDictionary && b is System.Collections.IDictionary) {\n"
              "            var da = (System.Collections.IDictionary)a; var db = (System.Collections.IDictionary)b;\n"
              "            if (da.Count != db.Count) return false;\n"
              "            foreach (var k in da.Keys) { if (!db.Contains(k) || !Eq(da[k], db[k])) return false; }\n"
              "            return true;\n"
              "        }\n"
              "        if (a is System.Collections.IEnumerable && b is System.Collections.IEnumerable) {\n"
              "            var ea = ((System.Collections.IEnumerable)a).Cast<object>().ToList();\n"
              "            var eb = ((System.Collections.IEnumerable)b).Cast<object>().ToList();\n"
              "            if (ea.Count != eb.Count) return false;\n"
              "            for (int i = 0; i < ea.Count; i++) { if (!Eq(ea[i], eb[i])) return false; }\n"
              "            return true;\n"
              "        }\n"
              "        return a.Equals(b);\n"
              "    }\n")
        return ("\n    }\n" + eq + "    public static void Main(string[] args) {\n" + "\n".join(checks)
                + "\n    }\n}\n")
