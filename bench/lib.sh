# Sourced by the bench scripts: builds the release binary, starts a real
# single-node Kafka and makes a test PKI in a temporary folder, and removes
# all of it (and the gateway, $gw) on exit. Sets: work, bootstrap, port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/deps.sh --bench
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build >/dev/null

work=$(mktemp -d /tmp/lmcgw-bench-XXXXXX)
gw=""
cleanup() {
  [ -n "$gw" ] && kill -TERM "$gw" 2>/dev/null && wait "$gw" 2>/dev/null || true
  bash scripts/kafka.sh stop "$work/kafka" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/kafka.sh start "$work/kafka" >/dev/null
bash scripts/test-pki.sh "$work/pki" >/dev/null
bootstrap=$(cat "$work/kafka/bootstrap")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
