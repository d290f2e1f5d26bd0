"""Synergy as the paper defines it: three arms per cell (target seen twice, target fresh, target + auxiliary),
a unique-token cap that really repeats the target's data, and paired intervals over seeds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import ml_collections
import numpy as np
import pytest
import scipy.stats
from helpers import load_config, write_corpus

from codelaw.data import accounting, pipeline
from codelaw.errors import UserError
from codelaw.laws.synergy import load_synergy, synergy
from codelaw.study import studies
from codelaw.study.studies.paired import paired_difference, seed_interval
from codelaw.train import settings, trainer

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 512


def make_corpus(path: Path, train_docs: int = 100) -> Path:
  """python and java, ~85 random tokens per document (so a document is known by its bigrams): ~8.5k
  training tokens each, more than a smoke run reads."""
  return write_corpus(
    path, ("python", "java"), VOCAB, {"train": train_docs, "val": 4}, lambda rng, _, n: rng.integers(2, VOCAB, n)
  )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
  return make_corpus(tmp_path_factory.mktemp("corpus"))


def study_config(corpus: Path, seeds=(0, 1, 2)) -> ml_collections.ConfigDict:
  config = load_config("studies/synergy.py", "scale=smoke")
  config.languages = ("python", "java")
  config.seeds = seeds
  config.base.data.corpus = str(corpus)
  config.base.train.global_batch_size = 8  # divisible by the 8 test devices
  return config


# ------------------------------------------------------------------------------------------------ expansion
def test_expansion_gives_three_arms_for_every_seed(corpus):
  config = study_config(corpus)
  runs = studies.expand(config)
  kinds = {}
  for r in runs:
    kinds.setdefault(r.meta["kind"], set()).add((r.meta["pair"], r.meta["seed"]))
  assert kinds == {
    "self_capped": {(f"{lang}+{lang}", s) for lang in ("python", "java") for s in (0, 1, 2)},
    "self_fresh": {(f"{lang}+{lang}", s) for lang in ("python", "java") for s in (0, 1, 2)},
    "pair": {("python+java", s) for s in (0, 1, 2)},
  }
  tokens = config.tokens
  for r in runs:
    caps = r.config["data"].get("unique_tokens")
    if r.meta["kind"] == "self_capped":
      assert caps == {r.meta["pair"].split("+")[0]: tokens // 2}
    else:  # fresh and pair arms keep the single-baseline design's configs, hence its run ids
      assert caps is None and r.run_id.split("-")[0] in ("self", "pair")
    assert r.config["train"]["tokens"] == tokens
  pair = next(r for r in runs if r.meta["kind"] == "pair")
  assert pair.eval_languages == ("python", "java")
  assert pair.config["data"]["proportions"] == {"python": 0.5, "java": 0.5}


def test_cap_values_are_checked(corpus):
  config = study_config(corpus)
  run = next(r for r in studies.expand(config) if r.meta["kind"] == "self_capped")
  assert settings.resolve(run.config).unique_tokens == run.config["data"]["unique_tokens"]
  for caps, match in (
    ({"cobol": 10}, r"data.unique_tokens.*cobol"),
    ({"python": 0}, r"data.unique_tokens.python = 0"),
    ([3], r"data.unique_tokens"),
  ):
    bad = copy.deepcopy(run.config)
    bad["data"]["unique_tokens"] = caps
    with pytest.raises(UserError, match=match):
      settings.resolve(bad)


# ------------------------------------------------------------------------------------- the cap in the data
def _stream(corpus, cap, seed=0):
  return pipeline.mixture_dataset(
    corpus,
    {"python": 1.0},
    seq_len=64,
    global_batch_size=8,
    seed=seed,
    process_index=0,
    process_count=1,
    unique_tokens={"python": cap},
  )


def test_capped_stream_draws_from_a_fixed_subset_and_resumes_exactly(corpus):
  docs = pipeline.language_documents(corpus, "python", "train")
  subset = pipeline.unique_documents(docs, 0, "python", 3072)
  sizes = [len(d) + 1 for d in subset]
  assert abs(sum(sizes) - 3072) <= max(sizes) / 2 and len(subset) < len(docs) / 2
  assert [d.tolist() for d in subset] == [d.tolist() for d in pipeline.unique_documents(docs, 0, "python", 3072)]
  assert [d.tolist() for d in subset] != [d.tolist() for d in pipeline.unique_documents(docs, 1, "python", 3072)]

  # 6144 tokens from a 3072-token subset: every document drawn about twice, only documents of the subset.
  it = iter(_stream(corpus, 3072))
  batches = [next(it) for _ in range(12)]
  drawn = sum(accounting.documents_read(it.get_state()).values())
  assert 1.6 < drawn / len(subset) <= 2.1
  seen = set()
  for b in batches:
    w = b["weights"] > 0  # target = the next token of the same document
    seen |= set(zip(b["inputs"][w].tolist(), b["targets"][w].tolist()))
  seen -= {(x, 1) for x, _ in seen}  # a document's last token predicts EOS
  allowed = {pair for d in subset for pair in zip(d[:-1].tolist(), d[1:].tolist())}
  everything = {pair for d in docs for pair in zip(d[:-1].tolist(), d[1:].tolist())}
  assert seen <= allowed and len(seen) > 0.9 * len(allowed) and len(allowed) < 0.5 * len(everything)

  # Exact resume: the state after 5 batches restores the same next batches.
  it = iter(_stream(corpus, 3072))
  for _ in range(5):
    next(it)
  state = json.loads(json.dumps(it.get_state()))
  expected = [next(it) for _ in range(4)]
  resumed = iter(_stream(corpus, 3072))
  resumed.set_state(state)
  for a, b in zip(expected, [next(resumed) for _ in range(4)]):
    for k in a:
      np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_capped_arm_repeats_its_data_in_a_real_run(corpus, tmp_path):
  run = next(
    r
    for r in studies.expand(study_config(corpus, seeds=(0,)))
    if r.meta["kind"] == "self_capped" and r.meta["pair"] == "python+python"
  )
  result = trainer.main(ml_collections.ConfigDict(run.config), str(tmp_path))
  on_disk = json.loads((tmp_path / "result.json").read_text())
  assert on_disk["epochs"]["python"] == pytest.approx(result["epochs"]["python"])
  assert 1.8 < result["epochs"]["python"] < 2.2  # seen twice: the run reads twice its ~T/2-token subset
  fresh = accounting.epochs_per_language(corpus, {"python": 1.0}, result["tokens"], seq_len=64)
  assert fresh["python"] < 1  # the same run uncapped would not repeat anything
  assert result["eval"]["python"]["loss"] > 0


# ---------------------------------------------------------------------------------------- paired intervals
def test_seed_interval_is_the_paired_t_interval():
  rng = np.random.default_rng(1)
  a = rng.normal(1.0, 0.3, 5)
  b = a - 0.05 + rng.normal(0, 0.01, 5)
  d = paired_difference(dict(enumerate(a)), dict(enumerate(b)))
  ci = scipy.stats.ttest_rel(a, b).confidence_interval(0.95)
  assert d.estimate == pytest.approx(np.mean(a - b))
  assert d.interval == pytest.approx((ci.low, ci.high))
  assert d.status == "positive" and d.to_json()["n_seeds"] == 5
  # The seed effect (sd 0.3) is shared by both arms: an unpaired interval would not exclude 0.
  welch = scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
  assert welch.low < 0 < welch.high
  # Only seeds both arms have are paired.
  assert paired_difference({0: 1.0, 1: 2.0, 2: 5.0}, {1: 1.5, 2: 4.0}).values == (0.5, 1.0)


def test_one_seed_gives_no_interval():
  d = seed_interval({0: 0.2})
  assert d.estimate == 0.2 and d.interval is None and d.status == "not enough data"
  assert d.to_json()["interval"] is None
  empty = paired_difference({0: 1.0}, {1: 1.0}).to_json()
  assert empty["estimate"] is None and empty["status"] == "not enough data"


def _rows(losses: dict, seeds, rng, noise):
  """Results rows for {(kind, target, aux): loss}; each seed shifts every arm alike (shared seed effect)."""
  rows = []
  for s in seeds:
    shift = rng.normal(0, noise)
    for (kind, t, a), loss in losses.items():
      value = loss + shift + rng.normal(0, noise / 20)
      rows.append(
        {
          "run_id": f"{kind}-{t}-{a}-{s}",
          "language": t,
          "aux": a,
          "kind": kind,
          "seed": str(s),
          "N": "1000",
          "D": "6144",
          "loss": str(value),
          "bpb": str(value / 2),
          "final": "1",
          "status": "complete",
        }
      )
  return rows


LOSSES = {
  ("self_capped", "java", "java"): 0.9034,
  ("self_fresh", "java", "java"): 0.88,
  ("pair", "java", "csharp"): 0.7175,
  ("self_capped", "csharp", "csharp"): 0.60,
  ("self_fresh", "csharp", "csharp"): 0.59,
  ("pair", "csharp", "java"): 0.595,
}


def test_delta_decomposes_into_repetition_penalty_and_auxiliary_value():
  out = synergy(_rows(LOSSES, range(4), np.random.default_rng(0), 0.05))
  java = out["targets"]["java"]
  cell = java["aux"]["csharp"]
  # Positive = the auxiliary helps; the paper's Java + C# cell.
  assert cell["delta"]["loss"]["estimate"] == pytest.approx(0.9034 - 0.7175, abs=0.01)
  assert cell["delta"]["loss"]["status"] == "positive"
  assert 100 * cell["rel"]["estimate"] == pytest.approx(20.58, abs=1.5)
  for unit in ("loss", "bpb"):
    rep, aux, delta = (x[unit]["estimate"] for x in (java["repetition_penalty"], cell["aux_vs_fresh"], cell["delta"]))
    assert delta == pytest.approx(rep + aux)
  assert java["repetition_penalty"]["loss"]["estimate"] == pytest.approx(0.0234, abs=0.01)
  assert cell["delta"]["bpb"]["estimate"] == pytest.approx(cell["delta"]["loss"]["estimate"] / 2)
  # C# gains from Java against its repeated data, not against fresh data: the interval says so or abstains.
  cs = out["targets"]["csharp"]["aux"]["java"]
  assert cs["delta"]["loss"]["estimate"] > 0
  assert cs["aux_vs_fresh"]["loss"]["estimate"] < 0 and cs["aux_vs_fresh"]["loss"]["interval"][0] < 0
  assert cs["pair"]["n_seeds"] == 4 and out["D"] == 6144.0


def test_one_seed_matrix_says_not_enough_data(tmp_path):
  rows = _rows(LOSSES, [0], np.random.default_rng(0), 0.0)
  path = tmp_path / "results.csv"
  header = list(rows[0])
  path.write_text("\n".join([",".join(header)] + [",".join(r[h] for h in header) for r in rows]) + "\n")
  out = load_synergy(path)
  cell = out["targets"]["java"]["aux"]["csharp"]["delta"]["loss"]
  assert cell["interval"] is None and cell["status"] == "not enough data" and cell["estimate"] > 0
  with pytest.raises(UserError, match="synergy: no 50:50 pair runs"):
    synergy([r for r in rows if r["kind"] != "pair"])
  with pytest.raises(UserError, match="synergy: no complete runs"):
    synergy([dict(r, kind="monolingual") for r in rows])
