#!/usr/bin/env bash
# Makes a tiny throwaway PKI for lmcgw's tests in DIR (only the openssl CLI):
#
#   ca.pem        ca.key         test root CA (EC P-256)
#   server.pem    server.key     CN=localhost, DNS:localhost + IP:127.0.0.1, serverAuth
#   client.pem    client.key     a Thai trader portal (OU=trader), clientAuth
#   customs.pem   customs.key    the Thai customs system (OU=customs-system)
#   vn-customs.pem vn-customs.key the Vietnamese customs system (C=VN)
#   inspector.pem inspector.key  a Thai inspector (OU=inspector)
#   admin.pem     admin.key      an administrator (OU=admin)
#   norole.pem    norole.key     a certificate without a role (no OU)
#   other-ca.pem  other-ca.key   an unrelated root CA
#   stranger.pem  stranger.key   client cert from other-ca, with the same subject
#                                as client.pem: only the chain tells them apart
#   signer.pem    signer.key     XMLDSig signing cert, EC P-256, digitalSignature
#   signer-rsa.pem signer-rsa.key the same with RSA-2048
#
# Keys are unencrypted PKCS#8 PEM; leaf certs are valid for 2 years.
# Idempotent: does nothing when DIR/done exists.
#
# usage: test-pki.sh DIR
set -euo pipefail

log() { printf 'test-pki.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 && -n $1 ]] || { echo "usage: test-pki.sh DIR" >&2; exit 2; }
command -v openssl >/dev/null || die "'openssl' not found on PATH"
dir=$1

# "done" holds the layout version: a PKI from an older layout is made again.
layout=2
[[ -f $dir/done && $(head -n1 "$dir/done") == "$layout" ]] && exit 0
mkdir -p "$dir" || die "cannot create $dir"

# Parallel test fixtures may share DIR; without the lock two runs could mix
# a CA from one with leaves from the other.
if command -v flock >/dev/null; then
  exec 9>"$dir/.lock"
  flock 9
  [[ -f $dir/done && $(head -n1 "$dir/done") == "$layout" ]] && exit 0
fi

work=$(mktemp -d "$dir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
cnf=$work/openssl.cnf

# Our own config, so the machine's openssl.cnf cannot add or change extensions.
cat >"$cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[signer_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

days=730
# A day more for the roots, so no leaf outlives its issuer (strict
# validators refuse that, and the leaves are made a moment later).
ca_days=$((days + 1))

# name kind(ec|rsa): writes $work/name.key as PKCS#8 PEM.
genkey() {
  local name=$1 kind=$2
  case $kind in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
          -out "$work/$name.key" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
          -out "$work/$name.key" 2>/dev/null ;;
  esac || die "generating the $kind key for $name failed"
}

# name subject
make_root() {
  local name=$1 subj=$2
  genkey "$name" ec
  openssl req -new -x509 -config "$cnf" -extensions ca_ext -sha256 \
    -key "$work/$name.key" -subj "$subj" -days "$ca_days" \
    -set_serial "0x$(openssl rand -hex 16)" -out "$work/$name.pem" ||
    die "self-signing the root CA $name failed"
}

# name kind issuer extensions subject
make_leaf() {
  local name=$1 kind=$2 issuer=$3 ext=$4 subj=$5
  genkey "$name" "$kind"
  openssl req -new -config "$cnf" -key "$work/$name.key" -subj "$subj" \
    -out "$work/$name.csr" || die "making the request for $name failed"
  # Random serials: certs made in different runs never share one.
  openssl x509 -req -sha256 -in "$work/$name.csr" \
    -CA "$work/$issuer.pem" -CAkey "$work/$issuer.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" \
    -extfile "$cnf" -extensions "$ext" -out "$work/$name.pem" 2>/dev/null ||
    die "signing $name with $issuer failed"
}

log "creating the test PKI in $dir"
make_root ca "/C=TH/O=lmcgw test CA/CN=lmcgw test root"
make_leaf server ec ca server_ext "/CN=localhost"
make_leaf client ec ca client_ext "/C=TH/O=Siam Trade Portal/OU=trader/CN=th-trader-portal"
make_leaf customs ec ca client_ext "/C=TH/O=Thai Customs Department/OU=customs-system/CN=th-customs-system"
make_leaf vn-customs ec ca client_ext "/C=VN/O=General Department of Vietnam Customs/OU=customs-system/CN=vn-customs-system"
make_leaf inspector ec ca client_ext "/C=TH/O=Thai Customs Department/OU=inspector/CN=th-inspector-01"
make_leaf admin ec ca client_ext "/C=TH/O=lmcgw operations/OU=admin/CN=th-gateway-admin"
make_leaf norole ec ca client_ext "/C=TH/O=Siam Trade Portal/CN=th-no-role"
make_leaf signer ec ca signer_ext "/C=TH/O=lmcgw test/CN=lmcgw test signer EC"
make_leaf signer-rsa rsa ca signer_ext "/C=TH/O=lmcgw test/CN=lmcgw test signer RSA"
make_root other-ca "/C=TH/O=lmcgw other test CA/CN=lmcgw stranger root"
make_leaf stranger ec other-ca client_ext "/C=TH/O=Siam Trade Portal/OU=trader/CN=th-trader-portal"

# Catch a broken chain here rather than as a puzzling handshake failure later.
for leaf in server client customs vn-customs inspector admin norole signer signer-rsa; do
  openssl verify -CAfile "$work/ca.pem" "$work/$leaf.pem" >/dev/null ||
    die "$leaf.pem does not verify against ca.pem"
done
openssl verify -CAfile "$work/other-ca.pem" "$work/stranger.pem" >/dev/null ||
  die "stranger.pem does not verify against other-ca.pem"

names=(ca server client customs vn-customs inspector admin norole signer signer-rsa other-ca stranger)
for n in "${names[@]}"; do
  chmod 600 "$work/$n.key"
  chmod 644 "$work/$n.pem"
  mv -f "$work/$n.key" "$work/$n.pem" "$dir/"
done
printf '%s\n%s\n' "$layout" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/done"
log "done: ${names[*]/%/.pem} (+ .key) in $dir"
