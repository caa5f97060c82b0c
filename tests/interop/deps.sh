#!/bin/sh
# The interop peers (tests/interop/run.sh, make deps): Debian
# python3-websockets (tests/apt.sh: installed as root, else the command to
# run) and npm ws in build/node.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. tests/apt.sh
PY=/usr/bin/python3

# 1. Peers.
need=""
$PY -c 'import websockets' 2>/dev/null || need="$need python3-websockets"
command -v npm >/dev/null 2>&1 || need="$need npm"
apt_install interop "$need"
NODE_DIR="$ROOT/build/node"
if [ ! -d "$NODE_DIR/node_modules/ws" ]; then
    echo "interop: installing ws from npm into build/node"
    mkdir -p "$NODE_DIR"
    cp tests/interop/package.json "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
fi
