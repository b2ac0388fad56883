#!/usr/bin/env bash
# Debian's Chromium for the status-page browser tests. Quiet; does nothing when it is already there.
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium: $CHROMIUM is missing; run as root or: sudo apt-get install -y chromium" >&2
    exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-chromium: apt-get could not install chromium" >&2
    exit 1
fi
