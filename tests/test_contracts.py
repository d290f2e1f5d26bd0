"""Each contract reads back what it writes, refuses unknown and missing keys, and matches its writer."""

from __future__ import annotations

import csv
import io
import json

import pytest

from codelaw import languages
from codelaw.contracts.allocation import Allocation
from codelaw.contracts.evaluation import Checkpoint, DirectionLoss, Evaluation, ModelInfo, TranslationEval
from codelaw.contracts.result import BudgetResult, LanguageEval, Result
from codelaw.contracts.results_row import COLUMNS, ResultsRow
from codelaw.errors import UserError
from codelaw.study import results
from codelaw.study.spec import make_run

EVAL = {
  "python": LanguageEval(loss=2.5, bits_per_byte=1.25, tokens=4096),
  "go": LanguageEval(loss=3.0, bits_per_byte=1.5, tokens=2048),
}


def _result() -> Result:
  config = {
    "job": "train",
    "seed": 1,
    "model": {"size": "cpu-200k"},
    "data": {"proportions": {"python": 0.75, "go": 0.25}},
  }
  branch = BudgetResult(tokens=1 << 16, flops=3.5e12, eval=EVAL, steps=64, decay_start=50, budget=1 << 16)
  return Result(
    run_id="0123456789abcdef",
    config=config,
    n_params=200_000,
    tokens=1 << 17,
    eval=EVAL,
    n_params_total=260_000,
    flops=7e12,
    proportions={"python": 0.75, "go": 0.25},
    realized_proportions={"python": 0.7501, "go": 0.2499},
    epochs={"python": 1.5, "go": 0.25},
    budgets=(branch,),
    wall_time_s=12.5,
    git_commit="abc",
    translation={"python->go": 1.75},
  )


def _through_json(obj):
  return json.loads(json.dumps(obj.to_json()))


def test_result_round_trip():
  r = _result()
  assert Result.from_json(_through_json(r)) == r
  bare = Result(run_id="r", config={}, n_params=1, tokens=2, eval=EVAL)
  assert "translation" not in bare.to_json() and Result.from_json(_through_json(bare)) == bare
  assert BudgetResult.from_json(_through_json(r.budgets[0])) == r.budgets[0]


@pytest.mark.parametrize(
  "mutate, message",
  [
    (lambda d: d.update(colour="red"), "unknown key 'colour'"),
    (lambda d: d.pop("n_params"), "missing key 'n_params'"),
    (lambda d: d["eval"]["python"].pop("tokens"), "eval.python: missing key 'tokens'"),
    (lambda d: d["budgets"][0].update(extra=1), r"budgets\[0\]: unknown key 'extra'"),
  ],
)
def test_result_refuses_drift(mutate, message):
  data = _through_json(_result())
  mutate(data)
  with pytest.raises(ValueError, match=message):
    Result.from_json(data)


def test_results_row_round_trip_through_csv(tmp_path):
  run = make_run(
    "s",
    "python-cpu-200k",
    {**_result().config, "data": {"proportions": {"python": 1.0}}},
    eval_languages=("python", "go"),
    kind="per_language",
    size="cpu-200k",
    seed=1,
  )
  rows = results.run_rows(run, _result())
  assert [(r.D, r.language, r.final) for r in rows] == [
    (1 << 16, "python", 0),
    (1 << 16, "go", 0),
    (1 << 17, "python", 1),
    (1 << 17, "go", 1),
  ]
  buf = io.StringIO()
  writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
  writer.writeheader()
  writer.writerows(r.to_json() for r in rows)
  read = [ResultsRow.from_json(row) for row in csv.DictReader(io.StringIO(buf.getvalue()))]
  assert read == rows
  assert {k: p for k, p in rows[0].proportions.items() if p} == {
    "python": 0.75,
    "go": 0.25,
  }  # the run's realised config, from result.json
  assert set(rows[0].to_json()) == set(COLUMNS) and rows[0].to_json()["p_rust"] == 0.0
  with pytest.raises(ValueError, match="unknown column 'colour'"):
    ResultsRow.from_json({**rows[0].to_json(), "colour": "red"})
  with pytest.raises(ValueError, match="missing column 'loss'"):
    ResultsRow.from_json({k: v for k, v in rows[0].to_json().items() if k != "loss"})


def test_results_csv_written_by_the_study_reads_back(tmp_path):
  run = make_run("s", "python-cpu-200k", {**_result().config}, eval_languages=("python",), size="cpu-200k", seed=1)
  (tmp_path / "runs" / run.run_id).mkdir(parents=True)
  (tmp_path / "runs" / run.run_id / "result.json").write_text(json.dumps(_result().to_json()))
  path = results.write_results([run], tmp_path)
  with open(path, newline="") as f:
    rows = [ResultsRow.from_json(row) for row in csv.DictReader(f)]
  assert [(r.language, r.D, r.loss, r.bpb) for r in rows] == [
    ("python", 1 << 16, 2.5, 1.25),
    ("python", 1 << 17, 2.5, 1.25),
  ]
  assert list(csv.reader(open(path)))[0] == list(COLUMNS)
  assert all(r.proportions[name] == 0.0 for r in rows for name in languages.NAMES if name not in ("python", "go"))


def test_evaluation_round_trip():
  translation = TranslationEval(
    strategy="concat",
    format="concat",
    data="sample",
    max_pairs=None,
    directions={"python->go": DirectionLoss(loss=1.5, tokens=100)},
    without_data=("go->rust",),
    by_source={"python": 1.5},
    by_target={"go": 1.5},
    seen={"loss": 1.5, "directions": ["python->go"]},
    unseen={"loss": None, "directions": []},
    all={"loss": 1.5, "directions": ["python->go"]},
  )
  e = Evaluation(
    run="/runs/r",
    run_id="r",
    branch=0,
    checkpoint=Checkpoint(dir="/runs/r/checkpoints", step=10, tokens=1024),
    model=ModelInfo(size="cpu-200k", n_params=1, n_params_total=2, seq_len=64),
    eval=EVAL,
    eval_tokens=4096,
    wall_time_s=1.0,
    translation=translation,
    passk={"python": {"pass@1": 0.5}},
    passk_settings={"n": 2},
  )
  assert Evaluation.from_json(_through_json(e)) == e
  bare = Evaluation(run="/r", run_id="r", branch=0, checkpoint=e.checkpoint, model=e.model, eval=EVAL, eval_tokens=1)
  assert set(bare.to_json()) == {"run", "run_id", "branch", "checkpoint", "model", "eval", "eval_tokens"}
  assert Evaluation.from_json(_through_json(bare)) == bare
  with pytest.raises(ValueError, match="checkpoint: missing key 'step'"):
    Evaluation.from_json({**_through_json(e), "checkpoint": {"dir": "/x", "tokens": 1}})


def test_allocation_round_trip_and_an_unconverged_solve_is_refused_with_its_reason():
  data = {
    "law": "effective_data",
    "fit": "fit.json",
    "languages": ["python", "go"],
    "N": 1e5,
    "D": 6144.0,
    "p_star": {"python": 0.7, "go": 0.3},
    "p_uniform": {"python": 0.5, "go": 0.5},
    "objective_star": 2.9,
    "objective_uniform": 3.0,
    "gain": {"estimate": 0.1, "interval": [0.05, 0.15], "level": 0.95, "resamples": 20},
    "converged": True,
    "reason": "",
    "kkt_residual": 1e-7,
    "kkt_tolerance": 1e-4,
    "warnings": [],
    "weights": {"python": 0.5, "go": 0.5},  # a key of the job's own, kept as it is
  }
  assert Allocation.from_json(json.loads(json.dumps(data))).to_json() == data
  with pytest.raises(UserError, match=r"a.json: converged = False: the allocation did not converge \(KKT residual"):
    Allocation.from_json(data | {"converged": False, "reason": "KKT residual 3e-2 > 1e-4"}, "a.json")
