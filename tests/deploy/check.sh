#!/usr/bin/env bash
# Checks the deployment files without a container engine or systemd running:
#
#   check.sh compose LMCGW_BIN     docker/compose.yaml is accepted by docker-compose
#                                  (and `docker compose` when present); what it mounts
#                                  exists; each gateway's config passes `lmcgw config
#                                  check` against a PKI laid out as the `pki` service
#                                  makes it; the `topics` service creates the prefix
#                                  and countries those configs use
#   check.sh dockerfile LMCGW_BIN  docker/Dockerfile builds with the build packages of
#                                  scripts/deps.sh, its runtime stage installs a package
#                                  for every shared library the binary needs, and
#                                  .dockerignore lets through what it COPYs
#   check.sh systemd LMCGW_BIN     systemd-analyze verify accepts deploy/systemd/*
#
# Exit 0 when all held, 1 when something did not (each FAIL line says what), 77 when
# the tool a check needs is missing (ctest SKIP_RETURN_CODE).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
what=${1:-}
bin=${2:-}
[[ -n $what && -x $bin ]] || { echo "usage: check.sh compose|dockerfile|systemd LMCGW_BIN" >&2; exit 2; }
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
skip() { echo "SKIP: $*" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/deploy-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

check_compose() {
  local tools=() t compose=$root/docker/compose.yaml
  command -v docker-compose >/dev/null && tools+=(docker-compose)
  docker compose version >/dev/null 2>&1 && tools+=("docker compose")
  ((${#tools[@]})) || skip "neither docker-compose (Debian package docker-compose) nor the docker compose plugin"
  for t in "${tools[@]}"; do
    # shellcheck disable=SC2086 # "docker compose" is two words
    if ! $t -f "$compose" config -q; then fail "$t rejects docker/compose.yaml"; fi
  done
  # shellcheck disable=SC2086
  ${tools[0]} -f "$compose" config >"$work/resolved.yaml" 2>"$work/resolved.err" ||
    { fail "$(cat "$work/resolved.err")"; return; }
  python3 -c 'import yaml' 2>/dev/null || skip "python3 with the yaml module (python3-yaml) is needed to read the resolved file"
  # One line per finding: ERR text | CONFIG service file | TOPICS prefix CC...
  python3 - "$work/resolved.yaml" >"$work/facts" <<'EOF'
import os, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for name, s in sorted(doc.get("services", {}).items()):
    b = s.get("build")
    if b:
        ctx = b["context"] if isinstance(b, dict) else b
        df = os.path.join(ctx, b.get("dockerfile", "Dockerfile")) if isinstance(b, dict) else os.path.join(ctx, "Dockerfile")
        if not os.path.isdir(ctx): print(f"ERR {name}: build context {ctx} is missing")
        if not os.path.isfile(df): print(f"ERR {name}: Dockerfile {df} is missing")
    for v in s.get("volumes", []):
        src, _, rest = v.partition(":") if isinstance(v, str) else (v.get("source", ""), ":", v.get("target", ""))
        target = rest.split(":")[0]
        if src.startswith("/"):
            if not os.path.exists(src): print(f"ERR {name}: bind mount source {src} is missing")
            elif target == "/etc/lmcgw/lmcgw.yaml": print(f"CONFIG {name} {src}")
    if name == "topics":
        args = s.get("command") or []
        if len(args) < 5 or args[0] != "create": print(f"ERR topics: command is not 'create BOOTSTRAP RF PREFIX CC...': {args}")
        else: print("TOPICS " + " ".join(args[3:]))
EOF
  local kind a b rest prefix="" countries=" " n=0
  while read -r kind a rest; do
    [[ $kind == ERR ]] && fail "$a $rest"
    [[ $kind == TOPICS ]] && { prefix=$a; countries=" $rest "; }
  done <"$work/facts"
  [[ -n $prefix ]] || fail "no 'topics' service creating the topics"
  # The gateways' configs, against a PKI laid out as in the containers
  # (config at /etc/lmcgw/lmcgw.yaml, `lmcgw pki init` output at /etc/lmcgw/dev/pki).
  mkdir -p "$work/dev"
  "$bin" pki init --countries TH,VN "$work/dev/pki" >/dev/null 2>"$work/pki.err" ||
    { fail "lmcgw pki init: $(cat "$work/pki.err")"; return; }
  while read -r kind a b; do
    [[ $kind == CONFIG ]] || continue
    n=$((n + 1))
    mkdir -p "$work/$a"
    cp "$b" "$work/$a/lmcgw.yaml"
    ln -s "$work/dev" "$work/$a/dev"
    if ! "$bin" config check "$work/$a/lmcgw.yaml" >"$work/$a/check.out" 2>&1; then
      fail "service $a: lmcgw config check ${b#"$root"/}:"
      sed 's/^/    /' "$work/$a/check.out" >&2
    fi
    local p cc
    p=$(python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print((d.get("routing") or {}).get("topic_prefix","lmcgw"))' "$b")
    cc=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["gateway"]["country"])' "$b")
    [[ $p == "$prefix" ]] || fail "service $a uses topic prefix '$p', the topics service creates '$prefix'"
    [[ $countries == *" $cc "* ]] || fail "service $a is country $cc, the topics service creates topics for:$countries"
    local it
    it=$(python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1])); print((d.get("ingest") or {}).get("topic") or "")' "$b")
    if [[ -n $it ]] && ! sh "$root/docker/topics.sh" list "$prefix" ${countries} | grep -q "^$it "; then
      fail "service $a consumes ingest.topic $it, which the topics service does not create"
    fi
  done <"$work/facts"
  ((n >= 2)) || fail "expected two gateway services with /etc/lmcgw/lmcgw.yaml mounted, found $n"
  # The list the topics service creates holds the gateway's fixed topics.
  local topics
  topics=$(sh "$root/docker/topics.sh" list "$prefix" ${countries}) || fail "docker/topics.sh list failed"
  for t in in in.results status dlq; do
    grep -q "^$prefix\.$t " <<<"$topics" || fail "docker/topics.sh does not list $prefix.$t"
  done
  grep -q "^$prefix\.status [0-9]* compact$" <<<"$topics" || fail "$prefix.status is not compacted in docker/topics.sh"
}

# Packages named by `apt-get install` in each stage of a Dockerfile: "STAGE pkg...".
dockerfile_packages() {
  python3 - "$1" <<'EOF'
import re, sys
stage, runs, cur = None, {}, ""
for line in open(sys.argv[1]):
    s = line.rstrip("\n")
    if s.lstrip().startswith("#") and not cur: continue
    cur += s[:-1] + " " if s.endswith("\\") else s
    if s.endswith("\\"): continue
    m = re.match(r"\s*FROM\s+\S+(?:\s+AS\s+(\S+))?", cur, re.I)
    if m: stage = m.group(1) or "final"
    elif re.match(r"\s*RUN\s", cur):
        for cmd in re.split(r"&&|;", cur):
            w = cmd.split()
            if "install" in w and any(x.endswith("apt-get") for x in w):
                runs.setdefault(stage, []).extend(x for x in w[w.index("install") + 1:] if not x.startswith("-"))
    cur = ""
for st, pk in runs.items(): print(st, *pk)
EOF
}

check_dockerfile() {
  local df=$root/docker/Dockerfile
  command -v python3 >/dev/null || skip "python3 is needed to read the Dockerfile"
  local st pk stage_build="" final=""
  while read -r st pk; do
    [[ $st == build ]] && stage_build=$pk
    [[ $st == final ]] && final=$pk
  done < <(dockerfile_packages "$df")
  [[ -n $stage_build && -n $final ]] || { fail "no apt-get install in the build stage (AS build) or the final stage"; return; }
  # The build stage installs what scripts/deps.sh calls build packages, less cmocka.
  local -a want=() build=()
  eval "$(sed -n '/^build=(/,/)/p' "$root/scripts/deps.sh")"
  for p in "${build[@]}"; do [[ $p == libcmocka-dev ]] || want+=("$p"); done
  local a b
  a=$(tr ' ' '\n' <<<"${want[*]}" | sort -u)
  b=$(tr ' ' '\n' <<<"$stage_build" | sort -u)
  [[ $a == "$b" ]] || fail "build stage packages differ from scripts/deps.sh's build list (less libcmocka-dev): $(diff <(echo "$a") <(echo "$b") | grep '^[<>]' | tr '\n' ' ')"
  # Every library the binary links comes from a package the runtime stage installs
  # (libc6 and libgcc-s1 are in every Debian image).
  command -v dpkg >/dev/null || skip "dpkg is needed to map the binary's libraries to Debian packages"
  local lib path pkg
  while read -r lib; do
    path=$(ldd "$bin" | awk -v l="$lib" '$1 == l { print $3 }')
    [[ -n $path ]] || { fail "ldd does not resolve $lib"; continue; }
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1) ||
      pkg=$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1) || true
    [[ -n $pkg ]] || { fail "no Debian package owns $path ($lib)"; continue; }
    case " $final libc6 libgcc-s1 " in
      *" $pkg "*) ;;
      *) fail "the binary needs $lib (package $pkg), which the runtime stage does not install" ;;
    esac
  done < <(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }')
  # What the stages COPY from the context must pass .dockerignore (an allow-list).
  local src
  while read -r src; do
    [[ -e $root/$src ]] || fail "Dockerfile copies $src, which is not in the repository"
    grep -qx "!$src" "$root/.dockerignore" || fail "Dockerfile copies $src, which .dockerignore does not let through"
  done < <(awk '/^COPY / && !/--from/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$df")
  # The build stage's CMake configure, run on just what the build stage copies
  # (a folder the build needs but the image lacks fails here, not in docker build).
  command -v cmake >/dev/null || skip "cmake is needed to configure the build stage's copy"
  local ctx=$work/context cm
  mkdir -p "$ctx"
  while read -r src; do
    mkdir -p "$ctx/$(dirname "$src")" && cp -r "$root/$src" "$ctx/$src"
  done < <(awk '/^FROM /{stage++} stage == 1 && /^COPY / && !/--from/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$df")
  cm=$(awk '/^RUN cmake -S \. -B \/build/ { sub(/^RUN /, ""); sub(/ *\\$/, ""); print; exit }' "$df")
  [[ -n $cm ]] || { fail "no 'RUN cmake -S . -B /build' in the build stage"; return; }
  if ! (cd "$ctx" && eval "${cm//\/build/$work/cbuild}") >"$work/cmake.out" 2>&1; then
    fail "the build stage's configure fails on the files it copies:"
    tail -n 15 "$work/cmake.out" | sed 's/^/    /' >&2
  fi
}

check_systemd() {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
  local u name out
  mkdir -p "$work/units"
  # The units name /usr/bin/lmcgw; verify checks that ExecStart= is executable.
  for u in "$root"/deploy/systemd/*.service; do
    sed "s|/usr/bin/lmcgw|$bin|g" "$u" >"$work/units/$(basename "$u")"
  done
  for u in "$work"/units/*.service; do
    name=$(basename "$u")
    [[ $name == *@.service ]] && name=${name%@.service}@1.service
    # Warnings about a unit do not change verify's exit status: any line is a failure.
    if ! out=$(cd "$work/units" && systemd-analyze verify "./$name" 2>&1) || [[ -n $out ]]; then
      fail "systemd-analyze verify $(basename "$u"):"
      echo "$out" | sed 's/^/    /' >&2
    fi
  done
}

case $what in
  compose) check_compose ;;
  dockerfile) check_dockerfile ;;
  systemd) check_systemd ;;
  *) echo "usage: check.sh compose|dockerfile|systemd LMCGW_BIN" >&2; exit 2 ;;
esac
((failures == 0)) || { echo "$what: $failures problem(s)" >&2; exit 1; }
echo "$what: ok"
