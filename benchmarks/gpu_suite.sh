#!/bin/bash
# The one accelerator check: at most 9 minutes on one H100/H200, JSON lines on stdout (and in $OUT_FILE).
#
#   bash benchmarks/gpu_suite.sh [OUT_FILE]        # default: gpu_suite.jsonl in the current directory
#
# Uses the machine's own python with jax[cuda] (PYTHON=python3 by default) and the repository through
# PYTHONPATH; installs and downloads nothing. Sections, each under its own time limit so the whole suite
# stays under 9 minutes (a section past its limit prints {"section": ..., "error": "timeout ..."}):
#   1. environment: python, jax/jaxlib/flax/optax versions, devices, driver, git commit       (~10 s)
#   2. `pytest -m gpu` (attention kernels vs float32 XLA, 2-step 0.1B training per attention path):
#      one line per test with its outcome, then the totals                                      (<= 150 s)
#   3. attention fwd+bwd at seq 2k, 8k, 16k, head_dim 128, bf16, 4 documents per row: pallas, cudnn
#      (segment mask), cudnn_causal (is_causal only: the speed ceiling), xla; time, TFLOP/s, memory (<= 170 s)
#   4. 1.1B train-step MFU at seq 2048 (causal FLOP counting, the card's peak), pallas then cudnn, one
#      process each so each line's peak memory is its own                                        (<= 2 x 100 s)
# Knobs: REMAT (default dots, as configs/train/gpu_1b.py), MFU_BATCH (8 rows of 2048), PALLAS_BLOCKS
# (kernel variants for benchmarks/attention.py --pallas-blocks, empty by default).
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT_FILE=${1:-gpu_suite.jsonl}
PYTHON=${PYTHON:-python3}
REMAT=${REMAT:-dots}
MFU_BATCH=${MFU_BATCH:-8}
PALLAS_BLOCKS=${PALLAS_BLOCKS:-}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export XLA_PYTHON_CLIENT_MEM_FRACTION=${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.92}
unset JAX_PLATFORMS
: > "$OUT_FILE"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

emit() { tee -a "$OUT_FILE"; }

# Runs "$@" under a time limit; its JSON lines go out, a timeout or crash becomes one JSON line.
section() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout --signal=TERM --kill-after=10 "$limit" "$@" > "$SCRATCH/$name.out" 2> "$SCRATCH/$name.err"
  local rc=$?
  grep '^{' "$SCRATCH/$name.out" | emit
  if [ $rc -ne 0 ]; then
    local why="exit $rc"
    [ $rc -eq 124 ] && why="timeout after ${limit}s"
    "$PYTHON" -c 'import json, sys; print(json.dumps({"section": sys.argv[1], "error": sys.argv[2],
                  "stderr_tail": open(sys.argv[3], errors="replace").read()[-1500:]}))' \
      "$name" "$why" "$SCRATCH/$name.err" | emit
  fi
  echo "{\"section\": \"$name\", \"seconds\": $((SECONDS - start)), \"rc\": $rc}" | emit
}

cd "$REPO" || exit 2

section environment 60 "$PYTHON" - <<'EOF'
import importlib.metadata as md, json, platform, subprocess
row = {"section": "environment", "python": platform.python_version()}
for name in ("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin", "flax", "optax", "numpy", "pytest",
             "ml-collections"):
  try:
    row[name] = md.version(name)
  except md.PackageNotFoundError:
    row[name] = None
try:
  row["nvidia_smi"] = subprocess.run(
      ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit",
       "--format=csv,noheader"], capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
except (OSError, subprocess.TimeoutExpired) as e:
  row["nvidia_smi"] = f"unavailable: {e}"
row["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
import jax
row.update(backend=jax.default_backend(), devices=[d.device_kind for d in jax.devices()])
print(json.dumps(row))
EOF

section gpu_tests 150 "$PYTHON" - "$SCRATCH/junit.xml" <<'EOF'
import json, subprocess, sys, xml.etree.ElementTree as ET
cmd = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", f"--junitxml={sys.argv[1]}",
       "tests/test_attention.py", "tests/test_gpu_train.py"]
proc = subprocess.run(cmd, capture_output=True, text=True)
totals = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
try:
  cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
except (OSError, ET.ParseError):
  cases = []
for case in cases:
  outcome, message = "passed", ""
  for tag in ("failure", "error", "skipped"):
    node = case.find(tag)
    if node is not None:
      outcome, message = ("failed" if tag == "failure" else tag), (node.get("message") or "")[:400]
  totals[outcome] += 1
  print(json.dumps({"section": "gpu_tests", "test": f"{case.get('classname')}::{case.get('name')}",
                    "outcome": outcome, "seconds": float(case.get("time", 0)), "message": message}))
print(json.dumps({"section": "gpu_tests", "pytest_rc": proc.returncode, **totals,
                  "tail": proc.stdout[-800:] if proc.returncode else ""}))
sys.exit(0 if proc.returncode == 0 else 1)
EOF

section attention 170 "$PYTHON" benchmarks/attention.py --seq-lens 2048,8192,16384 --head-dims 128 \
  --impls pallas,cudnn,cudnn_causal,xla --tokens 16384 --d-model 2048 --docs 4 --repeats 5 \
  ${PALLAS_BLOCKS:+--pallas-blocks "$PALLAS_BLOCKS"}

for attention in pallas cudnn; do
  section "mfu_$attention" 100 "$PYTHON" benchmarks/train_mfu.py --size 1.1B --attention "$attention" \
    --seq-len 2048 --batch "$MFU_BATCH" --remat "$REMAT" --loss-chunk 8192 --steps 8 --warmup 2
done
