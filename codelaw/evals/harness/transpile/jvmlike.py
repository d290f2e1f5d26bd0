"""Java and C#: static methods in a `Problem` class; tests in Main throw on the first failure."""

from __future__ import annotations

from codelaw.evals.harness.transpile import pytypes as T
from codelaw.evals.harness.transpile.base import SCALAR_LITERALS, Target, camel, items, pascal

_JAVA_TUPLES = {2: "Pair", 3: "Triplet", 4: "Quartet"}
_JAVA_BOXED = {"int": "Long", "float": "Double", "bool": "Boolean"}


class _StaticMethod(Target):
  """The solution is a static method of class Problem (Java, C#), its doc comment indented inside it."""

  def doc_indent(self) -> str:
    return "    "

  signature_format = "    public static {type} {fn}({params}) {{"
  param_format = "{type} {name}"


class Java(_StaticMethod):
  name = "java"
  stop_sequences = ("\n    }\n",)
  keywords = frozenset(
    "abstract assert boolean break byte case catch char class const continue default do "
    "double else enum extends final finally float for goto if implements import instanceof "
    "int interface long native new package private protected public return short static "
    "strictfp super switch synchronized this throw throws transient try void volatile "
    "while var record yield".split()
  )

  fn_name = staticmethod(camel)

  def supports(self, t: T.Type) -> bool:
    if t[0] == "tuple" and len(t) - 1 not in _JAVA_TUPLES:
      return False
    return all(self.supports(x) for x in t[1:])

  types = {
    "int": "long",
    "float": "double",
    "bool": "boolean",
    "str": "String",
    "list": "ArrayList<{0}>",
    "tuple": lambda inner: f"{_JAVA_TUPLES[len(inner)]}<{','.join(inner)}>",
    "dict": "HashMap<{0},{1}>",
    "optional": "Optional<{0}>",
  }
  literals = {
    **SCALAR_LITERALS,
    "int": lambda tg, v, t: f"(long){v}L",
    "list": lambda tg, v, t: f"new ArrayList<{tg.inner_type_name(t[1])}>(Arrays.asList({items(tg, v, t)}))",
    "tuple": lambda tg, v, t: f"{_JAVA_TUPLES[len(t) - 1]}.with({items(tg, v, t)})",
    "dict": lambda tg, v, t: (
      f"new {tg.type_name(t)}(Map.ofEntries("
      + ", ".join(f"Map.entry({tg.literal(a, t[1])}, {tg.literal(b, t[2])})" for a, b in v.items())
      + "))"
    ),
    "optional": lambda tg, v, t: "Optional.empty()" if v is None else f"Optional.of({tg.literal(v, t[1])})",
  }

  def inner_type_name(self, t: T.Type) -> str:
    return _JAVA_BOXED.get(t[0]) or self.type_name(t)

  prelude = (
    "import java.util.*;\nimport java.lang.reflect.*;\nimport org.javatuples.*;\n"
    "import java.security.*;\nimport java.math.*;\nimport java.io.*;\nimport java.util.stream.*;\n"
    "class Problem {\n"
  )

  assert_equal = "        if (!(Objects.equals({call}, {expected}))) throw new AssertionError();"

  assert_close = "        if (!(Math.abs({call} - {expected}) < {tol})) throw new AssertionError();"

  def suffix(self, checks: list[str]) -> str:
    return "\n    }\n    public static void main(String[] args) {\n" + "\n".join(checks) + "\n    }\n\n}\n"


class CSharp(_StaticMethod):
  name = "csharp"
  stop_sequences = ("\n    }\n",)
  keywords = frozenset(
    "abstract as base bool break byte case catch char checked class const continue decimal "
    "default delegate do double else enum event explicit extern false finally fixed float "
    "for foreach goto if implicit in int interface internal is lock long namespace new null "
    "object operator out override params private protected public readonly ref return "
    "sbyte sealed short sizeof stackalloc static string struct switch this throw true try "
    "typeof uint ulong unchecked unsafe ushort using virtual void volatile while".split()
  )

  fn_name = staticmethod(pascal)

  def param(self, name: str) -> str:
    return "@" + name if name in self.keywords else name

  def supports(self, t: T.Type) -> bool:
    if t[0] == "optional" and t[1][0] not in ("int", "float", "bool", "str"):
      return False
    return all(self.supports(x) for x in t[1:])

  types = {
    "int": "long",
    "float": "double",
    "bool": "bool",
    "str": "string",
    "list": "List<{0}>",
    "tuple": "Tuple<{items}>",
    "dict": "Dictionary<{0},{1}>",
    # string is a reference type (already nullable); value types get `?`.
    "optional": lambda inner: inner[0] if inner[0] == "string" else inner[0] + "?",
  }
  literals = {
    **SCALAR_LITERALS,
    "int": lambda tg, v, t: f"{v}L",
    "list": lambda tg, v, t: f"new {tg.type_name(t)}(new {tg.type_name(t[1])}[]{{{items(tg, v, t)}}})",
    "tuple": lambda tg, v, t: f"Tuple.Create({items(tg, v, t)})",
    "dict": lambda tg, v, t: (
      f"new {tg.type_name(t)}(){{"
      + ", ".join(f"{{{tg.literal(a, t[1])}, {tg.literal(b, t[2])}}}" for a, b in v.items())
      + "}"
    ),
    "optional": lambda tg, v, t: "null" if v is None else tg.literal(v, t[1]),
  }

  prelude = (
    "using System;\nusing System.Numerics;\nusing System.Diagnostics;\nusing System.Collections.Generic;\n"
    "using System.Linq;\nusing System.Text;\nusing System.Security.Cryptography;\nclass Problem {\n"
  )

  assert_equal = "        if (!(Eq({call}, {expected}))) throw new Exception(\"test failed\");"

  assert_close = "        if (!(Math.Abs({call} - {expected}) < {tol})) throw new Exception(\"test failed\");"

  def suffix(self, checks: list[str]) -> str:
    # Structural equality: List/Dictionary compare by reference in .NET, so compare element-wise.
    eq = (
      "    static bool Eq(object a, object b) {\n"
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
      "    }\n"
    )
    return "\n    }\n" + eq + "    public static void Main(string[] args) {\n" + "\n".join(checks) + "\n    }\n}\n"
