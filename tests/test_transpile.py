"""Translation of HumanEval prompts and tests (no toolchain needed)."""

import pytest

from codelaw.errors import UserError
from codelaw.evals.harness import STOP_SEQUENCES, load, prompt, skipped, truncate
from codelaw.evals.harness.transpile import TARGETS, Untranslatable, add_imports, parse_problem
from codelaw.evals.harness.transpile import pytypes as T
from codelaw.languages import NAMES

CHECK = '''
def check(candidate):
    assert candidate([1, 2], "a") == [1.5]
    assert candidate([], "b") == []
'''
PROMPT = '''from typing import List

def f(xs: List[int], s: str) -> List[float]:
    """ Example.
    >>> f([1, 2], 'a')
    [1.5]
    """
'''


def test_parse_infers_types_and_cases():
  pp = parse_problem("X/1", PROMPT, CHECK, "f")
  assert pp.param_types == (("list", T.INT), T.STR)
  assert pp.return_type == ("list", T.FLOAT)
  assert [c.expected for c in pp.cases] == [[1.5], []]


def test_bool_and_approx_asserts():
  pp = parse_problem(
    "X/4", "def k(x: float):\n    pass\n", "def check(candidate):\n    assert abs(candidate(3) - 0.5) < 1e-6\n", "k"
  )
  assert pp.cases[0].approx == pytest.approx(1e-6) and pp.param_types == (T.FLOAT,)
  assert "Math.abs(k(3.0) - 0.5) < 1e-06" in TARGETS["java"].tests(pp)
  pb = parse_problem(
    "X/5",
    "def b(x: int) -> bool:\n    pass\n",
    "def check(candidate):\n    assert candidate(1)\n    assert not candidate(2)\n",
    "b",
  )
  assert [c.expected for c in pb.cases] == [True, False]


def test_types_from_values_when_unannotated():
  pp = parse_problem(
    "X/2",
    "def g(a, b):\n    pass\n",
    "def check(candidate):\n    assert candidate(1, 2.5) == (1, 'x')\n    assert candidate(2, 3) == (2, 'y')\n",
    "g",
  )
  assert pp.param_types == (T.INT, T.FLOAT)
  assert pp.return_type == ("tuple", T.INT, T.STR)


@pytest.mark.parametrize(
  "test,reason",
  [
    ("def check(candidate):\n    for x in range(3):\n        assert candidate(x)\n", "not an assert"),
    ("def check(candidate):\n    assert candidate(1) == 'a'\n    assert candidate(2) == 3\n", "mix"),
    ("def check(candidate):\n    assert candidate([]) == 1\n", "cannot be inferred"),
  ],
)
def test_untranslatable_reasons(test, reason):
  with pytest.raises(Untranslatable, match=reason):
    parse_problem("X/3", "def h(a):\n    pass\n", test, "h")


def test_translated_literals_per_language():
  pp = parse_problem("X/1", PROMPT, CHECK, "f")
  tests = {name: t.tests(pp) for name, t in TARGETS.items()}
  assert "new ArrayList<Long>(Arrays.asList((long)1L, (long)2L))" in tests["java"]
  assert "new List<long>(new long[]{1L, 2L})" in tests["csharp"]
  assert "[]int{1, 2}" in tests["go"]
  assert 'vec![1, 2], String::from("a")' in tests["rust"]
  assert 'f([1, 2], "a")' in tests["javascript"]
  sigs = {name: t.prompt(pp).splitlines()[-1] for name, t in TARGETS.items()}
  assert sigs["typescript"] == "function f(xs: number[], s: string): number[] {"
  assert sigs["go"] == "func f(xs []int, s string) []float64 {"
  assert sigs["rust"] == "fn f(xs: Vec<i64>, s: String) -> Vec<f64> {"
  # The doctest example is rewritten in the target's syntax.
  assert '>>> f(vec![1, 2], String::from("a"))' in TARGETS["rust"].prompt(pp)


def test_go_imports_added_only_when_used():
  src = "package main\n\nfunc a() string { return strings.ToUpper(strconv.Itoa(1)) }\n"
  out = add_imports(src)
  assert '"strings"' in out and '"strconv"' in out and '"sort"' not in out


def test_counts_and_skips_cover_humaneval():
  for lang in NAMES:
    allp = load(lang, include_unverified=True)
    assert len(allp) + len(skipped(lang)) == 164
    assert set(load(lang)) <= set(allp)
    assert all(reason for reason in skipped(lang).values())
  assert len(load("java", include_unverified=True)) >= 130


def test_prompt_and_truncate():
  p = prompt("java", "HumanEval/0")
  assert p.rstrip().endswith("hasCloseElements(ArrayList<Double> numbers, double threshold) {")
  raw = "        return true;\n    }\n    public static void other() {}\n"
  assert truncate("java", raw) == "        return true;"
  assert truncate("python", "    return 1\n\ndef other():\n") == "    return 1\n"
  assert set(STOP_SEQUENCES) == set(NAMES)
  with pytest.raises(UserError):
    prompt("cobol", "HumanEval/0")
