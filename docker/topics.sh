#!/bin/sh
# The Kafka topics of a group of lmcgw gateways sharing one topic prefix.
#
#   topics.sh list PREFIX CC...                 one line per topic: NAME PARTITIONS CLEANUP_POLICY
#   topics.sh create BOOTSTRAP RF PREFIX CC...  create the missing ones with kafka-topics.sh
#                                               (RF = replication factor)
#
# The names are those the gateway uses (gateway/serve/serve.c, gateway/serve/ingest.c,
# gateway/pipeline/process.c): <prefix>.in and <prefix>.in.results (ingest, on a
# cluster of one participant), <prefix>.in.CC and <prefix>.in.CC.results (ingest
# of country CC on a cluster several share: its gateways' ingest.topic),
# <prefix>.status (compacted: the status stores are rebuilt from it),
# <prefix>.dlq, and for each country CC and kind of document
# <prefix>.CC.<kind> and <prefix>.CC.<kind>.priority (perishable goods).
# Create them all before the gateways start on a broker with
# auto.create.topics.enable=false, as a production cluster should be.
# POSIX sh: it runs in the apache/kafka image too (docker/compose.yaml).
set -eu

usage() {
  echo "usage: topics.sh list PREFIX CC... | create BOOTSTRAP REPLICATION_FACTOR PREFIX CC..." >&2
  exit 2
}

# Every partition count is 6, as the gateway itself creates .in and .status:
# at most 6 instances of one country share the work of a topic.
partitions=6
kinds="declaration response sps_certificate sps_acknowledgement certificate_of_origin"

list() {
  prefix=$1
  shift
  [ $# -gt 0 ] || usage
  echo "$prefix.in $partitions delete"
  echo "$prefix.in.results $partitions delete"
  echo "$prefix.status $partitions compact"
  echo "$prefix.dlq $partitions delete"
  for cc in "$@"; do
    case $cc in
      [A-Z][A-Z]) ;;
      *) echo "topics.sh: '$cc' is not an ISO 3166-1 alpha-2 code" >&2; exit 2 ;;
    esac
    echo "$prefix.in.$cc $partitions delete"
    echo "$prefix.in.$cc.results $partitions delete"
    for k in $kinds; do
      echo "$prefix.$cc.$k $partitions delete"
      echo "$prefix.$cc.$k.priority $partitions delete"
    done
  done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
  list)
    [ $# -ge 2 ] || usage
    list "$@"
    ;;
  create)
    [ $# -ge 4 ] || usage
    bootstrap=$1 rf=$2
    shift 2
    kt=${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}
    tmp=$(mktemp)
    trap 'rm -f "$tmp"' EXIT
    list "$@" >"$tmp"
    while read -r name parts policy; do
      "$kt" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$name" \
        --partitions "$parts" --replication-factor "$rf" --config "cleanup.policy=$policy" >/dev/null
      echo "topic $name ($parts partitions, cleanup.policy=$policy, replication factor $rf)"
    done <"$tmp"
    ;;
  *) usage ;;
esac
