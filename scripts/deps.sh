#!/usr/bin/env bash
# Installs what lmcgw needs to build, test and benchmark, from Debian 12 packages.
# As root it runs apt-get; otherwise it names the missing packages and stops.
set -euo pipefail

build=(build-essential cmake ninja-build pkg-config
  libuv1-dev libxml2-dev libxslt1-dev libssl-dev libxmlsec1-dev libxmlsec1-openssl
  librdkafka-dev libsqlite3-dev libjansson-dev libyaml-dev libcmocka-dev node-llhttp libjemalloc-dev)
# Tests: an independent XMLDSig verifier, xmllint, openssl for test PKIs, kcat to
# probe the test broker, curl for the demo, clang for the fuzzers, Java and Maven
# for the Kafka broker the integration tests start, chromium (headless) for the
# inspector page's browser checks (tests/browser), docker-compose to validate
# docker/compose.yaml without a Docker engine (tests/deploy; it brings python3-yaml).
test=(xmlsec1 libxml2-utils openssl kcat curl clang libclang-rt-14-dev
  openjdk-17-jre-headless maven python3 chromium docker-compose)
bench=(wrk)

want=("${build[@]}" "${test[@]}")
[ "${1:-}" = "--bench" ] && want+=("${bench[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Java and Maven may come from elsewhere on a developer machine; accept them on PATH.
if command -v java >/dev/null && command -v mvn >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do case $p in openjdk-*|maven) ;; *) tmp+=("$p");; esac; done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && { echo "deps: all packages present" >&2; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
