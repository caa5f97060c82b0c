#!/bin/sh
# Interop tests against peers nobody here wrote: Python `websockets`
# (Debian python3-websockets) and Node `ws` (npm). See README.md here.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3

# 1. Peers (tests/interop/deps.sh; `make deps` runs it too).
sh tests/interop/deps.sh
NODE_DIR="$ROOT/build/node"
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
