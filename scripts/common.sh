# shellcheck shell=bash
# Shell helpers shared by scripts/*.sh (sourced, not run).

# N TCP ports on 127.0.0.1 that nobody has bound, on one line. The kernel picks
# them when python3 is there; otherwise probe below the ephemeral range
# (32768+) so that outgoing connections cannot take them in the meantime.
lmcgw_free_ports() {
  local n=${1:-1}
  if command -v python3 >/dev/null; then
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))' "$n"
    return
  fi
  local got=() p tries=0
  while ((${#got[@]} < n)); do
    ((tries++ < 200)) || { echo "found no free TCP port on 127.0.0.1" >&2; return 1; }
    p=$((20000 + RANDOM % 12000))
    [[ " ${got[*]} " != *" $p "* ]] || continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || got+=("$p")
  done
  echo "${got[@]}"
}

# lmcgw_wait_http SECONDS PID URL [curl options...]: polls URL until it answers
# 2xx. Returns 0 then, 1 when process PID exited meanwhile (PID empty: not
# watched), 2 on timeout.
lmcgw_wait_http() {
  local secs=$1 pid=$2 url=$3 deadline
  shift 3
  deadline=$((SECONDS + secs))
  until curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; do
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 2
    sleep 0.2
  done
}
