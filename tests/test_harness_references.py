"""Every shipped reference passes in its language; wrong completions fail (one batched run per language)."""

import os

import pytest

from codelaw.evals.harness import evaluate_completions, load, references
from codelaw.evals.harness.execute import ToolchainMissing, check_toolchain
from codelaw.languages import NAMES

# A compilable but wrong body per language, for HumanEval/60 (sum_to_n) and the Rust row of it.
WRONG = {
  "python": "    return 0\n",
  "java": "        return 0L;",
  "csharp": "        return 0L;",
  "go": "    return 0",
  "javascript": "  return 0;",
  "typescript": "  return 0;",
  "rust": "    0\n",
}
WRONG_TID = "HumanEval/60"


def _require(language):
  try:
    check_toolchain(language)
  except ToolchainMissing as e:
    if os.environ.get("CODELAW_ALLOW_MISSING_TOOLCHAINS") == "1":
      pytest.skip(str(e))
    raise AssertionError(f"{e}; set CODELAW_ALLOW_MISSING_TOOLCHAINS=1 to skip") from e


@pytest.mark.parametrize("language", NAMES)
def test_references_pass_and_wrong_completions_fail(language):
  _require(language)
  probs = load(language)
  refs = references(language)
  assert probs, f"no {language} problems ship"
  assert set(probs) <= set(refs)
  if language == "python":
    assert len(probs) == 164
  completions = {tid: [refs[tid]] for tid in probs}
  assert WRONG_TID in probs
  completions[WRONG_TID] = [refs[WRONG_TID], WRONG[language], ""]
  results, pk = evaluate_completions(language, probs, completions, k=(1,))
  failed = sorted(t for t, r in results.items() if not r[0])
  assert not failed, f"{language} references fail: {failed[:10]}"
  assert results[WRONG_TID] == [True, False, False]
  expected = (len(probs) - 1 + 1 / 3) / len(probs)
  assert pk["pass@1"] == pytest.approx(expected)
