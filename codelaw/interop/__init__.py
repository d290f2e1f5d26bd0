"""Interop with the data tools other trainers use: the corpus as a TFDS dataset (ArrayRecord, readable by
Grain without TensorFlow), seqio Tasks and Mixtures, and the recommended mixture exported in the formats
Grain/MaxText, seqio, Levanter/Marin, Megatron/NeMo and Hugging Face `datasets` read.

`mixtures` needs only the core install; `tfds_corpus`, `grain_reader` and `seqio` need the extra
(`pip install -e ".[interop]"`). Nothing here is imported by `import codelaw`.
"""
