"""What several test files share: loading a config file, running the launcher as a user runs it, and writing
a small token corpus in the real on-disk format."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from codelaw.data import corpus_format

ROOT = Path(__file__).resolve().parents[1]


def load_config(name: str, arg: str | None = None):
  """`get_config(arg)` of configs/NAME (e.g. "fit.py"), as the launcher calls it."""
  spec = importlib.util.spec_from_file_location(f"_config_{name.replace('/', '_')}", ROOT / "configs" / name)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


def launcher_command(config: str | Path, workdir: Path, *overrides: str) -> list[str]:
  """`python -m codelaw.launch --config CONFIG --workdir WORKDIR OVERRIDES...`; CONFIG is relative to the
  repository root (or absolute) and may carry its `:arg`."""
  return [sys.executable, "-m", "codelaw.launch", "--config", str(ROOT / config), "--workdir", str(workdir), *overrides]


def run_launcher(
  config: str | Path, workdir: Path, *overrides: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
  """The launcher run from the repository root, its output captured as text."""
  return subprocess.run(
    launcher_command(config, workdir, *overrides),
    capture_output=True,
    text=True,
    env=None if env is None else dict(env),
    cwd=ROOT,
    timeout=timeout,
  )


# The tokens of one document: (random generator, the language's index, the document's length) -> ids.
TokenIds = Callable[[np.random.Generator, int, int], np.ndarray]


def write_corpus(path: Path, langs: Iterable[str], vocab: int, docs: Mapping[str, int], token_ids: TokenIds) -> Path:
  """A corpus of `docs[split]` documents per language and split, each 20 to 149 tokens long (3 bytes a token),
  drawn from one generator seeded 0; pad 0, eos 1."""
  rng = np.random.default_rng(0)
  splits = {}
  for li, lang in enumerate(langs):
    splits[lang] = {}
    for split, n in docs.items():
      written = []
      for _ in range(n):
        length = int(rng.integers(20, 150))
        written.append((token_ids(rng, li, length).astype(np.int32), 3 * length))
      splits[lang][split] = corpus_format.write_token_shards(path, lang, split, written)
  corpus_format.write_manifest(path, vocab_size=vocab, pad_id=0, eos_id=1, splits=splits)
  return path
