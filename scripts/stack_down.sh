#!/usr/bin/env bash
# Stops the Docker Compose stack. The data volume (database, journal, signing key) is KEPT: deleting it destroys
# the audit trail and invalidates every issued token, so that only happens when asked for explicitly.
#
# Usage: scripts/stack_down.sh [--delete-data]
#   --delete-data  also remove the agentwrit-data volume (irreversible)
set -euo pipefail
cd "$(dirname "$0")/.."

delete_data=0
for arg in "$@"; do
  case "$arg" in
    --delete-data) delete_data=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "stack_down: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Compose interpolates the whole file even for `down`, and docker-compose.yml requires AA_ADMIN_SECRET;
# stopping must not depend on still knowing it.
export AA_ADMIN_SECRET="${AA_ADMIN_SECRET:-not-needed-to-stop}"

if [ "$delete_data" = 1 ]; then
  echo "Deleting the agentwrit-data volume: the database, audit trail and signing key are destroyed." >&2
  docker compose down --volumes --remove-orphans
  echo "Stack is down. Data volume deleted."
else
  docker compose down --remove-orphans
  echo "Stack is down. Data kept in volume agentwrit-data (remove with: scripts/stack_down.sh --delete-data)."
fi
