import subprocess
import sys
from pathlib import Path

import pytest

from codelaw import checks
from codelaw.errors import UserError
from codelaw.io import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]


def _launch(*args, cwd):
  return subprocess.run([sys.executable, "-m", "codelaw.launch", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def config_file(tmp_path):
  path = tmp_path / "cfg.py"
  path.write_text(
    "import ml_collections\n"
    "def get_config(arg=None):\n"
    "  return ml_collections.ConfigDict({'job': 'no-such-job', 'x': 1})\n"
  )
  return path


@pytest.mark.parametrize(
  "extra, expected",
  [
    ((), "config.job = 'no-such-job'"),
    (("--config.y=3",), "unknown config key 'y'"),
    (("--config.x=abc",), "--config.x=abc"),
  ],
)
def test_bad_config_is_one_line_error(tmp_path, config_file, extra, expected):
  result = _launch("--config", str(config_file), "--workdir", str(tmp_path / "w"), *extra, cwd=tmp_path)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and expected in lines[0], result.stderr


def test_missing_config_file_names_it(tmp_path):
  result = _launch("--config", str(tmp_path / "absent.py"), "--workdir", str(tmp_path), cwd=tmp_path)
  assert result.returncode != 0 and "absent.py" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1


def test_proportions_are_checked_and_normalised():
  assert checks.proportions({"python": 1, "rust": 3, "go": 0}, "proportions") == {
    "python": 0.25,
    "rust": 0.75,
    "go": 0.0,
  }
  for bad in ({"python": -1}, {"python": float("nan")}, {"python": 0, "go": 0}, {"cobol": 1}):
    with pytest.raises(UserError):
      checks.proportions(bad, "proportions")


def test_atomic_write_leaves_no_temp_files(tmp_path):
  atomic_write_json(tmp_path / "a.json", {"x": 1})
  assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


@pytest.mark.parametrize("job_config", ["fit.py", "report.py", "allocate.py"])
def test_workdir_that_is_a_file_is_one_line_error(tmp_path, job_config):
  taken = tmp_path / "taken"
  taken.write_text("not a directory")
  for workdir in (taken, taken / "below"):
    result = _launch("--config", str(ROOT / "configs" / job_config), "--workdir", str(workdir), cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("codelaw: error: --workdir") and "not a directory" in lines[0]


def test_binary_runs_file_is_one_line_error(tmp_path):
  binary = tmp_path / "runs.csv"
  binary.write_bytes(bytes(range(256)) * 4)
  result = _launch(
    "--config",
    str(ROOT / "configs" / "fit.py"),
    "--workdir",
    str(tmp_path / "w"),
    f"--config.runs={binary}",
    cwd=tmp_path,
  )
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 2 and len(lines) == 1, result.stderr
  assert "runs.csv" in lines[0] and "not UTF-8 text" in lines[0]
  assert not (tmp_path / "w").exists()
