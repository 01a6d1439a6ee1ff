#!/usr/bin/env bash
# First pipeline benchmark: `lmcgw serve` (release build) against a real
# single-node Kafka on loopback, wrk posting the 4.8 KB Thai declaration over
# keep-alive connections, plain HTTP and TLS. Prints throughput, latency
# percentiles and the gateway's peak RSS. Bounded: each run is BENCH_SECONDS.
#
#   bench/run.sh            (BENCH_SECONDS=20 BENCH_CONNS=32 BENCH_FILE=...)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

secs=${BENCH_SECONDS:-20}
conns=${BENCH_CONNS:-32}
file=${BENCH_FILE:-examples/declarations/th-vn-durian-export.xml}

run() { # $1 = plain|tls
  local mode=$1 plain=true scheme=http
  [ "$mode" = tls ] && plain=false scheme=https
  cat >"$work/lmcgw.yaml" <<YAML
gateway: {country: TH, state_dir: $work/state, log_level: warn}
http: {listen: 127.0.0.1:$port, plain: $plain}
tls: {cert: $work/pki/server.pem, key: $work/pki/server.key}
signing: {key: $work/pki/signer.key, cert: $work/pki/signer.pem}
pipeline: {workers: ${BENCH_WORKERS:-2}}
access: {anonymous_role: trader, rate_limit: 0}
routing: {topic_prefix: bench}
kafka: {bootstrap.servers: "$bootstrap", linger.ms: "${BENCH_LINGER_MS:-2}"}
countries: {VN: {receives: {declaration: wco-dec}}}
YAML
  ./build/lmcgw serve --config "$work/lmcgw.yaml" 2>"$work/gw-$mode.log" &
  gw=$!
  for _ in $(seq 100); do curl -ksf "$scheme://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  # warm-up: topic creation, TLS session setup, page faults
  LMCGW_BENCH_FILE=$file wrk -t1 -c4 -d3s -s bench/post.lua "$scheme://127.0.0.1:$port" >/dev/null
  local t0 c0
  c0=$(awk '{print $14+$15}' "/proc/$gw/stat")
  echo "== $mode: $(wc -c <"$file") byte declaration, $conns connections, ${secs}s, keep-alive"
  LMCGW_BENCH_FILE=$file wrk -t2 -c"$conns" -d"${secs}s" --latency -s bench/post.lua "$scheme://127.0.0.1:$port" \
    | grep -E 'Requests/sec|status|p50|Transfer|requests in'
  local c1 hz
  c1=$(awk '{print $14+$15}' "/proc/$gw/stat")
  hz=$(getconf CLK_TCK)
  grep -E 'VmHWM|VmRSS' "/proc/$gw/status" | tr -s ' \t' ' '
  awk -v c="$((c1 - c0))" -v hz="$hz" -v s="$secs" 'BEGIN{printf "gateway CPU: %.2f cores busy on average\n", c/hz/s}'
  kill -TERM "$gw"; wait "$gw" || true; gw=""
}
run plain
run tls
