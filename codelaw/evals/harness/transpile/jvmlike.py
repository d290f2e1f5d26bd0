"""Java and C#: static methods in a `Problem` class; tests in Main throw on the first failure."""

from __future__ import annotations

from codelaw.evals.harness.transpile.base import SPELLINGS, Target, camel, pascal

# Structural equality: List/Dictionary compare by reference in .NET, so compare element-wise.
_CS_EQ = """    static bool Eq(object a, object b) {
        if (a == null || b == null) return a == null && b == null;
        if (a is string || b is string) return a.Equals(b);
        if (a is System.Collections.IDictionary && b is System.Collections.IDictionary) {
            var da = (System.Collections.IDictionary)a; var db = (System.Collections.IDictionary)b;
            if (da.Count != db.Count) return false;
            foreach (var k in da.Keys) { if (!db.Contains(k) || !Eq(da[k], db[k])) return false; }
            return true;
        }
        if (a is System.Collections.IEnumerable && b is System.Collections.IEnumerable) {
            var ea = ((System.Collections.IEnumerable)a).Cast<object>().ToList();
            var eb = ((System.Collections.IEnumerable)b).Cast<object>().ToList();
            if (ea.Count != eb.Count) return false;
            for (int i = 0; i < ea.Count; i++) { if (!Eq(ea[i], eb[i])) return false; }
            return true;
        }
        return a.Equals(b);
    }
"""


class _StaticMethod(Target):
  """The solution is a static method of class Problem (Java, C#), its doc comment indented inside it."""

  def doc_indent(self) -> str:
    return "    "

  stop_sequences = ("\n    }\n",)
  signature_format = "    public static {type} {fn}({params}) {{"
  param_format = "{type} {name}"


class Java(_StaticMethod):
  name = "java"
  keywords = frozenset(
    "abstract assert boolean break byte case catch char class const continue default do "
    "double else enum extends final finally float for goto if implements import instanceof "
    "int interface long native new package private protected public return short static "
    "strictfp super switch synchronized this throw throws transient try void volatile "
    "while var record yield".split()
  )

  fn_name = staticmethod(camel)
  spellings = SPELLINGS["java"]

  prelude = (
    "import java.util.*;\nimport java.lang.reflect.*;\nimport org.javatuples.*;\n"
    "import java.security.*;\nimport java.math.*;\nimport java.io.*;\nimport java.util.stream.*;\n"
    "class Problem {\n"
  )

  assert_equal = "        if (!(Objects.equals({call}, {expected}))) throw new AssertionError();"

  assert_close = "        if (!(Math.abs({call} - {expected}) < {tol})) throw new AssertionError();"

  tests_open = "\n    }\n    public static void main(String[] args) {\n"
  tests_close = "\n    }\n\n}\n"


class CSharp(_StaticMethod):
  name = "csharp"
  keywords = frozenset(
    "abstract as base bool break byte case catch char checked class const continue decimal "
    "default delegate do double else enum event explicit extern false finally fixed float "
    "for foreach goto if implicit in int interface internal is lock long namespace new null "
    "object operator out override params private protected public readonly ref return "
    "sbyte sealed short sizeof stackalloc static string struct switch this throw true try "
    "typeof uint ulong unchecked unsafe ushort using virtual void volatile while".split()
  )

  fn_name = staticmethod(pascal)
  spellings = SPELLINGS["csharp"]

  def param(self, name: str) -> str:
    return "@" + name if name in self.keywords else name

  prelude = (
    "using System;\nusing System.Numerics;\nusing System.Diagnostics;\nusing System.Collections.Generic;\n"
    "using System.Linq;\nusing System.Text;\nusing System.Security.Cryptography;\nclass Problem {\n"
  )

  assert_equal = "        if (!(Eq({call}, {expected}))) throw new Exception(\"test failed\");"

  assert_close = "        if (!(Math.Abs({call} - {expected}) < {tol})) throw new Exception(\"test failed\");"

  tests_open = "\n    }\n" + _CS_EQ + "    public static void Main(string[] args) {\n"
  tests_close = "\n    }\n}\n"
