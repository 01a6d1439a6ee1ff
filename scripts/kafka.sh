#!/usr/bin/env bash
# A throwaway single-node Kafka (KRaft, broker+controller) for lmcgw's tests.
#
#   kafka.sh fetch         fetch the broker's jars once into the cache
#   kafka.sh start DIR     start a broker whose state lives in DIR and wait until
#                          it answers; DIR/bootstrap gets its address (127.0.0.1:PORT)
#   kafka.sh stop DIR      SIGTERM, then SIGKILL after 30 s; fine if not running
#   kafka.sh kill DIR      SIGKILL at once (failure tests)
#   kafka.sh status DIR    exit 0 when running and answering metadata requests
#
# `start DIR` after `stop DIR` (or `kill DIR`) keeps the ports and the data, so a
# test can restart the broker and still find what it wrote before.
#
# Environment:
#   LMCGW_CACHE                cache root (default ~/.cache/lmcgw)
#   LMCGW_KAFKA_LOG_LEVEL      broker log level (default info)
#   LMCGW_KAFKA_JAVA_OPTS      extra JVM options for the broker, split on spaces
#   LMCGW_KAFKA_READY_TIMEOUT  seconds `start` waits for the broker (default 90)
#   LMCGW_KAFKA_PROPS          more server.properties lines (one per line), for a new DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pom="$here/kafka/pom.xml"
# shellcheck source=common.sh
. "$here/common.sh"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -f $pom ]] || die "missing $pom"
# The pom is the one place that names the version.
version=$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$pom")
[[ -n $version ]] || die "no <kafka.version> in $pom"
cache="${LMCGW_CACHE:-${HOME:?HOME is not set and LMCGW_CACHE neither}/.cache/lmcgw}/kafka-$version"
libs="$cache/libs"
marker="$cache/libs.complete"
# Class-data archive of a broker run: JVMs then map Kafka's and Scala's
# classes instead of loading them, ~1 s off every start. Optional: without
# it (or when a JDK update invalidates it) the JVM just loads classes.
jsa="$cache/broker.jsa"

ready_timeout=${LMCGW_KAFKA_READY_TIMEOUT:-90}
stop_timeout=30

need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "'$c' not found on PATH (needed by kafka.sh)"
  done
}

# ---------------------------------------------------------------- fetch

# The marker holds the pom's hash, so editing the pom (another slf4j, say)
# fetches again instead of silently keeping stale jars.
libs_complete() {
  [[ -f $marker && $(cat "$marker") == "$1" ]]
}

fetch() {
  need mvn java kcat sha256sum flock
  local want tmp
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  if libs_complete "$want"; then
    log "Kafka $version jars already in $libs"
    return 0
  fi
  mkdir -p "$cache"
  # Parallel CTest fixtures may all fetch at once; Maven's local repository
  # is not safe for concurrent writers, so let one do it and the rest wait.
  exec 9>"$cache/fetch.lock"
  flock 9
  if libs_complete "$want"; then
    log "Kafka $version jars fetched meanwhile by another run"
    exec 9>&-
    return 0
  fi
  tmp="$cache/libs.partial"
  rm -rf "$tmp" "$jsa"
  log "fetching Kafka $version jars with Maven into $libs"
  # Maven 3.8 writes stray colour resets even with -B; strip them.
  if ! mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$tmp" </dev/null 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "Maven could not fetch org.apache.kafka:kafka_2.13:$version (see its output above)"
  fi
  [[ -f $tmp/kafka_2.13-$version.jar ]] ||
    die "Maven finished but $tmp has no kafka_2.13-$version.jar"
  rm -rf "$libs"
  mv "$tmp" "$libs"
  log "fetched $(find "$libs" -name '*.jar' | wc -l) jars"
  build_archive
  echo "$want" >"$marker"
  exec 9>&-
}

# Runs a broker once and has the JVM dump the classes it loaded at exit.
# Best effort: a failure costs speed, not correctness.
build_archive() {
  local t pid='' ok='' bport cport
  log "training a class-data archive for faster broker starts (once)"
  t=$(mktemp -d "$cache/train.XXXXXX")
  read -r bport cport < <(free_ports)
  write_props "$t" "$bport" "$cport"
  if run_tool "$t" format -t "$(new_cluster_id "$t")" -c "$t/server.properties" \
      >>"$t/broker.log" 2>&1; then
    local opts
    mapfile -t opts < <(java_opts)
    java "${opts[@]}" -XX:ArchiveClassesAtExit="$jsa.partial" -cp "$libs/*" \
      kafka.Kafka "$t/server.properties" </dev/null >>"$t/broker.log" 2>&1 &
    pid=$!
    trap 'kill -KILL "$pid" 2>/dev/null || true' EXIT
    # Up and answering means the startup classes are loaded; a produce adds
    # the request path's.
    if wait_ready "$t" "$pid" 60; then
      echo x | kcat -P -b "$(bootstrap_of "$t")" -t train 2>/dev/null || true
      ok=1
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || true
    trap - EXIT
  fi
  if [[ -n $ok && -s $jsa.partial ]]; then
    mv "$jsa.partial" "$jsa"
  else
    rm -f "$jsa.partial"
    log "warning: no class-data archive (brokers start slower); training log:"
    tail -n 20 "$t/broker.log" >&2 || true
  fi
  rm -rf "$t"
}

# ---------------------------------------------------------------- helpers

# The broker is recognised by DIR in its command line, so every command must
# spell DIR the same way: absolute, symlinks resolved. A missing DIR (stop,
# status) just means "not running".
absdir() {
  [[ -n ${1:-} ]] || die "usage: kafka.sh $cmd DIR"
  if [[ -d $1 ]]; then
    (cd "$1" && pwd -P)
  else
    case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac
  fi
}

cds_opts() {
  [[ -f $jsa ]] && printf '%s\n' -XX:SharedArchiveFile="$jsa" -Xshare:auto
  return 0
}

java_opts() {
  local level=${LMCGW_KAFKA_LOG_LEVEL:-info} extra
  printf '%s\n' -Xmx512m -Xms64m -XX:+UseSerialGC -XX:-UsePerfData \
    -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel="$level" \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSS"
  read -r -a extra <<<"${LMCGW_KAFKA_JAVA_OPTS:-}"
  ((${#extra[@]} == 0)) || printf '%s\n' "${extra[@]}"
}

# kafka.tools.StorageTool in a short-lived JVM: C1 only starts it quicker.
run_tool() {
  local dir=$1 cds
  shift
  mapfile -t cds < <(cds_opts)
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData "${cds[@]}" \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$libs/*" \
    kafka.tools.StorageTool "$@" </dev/null
}

new_cluster_id() {
  local id
  # The JVM may print warnings on stdout too (CDS ones): keep the last line.
  id=$(run_tool "$1" random-uuid 2>>"$1/broker.log" | tail -n 1) || true
  [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]] ||
    die "kafka.tools.StorageTool random-uuid gave no cluster id (got '$id'); see $1/broker.log"
  printf '%s\n' "$id"
}

# A pid file can outlive its process and the pid be reused, so only a live
# (non-zombie) kafka.Kafka started with this DIR's props counts.
broker_pid() {
  local dir=$1 pid state cmdline
  [[ -f $dir/broker.pid ]] || return 1
  pid=$(cat "$dir/broker.pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(sed 's/^.*) \(.\).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka\ "$dir/server.properties"* ]] || return 1
  printf '%s\n' "$pid"
}

# True when the broker lists itself in a metadata response. It binds its
# port only once it is ready, but insist on the answer anyway.
answers() {
  local addr=$1 secs=${2:-5}
  kcat -L -b "$addr" -m "$secs" 2>/dev/null | grep -q "broker 1 at "
}

# Cheap check first: kcat against a closed port waits out its whole timeout.
listening() {
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

free_ports() { lmcgw_free_ports 2; }

write_props() {
  local dir=$1 bport=$2 cport=$3
  [[ $bport =~ ^[0-9]+$ && $cport =~ ^[0-9]+$ ]] || die "bad ports '$bport' '$cport'"
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka.sh; kept so that a restart reuses ports and data.
process.roles=broker,controller
node.id=1
# Static voters: the simplest quorum for one node, formatted without
# --standalone (which is only for the dynamic quorum and refuses static voters).
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=true
# One broker: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer partitions for internal topics: the first consumer group and the
# first transaction come up quicker.
offsets.topic.num.partitions=4
transaction.state.log.num.partitions=4
share.coordinator.state.topic.num.partitions=4
# Tests want their consumer group at once, not after 3 s.
group.initial.rebalance.delay.ms=0
# After a SIGKILL the controller keeps the dead broker's registration until
# its session expires, and the restarted broker waits for that: 9 s by
# default. Shorter, yet roomy enough for a busy 2-core CI machine.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000
# Fewer threads than the defaults: the machines have 2 cores.
num.network.threads=2
num.io.threads=4
background.threads=4
EOF
  [[ -z ${LMCGW_KAFKA_PROPS:-} ]] || printf '%s\n' "$LMCGW_KAFKA_PROPS" >>"$dir/server.properties"
}

bootstrap_of() {
  sed -n 's|^advertised\.listeners=PLAINTEXT://\(.*\)$|\1|p' "$1/server.properties"
}

# The cause of a failed start sits among thousands of INFO lines, above a
# long shutdown: show the ERROR lines (with the exception message that
# follows each) of the latest start, then the last few lines.
tail_log() {
  local f=$1/broker.log
  [[ -f $f ]] || return 0
  log "errors logged in $f since the last start:"
  awk '/^=== kafka.sh start/ { n = 0 }
       / ERROR / { e[n++] = $0; next_too = 1; next }
       next_too && !/^[ \t]/ { e[n++] = "    " $0 }
       { next_too = 0 }
       END { for (i = 0; i < n && i < 16; i++) print "  " e[i]
             if (n == 0) print "  (none)" }' "$f" >&2
  log "last lines of $f:"
  tail -n 8 "$f" | sed 's/^/  /' >&2
}

# Polls until the broker answers. Returns 1 when it died, 2 on timeout.
wait_ready() {
  local dir=$1 pid=$2 secs=$3 addr deadline
  addr=$(bootstrap_of "$dir")
  deadline=$((SECONDS + secs))
  until listening "$addr" && answers "$addr" 2; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 2
    sleep 0.1
  done
}

wait_gone() {
  local dir=$1 deadline=$((SECONDS + $2))
  while broker_pid "$dir" >/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------- commands

start() {
  local dir props data pid addr rc=0
  [[ -n ${1:-} ]] || die "usage: kafka.sh start DIR"
  mkdir -p "$1" || die "cannot create $1"
  dir=$(absdir "$1")
  case $dir in *,* | *\\* | *$'\n'*) die "DIR may not contain ',', '\\' or a newline (it goes into log.dirs): $dir" ;; esac
  need java kcat setsid
  fetch
  props="$dir/server.properties"
  data="$dir/data"

  if pid=$(broker_pid "$dir"); then
    addr=$(bootstrap_of "$dir")
    if answers "$addr"; then
      log "broker already running in $dir (pid $pid, $addr)"
      return 0
    fi
    die "a broker (pid $pid) runs in $dir but does not answer at $addr; stop it first"
  fi

  if [[ -f $props ]]; then
    log "reusing $props (same ports, same data)"
  else
    [[ ! -f $data/meta.properties ]] ||
      die "$data is formatted but $props is missing; remove $dir to start afresh"
    local bport cport
    read -r bport cport < <(free_ports)
    write_props "$dir" "$bport" "$cport"
  fi
  addr=$(bootstrap_of "$dir")
  [[ -n $addr ]] || die "no advertised.listeners=PLAINTEXT://... in $props"
  printf '%s\n' "$addr" >"$dir/bootstrap"

  printf '\n=== kafka.sh start %s ===\n' "$(date -Is)" >>"$dir/broker.log"
  if [[ ! -f $data/meta.properties ]]; then
    run_tool "$dir" format -t "$(new_cluster_id "$dir")" -c "$props" >>"$dir/broker.log" 2>&1 ||
      { tail_log "$dir"; die "formatting $data (kafka.tools.StorageTool format) failed"; }
  fi

  # setsid: the broker must outlive this script and not get the signals meant
  # for the terminal or test runner that called it. The subshell execs and
  # setsid does not fork (we are no group leader), so $! is java's pid.
  local opts cds
  mapfile -t opts < <(java_opts)
  mapfile -t cds < <(cds_opts)
  (cd "$dir" && exec setsid java "${cds[@]}" "${opts[@]}" -cp "$libs/*" kafka.Kafka "$props" \
    </dev/null >>"$dir/broker.log" 2>&1) &
  pid=$!
  printf '%s\n' "$pid" >"$dir/broker.pid"

  wait_ready "$dir" "$pid" "$ready_timeout" || rc=$?
  case $rc in
    0) ;;
    1)
      tail_log "$dir"
      die "the broker exited during startup (pid $pid, dir $dir); see $dir/broker.log"
      ;;
    *)
      tail_log "$dir"
      # Don't leave a half-started broker behind for the next test to trip on.
      kill -KILL "$pid" 2>/dev/null || true
      die "the broker did not answer at $addr within ${ready_timeout}s; killed it (pid $pid)"
      ;;
  esac
  log "broker up at $addr (pid $pid, dir $dir)"
}

stop() {
  local dir pid
  dir=$(absdir "${1:-}")
  if ! pid=$(broker_pid "$dir"); then
    rm -f "$dir/broker.pid"
    log "no broker running in $dir"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$dir" "$stop_timeout"; then
    log "broker (pid $pid) still running ${stop_timeout}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$dir" 10 || die "broker (pid $pid) survived SIGKILL"
  fi
  rm -f "$dir/broker.pid"
  log "broker stopped (pid $pid, dir $dir)"
}

kill_broker() {
  local dir pid
  dir=$(absdir "${1:-}")
  if ! pid=$(broker_pid "$dir"); then
    rm -f "$dir/broker.pid"
    log "no broker running in $dir"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  # Wait, so that a following start finds the ports free.
  wait_gone "$dir" 10 || die "broker (pid $pid) survived SIGKILL"
  rm -f "$dir/broker.pid"
  log "broker killed (pid $pid, dir $dir)"
}

status() {
  local dir pid addr
  dir=$(absdir "${1:-}")
  if ! pid=$(broker_pid "$dir"); then
    log "no broker running in $dir"
    return 1
  fi
  addr=$(bootstrap_of "$dir")
  if ! answers "$addr"; then
    log "broker (pid $pid) runs but does not answer at $addr"
    return 1
  fi
  log "broker running (pid $pid) and answering at $addr"
}

cmd=${1:-}
shift || true
case $cmd in
  fetch) fetch ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  kill) kill_broker "$@" ;;
  status) status "$@" ;;
  *)
    echo "usage: kafka.sh fetch | start DIR | stop DIR | kill DIR | status DIR" >&2
    exit 2
    ;;
esac
