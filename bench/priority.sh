#!/usr/bin/env bash
# The priority lane under overload: a trickle of perishable declarations
# (X-Priority: perishable) while bulk declarations (HS 8471, not perishable)
# keep the gateway saturated. Prints the perishable messages' latency alone,
# under overload with the flag, and under overload without it (found
# perishable by their HS codes after the first pass), beside the bulk's own
# latency, against a real single-node Kafka broker.
#
#   bench/priority.sh      environment: BENCH_SECONDS (20), BENCH_BULK_CONNS (64), BENCH_WORKERS (2)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

secs=${BENCH_SECONDS:-20}
bulk_conns=${BENCH_BULK_CONNS:-64}
perishable=examples/declarations/th-vn-durian-export.xml
# The same declaration for laptops (HS 8471): not perishable.
bulk=$work/bulk.xml
sed -e 's#<ID>08106000</ID>#<ID>84713000</ID>#' -e 's#<ID>08109010</ID>#<ID>84713000</ID>#' "$perishable" >"$bulk"

# Every request a consignment of its own, as at a border post (bench/post.lua).
export LMCGW_BENCH_UCR=6TH0105536000123-DUR0001

cat >"$work/lmcgw.yaml" <<YAML
gateway: {country: TH, state_dir: $work/state, log_level: warn}
http: {listen: 127.0.0.1:$port, plain: true}
signing: {key: $work/pki/signer.key, cert: $work/pki/signer.pem}
pipeline: {workers: ${BENCH_WORKERS:-2}, max_inflight: 100000}
access: {anonymous_role: trader, rate_limit: 0}
routing: {topic_prefix: prio}
kafka: {bootstrap.servers: "$bootstrap"}
countries: {VN: {receives: {declaration: wco-dec}}}
YAML
./build/lmcgw serve --config "$work/lmcgw.yaml" 2>"$work/gw.log" &
gw=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# Warm up both lanes: the first message to a topic waits for its creation.
LMCGW_BENCH_FILE=$bulk wrk -t1 -c4 -d3s -s bench/post.lua "http://127.0.0.1:$port" >/dev/null
LMCGW_BENCH_FILE=$perishable wrk -t1 -c4 -d3s -s bench/post.lua "http://127.0.0.1:$port" >/dev/null

probe() { # $1 = header value or "" ; prints the probe's percentiles
  LMCGW_BENCH_FILE=$perishable LMCGW_BENCH_HEADER="$1" wrk -t1 -c2 -d"${secs}s" -s bench/post.lua \
    "http://127.0.0.1:$port" | grep -E 'status|p50|Requests/sec'
}

echo "== perishable declarations alone (2 connections, X-Priority: perishable)"
probe perishable
echo "== the same while $bulk_conns connections post bulk declarations"
LMCGW_BENCH_FILE=$bulk wrk -t1 -c"$bulk_conns" -d"$((secs + 2))s" -s bench/post.lua "http://127.0.0.1:$port" \
  >"$work/bulk1.txt" &
bulkpid=$!
sleep 1
probe perishable
wait "$bulkpid"
echo "   bulk: $(grep -E 'Requests/sec|p50' "$work/bulk1.txt" | tr '\n' ' ')"
echo "== the same without the flag (found perishable by HS code after the first pass)"
LMCGW_BENCH_FILE=$bulk wrk -t1 -c"$bulk_conns" -d"$((secs + 2))s" -s bench/post.lua "http://127.0.0.1:$port" \
  >"$work/bulk2.txt" &
bulkpid=$!
sleep 1
probe ""
wait "$bulkpid"
echo "   bulk: $(grep -E 'Requests/sec|p50' "$work/bulk2.txt" | tr '\n' ' ')"
