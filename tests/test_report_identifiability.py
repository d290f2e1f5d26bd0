"""A report built on a design that cannot identify the law (two model sizes) issues no supported or
contradicted verdict on our data; the same numbers marked identifiable do, so the check can fail."""

import json

import numpy as np
import pytest
import test_report

from codelaw.contracts.report import LanguageRegime, Report
from codelaw.io import atomic_write_json
from codelaw.report import build, inputs, regime, scaling
from codelaw.study.results import write_results
from codelaw.study.spec import make_run

SIZES = {"cpu-50k": 5e4, "cpu-100k": 1e5}
BUDGETS = (1e5, 2e5, 4e5)


def _study(root, identifiable: bool, sizes=SIZES, weak=None, high=()):
  """weak: {language: weakly determined parameters} for the fit's diagnostics; high: (language, size) grid runs
  given a loss far above any law, near the unigram loss."""
  runs = []
  for lang in test_report.LANGS:
    for size, N in sizes.items():
      run = make_run(
        "per_language",
        f"{lang}-{size}",
        test_report._cfg("per_language", size, {lang: 1.0}, BUDGETS[-1]),
        eval_languages=(lang,),
        kind="monolingual",
        size=size,
        seed=0,
      )
      loss = {D: 50.0 if (lang, size) in high else test_report._law(lang, N, D) for D in BUDGETS}
      test_report._save(
        root,
        run,
        test_report._result(
          run, N, BUDGETS[-1], {lang: loss[BUDGETS[-1]]}, budgets=[(D, {lang: loss[D]}) for D in BUDGETS[:-1]]
        ),
      )
      runs.append(run)
  runs += _mixture_runs(root)
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
          "weak": list((weak or {}).get(l, [])),
          "design": {
            "distinct_N": len(sizes),
            "distinct_D": 3,
            "runs": len(sizes),
            "rows": 3 * len(sizes),
            "dof": 3 * len(sizes) - 5,
          },
        }
        for l in test_report.LANGS
      },
      "bootstrap": {
        l: {k: list(v * np.exp(rng.normal(0, 0.01, 200))) for k, v in t.items()} for l, t in test_report.TRUTH.items()
      },
    },
  )
  return root


def _mixture_runs(root):
  """Two runs of another study: python at 98% learns, rust at a 2% share stays near its unigram loss."""
  N, D = SIZES["cpu-100k"], BUDGETS[-1]
  run = make_run(
    "synergy",
    "pair-python-rust",
    test_report._cfg("synergy", "cpu-100k", {"python": 0.98, "rust": 0.02}, D),
    eval_languages=("python", "rust"),
    kind="pair",
    size="cpu-100k",
    seed=0,
    pair="python+rust",
  )
  test_report._save(
    root, run, test_report._result(run, N, D, {"python": test_report._law("python", N, D), "rust": 50.0})
  )
  return [run]


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
  assert all(g["gap"] < 0 for l in langs.values() for g in l["gaps"] if g["study"] == "per_language")
  assert page.index('id="regime"') < page.index('id="scaling"')


def _regime_table(out):
  lines = [l for l in (out / "tables" / "regime.md").read_text().splitlines() if l.startswith("|")]
  head = [c.strip() for c in lines[0].strip("|").split("|")]
  return {r[0]: dict(zip(head, r)) for r in ([c.strip() for c in l.strip("|").split("|")] for l in lines[2:])}


def test_weak_exponents_are_design_only_and_near_unigram_runs_split_by_study(tmp_path):
  # Three sizes pass the design check everywhere; Python's fit leaves alpha unpinned, Java's and Rust's do not.
  # One Java grid run and the mixture's 2% Rust share sit near the unigram loss.
  study = _study(
    tmp_path / "study",
    True,
    sizes=test_report.SIZES,
    weak={"python": ["E", "A", "alpha"], "java": ["B"]},
    high=(("java", "cpu-50k"),),
  )
  out = tmp_path / "report"
  build.main(test_report._report_config(study), str(out))
  meta = json.loads((out / "report.json").read_text())
  langs = {l["language"]: l for l in meta["regime"]["languages"]}
  assert all(l["identifiable"] is True and l["distinct_N"] == 3 for l in langs.values())
  assert langs["python"]["weak"] == ["E", "A", "alpha"] and langs["rust"]["weak"] == []
  table = _regime_table(out)
  py, java, rust = table["Python"], table["Java"], table["Rust"]
  assert py["identifiable"] == "design only" and py["why not"] == "alpha not pinned by the data"
  assert py["weakly determined"] == "E, A, alpha"
  # A weak B leaves the exponents alone: still identifiable.
  assert java["identifiable"] == "yes" and java["weakly determined"] == "B"
  assert rust["identifiable"] == "yes" and rust["weakly determined"] == "—"
  summary = meta["regime"]["summary"]
  assert "can estimate the laws of Java, Rust inside that range" in summary
  assert "exponents of Python are not determined by these runs" in summary
  # Near unigram: the Java grid run counts on the grid, the Rust mixture share with the other studies.
  assert langs["java"]["runs_near_unigram"] == 1 and langs["java"]["grid_runs_near_unigram"] == 1
  assert langs["rust"]["runs_near_unigram"] == 1 and langs["rust"]["grid_runs_near_unigram"] == 0
  assert java["runs near unigram"] == "1/3 grid"
  assert rust["runs near unigram"] == "0/3 grid; 1/1 other" and py["runs near unigram"] == "0/3 grid; 0/1 other"
  assert (
    "1 of 9 per-language-grid run(s)" in summary and "1 of 2 run-language result(s) of the other studies" in summary
  )
  # Every budget of the grid against the margin: the Java run near the unigram loss misses at all three.
  assert [len(l["grid_points"]) for l in langs.values()] == [9, 9, 9]
  assert java["grid points below the margin"] == "6/9" and rust["grid points below the margin"] == "9/9"
  assert "24 of 27 per-language grid points are at least 0.25 nats (or 0.1 bits/byte) below" in summary
  assert summary.count("Java N=50k at D=") == 3
  # The report reads back with the new fields, and a report.json from before them still does.
  back = Report.from_json(meta).regime.languages
  assert back[0].weak == tuple(langs["python"]["weak"]) and back[1].grid_points[0].D == 1e5
  old = {k: v for k, v in langs["rust"].items() if k not in ("weak", "grid_runs_near_unigram", "grid_points")}
  old["gaps"] = [{k: v for k, v in g.items() if k != "study"} for g in old["gaps"]]
  back = LanguageRegime.from_json(old)
  assert back.weak == () and back.grid_runs_near_unigram is None and back.gaps[0].study == ""
  assert back.grid_points == ()


def test_no_determined_exponent_says_the_study_cannot_estimate_any(tmp_path):
  every = ["E", "A", "B", "alpha", "beta"]
  study = _study(tmp_path / "study", True, sizes=test_report.SIZES, weak={l: every for l in test_report.LANGS})
  problems = []
  reg = regime.compute(inputs.load(study), problems)
  assert [l.identifiable for l in reg.languages] == [True] * 3
  assert "cannot estimate any per-language exponent" in reg.summary
  assert "can estimate the laws of" not in reg.summary
  # The grid is far below unigram; only the mixture's Rust share is near it.
  assert "0 of 9 per-language-grid run(s) and 1 of 2" in reg.summary
  rows = regime.section(reg).tables[0].rows
  assert [r[8] for r in rows] == ["9/9"] * 3  # every grid point below the margin
  assert [r[9] for r in rows] == ["design only"] * 3 and all(r[11] == "alpha/beta not pinned by the data" for r in rows)


def test_a_law_at_the_edge_of_its_parameter_space_is_listed_and_used_by_no_claim(tmp_path):
  study = _study(tmp_path / "study", identifiable=True)
  fit = json.loads((study / "fit" / "fit.json").read_text())
  fit["languages"]["rust"] = dict(fit["languages"]["rust"], A=float("inf"))
  atomic_write_json(study / "fit" / "fit.json", fit)
  out = tmp_path / "report"
  build.main(test_report._report_config(study), str(out))
  table = (out / "tables" / "per_language_parameters.md").read_text()
  rust = [line for line in table.splitlines() if line.startswith("| Rust")]
  assert len(rust) == 1 and "edge of parameter space" in rust[0]
  assert "Rust: fit at the edge of the parameter space (A not finite)" in (out / "index.html").read_text()
  meta = json.loads((out / "report.json").read_text())
  steeper = [c for c in meta["claims"] if c["source"] == "ours" and c["id"].startswith("python_steeper_than_rust")]
  assert steeper and all(c["verdict"] == "not enough data" for c in steeper), steeper


def test_an_open_profile_interval_is_marked_open_in_the_parameter_table(tmp_path):
  study = _study(tmp_path / "study", identifiable=True)
  fit = json.loads((study / "fit" / "fit.json").read_text())
  fit["profile"] = {l: {"alpha": [0.2, 0.3], "beta": [0.25, 0.35]} for l in test_report.LANGS}
  for l in test_report.LANGS:  # the profile does not bound Rust's alpha; every other one is bounded
    fit["diagnostics"][l]["profile"] = {
      k: {"open": l == "rust" and k == "alpha", "n_eff": 3.0} for k in ("alpha", "beta")
    }
  atomic_write_json(study / "fit" / "fit.json", fit)
  out = tmp_path / "report"
  build.main(test_report._report_config(study), str(out))
  table = (out / "tables" / "per_language_parameters.md").read_text().splitlines()
  rows = {line.split("|")[1].strip(): line for line in table if line.startswith("| ")}
  assert "profile [0.2, 0.3] (open)" in rows["Rust"] and rows["Rust"].count("(open)") == 1
  assert "profile [0.2, 0.3]" in rows["Python"] and "(open)" not in rows["Python"]


@pytest.mark.parametrize("layout", ["list", "per_language"])
def test_bootstrap_draws_keep_resamples_with_an_exponent_at_or_below_zero(layout):
  draws = [{"E": 1.0, "A": 10.0, "B": 20.0, "alpha": a, "beta": 0.3} for a in (0.2, -0.01, 0.0)]
  if layout == "list":
    boot = [{"languages": {"python": d}} for d in draws]
  else:
    boot = {"python": {k: [d[k] for d in draws] for k in draws[0]}}
  out = scaling.bootstrap_draws({"law": "chinchilla", "bootstrap": boot})
  # A flat valley puts some resamples' alpha at or below 0: they are draws like any other, not a reason to
  # drop the whole bootstrap (the allocation's contract, which needs alpha > 0, would).
  assert list(out) == ["python"] and list(out["python"]["alpha"]) == [0.2, -0.01, 0.0]


def test_scaling_band_drops_draws_at_the_edge_of_the_parameter_space():
  grid = np.geomspace(1e5, 1e6, 5)
  good = dict(E=np.full(3, 1.0), A=np.full(3, 10.0), alpha=np.full(3, 0.3), B=np.full(3, 50.0), beta=np.full(3, 0.4))
  edge = {k: np.append(v, np.inf if k in ("A", "B", "alpha") else 0.0) for k, v in good.items()}  # inf / inf: NaN
  with np.errstate(all="raise"):  # no floating-point warning escapes the band
    curves = scaling._draw_curves(edge, 2e4, grid)
  assert curves.shape == (3, 5) and np.all(np.isfinite(curves))
  np.testing.assert_allclose(curves[0], scaling.predict({k: v[0] for k, v in good.items()}, 2e4, grid))
  mostly_edge = {k: np.append(v[:1], [np.inf] * 2 if k in ("A", "B") else [0.0] * 2) for k, v in good.items()}
  assert scaling._draw_curves(mostly_edge, 2e4, grid).shape == (0, 5)


def test_scaling_prediction_takes_an_overflowing_size_term_as_zero():
  with np.errstate(all="raise"):
    loss = scaling.predict(dict(E=1.0, A=5.0, alpha=479.0, B=2.0, beta=0.5), 2e4, np.array([1e4, 1e6]))
  np.testing.assert_allclose(loss, [1.02, 1.002])
