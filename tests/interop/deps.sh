#!/bin/sh
# The interop peers (tests/interop/run.sh, make deps): Debian
# python3-websockets and npm ws in build/node. As root it installs what is
# missing; otherwise it prints the exact command and fails.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3

# 1. Peers.
if ! $PY -c 'import websockets' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "interop: installing python3-websockets"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-websockets >/dev/null
    else
        echo "interop: missing python3-websockets. Run: sudo apt-get install -y python3-websockets" >&2
        exit 1
    fi
fi
NODE_DIR="$ROOT/build/node"
if [ ! -d "$NODE_DIR/node_modules/ws" ]; then
    command -v npm >/dev/null || { echo "interop: npm missing. Run: sudo apt-get install -y npm" >&2; exit 1; }
    echo "interop: installing ws from npm into build/node"
    mkdir -p "$NODE_DIR"
    cp tests/interop/package.json "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
fi
