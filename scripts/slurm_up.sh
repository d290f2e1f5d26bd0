#!/usr/bin/env bash
# Starts a one-node SLURM cluster on this machine (as root, without systemd): munged, slurmctld, slurmd,
# with state, spool, logs and pid files in a fresh temp dir; waits until the node is idle.
# Usage: scripts/slurm_up.sh            (prints the state dir; scripts/slurm_down.sh stops it)
# Installs Debian's slurmctld slurmd slurm-client munge when sbatch is missing. Writes /etc/slurm/slurm.conf.
set -euo pipefail

CURRENT=/tmp/codelaw-slurm.current
if [[ $(id -u) -ne 0 ]]; then echo "slurm_up.sh: run as root" >&2; exit 1; fi
if [[ -f $CURRENT ]] && sinfo -h >/dev/null 2>&1; then
  echo "slurm_up.sh: already running (state dir $(cat $CURRENT)); run scripts/slurm_down.sh first" >&2
  exit 1
fi

if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # postinst cannot start services without systemd (policy-rc.d): harmless, daemons are started below.
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

DIR=$(mktemp -d /tmp/codelaw-slurm.XXXXXX)
mkdir -p "$DIR/state" "$DIR/spool"
HOST=$(hostname -s)
NCPU=$(nproc)

# munge: key (postinst normally makes one), runtime dir, daemon running as the munge user.
if [[ ! -s /etc/munge/munge.key ]]; then
  if command -v mungekey >/dev/null; then mungekey --create --force; else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n >/dev/null 2>&1; then  # a munged that already answers is reused and left alone
  before=$(pgrep -u munge -x munged || true)
  runuser -u munge -- /usr/sbin/munged  # forks into the background
  for _ in $(seq 1 50); do
    if munge -n >/dev/null 2>&1; then
      # The new daemon: a munged of user munge that was not there before and is not a zombie.
      for pid in $(pgrep -u munge -x munged); do
        if ! grep -qw "$pid" <<< "$before" && [[ $(ps -o stat= -p "$pid") != Z* ]]; then
          echo "$pid" > "$DIR/munged.pid"
        fi
      done
      break
    fi
    sleep 0.1
  done
  munge -n >/dev/null 2>&1 || { echo "slurm_up.sh: munged did not start" >&2; exit 1; }
fi

mkdir -p /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=codelaw
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=${DIR}/state
SlurmdSpoolDir=${DIR}/spool
SlurmctldPidFile=${DIR}/slurmctld.pid
SlurmdPidFile=${DIR}/slurmd.pid
SlurmctldLogFile=${DIR}/slurmctld.log
SlurmdLogFile=${DIR}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=600
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${NCPU} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF

/usr/sbin/slurmctld
/usr/sbin/slurmd
echo "$DIR" > "$CURRENT"

for _ in $(seq 1 120); do
  if [[ "$(sinfo -h -o %T 2>/dev/null | head -n1)" == "idle" ]]; then
    echo "$DIR"
    exit 0
  fi
  sleep 0.5
done
echo "slurm_up.sh: the node did not become idle in 60 s; logs in $DIR" >&2
tail -n 20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
exit 1
