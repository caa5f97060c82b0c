#!/bin/sh
# Interop tests against peers nobody here wrote: Python `websockets`
# (Debian python3-websockets) and Node `ws` (npm). See README.md here.
set -eu
BUILD=${1:-build}
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
export NODE_PATH="$NODE_DIR/node_modules"

# 2. Test servers and clients written in C. For a sanitizer build of the
#    library pass the same flags, e.g. INTEROP_CFLAGS=-fsanitize=address,undefined.
mkdir -p "$BUILD/interop"
for src in tests/interop/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    ${CC:-cc} -std=c99 -O2 -g -D_GNU_SOURCE -Iinclude ${INTEROP_CFLAGS:-} "$src" \
        "$BUILD/libwick.a" -lz -o "$BUILD/interop/$name"
done

# 3. The tests.
export WICK_BUILD="$BUILD"
pass=0; fail=0
for t in tests/interop/test_*.py tests/interop/test_*.mjs; do
    [ -e "$t" ] || continue
    echo "== interop $t"
    case "$t" in
        *.py) runner=$PY ;;
        *.mjs) runner=node ;;
    esac
    if timeout 300 $runner "$t"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $t"; fi
done
echo "interop: $pass passed, $fail failed"
[ "$fail" = 0 ]
