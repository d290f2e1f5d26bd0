"""The recommended mixture (p*) and the uniform baseline, written in the formats other trainers read.

    OUT/mixtures/<mix>/            mix = pstar | uniform
      grain_codelaw.json           codelaw train config: data.proportions + train.tokens, and as overrides
      maxtext_grain.yml            MaxText Grain pipeline: grain_train_files "pattern,weight;..."
      seqio_mixture.py             seqio: register the Tasks, then the Mixture codelaw_<mix>
      levanter_train_weights.yaml  Levanter / Marin data.train_weights block
      megatron_blend.txt           Megatron-LM --data-path / NeMo data_prefix blend (weight then prefix)
      hf_interleave.json           Hugging Face datasets.interleave_datasets probabilities

Every file says the token budget D (and N) the mixture was computed for. The weights are token shares: they
give the intended mixture wherever the mixer draws fixed-length token chunks (codelaw's pipeline, seqio Tasks
from codelaw.interop.seqio, Levanter, Megatron's blended datasets, HF datasets after grouping texts into
blocks). A mixer that draws whole documents (MaxText's Grain mix before tokenizing) needs each weight divided
by the language's mean document length in tokens; the files that can be used that way say so.

Core install only (no TensorFlow, seqio or datasets): the allocate job calls `write`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping

from codelaw import checks, languages
from codelaw.errors import UserError
from codelaw.io import atomic_write_json, atomic_write_text, read_json

DIR = "mixtures"
MIXES = {"pstar": "p_star", "uniform": "p_uniform"}  # mixture name -> allocation.json key
DIGITS = 6
TFDS_NAME = "codelaw_corpus"  # codelaw.interop.tfds_corpus.NAME (that module needs the interop extra)


@dataclasses.dataclass(frozen=True)
class Mix:
  """One mixture: token shares over languages (zeros kept), and the budget they were computed for."""

  name: str  # pstar | uniform
  shares: dict[str, float]  # language -> share of training tokens, sums to 1 exactly
  tokens: float  # token budget D (raw count)
  params: float  # non-embedding parameters N (raw count)

  @property
  def active(self) -> dict[str, float]:
    """The languages with a positive share: list-based formats (blends, file lists) leave the others out."""
    return {n: p for n, p in self.shares.items() if p > 0}

  @property
  def budget_line(self) -> str:
    return (
      f"codelaw mixture {self.name!r}: token shares for a training budget of D = {self.tokens:.6g} tokens "
      f"(N = {self.params:.6g} non-embedding parameters)"
    )


def rounded_shares(shares: Mapping[str, float]) -> dict[str, float]:
  """Shares rounded to DIGITS decimals that still sum to 1 (the largest takes the rounding), in language order:
  readable files, and HF's sampler, which rejects probabilities that do not sum to 1."""
  props = checks.proportions(dict(shares), "mixture")
  out = {n: round(props[n], DIGITS) for n in languages.NAMES if n in props}
  top = max(out, key=out.get)
  out[top] = round(1.0 - sum(v for n, v in out.items() if n != top), 12)
  return out


def from_allocation(allocation: Mapping[str, Any], where: str = "allocation.json") -> list[Mix]:
  """The p* and uniform mixtures of an allocation.json (as written by the allocate job)."""
  for key in ("N", "D", *MIXES.values()):
    if key not in allocation:
      raise UserError(f"{where}: no {key!r} (expected the allocate job's output)")
  tokens = checks.positive(allocation["D"], f"{where}: D")
  params = checks.positive(allocation["N"], f"{where}: N")
  return [
    Mix(name, rounded_shares(checks.proportions(allocation[key], f"{where}: {key}")), tokens, params)
    for name, key in MIXES.items()
  ]


def read_allocation(path: str | Path) -> list[Mix]:
  return from_allocation(read_json(path, "allocation"), str(path))


# --- the formats ------------------------------------------------------------------------------------------


def grain_codelaw(mix: Mix) -> dict:
  props = {n: mix.shares.get(n, 0.0) for n in languages.NAMES}
  overrides = [f"--config.data.proportions.{n}={p:g}" for n, p in props.items()]
  return {
    "token_budget": mix.tokens,
    "N": mix.params,
    "description": mix.budget_line,
    "data": {"proportions": props},
    "train": {"tokens": int(round(mix.tokens))},
    "overrides": overrides + [f"--config.train.tokens={int(round(mix.tokens))}"],
  }


def train_files_pattern(lang: str, data_dir: str = "TFDS_DATA_DIR") -> str:
  """The ArrayRecord train files of codelaw.interop.tfds_corpus for one language."""
  return f"{data_dir}/{TFDS_NAME}/{lang}/1.0.0/{TFDS_NAME}-train.array_record*"


def _text_file(mix: Mix, *lines: str) -> str:
  """A config file for another trainer: a comment naming the mixture's budget, then `lines`, newline-ended."""
  return "".join(f"{line}\n" for line in (f"# {mix.budget_line}.", *lines))


def maxtext_grain(mix: Mix) -> str:
  blend = ";".join(f"{train_files_pattern(n)},{p:g}" for n, p in mix.active.items())
  return _text_file(
    mix,
    "# MaxText (configs/base.yml keys). The files are the TFDS ArrayRecord build of the corpus",
    "# (codelaw.interop.tfds_corpus.prepare): replace TFDS_DATA_DIR with its data_dir. MaxText mixes whole documents",
    "# before tokenizing: for token shares, divide each weight by that language's mean tokens per document.",
    f"# train tokens = steps * global_batch_size * max_target_length = {mix.tokens:.6g}",
    "dataset_type: grain",
    "grain_file_type: arrayrecord",
    "train_data_columns: ['text']",
    f'grain_train_files: "{blend}"',
  )


def seqio_snippet(mix: Mix) -> str:
  rates = ",\n".join(f"    (\"codelaw_{n}\", {p!r})" for n, p in mix.active.items())
  return "\n".join(
    [
      f'"""{mix.budget_line}.',
      "",
      "Rates are token shares: the codelaw Tasks yield fixed-length token chunks (the target sequence length),",
      'so example rates equal token rates. Needs pip install -e ".[interop]"; TFDS_DATA_DIR holds (or receives)',
      'the TFDS build of the corpus."""',
      "import os",
      "",
      "import seqio",
      "",
      "from codelaw.interop import seqio as codelaw_seqio",
      "",
      'codelaw_seqio.register_tasks(',
      '    os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets"),',
      '    corpus=os.environ.get("CODELAW_CORPUS"),  # a corpus dir or "sample": built from it where missing',
      f'    langs={tuple(mix.active)!r},',
      ')',
      f'seqio.MixtureRegistry.add("codelaw_{mix.name}", [\n{rates},\n])',
      "",
    ]
  )


def levanter_yaml(mix: Mix) -> str:
  return _text_file(
    mix,
    "# Levanter LMMixtureDatasetConfig / Marin lm_mixture_data_config weights; the keys must match the",
    "# names of your data.configs (one source per language).",
    f"# train tokens = num_train_steps * train_batch_size * seq_len = {mix.tokens:.6g}",
    "data:",
    "  train_weights:",
    *(f"    {n}: {p!r}" for n, p in mix.shares.items()),
  )


def megatron_prefix(lang: str) -> str:
  """tools/preprocess_data.py --output-prefix ${DATA_ROOT}/codelaw_<lang> --json-keys text writes this prefix."""
  return f"${{DATA_ROOT}}/codelaw_{lang}_text_document"


def megatron_blend(mix: Mix) -> str:
  blend = " ".join(f"{p!r} {megatron_prefix(n)}" for n, p in mix.active.items())
  nemo = ",".join(f"{p!r},{megatron_prefix(n)}" for n, p in mix.active.items())
  return _text_file(
    mix,
    "# Megatron-LM: weights then prefixes (indexed datasets from tools/preprocess_data.py --json-keys text).",
    f"# train tokens = train_samples * seq_length = {mix.tokens:.6g}",
    f"--data-path {blend}",
    "# NeMo (Megatron GPT data config):",
    f"model.data.data_prefix=[{nemo}]",
  )


def hf_interleave(mix: Mix) -> dict:
  return {
    "token_budget": mix.tokens,
    "N": mix.params,
    "description": mix.budget_line,
    "languages": list(mix.active),
    "probabilities": list(mix.active.values()),
    "stopping_strategy": "all_exhausted",
    "usage": "datasets.interleave_datasets([ds[lang] for lang in languages], probabilities=probabilities, "
    "seed=0, stopping_strategy=stopping_strategy); token shares hold when each ds[lang] yields "
    "fixed-length token blocks (group texts first), else divide by mean tokens per example",
  }


def write(out_dir: str | Path, allocation: Mapping[str, Any]) -> list[Path]:
  """Writes OUT/mixtures/<mix>/<format> for p* and uniform; returns the files written."""
  written = []
  for mix in from_allocation(allocation):
    d = Path(out_dir) / DIR / mix.name
    contents = {
      "grain_codelaw.json": grain_codelaw(mix),
      "maxtext_grain.yml": maxtext_grain(mix),
      "seqio_mixture.py": seqio_snippet(mix),
      "levanter_train_weights.yaml": levanter_yaml(mix),
      "megatron_blend.txt": megatron_blend(mix),
      "hf_interleave.json": hf_interleave(mix),
    }
    for name, body in contents.items():
      (atomic_write_json if isinstance(body, dict) else atomic_write_text)(d / name, body)
      written.append(d / name)
  return written
