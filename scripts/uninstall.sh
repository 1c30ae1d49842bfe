#!/usr/bin/env bash
# Removes the native (VPS) install made by scripts/install.sh.
# By default the configuration (/etc/agentwrit), the state (/var/lib/agentwrit: database, journal, signing key)
# and the agentwrit user are KEPT, so a reinstall picks up where it left off.
#
# Usage: sudo scripts/uninstall.sh [--purge]
#   --purge  also delete /etc/agentwrit, /var/lib/agentwrit and the agentwrit user (irreversible: the audit
#            trail and the signing key are destroyed; back them up first)
set -euo pipefail

PREFIX=/opt/agentwrit
CONF_DIR=/etc/agentwrit
STATE_DIR=/var/lib/agentwrit
SERVICE_USER=agentwrit
UNIT_PATH=/etc/systemd/system/agentwrit.service

purge=0
for arg in "$@"; do
  case "$arg" in
    --purge) purge=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "uninstall: unknown option $arg" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "uninstall: run as root" >&2; exit 1; }

systemd_running=0
if [ -d /run/systemd/system ]; then systemd_running=1; fi
if [ "$systemd_running" = 1 ]; then
  systemctl disable --now agentwrit.service 2>/dev/null || true
fi
rm -f "$UNIT_PATH"
if [ "$systemd_running" = 1 ]; then systemctl daemon-reload; fi
if [ "$(readlink /usr/local/bin/awrit 2>/dev/null)" = "$PREFIX/bin/awrit" ]; then
  rm -f /usr/local/bin/awrit
fi
rm -rf "$PREFIX" "$PREFIX.prev" "$PREFIX.new"
echo "Removed the agentwrit service and $PREFIX."

if [ "$purge" = 1 ]; then
  rm -rf "$CONF_DIR" "$STATE_DIR"
  if getent passwd "$SERVICE_USER" >/dev/null; then userdel "$SERVICE_USER"; fi
  echo "Purged $CONF_DIR, $STATE_DIR and the $SERVICE_USER user."
else
  echo "Kept $CONF_DIR and $STATE_DIR (database, journal, signing key). Delete them with: $0 --purge"
fi
