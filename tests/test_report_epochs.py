"""The report's epochs panel on small constructed studies with real result.json files (written as the trainer
writes them) and a real results.csv: the most epochs per study and language with the run that made them, a
run above 4 epochs named with its number, a run without `epochs` shown as not recorded rather than 0, and a
result.json that breaks its contract named as a problem."""

import json

import test_report

from codelaw.contracts.report import Report
from codelaw.io import atomic_write_json
from codelaw.report import build, epochs, inputs
from codelaw.study.results import write_results
from codelaw.study.spec import make_run

N, D = 5e4, 2e5


def _run(root, study, label, proportions, seen):
  """One complete run of `study` training on `proportions`; `seen` its result.json epochs (None: none recorded)."""
  run = make_run(
    study,
    label,
    test_report._cfg(study, "cpu-50k", proportions, D),
    eval_languages=tuple(proportions),
    kind="monolingual" if len(proportions) == 1 else "pair",
    size="cpu-50k",
    seed=0,
  )
  result = test_report._result(run, N, D, {l: test_report._law(l, N, D) for l in proportions})
  if seen is not None:
    result["epochs"] = seen
  test_report._save(root, run, result)
  return run


def _study(root, python_epochs, java_epochs=(1.5, 2.25)):
  """A per-language study (two Python runs, two Java runs) and a synergy study (one Python+Java pair)."""
  runs = [
    _run(root, "per_language", "python-a", {"python": 1.0}, {"python": python_epochs[0]}),
    _run(root, "per_language", "python-b", {"python": 1.0}, {"python": python_epochs[1]}),
    _run(root, "per_language", "java-a", {"java": 1.0}, {"java": java_epochs[0]}),
    _run(root, "per_language", "java-b", {"java": 1.0}, {"java": java_epochs[1]}),
    _run(root, "synergy", "pair", {"python": 0.5, "java": 0.5}, {"python": 0.5, "java": 0.75}),
  ]
  write_results(runs, root)
  return root, {r.run_id.rsplit("-", 1)[0]: r.run_id for r in runs}


def _cells(seen):
  return {(s.study, s.language): s for s in seen.studies}


def test_a_run_above_four_epochs_is_flagged_with_its_number(tmp_path):
  root, ids = _study(tmp_path / "study", python_epochs=(5.2, 3.0))
  out = tmp_path / "report"
  build.main(test_report._report_config(root), str(out))
  meta = json.loads((out / "report.json").read_text())
  flagged = meta["epochs"]["above"]
  assert flagged == [{"run_id": ids["python-a"], "study": "per_language", "language": "python", "epochs": 5.2}]
  cell = _cells(Report.from_json(meta).epochs)[("per_language", "python")]
  assert (cell.max_epochs, cell.run_id, cell.runs, cell.not_recorded) == (5.2, ids["python-a"], 2, 0)
  assert meta["epochs"]["summary"] == f"Above 4 epochs: {ids['python-a']} (per_language): Python 5.20."
  assert any(ids["python-a"] in w and "5.20" in w for w in meta["warnings"])
  table = (out / "tables" / "epochs.md").read_text()
  assert f"| per_language | Python | 2 | **5.20** | {ids['python-a']} | — |" in table
  # Each study has its own maximum: the synergy pair saw Python 0.5 epochs, unflagged.
  assert f"| synergy | Python | 1 | 0.50 | {ids['pair']} | — |" in table
  assert f"| per_language | Java | 2 | 2.25 | {ids['java-b']} | — |" in table
  page = (out / "index.html").read_text()
  assert page.index('id="regime"') < page.index('id="epochs"') < page.index('id="scaling"')
  assert "Python 5.20" in page and 'id="warnings"' in page


def test_a_study_within_four_epochs_says_so(tmp_path):
  root, ids = _study(tmp_path / "study", python_epochs=(3.994, 4.0))
  seen = epochs.compute(inputs.load(root))
  assert seen.above == () and seen.not_recorded == ()
  assert seen.summary == "No language above 4 epochs in any run."
  # Exactly 4 is within the promise; the maximum is the run that reaches it.
  cell = _cells(seen)[("per_language", "python")]
  assert (cell.max_epochs, cell.run_id) == (4.0, ids["python-b"])
  table = epochs.section(seen).tables[0].to_markdown()
  assert "| 4.00 |" in table and "**" not in table
  assert epochs.warnings(seen) == []


def test_a_run_without_epochs_is_not_recorded_not_zero(tmp_path):
  root = tmp_path / "study"
  old = _run(root, "validation", "old", {"rust": 1.0}, None)
  new = _run(root, "validation", "new", {"python": 1.0}, {"python": 1.25})
  write_results([old, new], root)
  data = inputs.load(root)
  assert data.epochs == {old.run_id: None, new.run_id: {"python": 1.25}}
  seen = epochs.compute(data)
  assert seen.not_recorded == (old.run_id,)
  rust = _cells(seen)[("validation", "rust")]
  assert (rust.max_epochs, rust.run_id, rust.not_recorded) == (None, None, 1)
  assert (
    seen.summary
    == "No language above 4 epochs in any run that recorded them; epochs not recorded for 1 of the 2 run(s)."
  )
  table = epochs.section(seen).tables[0].to_markdown()
  assert "| validation | Rust | 1 | not recorded | — | 1 |" in table
  assert f"| validation | Python | 1 | 1.25 | {new.run_id} | — |" in table
  # The report.json contract carries the unknown as null, and reads back the same.
  out = tmp_path / "report"
  build.main(test_report._report_config(root), str(out))
  meta = json.loads((out / "report.json").read_text())
  assert {s["language"]: s["max_epochs"] for s in meta["epochs"]["studies"]} == {"python": 1.25, "rust": None}
  assert Report.from_json(meta).epochs == seen


def test_no_result_json_at_all_leaves_every_run_not_recorded(tmp_path):
  root, _ = _study(tmp_path / "study", python_epochs=(5.2, 3.0))
  bare = tmp_path / "bare"
  bare.mkdir()
  (bare / "results.csv").write_text((root / "results.csv").read_text())
  seen = epochs.compute(inputs.load(bare))
  assert seen.above == () and len(seen.not_recorded) == 5
  assert all(s.max_epochs is None for s in seen.studies)
  assert seen.summary.startswith("Epochs not recorded for 5 of the 5 run(s)") and "unknown" in seen.summary


def test_a_result_json_breaking_its_contract_is_named(tmp_path):
  root, ids = _study(tmp_path / "study", python_epochs=(5.2, 3.0))
  bad_epochs = root / "runs" / ids["python-a"] / "result.json"
  obj = json.loads(bad_epochs.read_text())
  atomic_write_json(bad_epochs, {**obj, "epochs": {"python": "many"}})
  bad_key = root / "runs" / ids["java-a"] / "result.json"
  atomic_write_json(bad_key, {**json.loads(bad_key.read_text()), "epoch": {"java": 1.0}})
  data = inputs.load(root)
  assert any(p.startswith(f"{bad_epochs}: epochs.python = 'many'") and "\n" not in p for p in data.problems)
  assert any(p.startswith(f"{bad_key}: unknown key 'epoch'") and "\n" not in p for p in data.problems)
  # Neither run's epochs are taken: the flagged 5.2 is no longer known, and Python's maximum is the other run's.
  seen = epochs.compute(data)
  assert seen.above == () and set(seen.not_recorded) == {ids["python-a"], ids["java-a"]}
  cell = _cells(seen)[("per_language", "python")]
  assert (cell.max_epochs, cell.run_id, cell.not_recorded) == (3.0, ids["python-b"], 1)
