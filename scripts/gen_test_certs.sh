#!/usr/bin/env bash
# Generates TEST certificates for the TLS and mTLS setups: a CA, a broker (server) certificate and a client
# certificate, all EC P-256 / SHA-256. Use a real CA in production.
#
# Usage: scripts/gen_test_certs.sh [DIR]        (default /tmp/agentwrit-certs, the path the compose overlays mount)
# Environment: CERT_DAYS (validity, default 30), BROKER_SANS (extra subjectAltName entries, e.g. "DNS:broker.example")
#
# Output (the names docker-compose.tls.yml / docker-compose.mtls.yml expect):
#   ca.pem, ca-key.pem            self-signed CA (CN=agentwrit-test-ca)
#   broker.pem, broker-key.pem    server cert, SANs broker, localhost, 127.0.0.1, ::1 (+ BROKER_SANS)
#   client.pem, client-key.pem    client cert for mTLS (CN=agentwrit-test-client)
set -euo pipefail

DIR="${1:-/tmp/agentwrit-certs}"
DAYS="${CERT_DAYS:-30}"
SANS="DNS:broker,DNS:localhost,IP:127.0.0.1,IP:::1${BROKER_SANS:+,${BROKER_SANS}}"

command -v openssl >/dev/null 2>&1 || { echo "gen_test_certs: openssl is required" >&2; exit 1; }
mkdir -p "$DIR"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "=== Generating test certs in $DIR ==="

newkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }

# CA
newkey "$DIR/ca-key.pem"
cat >"$WORK/ca.ext" <<EXT
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EXT
openssl req -new -key "$DIR/ca-key.pem" -subj "/CN=agentwrit-test-ca" -out "$WORK/ca.csr"
openssl x509 -req -in "$WORK/ca.csr" -signkey "$DIR/ca-key.pem" -sha256 -days "$DAYS" \
  -extfile "$WORK/ca.ext" -out "$DIR/ca.pem" 2>/dev/null

# sign NAME CN EXTFILE: a leaf certificate signed by the CA.
sign() {
  newkey "$DIR/$1-key.pem"
  openssl req -new -key "$DIR/$1-key.pem" -subj "/CN=$2" -out "$WORK/$1.csr"
  openssl x509 -req -in "$WORK/$1.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca-key.pem" -CAcreateserial \
    -CAserial "$WORK/ca.srl" -sha256 -days "$DAYS" -extfile "$3" -out "$DIR/$1.pem" 2>/dev/null
}

cat >"$WORK/broker.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $SANS
EXT
sign broker broker "$WORK/broker.ext"

cat >"$WORK/client.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EXT
sign client agentwrit-test-client "$WORK/client.ext"

# The compose overlays bind-mount this directory read-only into a container that runs as a non-root user
# (uid 10001), which must be able to read broker-key.pem: test keys are therefore world-readable.
chmod 0644 "$DIR"/*.pem
chmod 0600 "$DIR/ca-key.pem"

echo "=== Certs generated ==="
ls -la "$DIR"/*.pem
