#!/usr/bin/env bash
# Builds and starts the broker with Docker Compose from this checkout, then waits until it is healthy.
#
# Usage: scripts/stack_up.sh [--tls | --mtls] [--no-build]
#   --tls / --mtls  add docker-compose.tls.yml / docker-compose.mtls.yml (run scripts/gen_test_certs.sh first)
#   --no-build      start the existing image without rebuilding
# Environment: AA_ADMIN_SECRET (required), AA_HOST_PORT (default 8080), AA_HOST_BIND (default 127.0.0.1),
#              AA_CERTS_DIR (default /tmp/agentwrit-certs), STACK_WAIT_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

files=(-f docker-compose.yml)
scheme=http
curl_opts=""
build=1
certs="${AA_CERTS_DIR:-/tmp/agentwrit-certs}"
for arg in "$@"; do
  case "$arg" in
    --tls) files+=(-f docker-compose.tls.yml); scheme=https; curl_opts="--cacert $certs/ca.pem " ;;
    --mtls)
      files+=(-f docker-compose.mtls.yml); scheme=https
      curl_opts="--cacert $certs/ca.pem --cert $certs/client.pem --key $certs/client-key.pem "
      ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "stack_up: unknown option $arg" >&2; exit 2 ;;
  esac
done

# The broker refuses to start without a secret; catch it here instead of leaving an exited container.
if [ -z "${AA_ADMIN_SECRET:-}" ]; then
  # shellcheck disable=SC2016 # the command is printed for the user to run, not expanded here
  echo 'stack_up: AA_ADMIN_SECRET is not set. Run: export AA_ADMIN_SECRET="$(openssl rand -hex 32)"' >&2
  exit 1
fi
if [ "$AA_ADMIN_SECRET" = "change-me-in-production" ]; then
  echo "stack_up: AA_ADMIN_SECRET is the known-weak default; choose a random value" >&2
  exit 1
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "stack_up: 'docker compose' (Compose v2) is required" >&2
  exit 1
fi
if [ "$scheme" = https ] && [ ! -f "$certs/broker.pem" ]; then
  echo "stack_up: no certificates in $certs; run scripts/gen_test_certs.sh first" >&2
  exit 1
fi

if [ "$build" = 1 ]; then
  docker compose "${files[@]}" build broker
fi
docker compose "${files[@]}" up -d broker

container="$(docker compose "${files[@]}" ps -q broker)"
deadline=$((SECONDS + ${STACK_WAIT_SECONDS:-60}))
status=starting
while [ "$SECONDS" -lt "$deadline" ]; do
  status="$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$container" 2>/dev/null || echo missing)"
  case "$status" in
    healthy) break ;;
    exited|dead|missing) break ;;
  esac
  sleep 1
done

if [ "$status" != healthy ]; then
  echo "stack_up: broker did not become healthy (status: $status). Last log lines:" >&2
  docker compose "${files[@]}" logs --tail 30 broker >&2 || true
  exit 1
fi

echo "Stack is up."
echo "Broker health: curl ${curl_opts}${scheme}://localhost:${AA_HOST_PORT:-8080}/v1/health"
