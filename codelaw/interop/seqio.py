"""seqio Tasks over the TFDS corpus (one per language) and Mixtures from an allocation.json.

    from codelaw.interop import seqio as codelaw_seqio
    codelaw_seqio.register("OUT/alloc/allocation.json", data_dir, corpus="sample")  # Tasks + 2 Mixtures
    seqio.get_mixture_or_task("codelaw_pstar").get_dataset({"targets": 1024}, split="train")

Task `codelaw_<lang>` reads `codelaw_corpus/<lang>` (codelaw.interop.tfds_corpus) and yields the language's
token stream (each document's ids, then EOS) cut into chunks of exactly the target sequence length, as
`targets` with a seqio PassThroughVocabulary over the corpus tokenizer's ids. Fixed-length chunks make the
Mixture's example rates token rates, so rates = p* gives p* of the tokens whatever the document lengths
(seqio samples examples, not tokens). Every example also carries `language`, which
`get_dataset(..., passthrough_features=["language"])` keeps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from codelaw import languages
from codelaw.errors import UserError
from codelaw.interop import mixtures, tfds_corpus
from codelaw.interop.extra import require

seqio = require("seqio")
tf = require("tensorflow")

TASK_PREFIX = "codelaw_"
CHUNK_WITHOUT_LENGTH = 2048  # chunk length when get_dataset is given no sequence_length


def task_name(lang: str) -> str:
  return f"{TASK_PREFIX}{lang}"


def _token_chunks(lang: str, eos_id: int):
  """A seqio preprocessor: documents -> {targets: ids chunk, language} with EOS after each document."""

  def preprocess(dataset: tf.data.Dataset, sequence_length: Mapping[str, int] | None = None) -> tf.data.Dataset:
    length = (sequence_length or {}).get("targets") or CHUNK_WITHOUT_LENGTH
    stream = dataset.map(lambda ex: tf.concat([ex["tokens"], tf.constant([eos_id], tf.int32)], 0)).unbatch()
    chunks = stream.batch(length, drop_remainder=True)
    return chunks.map(lambda ids: {"targets": ids, "language": tf.constant(lang)})

  return preprocess


def register_tasks(
  data_dir: str | os.PathLike, corpus: str | os.PathLike | None = None, langs: tuple[str, ...] | None = None
) -> tuple[str, ...]:
  """Registers Task codelaw_<lang> for each language built under `data_dir` (all of them when `langs` is None).
  With `corpus` (a corpus dir or "sample"), builds the TFDS datasets from it first where they are not there yet.
  Registering again replaces the Tasks. Returns the task names."""
  data_dir = str(Path(data_dir).expanduser())
  if corpus is not None:
    langs = tfds_corpus.prepare(data_dir, corpus, langs)
  built = {lang: b for lang in (langs or languages.NAMES) if (b := tfds_corpus.builder(lang, data_dir)).is_prepared()}
  missing = [lang for lang in (langs or ()) if lang not in built]
  if missing or not built:
    raise UserError(
      f"codelaw_corpus/{'|'.join(missing) or '<lang>'} is not built under {data_dir}: pass corpus= "
      "(a corpus dir or \"sample\") or run codelaw.interop.tfds_corpus.prepare(data_dir, corpus)"
    )
  names = []
  for lang, b in built.items():
    meta = b.info.metadata
    vocab = seqio.PassThroughVocabulary(size=int(meta["vocab_size"]), eos_id=int(meta["eos_id"]))
    name = task_name(lang)
    seqio.TaskRegistry.remove(name)
    seqio.TaskRegistry.add(
      name,
      source=seqio.TfdsDataSource(
        tfds_name=f"{tfds_corpus.NAME}/{lang}:{tfds_corpus.CodelawCorpus.VERSION}", tfds_data_dir=data_dir
      ),
      preprocessors=[_token_chunks(lang, int(meta["eos_id"]))],
      # EOS is already in the stream, after each document; appending one per chunk would add fake boundaries.
      output_features={"targets": seqio.Feature(vocabulary=vocab, add_eos=False, dtype=tf.int32)},
    )
    names.append(name)
  return tuple(names)


def register_mixture(name: str, shares: Mapping[str, float]) -> str:
  """Registers Mixture `name` over the registered codelaw Tasks with rates = token shares (zeros left out)."""
  rates = [(task_name(lang), float(p)) for lang, p in shares.items() if p > 0]
  missing = [t for t, _ in rates if t not in seqio.TaskRegistry.names()]
  if missing:
    raise UserError(f"mixture {name}: tasks {', '.join(missing)} are not registered (call register_tasks first)")
  seqio.MixtureRegistry.remove(name)
  seqio.MixtureRegistry.add(name, rates)
  return name


def register(
  allocation: str | os.PathLike, data_dir: str | os.PathLike, corpus: str | os.PathLike | None = None
) -> tuple[str, ...]:
  """The one registration call: Tasks for the allocation's languages (built from `corpus` where `data_dir` lacks
  them), then Mixtures codelaw_pstar and codelaw_uniform from its p* and uniform shares. Returns their names."""
  mixes = mixtures.read_allocation(allocation)
  langs = tuple(n for n in languages.NAMES if any(m.shares.get(n, 0) > 0 for m in mixes))
  register_tasks(data_dir, corpus, langs)
  return tuple(register_mixture(f"{TASK_PREFIX}{m.name}", m.shares) for m in mixes)
