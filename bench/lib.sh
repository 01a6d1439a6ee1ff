# Sourced by the bench scripts: builds the release binary, starts a real
# single-node Kafka and makes a test PKI in a temporary folder, and removes
# all of it (and the gateway, $gw) on exit. Sets: work, kdir (the broker's
# folder), bootstrap, port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/deps.sh --bench
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build >/dev/null

work=$(mktemp -d /tmp/lmcgw-bench-XXXXXX)
# The broker's log in memory (/dev/shm) unless BENCH_BROKER_DISK=1: on this
# kind of VM the disk's writeback holds the broker's appends for 150-250 ms
# every few seconds, and that, not the gateway, then makes the p99 (measured:
# 316-480 ms at 1,519 msgs/s on disk, 10.8 ms in memory; bench/README.md).
# Segments of 128 MB and 512 MB a partition at most, so a soak fits in memory
# (with 32 MB ones, rolled every second or two, a run had a 150 ms stall that
# runs with 128 MB did not: bench/README.md).
# (Not exported: the gateway reads LMCGW_KAFKA_* as settings of its own.)
kdir=$work/kafka kprops=""
if [ "${BENCH_BROKER_DISK:-0}" != 1 ] && [ -w /dev/shm ]; then
  kdir=$(mktemp -d /dev/shm/lmcgw-bench-kafka-XXXXXX)
  kprops="log.segment.bytes=134217728
log.retention.bytes=536870912
log.retention.check.interval.ms=10000"
fi
gw=""
cleanup() {
  [ -n "$gw" ] && kill -TERM "$gw" 2>/dev/null && wait "$gw" 2>/dev/null || true
  bash scripts/kafka.sh stop "$kdir" >/dev/null 2>&1 || true
  rm -rf "$work" "$kdir"
}
trap cleanup EXIT

LMCGW_KAFKA_PROPS=$kprops bash scripts/kafka.sh start "$kdir" >/dev/null
bash scripts/test-pki.sh "$work/pki" >/dev/null
bootstrap=$(cat "$kdir/bootstrap")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
