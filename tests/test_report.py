"""The `report` job on a small constructed study: real results.csv (study results writer), a real fit.json
(the per-language fitter) and a real allocation.json (the allocate job), then every figure and table checked;
plus a partial study and the bad inputs."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import load_config, run_launcher
from PIL import Image

from codelaw.errors import UserError
from codelaw.io import atomic_write_json
from codelaw.laws import allocate_job
from codelaw.laws.per_language import fit_chinchilla, small_grid
from codelaw.laws.runs_io import LanguageRuns
from codelaw.report import build, tables
from codelaw.study.results import write_results
from codelaw.study.spec import make_run

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("python", "java", "rust")
SIZES = {"cpu-50k": 5e4, "cpu-100k": 1e5, "cpu-200k": 2e5}
BUDGETS = (1e5, 2e5, 4e5)
TRUTH = {
  "python": dict(E=1.2, A=60.0, B=900.0, alpha=0.45, beta=0.55),
  "java": dict(E=0.9, A=40.0, B=400.0, alpha=0.40, beta=0.50),
  "rust": dict(E=1.0, A=90.0, B=2500.0, alpha=0.50, beta=0.62),
}
# Synergy deltas to construct (target -> aux -> Delta): Java gains most, Python is hurt (a donor).
DELTA = {
  "python": {"java": 0.004, "rust": -0.010},
  "java": {"python": 0.05, "rust": 0.08},
  "rust": {"python": 0.02, "java": 0.01},
}
EXPECTED_FIGURES = {
  "scaling_per_language",
  "synergy_heatmap",
  "translation_seen_unseen",
  "translation_directions",
  "allocation_shares",
  "multilingual_loss",
}
EXPECTED_TABLES = {
  "regime",
  "regime_runs",
  "epochs",
  "per_language_parameters",
  "synergy_ours",
  "synergy_split",
  "synergy_paper",
  "translation_ours",
  "translation_paper",
  "allocation",
  "validation",
  "validation_gain",
  "claims",
  "paper_inconsistencies",
}


def _law(lang, N, D):
  t = TRUTH[lang]
  return t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]


def _load_config(name):
  return load_config(f"{name}.py")


def _cfg(study, size, proportions, tokens, translation=None):
  return {
    "job": "train",
    "seed": 0,
    "model": {"size": size, "seq_len": 64, "dtype": "float32"},
    "data": {"corpus": "sample", "proportions": proportions, "translation": translation},
    "train": {"tokens": int(tokens)},
  }


def _result(run, N, tokens, evals, translation=None, budgets=()):
  out = {
    "run_id": run.run_id,
    "config": run.config,
    "n_params": N,
    "n_params_total": 2 * N,
    "tokens": int(tokens),
    "flops": 6 * N * tokens,
    "proportions": run.config["data"]["proportions"],
    "eval": {l: {"loss": v, "bits_per_byte": v / 2, "tokens": 1024} for l, v in evals.items()},
    "budgets": [
      {"tokens": int(d), "eval": {l: {"loss": v, "bits_per_byte": v / 2, "tokens": 1024} for l, v in e.items()}}
      for d, e in budgets
    ],
    "status": "complete",
  }
  if translation:
    out["translation"] = translation
  return out


def _save(root, run, result):
  atomic_write_json(root / "runs" / run.run_id / "result.json", result)


def per_language_runs(root, rng):
  runs = []
  for lang in LANGS:
    for size, N in SIZES.items():
      run = make_run(
        "per_language",
        f"{lang}-{size}",
        _cfg("per_language", size, {lang: 1.0}, BUDGETS[-1]),
        eval_languages=(lang,),
        kind="monolingual",
        size=size,
        seed=0,
      )
      loss = {D: _law(lang, N, D) * float(np.exp(rng.normal(0, 0.003))) for D in BUDGETS}
      _save(
        root,
        run,
        _result(run, N, BUDGETS[-1], {lang: loss[BUDGETS[-1]]}, budgets=[(D, {lang: loss[D]}) for D in BUDGETS[:-1]]),
      )
      runs.append(run)
  return runs


SEEDS = (0, 1, 2)
# Per-seed offsets that average to zero, different per arm: the paired differences vary across seeds while
# the seed means stay exactly the constructed values.
BASE_OFFSET, MIX_OFFSET = (-0.002, 0.0, 0.002), (0.001, -0.002, 0.001)
PENALTY = {"python": 0.03, "java": 0.06, "rust": 0.02}  # capped (seen twice) minus fresh


def synergy_runs(root):
  runs, N, D = [], SIZES["cpu-100k"], 2e5
  fresh = {l: _law(l, N, D) + 0.05 for l in LANGS}
  for k, seed in enumerate(SEEDS):
    for lang in LANGS:
      for kind, loss in (("self_capped", fresh[lang] + PENALTY[lang]), ("self_fresh", fresh[lang])):
        run = make_run(
          "synergy",
          f"{kind}-{lang}-s{seed}",
          _cfg("synergy", "cpu-100k", {lang: 1.0}, D),
          eval_languages=(lang,),
          kind=kind,
          size="cpu-100k",
          seed=seed,
          pair=f"{lang}+{lang}",
        )
        _save(root, run, _result(run, N, D, {lang: loss + BASE_OFFSET[k]}))
        runs.append(run)
    for i, a in enumerate(LANGS):
      for b in LANGS[i + 1 :]:
        run = make_run(
          "synergy",
          f"pair-{a}-{b}-s{seed}",
          _cfg("synergy", "cpu-100k", {a: 0.5, b: 0.5}, D),
          eval_languages=(a, b),
          kind="pair",
          size="cpu-100k",
          seed=seed,
          pair=f"{a}+{b}",
        )
        # DELTA is the paper's Delta: against the capped (seen twice) arm.
        _save(
          root,
          run,
          _result(run, N, D, {t: fresh[t] + PENALTY[t] - DELTA[t][o] + MIX_OFFSET[k] for t, o in ((a, b), (b, a))}),
        )
        runs.append(run)
  return runs


def translation_runs(root):
  runs, D = [], 2e5
  seen = [f"python->{x}" for x in LANGS[1:]] + [f"{x}->python" for x in LANGS[1:]]
  directions = [f"{a}->{b}" for a in LANGS for b in LANGS if a != b]
  level = {"shuffle": 1.0, "concat": 0.9, "paired": 0.8}  # paired lowest on every direction
  for seed, offset in ((0, 0.001), (1, -0.001)):
    for strategy, scale in level.items():
      for size in ("cpu-50k", "cpu-200k"):
        N = SIZES[size]
        spec = {"strategy": strategy, "directions": seen, "weight": 0.2}
        run = make_run(
          "translation",
          f"{strategy}-{size}-s{seed}",
          _cfg("translation", size, {l: 1 / 3 for l in LANGS}, D, translation=spec),
          kind="translation",
          strategy=strategy,
          size=size,
          seed=seed,
        )
        shift = offset if strategy == "shuffle" else -offset
        tl = {d: scale * (2.0 if d not in seen else 1.5) * (N / 5e4) ** -0.1 + shift for d in directions}
        _save(root, run, _result(run, N, D, {l: _law(l, N, D) for l in LANGS}, translation=tl))
        runs.append(run)
  return runs


def validation_runs(root, alloc):
  runs, N, D = [], alloc["N"], alloc["D"]
  for k, seed in enumerate(SEEDS):
    for arm, key, shift, offset in (
      ("guided", "p_star", -0.01, MIX_OFFSET),
      ("uniform", "p_uniform", 0.0, BASE_OFFSET),
    ):
      run = make_run(
        "validation",
        f"{arm}-s{seed}",
        _cfg("validation", "cpu-100k", alloc[key], D),
        kind="validation",
        arm=arm,
        size="cpu-100k",
        seed=seed,
      )
      _save(root, run, _result(run, N, D, {l: _law(l, N, D * alloc[key][l]) + shift + offset[k] for l in LANGS}))
      runs.append(run)
  return runs


def write_fit(results_runs: dict, path: Path):
  fits = fit_chinchilla(results_runs, grid=small_grid(), num_steps=40, bootstrap=8)
  atomic_write_json(
    path,
    {
      "law": "chinchilla",
      "languages": {l: dict(f.params, ci=f.ci) for l, f in fits.items()},
      "diagnostics": {l: f.diagnostics for l, f in fits.items()},
      "bootstrap": {l: f.bootstrap for l, f in fits.items()},
    },
  )


def make_study(root: Path, *, fitter: bool = True) -> Path:
  """A quickstart-shaped study dir: results.csv + translation.csv at the top, fit/, allocate/, validation/.
  fitter=False writes fit.json from the constructed truth instead of fitting (no bootstrap), which is cheaper."""
  rng = np.random.default_rng(0)
  runs = per_language_runs(root, rng) + synergy_runs(root) + translation_runs(root)
  write_results(runs, root)
  atomic_write_json(root / "study.json", {"study": "quickstart", "scale": "smoke", "runs": []})
  if fitter:
    grid = {
      l: LanguageRuns(
        *map(
          np.asarray,
          zip(*[(N, D, _law(l, N, D) * float(np.exp(rng.normal(0, 0.003)))) for N in SIZES.values() for D in BUDGETS]),
        )
      )
      for l in LANGS
    }
    write_fit(grid, root / "fit" / "fit.json")
  else:
    atomic_write_json(root / "fit" / "fit.json", {"law": "chinchilla", "languages": TRUTH})
  cfg = _load_config("allocate")
  cfg.fit, cfg.N, cfg.D = str(root / "fit" / "fit.json"), SIZES["cpu-100k"], 4e5
  allocate_job.main(cfg, str(root / "allocate"))
  alloc = json.loads((root / "allocate" / "allocation.json").read_text())
  # Written before the validation runs, as the validation study does.
  atomic_write_json(root / "validation" / "prediction.json", {"gain": {"estimate": 0.012, "interval": [0.004, 0.02]}})
  write_results(validation_runs(root, alloc), root / "validation", runs_dir=root / "runs")
  return root


@pytest.fixture(scope="module")
def study(tmp_path_factory):
  return make_study(tmp_path_factory.mktemp("study"))


def _check_png(path: Path):
  data = path.read_bytes()
  assert len(data) > 5000, path
  img = Image.open(io.BytesIO(data))
  img.load()
  assert img.format == "PNG" and img.width >= 300 and img.height >= 200, (path, img.size)
  arr = np.asarray(img.convert("L"), dtype=np.float64)
  assert arr.std() > 5, f"{path} is blank"


def _check_table(path: Path):
  lines = path.read_text().splitlines()
  pipe = [l for l in lines if l.startswith("|")]
  assert len(pipe) >= 3, f"{path} has no data rows"
  assert set(pipe[1].replace("|", "").split()) == {"---"}
  widths = {l.count(" | ") for l in pipe}
  assert len(widths) == 1, f"{path}: rows of different widths"


@pytest.fixture(scope="module")
def report(study, tmp_path_factory):
  """The report of the full study, built once through the real command line."""
  out = tmp_path_factory.mktemp("report")
  proc = run_launcher("configs/report.py", out, f"--config.study={study}")
  assert proc.returncode == 0, proc.stderr[-3000:]
  return out


def test_full_report_through_the_launcher(report):
  out = report
  meta = json.loads((out / "report.json").read_text())
  figs = {Path(f).stem for s in meta["sections"] for f in s["figures"]}
  tabs = {Path(t).stem for s in meta["sections"] for t in s["tables"]}
  assert figs == EXPECTED_FIGURES
  assert tabs == EXPECTED_TABLES
  assert all(not s["missing"] for s in meta["sections"]), [s["missing"] for s in meta["sections"]]
  # The regime panel opens the report: every language identifiable, every run far below its unigram loss.
  assert meta["sections"][0]["key"] == "regime"
  regime = {l["language"]: l for l in meta["regime"]["languages"]}
  assert set(regime) == set(LANGS) and all(l["identifiable"] and l["distinct_N"] == 3 for l in regime.values())
  assert all(g["unigram"] > 5 and g["gap"] < 0 for l in regime.values() for g in l["gaps"])
  for name in figs:
    _check_png(out / "figures" / f"{name}.png")
  for name in tabs:
    _check_table(out / "tables" / f"{name}.md")
  page = (out / "index.html").read_text()
  for name in figs:
    assert f'src="figures/{name}.png"' in page
  for name in tabs:
    assert f'data-table="{name}"' in page
  assert page.count("<table>") >= len(tabs)
  # Provenance: the scale from study.json and the corpus from the runs' own configs.
  assert "smoke" in page and "sample (the bundled third_party/sample_corpus)" in page
  assert "cpu-50k" in page and "cpu-200k" in page


def test_tables_reflect_the_constructed_data(study, report):
  out = report
  params = (out / "tables" / "per_language_parameters.md").read_text()
  for lang in ("Python", "Java", "Rust"):
    assert f"| {lang} |" in params
  # The table carries the fitted exponents of fit.json.
  fit = json.loads((study / "fit" / "fit.json").read_text())
  assert f"{fit['languages']['rust']['beta']:.4g}" in params
  syn = (out / "tables" / "synergy_ours.md").read_text()
  assert "Δ +0.0800" in syn and "Δ -0.0100" in syn  # java<-rust, python<-rust
  split = (out / "tables" / "synergy_split.md").read_text()
  assert "(+0.0300 nats/token)" in split  # Python's repetition penalty, capped - fresh
  assert "(+0.0200 nats/token)" in split  # Java+Rust against fresh Java: 0.08 - 0.06
  claims = {
    l.split(" | ")[0].strip("| "): l
    for l in (out / "tables" / "claims.md").read_text().splitlines()
    if l.startswith("| ")
  }
  verdict = lambda key: next(v for k, v in claims.items() if k.startswith(key)).split(" | ")[4]
  assert verdict("Java gains most") == "**supported**"
  assert verdict("Python is a donor") == "**supported**"
  assert verdict("Bilingual synergy is mostly positive") == "**supported**"
  assert verdict("Parallel pairing beats random shuffling on unseen") == "**supported**"
  assert verdict("Guided allocation beats uniform") == "**supported**"
  assert verdict("JavaScript and TypeScript") == "**not enough data**"
  # The paper's own Figure 2 numbers contradict its text.
  paper_col = claims[next(k for k in claims if k.startswith("Python's"))].split(" | ")[3]
  assert paper_col.startswith("contradicted") and "alpha_N 0.221 vs 0.643" in paper_col
  meta = json.loads((out / "report.json").read_text())
  ours = {c["id"]: c for c in meta["claims"] if c["source"] == "ours"}
  assert ours["java_gains_most/ours"]["interval"][0] > 0
  assert meta["claims_tested"] == sum(c["verdict"] != "not enough data" for c in ours.values())
  gain = (out / "tables" / "validation_gain.md").read_text()
  assert "0.012 [0.004, 0.02]" in gain and "| 3 |" in gain  # predicted beside measured, 3 paired seeds
  alloc = (out / "tables" / "allocation.md").read_text()
  assert "+26.77" in alloc  # the paper's Python delta beside ours
  trans = (out / "tables" / "translation_ours.md").read_text()
  assert "parallel pairing" in trans and "random shuffling" in trans and "direct concatenation" in trans


def _report_config(study_dir, **kw):
  c = _load_config("report")
  c.study = str(study_dir)
  for k, v in kw.items():
    c[k] = v
  return c


def test_partial_study_names_what_is_missing(study, tmp_path):
  partial = tmp_path / "partial"
  partial.mkdir()
  # Only the per-language rows: no fit, no synergy, no translation, no allocation, no validation.
  lines = (study / "results.csv").read_text().splitlines()
  keep = [lines[0]] + [l for l in lines[1:] if ",per_language," in l]
  (partial / "results.csv").write_text("\n".join(keep) + "\n")
  out = tmp_path / "report"
  config = _report_config("")
  config.inputs = str(partial)  # the key the quickstart sets
  build.main(config, str(out))
  meta = json.loads((out / "report.json").read_text())
  missing = {s["key"]: " ".join(s["missing"]) for s in meta["sections"]}
  assert "no per-language law" in missing["scaling"]
  assert "no synergy runs" in missing["synergy"]
  assert "no translation.csv" in missing["translation"]
  assert "no allocation.json" in missing["allocation"]
  assert "no validation runs" in missing["multilingual"]
  figs = {Path(f).stem for s in meta["sections"] for f in s["figures"]}
  assert figs == {"scaling_per_language", "synergy_heatmap"}
  for name in figs:
    _check_png(out / "figures" / name.join(["", ".png"]))
  for t in (out / "tables").glob("*.md"):
    _check_table(t)
  page = (out / "index.html").read_text()
  assert page.count("Missing from this study") == 5
  assert "not recorded" in page  # no run result.json beside it: corpus unknown
  claims = (out / "tables" / "claims.md").read_text()
  # Without a fit no per-language claim can be checked either: every claim lacks data.
  assert claims.count("**not enough data**") == 10


def test_unreadable_side_files_are_named_not_fatal(study, tmp_path):
  d = tmp_path / "s"
  d.mkdir()
  (d / "results.csv").write_text((study / "results.csv").read_text())
  (d / "fit.json").write_text("{not json")
  (d / "allocation.json").write_text(json.dumps({"law": "chinchilla"}))
  out = tmp_path / "r"
  build.main(_report_config(d), str(out))
  meta = json.loads((out / "report.json").read_text())
  assert any("fit.json" in p and "not readable JSON" in p for p in meta["problems"])
  assert any("allocation.json" in p and "no p_star" in p for p in meta["problems"])
  assert "Files that could not be used" in (out / "index.html").read_text()
  # A results table with a header only: the report still builds and says every part is missing.
  (d / "results.csv").write_text((study / "results.csv").read_text().splitlines()[0] + "\n")
  build.main(_report_config(d), str(tmp_path / "r2"))
  meta = json.loads((tmp_path / "r2" / "report.json").read_text())
  assert all(s["missing"] for s in meta["sections"] if s["key"] != "claims")


def test_bad_inputs(tmp_path):
  with pytest.raises(UserError, match="no such directory"):
    build.main(_report_config(tmp_path / "nope"), str(tmp_path / "out"))
  with pytest.raises(UserError, match="no results.csv"):
    build.main(_report_config(tmp_path), str(tmp_path / "out"))
  with pytest.raises(UserError, match="config.study is required"):
    build.main(_report_config(""), str(tmp_path / "out"))
  (tmp_path / "results.csv").write_text("run_id,language,N\nx,python,1\n")
  with pytest.raises(UserError, match="missing column"):
    build.main(_report_config(tmp_path), str(tmp_path / "out"))
  with pytest.raises(UserError, match="ci_level"):
    build.main(_report_config(tmp_path, ci_level=1.5), str(tmp_path / "out"))
  assert not (tmp_path / "out" / "index.html").exists()


def test_bad_input_exits_2_through_the_launcher(tmp_path):
  proc = run_launcher("configs/report.py", tmp_path / "out", f"--config.study={tmp_path / 'missing'}", timeout=120)
  assert proc.returncode == 2 and "config.study" in proc.stderr


def test_markdown_table_escapes_and_formats():
  t = tables.Table("t", "T", ["a", "b|c"], [[1.5e9, "x|y"], [float("nan"), None]], note="n")
  md = t.to_markdown()
  assert "| 1.5e+09 | x\\|y |" in md and "| — | — |" in md
  html = t.to_html()
  assert "<table>" in html and "x|y" in html and html.count("<tr>") == 3
