"""Scale presets: the one place that sizes every study (configs/studies/*.py and the quickstart read it).

Per scale:
  train         the training shape every run shares (corpus, sequence length, batch, warmup, evaluation)
  peak_lr       the learning rate of each model size (see "Learning rates" below)
  per_language  languages, sizes and token budgets D of the per-language grid: one WSD run per (language,
                size, seed) trains to the largest budget, cooldown branches give the others; budget_scale
                multiplies the budgets of the larger sizes (they reach the regime on fewer tokens)
  synergy, translation, mixtures, validation   each study's sizing
  fit, allocate overrides of configs/fit.py and configs/allocate.py inside the quickstart

CPU scales (2 cores) on the bundled sample (4k vocabulary: a 1k tokenizer was measured and reaches worse
bits per byte per wall-second at these sizes, docs/results/vocabulary.md):
  smoke       the plumbing only (CI): 2 languages, a few thousand tokens per run.
  cpu-tiny    the quickstart (README's first command): 7 languages x 3 sizes (cpu-10k to cpu-50k, 5.3x in N)
              x 3 budgets (262k-1.05M tokens, 4x in D, 5-78 tokens per parameter), the same budgets at every
              size: Python, the slowest language to leave the unigram stage, is 0.21-0.43 nats below its
              unigram loss at 196k tokens over 3 seeds at cpu-50k (docs/results/regime.md), so no run trains
              on fewer than 262k. The smallest sizes are there because at these budgets only models this small
              are limited by their size (larger ones are limited by the data and their losses do not differ).
  cpu-study   the 2-hour study: 5 sizes (cpu-10k to cpu-200k, 19.9x in N) x 4 budgets (262k-1.05M tokens,
              1.3-104 tokens per parameter), synergy and translation (2 sizes) with 3 seeds, 24 random
              mixtures, validation with 3 seeds; every run evaluates on the whole 50k-token validation split.

Budgets keep every language under 4 epochs of the sample's training split (C#, the smallest, has 351k
tokens), and every run of a study evaluates on the same first eval_tokens of each validation split
(tests/test_study_expand.py checks both).

Learning rates (CPU sizes): cpu-50k's 1e-2 is the best of {3e-3, 1e-2, 3e-2} at 123k tokens in a side-by-side
sweep (WSD, batch 8 x 256, docs/results/vocabulary.md; at batch 2, 5e-3 and 1e-2 end within 0.05 nats,
docs/results/regime.md); the other sizes scale it by 1/sqrt(d_model / 32). A sweep of 0.5x, 1x and 2x the
rule at the ends of the cpu-study's sizes (cpu-10k, cpu-200k; batch 4, 524k tokens) finds the rule within
0.03 nats of the best, under one seed spread, and 2x clearly worse (docs/results/regime.md).
"""

CPU_LANGUAGES = ("python", "java", "javascript", "typescript", "csharp", "go", "rust")
STRATEGIES = ("shuffle", "concat", "paired")  # the translation study's three ways of adding parallel data


def _train(corpus: str, seq_len: int, batch: int, warmup: int, dtype: str, eval_tokens: int, checkpoint_every: int):
  return dict(
    corpus=corpus,
    seq_len=seq_len,
    global_batch_size=batch,
    warmup_steps=warmup,
    dtype=dtype,
    eval_tokens=eval_tokens,
    checkpoint_every=checkpoint_every,
  )


def _grid(sizes, budgets, budget_scale=(), languages=CPU_LANGUAGES, seeds=(0,)):
  return dict(languages=languages, sizes=sizes, budgets=budgets, budget_scale=budget_scale, seeds=seeds)


def _synergy(size, tokens, seeds=(0,), languages=CPU_LANGUAGES):
  return dict(languages=languages, size=size, tokens=tokens, seeds=seeds)


def _translation(sizes, tokens, seeds=(0,), strategies=STRATEGIES, languages=CPU_LANGUAGES):
  return dict(
    languages=languages, pivot="python", strategies=strategies, weight=0.25, sizes=sizes, tokens=tokens, seeds=seeds
  )


def _mixtures(n_mixtures, sizes, budgets, languages=CPU_LANGUAGES):
  return dict(
    languages=languages, n_mixtures=n_mixtures, alpha=1.0, mixture_seed=0, sizes=sizes, budgets=budgets, seeds=(0,)
  )


def _validation(size, tokens, seeds=(0,)):
  return dict(allocation="", size=size, tokens=tokens, seeds=seeds)


def _cpu_train(eval_tokens: int):
  # Batch 4 x 256: at 196k tokens it is further below the unigram loss than batch 8 (more optimizer steps),
  # and unlike batch 2 it keeps up at 786k with a small seed spread (docs/results/regime.md).
  return _train("sample", 256, 4, 10, "float32", eval_tokens, 200)


_CPU_LR = {
  "cpu-10k": 1.4e-2,
  "cpu-20k": 1.15e-2,
  "cpu-50k": 1e-2,
  "cpu-100k": 8e-3,
  "cpu-200k": 7e-3,
  "cpu-500k": 6e-3,
  "cpu-1m": 5e-3,
  "cpu-2m": 4.5e-3,
  "cpu-5m": 3.5e-3,
}
_PAPER_SIZES = ("0.1B", "0.2B", "0.4B", "0.6B", "1.1B", "1.3B", "1.6B", "2.0B", "2.4B", "3.1B")
_PAPER_BUDGETS = tuple(2_000_000_000 * 2**i for i in range(6))  # 2B .. 64B
_GPU_SMALL_BUDGETS = (250_000_000, 500_000_000, 1_000_000_000, 2_000_000_000)
_SMOKE_PAIR = ("python", "java")

SCALES = {
  "smoke": dict(
    train=_train("sample", 64, 4, 2, "float32", 1024, 6),
    peak_lr={"cpu-50k": 3e-3, "cpu-100k": 3e-3},
    per_language=_grid(("cpu-50k", "cpu-100k"), (1536, 3072, 6144), languages=_SMOKE_PAIR),
    synergy=_synergy("cpu-100k", 3072, languages=_SMOKE_PAIR),
    translation=_translation(("cpu-50k",), 3072, strategies=("paired",), languages=_SMOKE_PAIR),
    mixtures=_mixtures(2, ("cpu-50k",), (3072,), languages=_SMOKE_PAIR),
    validation=_validation("cpu-100k", 6144),
    fit=dict(grid="small", starts=32, bootstrap=20),
    # Two sizes cannot identify a law; the smoke test checks that allocation runs, not what it says.
    allocate=dict(allow_unidentifiable=True),
  ),
  "cpu-tiny": dict(
    train=_cpu_train(51200),
    peak_lr=dict(_CPU_LR),
    per_language=_grid(("cpu-10k", "cpu-20k", "cpu-50k"), (262144, 524288, 1048576)),
    synergy=_synergy("cpu-20k", 524288, languages=("python", "javascript", "typescript")),
    translation=_translation(("cpu-20k",), 524288),
    mixtures=_mixtures(4, ("cpu-20k",), (262144, 524288)),
    validation=_validation("cpu-20k", 524288, seeds=(0, 1, 2)),
    fit=dict(),
  ),
  "cpu-study": dict(
    train=_cpu_train(51200),
    peak_lr=dict(_CPU_LR),
    per_language=_grid(("cpu-10k", "cpu-20k", "cpu-50k", "cpu-100k", "cpu-200k"), (262144, 393216, 655360, 1048576)),
    synergy=_synergy("cpu-20k", 524288, seeds=(0, 1, 2), languages=("python", "javascript", "typescript")),
    translation=_translation(("cpu-20k", "cpu-50k"), 524288, seeds=(0, 1, 2)),
    mixtures=_mixtures(24, ("cpu-20k",), (262144, 524288)),
    validation=_validation("cpu-50k", 786432, seeds=(0, 1, 2)),
    fit=dict(),
  ),
  "gpu-small": dict(
    train=_train("full", 1024, 128, 200, "bfloat16", 2_000_000, 1000),
    peak_lr={"0.1B": 1e-3, "0.2B": 1e-3, "0.4B": 1e-3},
    per_language=_grid(("0.1B", "0.2B", "0.4B"), _GPU_SMALL_BUDGETS),
    synergy=_synergy("0.4B", 2_000_000_000),
    translation=_translation(("0.1B", "0.4B"), 2_000_000_000),
    mixtures=_mixtures(12, ("0.2B",), _GPU_SMALL_BUDGETS),
    validation=_validation("0.4B", 2_000_000_000, seeds=(0, 1)),
    fit=dict(),
  ),
  # The paper's grid (arXiv 2512.13472): 10 sizes x 6 budgets; synergy's baseline is 64B of the target
  # seen twice vs 64B target + 64B auxiliary, i.e. 2x the largest budget.
  "paper": dict(
    train=_train("sample", 2048, 256, 1000, "bfloat16", 20_000_000, 2000),
    peak_lr={size: 3e-4 for size in _PAPER_SIZES},
    per_language=_grid(_PAPER_SIZES, _PAPER_BUDGETS),
    synergy=_synergy("3.1B", 128_000_000_000),
    translation=_translation(("0.2B", "0.6B", "1.6B", "3.1B"), 64_000_000_000),
    mixtures=_mixtures(16, ("0.6B", "1.6B"), _PAPER_BUDGETS),
    validation=_validation("3.1B", 64_000_000_000),
    fit=dict(),
  ),
}
