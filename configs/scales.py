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
  cpu-tiny    the quickstart (README's first command): 7 languages x 3 sizes (9.9x in N) x 3 budgets (4x in
              D per size), the smallest budget past the point where cpu-50k is 0.25 nats below the unigram
              loss (about 250k tokens at lr 1e-2 without cooldown, measured).
  cpu-study   the 2-hour study: 5 sizes (18.8x in N) x 4 budgets (7x in D per size), seeds for synergy,
              translation and validation, 24 random mixtures.
Budgets keep every language under 4 epochs of the sample's training split (C#, the smallest, has 351k
tokens), and every run of a study evaluates on the same first eval_tokens of each validation split
(tests/test_study_expand.py checks both).

Learning rates (CPU sizes): cpu-50k's 1e-2 is the best of {3e-3, 1e-2, 3e-2} at 123k tokens in a side-by-side
sweep (WSD, batch 8 x 256, docs/results/vocabulary.md); the other sizes scale it by 1/sqrt(d_model / 32),
a rule, not a sweep.
"""

CPU_LANGUAGES = ("python", "java", "javascript", "typescript", "csharp", "go", "rust")

_CPU_TRAIN = dict(
  corpus="sample", seq_len=256, global_batch_size=8, warmup_steps=10, dtype="float32", checkpoint_every=100
)
_CPU_LR = {
  "cpu-50k": 1e-2,
  "cpu-100k": 8e-3,
  "cpu-200k": 7e-3,
  "cpu-500k": 6e-3,
  "cpu-1m": 5e-3,
  "cpu-2m": 4.5e-3,
  "cpu-5m": 3.5e-3,
}

SCALES = {
  "smoke": dict(
    train=dict(
      corpus="sample",
      seq_len=64,
      global_batch_size=4,
      warmup_steps=2,
      dtype="float32",
      eval_tokens=1024,
      checkpoint_every=6,
    ),
    peak_lr={"cpu-50k": 3e-3, "cpu-100k": 3e-3},
    per_language=dict(
      languages=("python", "java"),
      sizes=("cpu-50k", "cpu-100k"),
      budgets=(1536, 3072, 6144),
      budget_scale=(),
      seeds=(0,),
    ),
    synergy=dict(languages=("python", "java"), size="cpu-100k", tokens=3072, seeds=(0,)),
    translation=dict(
      languages=("python", "java"),
      pivot="python",
      strategies=("paired",),
      weight=0.25,
      sizes=("cpu-50k",),
      tokens=3072,
      seeds=(0,),
    ),
    mixtures=dict(
      languages=("python", "java"),
      n_mixtures=2,
      alpha=1.0,
      mixture_seed=0,
      sizes=("cpu-50k",),
      budgets=(3072,),
      seeds=(0,),
    ),
    validation=dict(allocation="", size="cpu-100k", tokens=6144, seeds=(0,)),
    fit=dict(grid="small", starts=32, bootstrap=20),
    # Two sizes cannot identify a law; the smoke test checks that allocation runs, not what it says.
    allocate=dict(allow_unidentifiable=True),
  ),
  "cpu-tiny": dict(
    train=dict(_CPU_TRAIN, eval_tokens=16384),
    peak_lr=dict(_CPU_LR),
    per_language=dict(
      languages=CPU_LANGUAGES,
      sizes=("cpu-50k", "cpu-200k", "cpu-500k"),
      budgets=(196608, 393216, 786432),
      budget_scale=(("cpu-200k", 0.75), ("cpu-500k", 0.5)),
      seeds=(0,),
    ),
    synergy=dict(languages=("python", "javascript", "typescript"), size="cpu-50k", tokens=393216, seeds=(0,)),
    translation=dict(
      languages=CPU_LANGUAGES,
      pivot="python",
      strategies=("shuffle", "concat", "paired"),
      weight=0.25,
      sizes=("cpu-50k",),
      tokens=393216,
      seeds=(0,),
    ),
    mixtures=dict(
      languages=CPU_LANGUAGES,
      n_mixtures=4,
      alpha=1.0,
      mixture_seed=0,
      sizes=("cpu-50k",),
      budgets=(196608, 393216),
      seeds=(0,),
    ),
    validation=dict(allocation="", size="cpu-50k", tokens=393216, seeds=(0,)),
    fit=dict(),
  ),
  "cpu-study": dict(
    train=dict(_CPU_TRAIN, eval_tokens=51200),
    peak_lr=dict(_CPU_LR),
    per_language=dict(
      languages=CPU_LANGUAGES,
      sizes=("cpu-50k", "cpu-100k", "cpu-200k", "cpu-500k", "cpu-1m"),
      budgets=(196608, 393216, 786432, 1376256),
      budget_scale=(("cpu-500k", 0.5), ("cpu-1m", 0.5)),
      seeds=(0,),
    ),
    synergy=dict(languages=("python", "javascript", "typescript"), size="cpu-50k", tokens=393216, seeds=(0, 1, 2)),
    translation=dict(
      languages=CPU_LANGUAGES,
      pivot="python",
      strategies=("shuffle", "concat", "paired"),
      weight=0.25,
      sizes=("cpu-50k", "cpu-100k"),
      tokens=393216,
      seeds=(0, 1, 2),
    ),
    mixtures=dict(
      languages=CPU_LANGUAGES,
      n_mixtures=24,
      alpha=1.0,
      mixture_seed=0,
      sizes=("cpu-50k",),
      budgets=(196608, 393216),
      seeds=(0,),
    ),
    validation=dict(allocation="", size="cpu-50k", tokens=786432, seeds=(0, 1, 2)),
    fit=dict(),
  ),
  "gpu-small": dict(
    train=dict(
      corpus="full",
      seq_len=1024,
      global_batch_size=128,
      warmup_steps=200,
      dtype="bfloat16",
      eval_tokens=2_000_000,
      checkpoint_every=1000,
    ),
    peak_lr={"0.1B": 1e-3, "0.2B": 1e-3, "0.4B": 1e-3},
    per_language=dict(
      languages=CPU_LANGUAGES,
      sizes=("0.1B", "0.2B", "0.4B"),
      budgets=(250_000_000, 500_000_000, 1_000_000_000, 2_000_000_000),
      budget_scale=(),
      seeds=(0,),
    ),
    synergy=dict(languages=CPU_LANGUAGES, size="0.4B", tokens=2_000_000_000, seeds=(0,)),
    translation=dict(
      languages=CPU_LANGUAGES,
      pivot="python",
      strategies=("shuffle", "concat", "paired"),
      weight=0.25,
      sizes=("0.1B", "0.4B"),
      tokens=2_000_000_000,
      seeds=(0,),
    ),
    mixtures=dict(
      languages=CPU_LANGUAGES,
      n_mixtures=12,
      alpha=1.0,
      mixture_seed=0,
      sizes=("0.2B",),
      budgets=(250_000_000, 500_000_000, 1_000_000_000, 2_000_000_000),
      seeds=(0,),
    ),
    validation=dict(allocation="", size="0.4B", tokens=2_000_000_000, seeds=(0, 1)),
    fit=dict(),
  ),
  # The paper's grid (arXiv 2512.13472): 10 sizes x 6 budgets; synergy's baseline is 64B of the target
  # seen twice vs 64B target + 64B auxiliary, i.e. 2x the largest budget.
  "paper": dict(
    train=dict(
      corpus="sample",
      seq_len=2048,
      global_batch_size=256,
      warmup_steps=1000,
      dtype="bfloat16",
      eval_tokens=20_000_000,
      checkpoint_every=2000,
    ),
    peak_lr={size: 3e-4 for size in ("0.1B", "0.2B", "0.4B", "0.6B", "1.1B", "1.3B", "1.6B", "2.0B", "2.4B", "3.1B")},
    per_language=dict(
      languages=CPU_LANGUAGES,
      sizes=("0.1B", "0.2B", "0.4B", "0.6B", "1.1B", "1.3B", "1.6B", "2.0B", "2.4B", "3.1B"),
      budgets=(2_000_000_000, 4_000_000_000, 8_000_000_000, 16_000_000_000, 32_000_000_000, 64_000_000_000),
      budget_scale=(),
      seeds=(0,),
    ),
    synergy=dict(languages=CPU_LANGUAGES, size="3.1B", tokens=128_000_000_000, seeds=(0,)),
    translation=dict(
      languages=CPU_LANGUAGES,
      pivot="python",
      strategies=("shuffle", "concat", "paired"),
      weight=0.25,
      sizes=("0.2B", "0.6B", "1.6B", "3.1B"),
      tokens=64_000_000_000,
      seeds=(0,),
    ),
    mixtures=dict(
      languages=CPU_LANGUAGES,
      n_mixtures=16,
      alpha=1.0,
      mixture_seed=0,
      sizes=("0.6B", "1.6B"),
      budgets=(2_000_000_000, 4_000_000_000, 8_000_000_000, 16_000_000_000, 32_000_000_000, 64_000_000_000),
      seeds=(0,),
    ),
    validation=dict(allocation="", size="3.1B", tokens=64_000_000_000, seeds=(0,)),
    fit=dict(),
  ),
}
