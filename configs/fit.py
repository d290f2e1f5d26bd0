"""Fit a scaling law to runs: `--config.runs=FILE --config.law=NAME`.

law: "chinchilla" (per-language law; FILE = CSV with columns language,N,D,loss, or a study's results.csv,
whose monolingual rows are used), one of the multilingual families "effective_data", "he", "data_mixing",
"paper_aggregate" (FILE = a study's results.csv), or "compare" (all four, leave-one-mixture-out table).
"""

import ml_collections


def get_config(arg=None):
  del arg
  return ml_collections.ConfigDict(
    dict(
      job="fit",
      runs="",  # input CSV
      law="chinchilla",
      grid="epoch",  # chinchilla starts: "epoch" (4,500 points) or "small" (432)
      starts=512,  # multilingual families: random starts
      num_steps=0,  # L-BFGS iterations; 0 = default (chinchilla 100, multilingual 300)
      bootstrap=200,  # resamples (runs) for intervals
      ci=0.95,
      seed=0,
      unique_tokens="",  # effective_data: JSON file {lang: unique tokens} or a corpus dir (manifest.json)
      synergy=True,  # multilingual laws: add the bilingual synergy matrix when the table has one
      loss_unit="nats",  # chinchilla: "nats" (nats/token) or "bpb" (fit on bits per byte, from column bpb)
    )
  )
