#!/usr/bin/env bash
# A one-host SLURM with accounting, for the `slurm` tests: munged, mariadb + slurmdbd, slurmctld
# and slurmd, every file under one folder, every daemon started in the background by this script
# and stopped by its PID.
#
#   tests/slurm/cluster.sh start DIR   installs the Debian packages when missing (root), starts the
#                                      cluster, waits until the node is idle, writes DIR/env
#   tests/slurm/cluster.sh stop DIR    stops every daemon that `start DIR` started
#
# DIR/env exports SLURM_CONF and puts DIR/bin first on PATH: DIR/bin/srun sets SLURM_CONF again
# before calling the real srun, because snakemake-executor-plugin-slurm-jobstep removes the
# SLURM_* variables inside a job (see ../shared/notes/local-slurm.md).
set -euo pipefail

PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

install_packages() {
    command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v munged >/dev/null &&
        command -v mariadbd >/dev/null && return
    [[ $(id -u) -eq 0 ]] || die "SLURM is not installed and installing it needs root: apt-get install ${PACKAGES[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" >/dev/null; } ||
        die "apt-get install ${PACKAGES[*]} failed"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s until it succeeds.
wait_for() {
    local seconds=$1 what=$2
    shift 2
    local tries=$((seconds * 5))
    until "$@" >/dev/null 2>&1; do
        ((tries--)) || die "$what did not come up within ${seconds} s (logs in $DIR/log)"
        sleep 0.2
    done
}

# background NAME COMMAND...: start a daemon in the foreground mode of its own, in the background.
background() {
    local name=$1
    shift
    "$@" >"$DIR/log/$name.out" 2>&1 &
    echo "$! $name" >>"$DIR/pids"
}

start() {
    install_packages
    mkdir -p "$DIR"/{log,state,spool,run,bin,db}
    chmod 755 "$DIR" "$DIR/run" # munged refuses a socket folder that others cannot enter
    : >"$DIR/pids"
    local host sock mem dbport ctldport dport dbdport password
    host=$(hostname -s)
    sock="$DIR/run/munge.socket"
    mem=$(awk '/MemAvailable/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    dbport=$(free_port) ctldport=$(free_port) dport=$(free_port) dbdport=$(free_port)
    password=$(python3 -c 'import secrets; print(secrets.token_hex(8))')

    mungekey -c -f -k "$DIR/munge.key"
    background munged munged -F --key-file="$DIR/munge.key" --socket="$sock" --pid-file="$DIR/run/munged.pid" \
        --log-file="$DIR/log/munged.log" --seed-file="$DIR/state/munge.seed" --force
    wait_for 10 munged sh -c "munge -S '$sock' -n | unmunge -S '$sock'"

    mariadb-install-db --no-defaults --datadir="$DIR/db" --user=root --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1
    background mariadbd mariadbd --no-defaults --datadir="$DIR/db" --user=root --socket="$DIR/run/mysql.sock" \
        --port="$dbport" --bind-address=127.0.0.1 --pid-file="$DIR/run/mariadbd.pid" --skip-log-error
    wait_for 30 mariadb mariadb --no-defaults --socket="$DIR/run/mysql.sock" -u root -e "SELECT 1"
    mariadb --no-defaults --socket="$DIR/run/mysql.sock" -u root -e \
        "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$password';
         GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"

    cat >"$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$sock
DbdHost=localhost
DbdPort=$dbdport
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$dbport
StorageUser=slurm
StoragePass=$password
StorageLoc=slurm_acct_db
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
EOF
    chmod 600 "$DIR/slurmdbd.conf"

    cat >"$DIR/slurm.conf" <<EOF
ClusterName=photostyle-test
SlurmctldHost=$host
SlurmctldPort=$ctldport
SlurmdPort=$dport
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
MpiDefault=none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$dbdport
AccountingStoragePass=$sock
JobAcctGatherType=jobacct_gather/linux
AccountingStoreFlags=job_comment
MinJobAge=300
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$DIR/slurm.conf"
    background slurmdbd slurmdbd -D
    wait_for 30 slurmdbd sacctmgr -i show cluster
    background slurmctld slurmctld -D -i
    wait_for 30 slurmctld scontrol ping
    background slurmd slurmd -D
    wait_for 30 "the node" sh -c "sinfo -h -o %T | grep -qx idle"

    cat >"$DIR/bin/srun" <<EOF
#!/bin/sh
export SLURM_CONF="$DIR/slurm.conf"
exec /usr/bin/srun "\$@"
EOF
    chmod +x "$DIR/bin/srun"
    cat >"$DIR/env" <<EOF
export SLURM_CONF="$DIR/slurm.conf"
export PATH="$DIR/bin:\$PATH"
EOF
    echo "SLURM cluster up: $(sinfo -h -o '%P %D %c cpus %m MB %T')"
}

stop() {
    [[ -f "$DIR/pids" ]] || return 0
    local pid name
    # slurmd first, mariadb last: the reverse order of start
    tac "$DIR/pids" | while read -r pid name; do
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -f "$DIR/pids"
}

[[ $# -eq 2 ]] || die "usage: $0 start|stop DIR"
DIR=$(realpath -m "$2")
case $1 in
start) start ;;
stop) stop ;;
*) die "usage: $0 start|stop DIR" ;;
esac
