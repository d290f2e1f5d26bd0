"""The mixture exports (codelaw.interop.mixtures), loaded by the real library where it is installed (HF
datasets, PyYAML) and otherwise checked against the format the library documents (Levanter train_weights,
Megatron --data-path, MaxText grain_train_files). The seqio snippet is run with seqio in test_interop_datasets."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from helpers import load_config

from codelaw.errors import UserError
from codelaw.interop import mixtures

ROOT = Path(__file__).resolve().parents[1]
ALLOCATION = {
  "N": 1.5e9,
  "D": 3.5e11,
  "languages": ["python", "go", "rust"],
  "p_star": {"python": 0.4172815, "go": 0.3311111, "rust": 0.2516074},
  "p_uniform": {"python": 1 / 3, "go": 1 / 3, "rust": 1 / 3},
}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
  out = tmp_path_factory.mktemp("alloc")
  files = mixtures.write(out, ALLOCATION)
  assert len(files) == 12 and all(f.exists() for f in files)
  return out / mixtures.DIR


def _expected(mix: str) -> dict[str, float]:
  raw = ALLOCATION["p_star" if mix == "pstar" else "p_uniform"]
  return {n: p / sum(raw.values()) for n, p in raw.items()}


@pytest.mark.parametrize("mix", ["pstar", "uniform"])
def test_every_file_states_the_token_budget(written, mix):
  for f in sorted((written / mix).iterdir()):
    text = f.read_text()
    assert "3.5e+11" in text or "350000000000" in text, f"{f.name} does not state the token budget"


def test_shares_are_rounded_and_sum_to_one():
  shares = mixtures.rounded_shares({"python": 1, "go": 1, "rust": 1})
  assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
  assert all(len(repr(v)) <= 10 for v in shares.values())
  with pytest.raises(UserError, match="p_star"):
    mixtures.from_allocation({**ALLOCATION, "p_star": {"python": -1.0}})
  with pytest.raises(UserError, match="'D'"):
    mixtures.from_allocation({k: v for k, v in ALLOCATION.items() if k != "D"})


@pytest.mark.parametrize("mix", ["pstar", "uniform"])
def test_codelaw_grain_config(written, mix):
  cfg = json.loads((written / mix / "grain_codelaw.json").read_text())
  props = cfg["data"]["proportions"]
  assert set(props) == {"python", "java", "javascript", "typescript", "csharp", "go", "rust"}
  assert props["java"] == 0.0
  for lang, p in _expected(mix).items():
    assert props[lang] == pytest.approx(p, abs=1e-6)
  assert cfg["train"]["tokens"] == 350_000_000_000
  assert f"--config.data.proportions.python={props['python']:g}" in cfg["overrides"]


@pytest.mark.parametrize("mix", ["pstar", "uniform"])
def test_maxtext_grain_files(written, mix):
  cfg = yaml.safe_load((written / mix / "maxtext_grain.yml").read_text())
  assert cfg["dataset_type"] == "grain" and cfg["grain_file_type"] == "arrayrecord"
  # MaxText's rule: "pattern,weight;pattern,weight", weights normalised by their sum.
  pairs = [part.rsplit(",", 1) for part in cfg["grain_train_files"].split(";")]
  weights = {Path(pattern).parts[-3]: float(w) for pattern, w in pairs}
  assert weights == pytest.approx(_expected(mix), abs=1e-6)
  assert all(p.endswith("codelaw_corpus-train.array_record*") for p, _ in pairs)


@pytest.mark.parametrize("mix", ["pstar", "uniform"])
def test_levanter_train_weights(written, mix):
  # Levanter's LMMixtureDatasetConfig: data.train_weights is {source name: non-negative weight}.
  cfg = yaml.safe_load((written / mix / "levanter_train_weights.yaml").read_text())
  weights = cfg["data"]["train_weights"]
  assert all(isinstance(k, str) and isinstance(v, float) and v >= 0 for k, v in weights.items())
  assert weights == pytest.approx(_expected(mix), abs=1e-6)


@pytest.mark.parametrize("mix", ["pstar", "uniform"])
def test_megatron_and_nemo_blends(written, mix):
  lines = [
    line
    for line in (written / mix / "megatron_blend.txt").read_text().splitlines()
    if line and not line.startswith("#")
  ]
  megatron = next(line for line in lines if line.startswith("--data-path "))
  items = megatron.split()[1:]
  # Megatron's rule (get_blend_from_list): an even count, "weight prefix" pairs.
  assert len(items) % 2 == 0
  blend = {items[i + 1]: float(items[i]) for i in range(0, len(items), 2)}
  assert blend == pytest.approx({mixtures.megatron_prefix(n): p for n, p in _expected(mix).items()}, abs=1e-6)
  nemo = next(line for line in lines if line.startswith("model.data.data_prefix="))
  flat = nemo.split("=", 1)[1].strip("[]").split(",")
  assert {flat[i + 1]: float(flat[i]) for i in range(0, len(flat), 2)} == blend


def test_seqio_snippet_is_valid_python(written):
  tree = ast.parse((written / "pstar" / "seqio_mixture.py").read_text())
  calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "add"]
  name, rates = (ast.literal_eval(a) for a in calls[0].args)
  assert name == "codelaw_pstar"
  assert dict(rates) == pytest.approx({f"codelaw_{n}": p for n, p in _expected("pstar").items()}, abs=1e-6)


@pytest.mark.parametrize("mix", ["pstar", "uniform"])
def test_hf_interleave_probabilities(written, mix):
  spec = json.loads((written / mix / "hf_interleave.json").read_text())
  assert dict(zip(spec["languages"], spec["probabilities"])) == pytest.approx(_expected(mix), abs=1e-6)
  if importlib.util.find_spec("datasets") is None:
    assert sum(spec["probabilities"]) == pytest.approx(1.0, abs=1e-9)
    return
  import datasets

  # fixed-length token blocks per language, as after grouping texts: example shares = token shares
  parts = [datasets.Dataset.from_dict({"language": [lang] * 4000}) for lang in spec["languages"]]
  mixed = datasets.interleave_datasets(
    parts, probabilities=spec["probabilities"], seed=0, stopping_strategy=spec["stopping_strategy"]
  )
  counts = Counter(mixed.select(range(6000))["language"])
  for lang, p in _expected(mix).items():
    assert counts[lang] / 6000 == pytest.approx(p, abs=0.02)


def test_allocate_job_writes_the_mixtures(tmp_path):
  from codelaw.laws import allocate_job

  allocate_job.main(load_config("allocate.py", "paper"), str(tmp_path))
  result = json.loads((tmp_path / "allocation.json").read_text())
  cfg = json.loads((tmp_path / "mixtures" / "pstar" / "grain_codelaw.json").read_text())
  assert cfg["token_budget"] == result["D"]
  for lang, p in result["p_star"].items():
    assert cfg["data"]["proportions"][lang] == pytest.approx(p, abs=5e-6)
  assert sorted(p.name for p in (tmp_path / "mixtures").iterdir()) == ["pstar", "uniform"]


def _run(code: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_exporter_needs_no_interop_extra():
  # The allocate job imports the exporter: it must not pull TensorFlow, seqio or datasets in.
  r = _run(
    "import sys, codelaw.laws.allocate_job\n"
    "print(sorted(m for m in ('tensorflow', 'seqio', 'datasets', 'tensorflow_datasets') if m in sys.modules))"
  )
  assert r.returncode == 0, r.stderr
  assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["tfds_corpus", "seqio", "grain_reader"])
def test_missing_extra_is_one_line_naming_it(module):
  # sys.modules[name] = None makes `import name` fail as it does when the package is not installed.
  r = _run(
    "import sys\n"
    "for m in ('tensorflow_datasets', 'seqio', 'tensorflow'): sys.modules[m] = None\n"
    "from codelaw.errors import UserError\n"
    f"try:\n  import codelaw.interop.{module}\nexcept UserError as e:\n  print(e)\n"
  )
  assert r.returncode == 0, r.stderr
  message = r.stdout.strip()
  assert "\n" not in message and 'pip install -e ".[interop]"' in message
