#!/usr/bin/env bash
# The two-country topology of docker/compose.yaml without containers: one Kafka,
# a development PKI for Thailand and Viet Nam, and their two gateways, each run
# from the very config file the compose file mounts (docker/config/th.yaml,
# vn.yaml); only the broker, the topic prefix, the state dirs and the ports
# differ, set with LMCGW_* environment variables.
#
#   topology.sh up DIR [--bootstrap HOST:PORT] [--prefix PREFIX]
#   topology.sh down DIR
#
# up: without --bootstrap it starts a Kafka broker of its own in DIR/kafka
# (scripts/kafka.sh); makes the PKI in DIR/dev/pki (`lmcgw pki init --countries
# TH,VN`, kept for the next run); starts both gateways on free ports of
# 127.0.0.1 (topic prefix PREFIX, default lmcgw), waits until both answer
# /readyz, and writes DIR/topology.env (sourceable: TH_PORT, VN_PORT, TH_URL,
# VN_URL, CA, CLIENT_CERT, CLIENT_KEY, ADMIN_CERT, ..., see below). Logs:
# DIR/th.log, DIR/vn.log. If anything fails on the way, what was started is
# stopped again.
# down: SIGTERM to both gateways (they drain; SIGKILL after 30 s), then the
# broker if `up` started it. DIR (PKI, logs, state) stays.
#
# Environment: LMCGW_BIN (default build/lmcgw), LMCGW_TOPOLOGY_READY_TIMEOUT
# (seconds to wait for each gateway, default 90).
# The upper-case variables reach DIR/topology.env through save_env (${!v}).
# shellcheck disable=SC2034
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=common.sh
. "$root/scripts/common.sh"

log() { printf 'topology.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() {
  echo "usage: topology.sh up DIR [--bootstrap HOST:PORT] [--prefix PREFIX] | down DIR" >&2
  exit 2
}

countries=(th vn)
stop_timeout=30

# What `up` knows so far, written after every step so that `down` (also the one
# run when `up` fails) finds everything that was started.
save_env() {
  local f=$dir/topology.env v
  {
    echo "# Written by scripts/topology.sh up; read by topology.sh down. Sourceable."
    for v in TOPOLOGY_DIR PREFIX BOOTSTRAP KAFKA_DIR LMCGW_BIN CA TH_PID VN_PID TH_PORT VN_PORT TH_URL VN_URL \
      TH_LOG VN_LOG TH_CONFIG VN_CONFIG CLIENT_CERT CLIENT_KEY ADMIN_CERT ADMIN_KEY INSPECTOR_CERT INSPECTOR_KEY \
      VN_CUSTOMS_CERT VN_CUSTOMS_KEY VN_INSPECTOR_CERT VN_INSPECTOR_KEY; do
      printf '%s=%q\n' "$v" "${!v:-}"
    done
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

# The pid is that gateway only while its command line still names DIR's config
# (a pid may be reused once the process is gone).
gateway_alive() {
  local pid=$1 config=$2 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmdline == *" serve --config $config "* ]]
}

stop_gateway() {
  local cc=$1 pid=$2 config=$3 logf=$4 deadline
  gateway_alive "$pid" "$config" || { log "$cc gateway not running"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout))
  while gateway_alive "$pid" "$config"; do
    if ((SECONDS >= deadline)); then
      log "$cc gateway (pid $pid) still running ${stop_timeout}s after SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      return 1
    fi
    sleep 0.1
  done
  if grep -q '"event":"stopped"' "$logf" 2>/dev/null; then
    log "$cc gateway stopped after draining (pid $pid)"
  else
    log "$cc gateway (pid $pid) exited without its \"stopped\" log line; see $logf"
  fi
}

down_dir() {
  local rc=0 TH_PID='' VN_PID='' TH_CONFIG='' VN_CONFIG='' TH_LOG='' VN_LOG='' KAFKA_DIR=''
  if [[ ! -f $dir/topology.env ]]; then
    log "nothing to take down in $dir (no topology.env)"
    return 0
  fi
  # shellcheck source=/dev/null
  . "$dir/topology.env"
  [[ -z $TH_PID ]] || stop_gateway TH "$TH_PID" "$TH_CONFIG" "$TH_LOG" || rc=1
  [[ -z $VN_PID ]] || stop_gateway VN "$VN_PID" "$VN_CONFIG" "$VN_LOG" || rc=1
  if [[ -n $KAFKA_DIR ]]; then
    bash "$root/scripts/kafka.sh" stop "$KAFKA_DIR" || rc=1
  fi
  mv "$dir/topology.env" "$dir/topology.env.down"
  return $rc
}

start_gateway() {
  local cc=$1 port=$2 config=$3 logf=$4
  mkdir -p "$dir/state-$cc"
  printf '\n=== topology.sh up %s ===\n' "$(date -Is)" >>"$logf"
  # setsid: the gateway outlives this script and gets no signal meant for the
  # terminal that ran it. The subshell execs and setsid does not fork (the
  # subshell is no group leader), so $! is the gateway's pid.
  (cd "$dir" && LMCGW_DATA_DIR=${LMCGW_DATA_DIR:-$root} \
    LMCGW_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP LMCGW_ROUTING_TOPIC_PREFIX=$PREFIX LMCGW_INGEST_TOPIC=$PREFIX.in.${cc^^} \
    LMCGW_GATEWAY_STATE_DIR=$dir/state-$cc LMCGW_HTTP_LISTEN=127.0.0.1:$port \
    exec setsid "$LMCGW_BIN" serve --config "$config" </dev/null >>"$logf" 2>&1) &
  echo $!
}

up() {
  local bootstrap='' prefix=lmcgw
  while (($#)); do
    case $1 in
      --bootstrap) bootstrap=${2:?--bootstrap needs HOST:PORT}; shift 2 ;;
      --prefix) prefix=${2:?--prefix needs a topic prefix}; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ $prefix =~ ^[A-Za-z0-9._-]+$ ]] || die "--prefix '$prefix' has a character Kafka topic names cannot carry"
  command -v curl >/dev/null || die "'curl' not found on PATH"
  LMCGW_BIN=${LMCGW_BIN:-$root/build/lmcgw}
  [[ -x $LMCGW_BIN ]] || die "no lmcgw binary at $LMCGW_BIN: build it (cmake -S . -B build -G Ninja && cmake --build build) or set LMCGW_BIN"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  [[ ! -f $dir/topology.env ]] || die "$dir/topology.env exists: the topology is up; 'topology.sh down $dir' first"
  TOPOLOGY_DIR=$dir PREFIX=$prefix BOOTSTRAP=$bootstrap KAFKA_DIR=''
  save_env
  trap 'rc=$?; if ((rc)); then log "up failed: stopping what was started"; down_dir || true; fi' EXIT

  if [[ -z $BOOTSTRAP ]]; then
    KAFKA_DIR=$dir/kafka
    save_env
    bash "$root/scripts/kafka.sh" start "$KAFKA_DIR"
    BOOTSTRAP=$(cat "$KAFKA_DIR/bootstrap")
  fi

  local pki=$dir/dev/pki
  if [[ ! -f $pki/README.txt ]]; then
    mkdir -p "$dir/dev"
    "$LMCGW_BIN" pki init --countries TH,VN "$pki" >&2 || die "lmcgw pki init failed"
  fi
  CA=$pki/ca-bundle.pem
  CLIENT_CERT=$pki/TH/certs/trader-chain.pem CLIENT_KEY=$pki/TH/keys/trader.key
  ADMIN_CERT=$pki/TH/certs/admin-chain.pem ADMIN_KEY=$pki/TH/keys/admin.key
  INSPECTOR_CERT=$pki/TH/certs/inspector-chain.pem INSPECTOR_KEY=$pki/TH/keys/inspector.key
  VN_CUSTOMS_CERT=$pki/VN/certs/customs-system-chain.pem VN_CUSTOMS_KEY=$pki/VN/keys/customs-system.key
  VN_INSPECTOR_CERT=$pki/VN/certs/inspector-chain.pem VN_INSPECTOR_KEY=$pki/VN/keys/inspector.key

  local cc CC
  read -r TH_PORT VN_PORT < <(lmcgw_free_ports 2)
  for cc in "${countries[@]}"; do
    CC=${cc^^}
    local -n port=${CC}_PORT config=${CC}_CONFIG logf=${CC}_LOG pid=${CC}_PID url=${CC}_URL
    # The compose file's config, beside dev/pki as in the container.
    config=$dir/lmcgw-$cc.yaml
    cp "$root/docker/config/$cc.yaml" "$config"
    logf=$dir/$cc.log
    url=https://localhost:$port
    pid=$(start_gateway "$cc" "$port" "$config" "$logf")
    save_env
    unset -n port config logf pid url
  done
  local secs=${LMCGW_TOPOLOGY_READY_TIMEOUT:-90} rc
  for cc in "${countries[@]}"; do
    CC=${cc^^}
    local -n port=${CC}_PORT pid=${CC}_PID logf=${CC}_LOG
    rc=0
    lmcgw_wait_http "$secs" "$pid" "https://localhost:$port/readyz" \
      --cacert "$CA" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" || rc=$?
    if ((rc)); then
      log "$CC gateway $( ((rc == 1)) && echo "exited" || echo "not ready after ${secs}s"); last lines of $logf:"
      tail -n 20 "$logf" | sed 's/^/  /' >&2
      exit 1
    fi
    unset -n port pid logf
  done
  trap - EXIT
  cat <<EOT
Two-country topology up (topic prefix $PREFIX, Kafka at $BOOTSTRAP):
  Thailand  $TH_URL   (pid $TH_PID, log $TH_LOG)
  Viet Nam  $VN_URL   (pid $VN_PID, log $VN_LOG)
Everything (ports, certificates) is in $dir/topology.env. For example:
  . $dir/topology.env
  curl --cacert "\$CA" --cert "\$CLIENT_CERT" --key "\$CLIENT_KEY" -H 'Content-Type: application/xml' \\
       --data-binary @examples/declarations/th-vn-durian-export.xml "\$TH_URL/v1/messages"
  curl --cacert "\$CA" --cert "\$ADMIN_CERT" --key "\$ADMIN_KEY" "\$VN_URL/v1/shipments/6TH0105536000123-DUR0001"
Stop: scripts/topology.sh down $dir
EOT
}

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || usage
shift 2
case $cmd in
  up) up "$@" ;;
  down)
    (($# == 0)) || usage
    [[ -d $dir ]] || die "no directory $dir"
    dir=$(cd "$dir" && pwd -P)
    down_dir
    ;;
  *) usage ;;
esac
