#!/bin/sh
# What the chat example's tests need (tests/chat/run.sh, make deps): Debian
# packages (tests/apt.sh: installed as root, else the command to run), and
# npm playwright-core in build/node-chat.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
. tests/apt.sh
PY=/usr/bin/python3

# 1. Debian packages.
need=""
[ -f /usr/include/jansson.h ] || need="$need libjansson-dev"
[ -f /usr/include/openssl/hmac.h ] || need="$need libssl-dev"
[ -f /usr/include/hiredis/async.h ] || need="$need libhiredis-dev"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
$PY -c 'import websockets' 2>/dev/null || need="$need python3-websockets"
[ -x /usr/bin/chromium ] || need="$need chromium"
command -v node >/dev/null 2>&1 || need="$need nodejs"
command -v npm >/dev/null 2>&1 || need="$need npm"
APT_FLAGS=--no-install-recommends apt_install test-chat "$need"

# 2. playwright-core (the library only: it drives Debian's chromium; no
#    browser download, so never `npx playwright install`).
NODE_DIR="$ROOT/build/node-chat"
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
    echo "test-chat: installing playwright-core from npm into build/node-chat"
    mkdir -p "$NODE_DIR"
    cp tests/chat/package.json "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent >/dev/null)
fi
