#!/bin/sh
# The container's HEALTHCHECK: GET /healthz of the gateway in this container.
#
# The gateway speaks TLS, usually with mutual TLS required, so the probe may
# need a client certificate (any role: /healthz reads nothing). Environment:
#   LMCGW_HEALTHCHECK_URL   default https://localhost:8443/healthz
#   LMCGW_HEALTHCHECK_CA    CA bundle verifying the gateway's certificate; unset:
#                           not verified (the probe talks to its own container)
#   LMCGW_HEALTHCHECK_CERT  client certificate chain (PEM), with
#   LMCGW_HEALTHCHECK_KEY   its key; both or neither
# Exit 0 when the gateway answers 200, 1 otherwise (what Docker expects).
set -u
url=${LMCGW_HEALTHCHECK_URL:-https://localhost:8443/healthz}
set -- --silent --show-error --fail --max-time 4 --output /dev/null
if [ -n "${LMCGW_HEALTHCHECK_CA:-}" ]; then
  set -- "$@" --cacert "$LMCGW_HEALTHCHECK_CA"
else
  set -- "$@" --insecure
fi
if [ -n "${LMCGW_HEALTHCHECK_CERT:-}" ] || [ -n "${LMCGW_HEALTHCHECK_KEY:-}" ]; then
  if [ -z "${LMCGW_HEALTHCHECK_CERT:-}" ] || [ -z "${LMCGW_HEALTHCHECK_KEY:-}" ]; then
    echo "healthcheck: set both LMCGW_HEALTHCHECK_CERT and LMCGW_HEALTHCHECK_KEY, or neither" >&2
    exit 1
  fi
  set -- "$@" --cert "$LMCGW_HEALTHCHECK_CERT" --key "$LMCGW_HEALTHCHECK_KEY"
fi
curl "$@" "$url" || exit 1
