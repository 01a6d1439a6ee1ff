#!/usr/bin/env bash
# Loads the inspector page in headless chromium, lets its scripts run, and checks
# the resulting DOM.
#
#   tests/browser/ui_check.sh BASE_URL HASH_ROUTE [EXPECTATION...]
#
#   BASE_URL    the gateway (http://127.0.0.1:8080) or the page itself (…/ui, …/ui/)
#   HASH_ROUTE  the view: '#/shipments/UCR', '#/messages/ID', '#/shipments?status=IN_PROGRESS',
#               '' or '#/' for the list; the leading '#' may be left out
#   EXPECTATION (see tests/browser/dom_check.py)
#               'TEXT'                     TEXT in the page's text or markup
#               'data-test=NAME'           an element with data-test="NAME" exists
#               'data-test=NAME:TEXT'      …whose text contains TEXT
#               'data-test=NAME#N'         exactly N such elements ('#N:TEXT': N containing TEXT)
#               '!EXPECTATION'             must not hold
#
# Besides the expectations, a JavaScript error ("Uncaught …") or a Content-Security-Policy
# violation in the console fails the check (UI_CHECK_ALLOW_CONSOLE_ERRORS=1 to allow).
#
# Exit: 0 all held; 1 something missing or chromium failed (the report says what);
# 2 bad usage; 77 skipped (no chromium or no python3 on the machine; ctest SKIP_RETURN_CODE).
#
# Environment: UI_CHECK_CHROMIUM (the browser binary), UI_CHECK_BUDGET (virtual ms the page
# may run, default 10000), UI_CHECK_TIMEOUT (real seconds, default 90), UI_CHECK_FLAGS
# (extra chromium flags, e.g. --ignore-certificate-errors), UI_CHECK_DUMP (file to keep the DOM in).
#
# Example:
#   tests/browser/ui_check.sh http://127.0.0.1:8080 '#/shipments/6TH0105551234-X' \
#     'data-test=shipment-status:Ready for clearance' 'data-test=missing-item#0' 'data-test=document-row#2'
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 2 ]; then
  sed -n '2,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
base=$1
hash=$2
shift 2

chrome=
for c in ${UI_CHECK_CHROMIUM:-} chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$(command -v "$c"); break; fi
done
if [ -z "$chrome" ]; then
  echo "ui_check: SKIP: no chromium installed (apt-get install chromium, or scripts/deps.sh as root)" >&2
  exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "ui_check: SKIP: python3 is needed to read the DOM" >&2
  exit 77
fi

case $base in
  */ui | */ui/) page="${base%/}/" ;;
  *) page="${base%/}/ui/" ;;
esac
case $hash in
  '' | '#') url=$page ;;
  '#'*) url=$page$hash ;;
  *) url="$page#$hash" ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ui_check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# A fresh profile each run: no cache, no cookies, no state from an earlier check.
# --enable-logging=stderr puts the page's console (errors, CSP reports) in chrome.log.
# shellcheck disable=SC2086 # UI_CHECK_FLAGS is a list of flags
timeout "${UI_CHECK_TIMEOUT:-90}" "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
  --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 \
  --virtual-time-budget="${UI_CHECK_BUDGET:-10000}" ${UI_CHECK_FLAGS:-} --dump-dom "$url" \
  >"$tmp/dom.html" 2>"$tmp/chrome.log"
rc=$?

echo "ui_check: $url"
if [ -n "${UI_CHECK_DUMP:-}" ]; then cp "$tmp/dom.html" "$UI_CHECK_DUMP"; fi
if [ $rc -ne 0 ] || [ ! -s "$tmp/dom.html" ]; then
  [ $rc -eq 124 ] && echo "ui_check: FAIL: chromium did not finish within ${UI_CHECK_TIMEOUT:-90}s"
  echo "ui_check: FAIL: chromium exited $rc and dumped $(wc -c <"$tmp/dom.html") bytes; its log ends:"
  grep -v 'dbus\|D-Bus\|unexpected operator' "$tmp/chrome.log" | tail -n 15 | sed 's/^/  | /'
  exit 1
fi

status=0
# Console lines look like: [..:INFO:CONSOLE:1] "message", source: URL (line)
console=$(grep ':CONSOLE' "$tmp/chrome.log" | sed 's/^\[[^]]*\] //')
if [ -n "$console" ]; then
  echo "ui_check: browser console:"
  printf '%s\n' "$console" | cut -c1-300 | sed 's/^/  | /'
  if [ "${UI_CHECK_ALLOW_CONSOLE_ERRORS:-0}" != 1 ] &&
    printf '%s\n' "$console" | grep -q 'Uncaught\|Content Security Policy'; then
    echo "ui_check: FAIL: a script error or a Content-Security-Policy violation (above)"
    status=1
  fi
fi

if [ $# -gt 0 ]; then
  python3 "$here/dom_check.py" "$tmp/dom.html" "$@" || status=1
fi
if [ $status -eq 0 ]; then echo "ui_check: PASS ($# expectation(s))"; else echo "ui_check: FAIL"; fi
exit $status
