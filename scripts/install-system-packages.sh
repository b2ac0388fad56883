#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium (status-page browser tests) and PHP's CLI (the WordPress
# must-use plugin's test). Quiet; installs only what is missing, with one apt-get update.
set -euo pipefail

declare -A NEEDS=([chromium]="${CHROMIUM:-/usr/bin/chromium}" [php-cli]=php)
missing=()
for pkg in "${!NEEDS[@]}"; do
    command -v "${NEEDS[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-packages: missing ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-system-packages: apt-get could not install ${missing[*]}" >&2
    exit 1
fi
