#!/bin/sh
# What tests/io/run.sh needs (also run by make deps). As root it installs
# what is missing with apt-get; otherwise it prints the exact command.
set -eu
PY=/usr/bin/python3
need=""
[ -f /usr/include/openssl/ssl.h ] || need="$need libssl-dev"
[ -f /usr/include/uv.h ] || need="$need libuv1-dev"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
$PY -c 'import websockets' 2>/dev/null || need="$need python3-websockets"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "tests/io: installing$need"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
        echo "tests/io: missing$need. Run: sudo apt-get install -y$need" >&2
        exit 1
    fi
fi
