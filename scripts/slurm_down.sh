#!/usr/bin/env bash
# Stops the one-node SLURM started by scripts/slurm_up.sh: cancels its jobs, then stops slurmd, slurmctld
# and munged by their pid files, and removes its state dir.
set -uo pipefail

CURRENT=/tmp/codelaw-slurm.current
DIR=${1:-$(cat "$CURRENT" 2>/dev/null || true)}
if [[ -z "$DIR" || ! -d "$DIR" ]]; then echo "slurm_down.sh: no running cluster recorded" >&2; exit 0; fi

scancel --quiet --full --user=root 2>/dev/null || true
for daemon in slurmd slurmctld munged; do
  pidfile="$DIR/$daemon.pid"
  [[ -s $pidfile ]] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
done
rm -f "$CURRENT"
rm -rf "$DIR"
echo "slurm stopped"
