#!/usr/bin/env bash
# promtool (rule checks and rule unit tests) from Debian's prometheus package, when missing.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a server on install on some systems: this project only needs the promtool binary.
  (command -v systemctl >/dev/null 2>&1 && systemctl disable --now prometheus >/dev/null 2>&1) || true
  pkill -x prometheus >/dev/null 2>&1 || true
else
  echo "promtool is required (install Debian's 'prometheus' package)" >&2
  exit 2
fi
