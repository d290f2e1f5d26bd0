"""A report built on a design that cannot identify the law (two model sizes) issues no supported or
contradicted verdict on our data; the same numbers marked identifiable do, so the check can fail."""

import json

import numpy as np
import pytest
import test_report

from codelaw.io import atomic_write_json
from codelaw.report import build
from codelaw.study.results import write_results
from codelaw.study.spec import make_run

SIZES = {"cpu-50k": 5e4, "cpu-100k": 1e5}
BUDGETS = (1e5, 2e5, 4e5)


def _study(root, identifiable: bool):
  runs = []
  for lang in test_report.LANGS:
    for size, N in SIZES.items():
      run = make_run(
        "per_language",
        f"{lang}-{size}",
        test_report._cfg("per_language", size, {lang: 1.0}, BUDGETS[-1]),
        eval_languages=(lang,),
        kind="monolingual",
        size=size,
        seed=0,
      )
      loss = {D: test_report._law(lang, N, D) for D in BUDGETS}
      test_report._save(
        root,
        run,
        test_report._result(
          run, N, BUDGETS[-1], {lang: loss[BUDGETS[-1]]}, budgets=[(D, {lang: loss[D]}) for D in BUDGETS[:-1]]
        ),
      )
      runs.append(run)
  write_results(runs, root)
  rng = np.random.default_rng(0)
  problems = [] if identifiable else ["2 distinct model size(s) N (need >= 3): alpha, A and E are not separable"]
  # Tight bootstrap draws around the truth: were identifiability ignored, these would decide the claims.
  atomic_write_json(
    root / "fit" / "fit.json",
    {
      "law": "chinchilla",
      "languages": test_report.TRUTH,
      "diagnostics": {
        l: {
          "identifiable": identifiable,
          "problems": problems,
          "weak": [],
          "design": {"distinct_N": 2, "distinct_D": 3, "runs": 2, "rows": 6, "dof": 1},
        }
        for l in test_report.LANGS
      },
      "bootstrap": {
        l: {k: list(v * np.exp(rng.normal(0, 0.01, 200))) for k, v in t.items()} for l, t in test_report.TRUTH.items()
      },
    },
  )
  return root


@pytest.mark.parametrize("identifiable", [False, True])
def test_two_size_design_yields_no_verdict(tmp_path, identifiable):
  study = _study(tmp_path / "study", identifiable)
  out = tmp_path / "report"
  build.main(test_report._report_config(study), str(out))
  meta = json.loads((out / "report.json").read_text())
  ours = [c for c in meta["claims"] if c["source"] == "ours"]
  decided = [c["id"] for c in ours if c["verdict"] in ("supported", "contradicted")]
  langs = {l["language"]: l for l in meta["regime"]["languages"]}
  page = (out / "index.html").read_text()
  if not identifiable:
    assert decided == [], decided
    assert meta["claims_tested"] == 0
    law_claims = [
      c
      for c in ours
      if c["id"].split("/")[0] in ("python_steeper_than_rust", "irreducible_order", "data_exponent_larger")
    ]
    assert all(c["verdict"] == "not enough data" and "not identifiable" in c["reason"] for c in law_claims)
    assert all(l["identifiable"] is False and l["distinct_N"] == 2 for l in langs.values())
    assert "not identifiable" in (out / "tables" / "per_language_parameters.md").read_text()
    assert 'id="warnings"' in page and "used by no claim" in page
    assert "cannot identify the laws of" in meta["regime"]["summary"]
  else:
    # Python is less steep than Rust and beta > alpha everywhere in the truth: both are decided.
    assert "python_steeper_than_rust/ours" in decided and "data_exponent_larger/ours" in decided
    assert meta["claims_tested"] >= 2
  # The paper's own numbers are checked either way, and the regime panel opens the report.
  assert any(c["verdict"] == "supported" for c in meta["claims"] if c["source"] == "paper")
  assert meta["sections"][0]["key"] == "regime"
  assert all(g["gap"] < 0 for l in langs.values() for g in l["gaps"])  # far below the unigram loss
  assert page.index('id="regime"') < page.index('id="scaling"')
