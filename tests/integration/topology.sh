#!/usr/bin/env bash
# integration.topology: the native two-country topology (scripts/topology.sh,
# the configs of docker/compose.yaml) on the fixture broker. A Thai trader posts
# the durian declaration and its phytosanitary certificate to Thailand's
# gateway over mutual TLS; Viet Nam's gateway then shows the shipment with both
# documents, ready for clearance; both messages are on Viet Nam's route topics
# with their message ids; every topic the gateways made is one that the compose
# file's `topics` service creates (docker/topics.sh); the container health check
# passes with a client certificate and fails without; /ui answers on both; and
# `down` drains both gateways.
#
# Environment (tests/integration/integration.cmake): LMCGW_BIN,
# LMCGW_TEST_KAFKA_DIR (the fixture broker; its address in bootstrap).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${LMCGW_BIN:?LMCGW_BIN is required}" "${LMCGW_TEST_KAFKA_DIR:?LMCGW_TEST_KAFKA_DIR is required}"
export LMCGW_BIN
for c in curl kcat python3; do
  command -v "$c" >/dev/null || { echo "topology: '$c' not found on PATH" >&2; exit 1; }
done
bootstrap=$(cat "$LMCGW_TEST_KAFKA_DIR/bootstrap")
UCR=6TH0105536000123-DUR0001
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

dir=$(mktemp -d "${TMPDIR:-/tmp}/it-topology.XXXXXX")
# A prefix of its own: other tests share the broker.
prefix=topo$$x$RANDOM
topology() { bash "$root/scripts/topology.sh" "$@"; }
cleanup() {
  local rc=$?
  [[ ! -f $dir/topology.env ]] || topology down "$dir" || true
  if ((rc == 0)); then
    rm -rf "$dir"
  else
    echo "topology: kept $dir (logs th.log, vn.log)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

topology up "$dir" --bootstrap "$bootstrap" --prefix "$prefix"
# shellcheck source=/dev/null
. "$dir/topology.env"

# curl with mutual TLS: tls CERT KEY curl-args...
tls() {
  local cert=$1 key=$2
  shift 2
  curl -sS --max-time 30 --cacert "$CA" --cert "$cert" --key "$key" "$@"
}
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }

# Both documents to Thailand, as its trader portal.
declare -A id
post() {
  local name=$1 file=$2 code
  shift 2
  code=$(tls "$CLIENT_CERT" "$CLIENT_KEY" -o "$dir/$name.json" -w '%{http_code}' -H 'Content-Type: application/xml' \
    "$@" --data-binary "@$root/examples/$file" "$TH_URL/v1/messages")
  if [[ $code != 202 ]]; then
    fail "$file: HTTP $code: $(head -c 500 "$dir/$name.json")"
    return
  fi
  id[$name]=$(json "$dir/$name.json" 'd["id"]')
  local topic
  topic=$(json "$dir/$name.json" 'd["topic"]')
  [[ $topic == "$prefix.VN."* ]] || fail "$file went to $topic, not a topic for Viet Nam"
}
post declaration declarations/th-vn-durian-export.xml
post sps sps/th-vn-durian-phyto.xml -H "X-UCR: $UCR"
((failures == 0)) || exit 1

# Viet Nam's gateway, read by Viet Nam's customs system: both documents, ready.
ready=''
for _ in $(seq 150); do
  if tls "$VN_CUSTOMS_CERT" "$VN_CUSTOMS_KEY" -o "$dir/vn-shipment.json" -f "$VN_URL/v1/shipments/$UCR" 2>/dev/null &&
    [[ $(json "$dir/vn-shipment.json" 'd["status"]') == READY_FOR_CLEARANCE ]]; then
    ready=1
    break
  fi
  sleep 0.2
done
if [[ -z $ready ]]; then
  fail "Viet Nam's gateway does not show $UCR ready for clearance within 30 s: $(head -c 800 "$dir/vn-shipment.json" 2>/dev/null)"
else
  docs=$(json "$dir/vn-shipment.json" '" ".join(sorted(x["type"] + ":" + x["message_id"] for x in d["documents"]))')
  want=$(printf '%s\n' "declaration:${id[declaration]}" "sps_certificate:${id[sps]}" | sort | tr '\n' ' ')
  [[ "$docs " == "$want" ]] || fail "VN shows the documents '$docs', want '$want'"
  missing=$(json "$dir/vn-shipment.json" 'len(d["missing"])')
  [[ $missing == 0 ]] || fail "VN says $missing document(s) missing"
fi
# The admin certificate reads it too (Thailand's admin, on Viet Nam's gateway).
code=$(tls "$ADMIN_CERT" "$ADMIN_KEY" -o /dev/null -w '%{http_code}' "$VN_URL/v1/shipments/$UCR") || true
[[ $code == 200 ]] || fail "admin reads the shipment on VN: HTTP $code"

# On Viet Nam's route topics (perishable: the priority lane), keyed by the UCR,
# each with its message id.
for name in declaration sps; do
  kind=$([[ $name == sps ]] && echo sps_certificate || echo declaration)
  topic=$prefix.VN.$kind.priority
  kcat -C -b "$bootstrap" -t "$topic" -o beginning -e -q -m 20 -f '%k|%h\n' >"$dir/$name.records" 2>"$dir/kcat.err" || true
  grep -q "^$UCR|.*lmcgw-message-id=${id[$name]}" "$dir/$name.records" ||
    fail "no record with key $UCR and message id ${id[$name]} on $topic: $(head -c 300 "$dir/$name.records") $(cat "$dir/kcat.err")"
done

# Every topic of the prefix is one the compose file's topics service creates.
kcat -L -b "$bootstrap" -m 10 2>/dev/null | sed -n "s/^  topic \"\\($prefix\\.[^\"]*\\)\".*/\\1/p" | sort >"$dir/topics.used"
sh "$root/docker/topics.sh" list "$prefix" TH VN | cut -d' ' -f1 | sort >"$dir/topics.created"
[[ -s $dir/topics.used ]] || fail "no topic of prefix $prefix on the broker"
extra=$(comm -23 "$dir/topics.used" "$dir/topics.created" | tr '\n' ' ')
[[ -z $extra ]] || fail "the gateways use topics docker/topics.sh does not create: $extra"

# The image's health check against both gateways: a client certificate passes,
# none is refused by mutual TLS.
for cc in TH VN; do
  url_var=${cc}_URL
  LMCGW_HEALTHCHECK_URL=${!url_var}/healthz LMCGW_HEALTHCHECK_CA=$CA LMCGW_HEALTHCHECK_CERT=$INSPECTOR_CERT \
    LMCGW_HEALTHCHECK_KEY=$INSPECTOR_KEY sh "$root/docker/healthcheck.sh" || fail "docker/healthcheck.sh fails on $cc"
  if LMCGW_HEALTHCHECK_URL=${!url_var}/healthz sh "$root/docker/healthcheck.sh" 2>/dev/null; then
    fail "docker/healthcheck.sh passes on $cc without a client certificate"
  fi
  # The inspector page.
  code=$(tls "$INSPECTOR_CERT" "$INSPECTOR_KEY" -o "$dir/ui-$cc.html" -w '%{http_code}' "${!url_var}/ui/") || true
  [[ $code == 200 ]] && grep -qi '<html' "$dir/ui-$cc.html" || fail "/ui/ on $cc: HTTP $code"
done

# down drains both gateways ("stopped" is their last log line after SIGTERM).
topology down "$dir"
for cc in th vn; do
  grep -q '"event":"stopped"' "$dir/$cc.log" || fail "the $cc gateway did not stop after draining (see $dir/$cc.log)"
done
if ((failures)); then
  echo "topology: $failures failure(s)" >&2
  exit 1
fi
echo "topology: ok (prefix $prefix)"
