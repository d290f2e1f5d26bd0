"""Tests run on CPU with 8 fake devices so that sharding is exercised, except the accelerator tests.

`pytest -m gpu` (or CODELAW_REQUIRE_GPU=1) selects the accelerator: jax is left on its default backend and
every `gpu`-marked test FAILS when no GPU is there, so a GPU run cannot pass by skipping. Without it, jax is
pinned to CPU before it is imported and the `gpu` tests skip, saying how to run them.
"""

import os
import re

import helpers
import pytest


def _gpu_requested(config: pytest.Config) -> bool:
  markexpr = config.getoption("markexpr", "") or ""
  return os.environ.get("CODELAW_REQUIRE_GPU") == "1" or bool(re.search(r"(?<!not )\bgpu\b", markexpr))


def pytest_configure(config: pytest.Config) -> None:
  # Runs before any test module (and so jax) is imported.
  if _gpu_requested(config):
    return
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  flags = os.environ.get("XLA_FLAGS", "")
  if "xla_force_host_platform_device_count" not in flags:
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=8".strip()


def pytest_runtest_setup(item: pytest.Item) -> None:
  if item.get_closest_marker("gpu") is None:
    return
  import jax  # only now: pytest_configure has chosen the platform

  if jax.default_backend() == "gpu":
    return
  if _gpu_requested(item.config):
    pytest.fail(
      f"a GPU was asked for (-m gpu) but jax's backend is {jax.default_backend()!r} "
      f"(JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r})",
      pytrace=False,
    )
  pytest.skip("needs a GPU: run `pytest -m gpu` on a GPU machine (it fails there if jax finds none)")


@pytest.fixture
def run_launcher():
  """helpers.run_launcher, for test modules that are imported outside pytest too (as `tests.<module>`, where
  helpers is not importable by its plain name)."""
  return helpers.run_launcher
