"""The report opens in a real browser (Debian's headless chromium): the page renders and every figure
decodes (naturalWidth > 0, counted by the page's own script into the DOM, read back with --dump-dom)."""

import io
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import test_report
from PIL import Image

from codelaw.report import build

FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--virtual-time-budget=15000",
]


def _chromium() -> str:
  exe = shutil.which("chromium") or shutil.which("chromium-browser")
  if exe is None:
    if os.environ.get("CODELAW_ALLOW_MISSING_TOOLCHAINS") == "1":
      pytest.skip("chromium not installed (CODELAW_ALLOW_MISSING_TOOLCHAINS=1)")
    pytest.fail("chromium not installed: run scripts/install_report_deps.sh")
  return exe


def _run(exe, tmp_path, *args):
  profile = tmp_path / "chromium-profile"
  proc = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=180)
  assert proc.returncode == 0, proc.stderr[-2000:]
  return proc.stdout


def test_report_renders_in_headless_chromium(tmp_path):
  exe = _chromium()
  study = test_report.make_study(tmp_path / "study", fitter=False)
  out = tmp_path / "report"
  build.main(test_report._report_config(study), str(out))
  n_figures = len(list((out / "figures").glob("*.png")))
  assert n_figures == len(test_report.EXPECTED_FIGURES)
  url = (out / "index.html").resolve().as_uri()

  dom = _run(exe, tmp_path, "--dump-dom", url)
  check = re.search(r'<p id="image-check"([^>]*)>([^<]*)</p>', dom)
  assert check, dom[:2000]
  attrs = dict(re.findall(r'(data-[a-z]+)="([^"]*)"', check.group(1)))
  assert attrs["data-total"] == str(n_figures), check.group(0)
  assert attrs["data-loaded"] == str(n_figures), check.group(0)
  assert all(int(w) > 100 for w in attrs["data-widths"].split(",")), attrs
  assert len(re.findall(r"<table>", dom)) >= len(test_report.EXPECTED_TABLES)

  # And it paints: a screenshot of the top of the page is a real, non-blank image.
  shot = tmp_path / "page.png"
  _run(exe, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
  img = Image.open(io.BytesIO(shot.read_bytes()))
  assert img.size == (1280, 2000)
  assert np.asarray(img.convert("L"), np.float64).std() > 10
