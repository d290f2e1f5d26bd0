#!/usr/bin/env bash
# How third_party/sample_corpus was made: the corpus job with small caps (configs/corpus.py:sample), then
# `codelaw.data.sample export`, which copies the text shards + tokenizer and writes PROVENANCE.md and LICENSES/.
# Needs the network (Debian, PyPI and npm registries) and ~4 GB of scratch under BUILD_DIR.
#   usage: scripts/build_sample_corpus.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-/tmp/codelaw_sample_build}
python -m codelaw.launch --config configs/corpus.py:sample --workdir "$BUILD_DIR"
python -m codelaw.data.sample export "$BUILD_DIR" third_party/sample_corpus
du -sh third_party/sample_corpus
