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
# Document signatures from the national systems (what the gateway verifies):
#   trust/TH/     root + CRL of a Thai document-signing CA (a country trust store)
#   trust/VN/     root of a Vietnamese document-signing CA
#   th-doc.pem    th-doc.key      Thai signer (C=TH, digitalSignature), valid
#   th-expired.pem th-expired.key Thai signer whose validity ended in 2021
#   th-revoked.pem th-revoked.key Thai signer listed in trust/TH/th-sign-ca.crl
#   th-nokeyusage.pem/.key       Thai signer with keyCertSign only (no digitalSignature)
#   th-vnsubject.pem/.key        issued by the Thai CA to a subject with C=VN
#   vn-doc.pem    vn-doc.key      Vietnamese signer (for the wrong-country case)
#   self-doc.pem  self-doc.key    a self-signed "Thai" signer, in no trust store
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
layout=3
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

[nokeyusage_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
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

# `openssl ca` reads its database paths from the environment, so it gets a
# config of its own (the main one must load without those variables).
cat >"$work/ca.cnf" <<'EOF'
[ca]
default_ca = sign_ca
[sign_ca]
dir = $ENV::CA_DIR
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = any_policy
unique_subject = no
default_crl_days = 30
copy_extensions = none
[any_policy]
countryName = optional
organizationName = optional
commonName = supplied
EOF

# Document-signing CAs, with `openssl ca` for back-dated validity and a CRL.
# ca_issue CA name subject ext startdate enddate
ca_issue() {
  local ca=$1 name=$2 subj=$3 ext=$4 start=$5 end=$6
  genkey "$name" ec
  openssl req -new -config "$cnf" -key "$work/$name.key" -subj "$subj" -out "$work/$name.csr" ||
    die "making the request for $name failed"
  CA_DIR=$work/$ca.d openssl ca -batch -config "$work/ca.cnf" -extfile "$cnf" -extensions "$ext" -notext -rand_serial \
      -startdate "$start" -enddate "$end" -in "$work/$name.csr" -out "$work/$name.pem" 2>/dev/null ||
    die "issuing $name with $ca failed"
}
make_root th-sign-ca "/C=TH/O=lmcgw test Thai signing CA/CN=lmcgw test TH document signing root"
make_root vn-sign-ca "/C=VN/O=lmcgw test Vietnamese signing CA/CN=lmcgw test VN document signing root"
for c in th-sign-ca vn-sign-ca; do
  mkdir "$work/$c.d"
  : >"$work/$c.d/index.txt"
  echo 1000 >"$work/$c.d/crlnumber"
  cp "$work/$c.pem" "$work/$c.d/ca.pem"
  cp "$work/$c.key" "$work/$c.d/ca.key"
done
now=$(date -u +%Y%m%d%H%M%SZ)
until=$(date -u -d "+$days days" +%Y%m%d%H%M%SZ)
ca_issue th-sign-ca th-doc "/C=TH/O=Department of Agriculture/CN=TH NPPO signer" signer_ext "$now" "$until"
ca_issue th-sign-ca th-expired "/C=TH/O=Department of Agriculture/CN=TH NPPO signer 2020" signer_ext \
  20200101000000Z 20210101000000Z
ca_issue th-sign-ca th-revoked "/C=TH/O=Department of Agriculture/CN=TH NPPO signer revoked" signer_ext "$now" "$until"
ca_issue th-sign-ca th-nokeyusage "/C=TH/O=Department of Agriculture/CN=TH encryption only" nokeyusage_ext "$now" "$until"
ca_issue th-sign-ca th-vnsubject "/C=VN/O=Plant Protection Department/CN=VN signer under the TH CA" signer_ext "$now" "$until"
ca_issue vn-sign-ca vn-doc "/C=VN/O=Plant Protection Department/CN=VN NPPO signer" signer_ext "$now" "$until"
CA_DIR=$work/th-sign-ca.d openssl ca -batch -config "$work/ca.cnf" -revoke "$work/th-revoked.pem" -crl_reason keyCompromise 2>/dev/null ||
  die "revoking th-revoked failed"
CA_DIR=$work/th-sign-ca.d openssl ca -batch -config "$work/ca.cnf" -gencrl -out "$work/th-sign-ca.crl" 2>/dev/null || die "making the TH CRL failed"
genkey self-doc ec
openssl req -new -x509 -config "$cnf" -extensions signer_ext -sha256 -key "$work/self-doc.key" \
  -subj "/C=TH/O=Department of Agriculture/CN=TH NPPO signer" -days "$days" -out "$work/self-doc.pem" ||
  die "self-signing self-doc failed"
mkdir -p "$work/trust/TH" "$work/trust/VN"
cp "$work/th-sign-ca.pem" "$work/trust/TH/root.pem"
cp "$work/th-sign-ca.crl" "$work/trust/TH/th-sign-ca.crl"
cp "$work/vn-sign-ca.pem" "$work/trust/VN/root.pem"
openssl verify -CAfile "$work/th-sign-ca.pem" -CRLfile "$work/th-sign-ca.crl" -crl_check "$work/th-revoked.pem" \
  >/dev/null 2>&1 && die "th-revoked.pem still verifies with the CRL"

# Catch a broken chain here rather than as a puzzling handshake failure later.
for leaf in server client customs vn-customs inspector admin norole signer signer-rsa; do
  openssl verify -CAfile "$work/ca.pem" "$work/$leaf.pem" >/dev/null ||
    die "$leaf.pem does not verify against ca.pem"
done
openssl verify -CAfile "$work/other-ca.pem" "$work/stranger.pem" >/dev/null ||
  die "stranger.pem does not verify against other-ca.pem"

names=(ca server client customs vn-customs inspector admin norole signer signer-rsa other-ca stranger
  th-doc th-expired th-revoked th-nokeyusage th-vnsubject vn-doc self-doc)
for n in "${names[@]}"; do
  chmod 600 "$work/$n.key"
  chmod 644 "$work/$n.pem"
  mv -f "$work/$n.key" "$work/$n.pem" "$dir/"
done
rm -rf "$dir/trust"
mv "$work/trust" "$dir/trust"
printf '%s\n%s\n' "$layout" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$dir/done"
log "done: ${names[*]/%/.pem} (+ .key) in $dir"
