"""The `fit` job: launcher end to end (fit.json schema) and one-line errors for bad input, nothing written."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import load_config, run_launcher

from codelaw import io
from codelaw.data import corpus_format
from codelaw.errors import UserError
from codelaw.laws import fit_job, forms, per_language


def _write(path, header, rows):
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)
  return path


def _good_rows(langs=("python", "go"), seed=0):
  rng = np.random.default_rng(seed)
  rows = []
  for lang in langs:
    for N in np.geomspace(1e5, 5e6, 4):
      for D in np.geomspace(1e6, 1e8, 4):
        L = (1.0 + 40.0 / N**0.35 + 300.0 / D**0.35) * np.exp(rng.normal(0, 0.002))
        rows.append([lang, N, D, L])
  return rows


def _launch(tmp_path, *overrides):
  return run_launcher("configs/fit.py", tmp_path / "out", *overrides, timeout=600)


def test_job_writes_fit_json(tmp_path):
  runs = _write(tmp_path / "runs.csv", ["language", "N", "D", "loss", "extra"], [r + ["x"] for r in _good_rows()])
  res = _launch(
    tmp_path, f"--config.runs={runs}", "--config.law=chinchilla", "--config.grid=small", "--config.bootstrap=20"
  )
  assert res.returncode == 0, res.stderr
  fit = json.loads((tmp_path / "out/fit.json").read_text())
  assert fit["law"] == "chinchilla"
  assert set(fit["languages"]) == {"python", "go"}
  for lang, p in fit["languages"].items():
    assert set(p) == {"E", "A", "B", "alpha", "beta", "ci"}
    assert set(p["ci"]) == {"E", "A", "B", "alpha", "beta"}
    assert p["ci"]["alpha"][0] <= p["alpha"] <= p["ci"]["alpha"][1]
    assert p["alpha"] == pytest.approx(0.35, rel=0.1)
    assert len(fit["bootstrap"][lang]["beta"]) == 20
    assert "leave_largest_out" in fit["diagnostics"][lang]
  assert "| python |" in (tmp_path / "out/fit.md").read_text()


def test_job_bad_input_is_one_line_and_writes_nothing(tmp_path):
  runs = _write(tmp_path / "runs.csv", ["language", "N", "D"], [["python", 1, 2]])
  res = _launch(tmp_path, f"--config.runs={runs}")
  assert res.returncode == 2
  assert "missing column(s) loss" in res.stderr and len(res.stderr.strip().splitlines()) == 1
  assert not (tmp_path / "out" / "fit.json").exists()


def _bad(rows_fn):
  rows = _good_rows(langs=("python",))
  return rows_fn(rows)


@pytest.mark.parametrize(
  "mutate, message",
  [
    (lambda r: r[:5], "fewer than needed"),
    (lambda r: [[x[0], 1e6, x[2], x[3]] for x in r], "one N value only"),
    (lambda r: [[x[0], x[1], 1e7, x[3]] for x in r], "one D value only"),
    (lambda r: r[:-1] + [["python", -5, 1e6, 2.0]], "column 'N' row 16"),
    (lambda r: r[:-1] + [["python", 1e6, 0, 2.0]], "column 'D' row 16"),
    (lambda r: r[:-1] + [["python", 1e6, 1e6, 0.0]], "column 'loss' row 16"),
    (lambda r: r[:-1] + [["python", 1e6, 1e6, "nan"]], "not finite"),
    (lambda r: r[:-1] + [["cobol", 1e6, 1e6, 2.0]], "unknown language 'cobol'"),
  ],
)
def test_bad_per_language_inputs(tmp_path, mutate, message):
  runs = _write(tmp_path / "runs.csv", ["language", "N", "D", "loss"], _bad(mutate))
  with pytest.raises(UserError, match=message):
    fit_job.fit(str(runs), "chinchilla", grid="small", bootstrap=0)


def test_bad_law_and_missing_file(tmp_path):
  runs = _write(tmp_path / "runs.csv", ["language", "N", "D", "loss"], _good_rows())
  with pytest.raises(UserError, match="config.law = 'kaplan'"):
    fit_job.fit(str(runs), "kaplan")
  with pytest.raises(UserError, match="does not exist"):
    fit_job.fit(str(tmp_path / "nope.csv"), "chinchilla")
  with pytest.raises(UserError, match="missing column"):
    fit_job.fit(str(runs), "effective_data")  # a per-language CSV is not a results table


def test_results_table_with_too_few_rows_for_the_family(tmp_path):
  header = ["run_id", "study", "language", "N", "D", "loss", "bpb"] + [
    f"p_{n}" for n in ("python", "java", "javascript", "typescript", "csharp", "go", "rust")
  ]
  rows = [[f"r{i}", "s", "python", 1e6 * (i + 1), 1e7, 2.0 - 0.1 * i, 1.0, 1, 0, 0, 0, 0, 0, 0] for i in range(3)]
  runs = _write(tmp_path / "results.csv", header, rows)
  with pytest.raises(UserError, match="fewer than needed to fit its"):
    fit_job.fit(str(runs), "effective_data", bootstrap=0)


def _fit_config(runs, **overrides):
  config = load_config("fit.py")
  config.update({"runs": str(runs), "grid": "small", "bootstrap": 5, **overrides})
  return config


def test_rerun_with_unchanged_inputs_keeps_the_fit(tmp_path, capsys):
  runs = _write(tmp_path / "runs.csv", ["language", "N", "D", "loss"], _good_rows(("python",)))
  out = tmp_path / "out"
  fit_job.main(_fit_config(runs), str(out))
  first = (out / "fit.json").stat().st_mtime_ns
  capsys.readouterr()

  fit_job.main(_fit_config(runs), str(out))
  assert "kept, not refitted" in capsys.readouterr().out
  assert (out / "fit.json").stat().st_mtime_ns == first

  # A changed config, then a changed runs file, each fits again.
  fit_job.main(_fit_config(runs, bootstrap=6), str(out))
  assert "kept, not refitted" not in capsys.readouterr().out
  second = (out / "fit.json").stat().st_mtime_ns
  assert second != first
  _write(runs, ["language", "N", "D", "loss"], _good_rows(("python",), seed=1))
  fit_job.main(_fit_config(runs, bootstrap=6), str(out))
  assert "kept, not refitted" not in capsys.readouterr().out
  assert (out / "fit.json").stat().st_mtime_ns != second
  assert json.loads((out / "fit.inputs.json").read_text()) == fit_job.fit_inputs(_fit_config(runs, bootstrap=6))


def test_the_code_digest_follows_the_fit_jobs_imports():
  job = Path(fit_job.__file__).resolve()
  sources = fit_job._imported_sources(job, job.parents[1])
  # Read the corpus manifest and the runs file: not in codelaw.laws, but a change there changes a fit.
  for module in (corpus_format, io, per_language, forms):
    assert Path(module.__file__).resolve() in sources
  assert all(path.is_relative_to(job.parents[1]) for path in sources)
  assert not any(part == "model" for path in sources for part in path.parts)
