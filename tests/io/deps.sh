#!/bin/sh
# What tests/io/run.sh needs (also run by make deps). Missing packages:
# tests/apt.sh (installed as root, else the command to run).
set -eu
. "$(dirname "$0")/../apt.sh"
PY=/usr/bin/python3
need=""
[ -f /usr/include/openssl/ssl.h ] || need="$need libssl-dev"
[ -f /usr/include/uv.h ] || need="$need libuv1-dev"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
$PY -c 'import websockets' 2>/dev/null || need="$need python3-websockets"
apt_install tests/io "$need"
