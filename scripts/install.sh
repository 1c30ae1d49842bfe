#!/usr/bin/env bash
# Native (VPS) install: builds this checkout and runs the broker under systemd.
#
#   /opt/agentwrit                  code (root-owned, read-only to the service); the previous version is kept as
#                                   /opt/agentwrit.prev for rollback
#   /etc/agentwrit/config           MODE + bcrypt ADMIN_SECRET, written once by `awrit init --mode prod`
#   /etc/agentwrit/agentwrit.env    environment for the unit (TLS, bind address, overrides)
#   /var/lib/agentwrit              database, its journal and the signing key (owner agentwrit, mode 0700)
#   /etc/systemd/system/agentwrit.service, /usr/local/bin/awrit
#
# Usage: sudo scripts/install.sh [--no-start]
# Re-running it upgrades the code and restarts the service; config and state are never overwritten.
# Needs: Linux with systemd, Node.js >= 20.10 and npm installed system-wide (not under /home or /root).
set -euo pipefail

PREFIX=/opt/agentwrit
CONF_DIR=/etc/agentwrit
STATE_DIR=/var/lib/agentwrit
SERVICE_USER=agentwrit
UNIT_PATH=/etc/systemd/system/agentwrit.service

start=1
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install: unknown option $arg" >&2; exit 2 ;;
  esac
done

die() { echo "install: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$SRC/package-lock.json" ] || [ ! -d "$SRC/src" ]; then die "run from an AgentWrit checkout"; fi
command -v systemctl >/dev/null 2>&1 || die "systemd (systemctl) is required"
NODE="$(command -v node || true)"
[ -n "$NODE" ] || die "node is not installed (Node.js >= 20.10 is required)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
NODE="$(readlink -f "$NODE")"
"$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=10)?0:1)' \
  || die "Node.js >= 20.10 is required, found $("$NODE" --version)"
# The unit sets ProtectHome=yes, so a node binary under a home directory would be invisible to the service.
case "$NODE" in
  /home/*|/root/*) die "node at $NODE is under a home directory; install Node.js system-wide (e.g. /usr/bin/node)" ;;
esac

echo "=== Building in a temporary directory ==="
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD" "$PREFIX.new"' EXIT
cp -R "$SRC/package.json" "$SRC/package-lock.json" "$SRC/tsconfig.json" "$SRC/src" "$SRC/bin" "$BUILD/"
(cd "$BUILD" && npm ci --no-audit --no-fund)   # `prepare` compiles src/ into dist/

echo "=== Installing into $PREFIX ==="
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new/scripts"
cp -R "$BUILD/package.json" "$BUILD/package-lock.json" "$BUILD/bin" "$BUILD/dist" "$PREFIX.new/"
cp "$SRC/scripts/healthcheck.mjs" "$PREFIX.new/scripts/"
(cd "$PREFIX.new" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
chown -R root:root "$PREFIX.new"
chmod -R u=rwX,go=rX "$PREFIX.new"
if [ -d "$PREFIX" ]; then
  rm -rf "$PREFIX.prev"
  mv "$PREFIX" "$PREFIX.prev"
fi
mv "$PREFIX.new" "$PREFIX"
ln -sf "$PREFIX/bin/awrit" /usr/local/bin/awrit

if ! getent passwd "$SERVICE_USER" >/dev/null; then
  echo "=== Creating system user $SERVICE_USER ==="
  useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR"
install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"

if [ ! -e "$CONF_DIR/config" ]; then
  echo "=== Writing $CONF_DIR/config (awrit init --mode prod) ==="
  "$NODE" "$PREFIX/bin/awrit" init --mode prod --config-path "$CONF_DIR/config"
  # The broker runs as $SERVICE_USER and only accepts a config file without group/other permission bits.
  chown "$SERVICE_USER:$SERVICE_USER" "$CONF_DIR/config"
  chmod 0600 "$CONF_DIR/config"
else
  echo "=== Keeping existing $CONF_DIR/config ==="
fi
if [ ! -e "$CONF_DIR/agentwrit.env" ]; then
  install -m 0600 -o root -g root "$SRC/deploy/systemd/agentwrit.env.example" "$CONF_DIR/agentwrit.env"
fi

sed "s|^ExecStart=/usr/bin/node |ExecStart=$NODE |" "$SRC/deploy/systemd/agentwrit.service" >"$UNIT_PATH.tmp"
chmod 0644 "$UNIT_PATH.tmp"
mv "$UNIT_PATH.tmp" "$UNIT_PATH"
# Without a running systemd (image builds, chroots) the unit is installed but nothing is reloaded or started.
if [ ! -d /run/systemd/system ]; then
  echo "=== systemd is not running: installed only; start later with: systemctl enable --now agentwrit ==="
  exit 0
fi
systemctl daemon-reload

if [ "$start" = 1 ]; then
  systemctl enable agentwrit.service
  systemctl restart agentwrit.service
  sleep 2
  if systemctl is-active --quiet agentwrit.service; then
    echo "=== agentwrit is running: systemctl status agentwrit, journalctl -u agentwrit ==="
  else
    journalctl -u agentwrit.service -n 30 --no-pager >&2 || true
    die "agentwrit.service did not start"
  fi
else
  echo "=== Installed; start with: systemctl enable --now agentwrit ==="
fi
