#!/usr/bin/env bash
# Builds lmcgw, runs `lmcgw serve --dev` (plain HTTP on 127.0.0.1:8080,
# librdkafka's in-process mock cluster, a development signing key) and posts
# the example messages to it, so you see the answers and a signed message.
# The gateway then keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=common.sh
. scripts/common.sh

bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
port=${LMCGW_DEMO_PORT:-8080}
state=${LMCGW_STATE_DIR:-./lmcgw-state}
rm -f "$state/mock-bootstrap"

./build/lmcgw serve --dev --state-dir "$state" --listen "127.0.0.1:$port" 2> >(tee lmcgw-dev.log >&2) &
gw=$!
trap 'kill -TERM $gw 2>/dev/null; wait $gw' EXIT
lmcgw_wait_http 10 "$gw" "http://127.0.0.1:$port/healthz" || { echo "demo: the gateway did not come up (lmcgw-dev.log)" >&2; exit 1; }

echo
echo "== posting the examples to http://127.0.0.1:$port/v1/messages"
for f in examples/declarations/*.xml examples/declarations/*.json examples/declarations/*.edi \
  examples/sps/*.xml examples/certificates/*.json examples/invalid/*.xml; do
  case $f in
    *.json) ct=application/json ;;
    *.edi) ct=application/edifact ;;
    *) ct=application/xml ;;
  esac
  printf '\n-- %s\n' "$f"
  curl -s -w '\n   -> HTTP %{http_code}\n' -H "Content-Type: $ct" --data-binary "@$f" \
    "http://127.0.0.1:$port/v1/messages"
done

if command -v kcat >/dev/null && [ -s "$state/mock-bootstrap" ]; then
  echo
  echo "== the signed Thai durian declaration as Vietnam's side receives it (topic lmcgw.VN.declaration.priority:"
  echo "   durian is perishable)"
  kcat -C -b "$(cat "$state/mock-bootstrap")" -t lmcgw.VN.declaration.priority -o beginning -c 1 -e -q \
    -f 'key: %k\nheaders: %h\n%s\n' 2>/dev/null | tail -c 2500 || true
fi

echo
echo "== where the Thai longan shipment stands (lmcgw status; also on http://127.0.0.1:$port/ui)"
sleep 1
./build/lmcgw status --url "http://127.0.0.1:$port" 6TH0105549001234-LONG0188 || true

echo
echo "== metrics (excerpt)"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^lmcgw_(messages_total|http_responses_total)' || true
echo
echo "lmcgw is running on http://127.0.0.1:$port (Ctrl-C stops it)."
wait $gw
