"""Evaluate a training checkpoint: per-language loss and bits/byte, translation loss, optional pass@k.

    python -m codelaw.launch --config configs/evaluate.py --config.run=TRAIN_WORKDIR --workdir OUT
    ... --config.passk.languages=python,go --config.passk.n=10 --config.passk.k=1,10 --config.passk.temperature=0.8

Writes OUT/evaluation.json (and OUT/passk/<language>.jsonl with every completion and its outcome).
"""

import ml_collections


def get_config(arg=None):
  del arg
  config = ml_collections.ConfigDict()
  config.job = "evaluate"
  config.run = ""  # the training run's workdir (holds checkpoints/ and, once complete, result.json)
  config.branch = 0  # 0 = the main run; N = the cooldown branch of N tokens (branches/N/)
  config.train_config = ""  # the run's config (configs/train/x.py[:arg] or a .json) when it has no result.json yet
  config.languages = ""  # comma-separated validation languages; "" = every language with a val split
  config.eval_tokens = 0  # tokens per language; 0 = the run's train.eval_tokens (same numbers as its eval)
  config.translation = dict(
    enabled=True,
    max_pairs=0,  # held-out pairs per direction; 0 = all that fit seq_len
  )
  config.passk = dict(
    languages="",  # comma-separated; "" = no pass@k (needs the toolchains for non-Python languages)
    n=1,  # samples per problem
    k="1",  # comma-separated k values (each <= n)
    temperature=0.0,  # 0 = greedy
    top_p=1.0,
    max_new_tokens=128,
    limit=0,  # problems per language (the first ones by task id); 0 = all
    batch_size=32,  # prompts per generation batch
    seed=0,
    timeout_s=10.0,  # wall-clock limit per program
    parallelism=2,  # programs run at a time
  )
  config.mesh = dict(data=-1, fsdp=1, tensor=1)
  config.distributed = dict(coordinator="", num_processes=0, process_id=-1)
  return config
