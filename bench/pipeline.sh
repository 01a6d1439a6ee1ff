#!/usr/bin/env bash
# The whole-pipeline benchmark of issue 6, in one command (see bench/README.md):
# a release build, a real single-node Kafka, the per-stage costs
# (lmcgw-stages: the "limit"), then `lmcgw serve` over mutual TLS loaded by
# lmcgw-loadgen with the message mix (4.8 KB declarations, 21 KB SPS
# certificates, 5% 200 KB certificates with attachments): peak throughput,
# latency per class, CPU per message, peak RSS, the /healthz probe (event-loop
# lag seen from outside), p99 at 70% of peak, the 4 KB p99 with and without the
# large messages, scaling against size and connections, 10,000 idle
# connections, and a soak. Prints a markdown report and writes it to
# build/bench/results/.
#
#   bench/pipeline.sh                 full run, under ~20 min (soak 600 s)
#   BENCH_QUICK=1 bench/pipeline.sh   under ~3 min (short runs, soak 15 s, connections up to 1,000)
#
# Environment: BENCH_WORKERS (pipeline.workers, 2), BENCH_LINGER_MS (kafka
# linger.ms, 2), BENCH_CONNS (connections of the peak run, 64),
# BENCH_SOAK_SECONDS, BENCH_KAFKA (extra kafka.* YAML, e.g. "batch.size: 65536"),
# BENCH_BROKER_DISK=1 (the broker's log on disk, not in /dev/shm: see lib.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  stage_s=0.15 peak_s=6 open_s=5 curve_s=2 warm_s=1 idle_s=3 soak_s=${BENCH_SOAK_SECONDS:-15}
  conn_counts="1 10 100 1000" # 10,000 busy connections need ~60 s to ramp up: the full run has them
else
  stage_s=1 peak_s=20 open_s=15 curve_s=8 warm_s=2 idle_s=10 soak_s=${BENCH_SOAK_SECONDS:-600}
  conn_counts="1 10 100 1000 10000"
fi
conns=${BENCH_CONNS:-64}
cores=$(nproc)
results=build/bench/results
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
report=$results/pipeline-$stamp.md
json=$work/runs.jsonl
: >"$json"

# ---- messages, made at run time and checked as the gateway would ----------
docs=$work/docs
python3 bench/gendocs.py "$docs" >"$work/docs.txt"
./build/lmcgw validate -q "$docs"/*.xml >"$work/validate.txt" 2>&1 || {
  cat "$work/validate.txt" >&2
  echo "pipeline.sh: a generated message is not valid" >&2
  exit 1
}
ucr="X-UCR=6TH0105536000123-DUR0001" # SPS certificates carry no UCR: the sender names the declaration's
mix="$docs/decl-4k.xml:70,$docs/sps-20k.xml:25:$ucr,$docs/sps-200k.xml:5:$ucr"
mix_small="$docs/decl-4k.xml:70,$docs/sps-20k.xml:25:$ucr"
broker_pid=$(cat "$kdir/broker.pid")

cat >"$work/lmcgw.yaml" <<YAML
gateway: {country: TH, state_dir: $work/state, log_level: warn}
http: {listen: 127.0.0.1:$port, plain: false, idle_timeout_ms: 600000}
tls: {cert: $work/pki/server.pem, key: $work/pki/server.key, client_ca: $work/pki/ca.pem}
signing: {key: $work/pki/signer.key, cert: $work/pki/signer.pem, algorithm: ecdsa-p256}
pipeline: {workers: ${BENCH_WORKERS:-2}, max_inflight: 100000}
access: {anonymous_role: trader, rate_limit: 0}
routing: {topic_prefix: bench}
kafka:
  bootstrap.servers: "$bootstrap"
  linger.ms: "${BENCH_LINGER_MS:-2}"
${BENCH_KAFKA:+  $BENCH_KAFKA}
countries: {VN: {receives: {declaration: wco-dec}}}
YAML

# ---- stage costs -------------------------------------------------------------
echo "pipeline.sh: stage costs ..." >&2
./build/bench/lmcgw-stages --config "$work/lmcgw.yaml" --broker-pid "$broker_pid" --seconds "$stage_s" \
  --cores "$cores" --client-cert "$work/pki/client.pem" --client-key "$work/pki/client.key" --mix "$mix" \
  --json "$work/stages.json" >"$work/stages.md"

# What OpenSSL holds per idle mutual-TLS connection, by source line (the 10,000-connection figure's floor).
./build/bench/lmcgw-tlsmem --config "$work/lmcgw.yaml" --client-cert "$work/pki/client.pem" \
  --client-key "$work/pki/client.key" --conns 1000 >"$work/tlsmem.md"

# ---- the gateway under load ---------------------------------------------------
start_gw() {
  ./build/lmcgw serve --config "$work/lmcgw.yaml" 2>>"$work/gw.log" &
  gw=$!
  for _ in $(seq 150); do
    curl -sf --cacert "$work/pki/ca.pem" --cert "$work/pki/client.pem" --key "$work/pki/client.key" \
      "https://127.0.0.1:$port/healthz" >/dev/null && return 0
    kill -0 "$gw" 2>/dev/null || { cat "$work/gw.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "pipeline.sh: the gateway did not come up" >&2
  exit 1
}
stop_gw() { kill -TERM "$gw"; wait "$gw" || true; gw=""; }
lg() { # loadgen with the client certificate, watching the gateway and the broker; every request a
       # consignment of its own (--vary: one UCR for all would make one shipment of a million messages)
  ./build/bench/lmcgw-loadgen --port "$port" --ca "$work/pki/ca.pem" --cert "$work/pki/client.pem" \
    --key "$work/pki/client.key" --watch-pid "$gw" --watch-pid "$broker_pid" --json "$json" \
    --vary 6TH0105536000123-DUR0001 "$@"
}
field() { tail -1 "$json" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

start_gw
echo "pipeline.sh: warm-up, then peak (closed loop, $conns connections) ..." >&2
lg --conns 8 --duration 3 --warmup 0 --mix "$mix" --label warm-up >/dev/null
lg --conns "$conns" --duration "$peak_s" --warmup "$warm_s" --probe-ms 10 --mix "$mix" --label peak >"$work/peak.txt"
peak=$(field "d['overall']['ok_rate']")
rate70=$(python3 -c "print(round(0.7 * $peak, 1))")
echo "pipeline.sh: open loop at 70% of peak ($rate70 msgs/s), with and without the 200 KB messages ..." >&2
lg --conns "$conns" --rate "$rate70" --duration "$open_s" --warmup "$warm_s" --probe-ms 10 --mix "$mix" \
  --label open70 >/dev/null
lg --conns "$conns" --rate "$rate70" --duration "$open_s" --warmup "$warm_s" --probe-ms 10 --mix "$mix_small" \
  --label open70-no200k >/dev/null
echo "pipeline.sh: size curve ..." >&2
for s in 1k 4k 20k 200k 1m; do
  h=""
  case $s in 20k | 200k | 1m) h=":$ucr" ;; esac
  lg --conns 32 --duration "$curve_s" --warmup "$warm_s" --mix "$docs/size-$s.xml:1$h" --label "size-$s" >/dev/null
done
echo "pipeline.sh: connection curve ..." >&2
for c in $conn_counts; do
  d=$curve_s w=$warm_s
  # Every one of 10,000 connections has a message in flight: an answer takes
  # 10,000 / throughput seconds, so the run must be longer than that.
  [ "$c" = 10000 ] && d=40 w=10
  lg --conns "$c" --duration "$d" --warmup "$w" --mix "$docs/decl-4k.xml:1" --label "conns-$c" >/dev/null
done
stop_gw

echo "pipeline.sh: 10,000 idle keep-alive connections on a fresh gateway ..." >&2
start_gw
sleep 1
rss_fresh=$(awk '/VmRSS/{print $2}' "/proc/$gw/status")
lg --idle 10000 --idle-request --duration "$idle_s" --warmup 0 --mix "$docs/decl-4k.xml:1" --label idle-10000 >/dev/null
stop_gw

echo "pipeline.sh: soak, $soak_s s at 50% of peak on a fresh gateway ..." >&2
start_gw
lg --conns "$conns" --rate "$(python3 -c "print(round(0.5 * $peak, 1))")" --duration "$soak_s" --warmup "$warm_s" \
  --sample-s "$([ "$quick" = 1 ] && echo 2 || echo 10)" --mix "$mix" --label soak >/dev/null
stop_gw

# ---- report -------------------------------------------------------------------
{
  echo "# lmcgw pipeline benchmark, $stamp$([ "$quick" = 1 ] && echo ' (quick mode: short runs, noisy)')"
  echo
  echo "Machine: $cores cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)." \
    "Gateway: release build, mutual TLS, pipeline.workers ${BENCH_WORKERS:-2}, kafka linger.ms ${BENCH_LINGER_MS:-2}" \
    "${BENCH_KAFKA:+, $BENCH_KAFKA}; real single-node Kafka on the same machine (acks=all, idempotent)," \
    "its log $(case $kdir in /dev/shm/*) echo "in memory (/dev/shm; BENCH_BROKER_DISK=1 for the disk)" ;; *) echo "on disk" ;; esac)." \
    "Mix: decl-4k 70 %, sps-20k 25 %, sps-200k 5 %."
  echo
  python3 bench/report.py "$work/stages.json" "$json" "$rss_fresh"
  echo
  cat "$work/stages.md" | grep -v '^{'
  echo
  cat "$work/tlsmem.md"
} | tee "$report"
cp "$work/gw.log" "$results/pipeline-$stamp.gateway.log"
cp "$json" "$results/pipeline-$stamp.runs.jsonl"
cp "$work/stages.json" "$results/pipeline-$stamp.stages.json"
echo "pipeline.sh: report written to $report (raw JSON and the gateway's log beside it)" >&2
