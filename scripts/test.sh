#!/usr/bin/env bash
# Builds lmcgw with -Werror and ASan+UBSan and runs the whole test suite
# (unit tests, and integration tests against a real Kafka broker that the
# suite starts and stops itself). Everything it needs is installed first.
#
#   scripts/test.sh [ctest arguments...]      e.g. scripts/test.sh -L unit
#
# LMCGW_BUILD_DIR (default build-test) names the build folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh
build=${LMCGW_BUILD_DIR:-build-test}
CC=${CC:-clang} cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLMCGW_WERROR=ON -DLMCGW_SANITIZE=ON -DLMCGW_FUZZ=ON >/dev/null
cmake --build "$build"
# Fetch the broker's jars before the clock of the fixture starts.
bash scripts/kafka.sh fetch
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
