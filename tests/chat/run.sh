#!/bin/sh
# End-to-end tests of the chat example (make test-chat): Python websockets
# against chat_server for the protocol, then headless Chromium (Debian
# chromium, driven by npm playwright-core) for the page. Installs what is
# missing when run as root; otherwise prints the exact command.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3

# 1-2. What the tests need (tests/chat/deps.sh; `make deps` runs it too).
sh tests/chat/deps.sh
NODE_DIR="$ROOT/build/node-chat"

# 3. The server, and an ASan+UBSan build of it for the SIGTERM-under-load
#    test (build/test-san is shared with tests/io).
# Our own -j2, not the calling make's jobserver (whose pipes this
# shell does not inherit).
unset MAKEFLAGS MFLAGS
make --no-print-directory -j2 BUILD="$BUILD" WERROR=1 "$BUILD/examples/chat_server"
make --no-print-directory -j2 BUILD=build/test-san WERROR=1 SAN=address,undefined OPT=-O1 \
    build/test-san/examples/chat_server

# 4. The tests. Each runner ends with "NAME: N passed, N failed"; the
#    last line here adds them up.
LOG=$(mktemp)
trap 'rm -f "$LOG" "$LOG.1" "$LOG.2" "$LOG.3"' EXIT
rc1=0; rc2=0
echo "== chat protocol tests (Python websockets)"
WICK_SAN_BUILD=build/test-san timeout 150 $PY tests/chat/test_chat.py "$BUILD" >"$LOG.1" 2>&1 || rc1=$?
cat "$LOG.1"
echo "== chat browser test (headless Chromium)"
NODE_PATH="$NODE_DIR/node_modules" timeout 120 node tests/chat/test_browser.mjs "$BUILD" >"$LOG.2" 2>&1 || rc2=$?
cat "$LOG.2"
echo "screenshots: $BUILD/chat-browser-*.png"
rc3=0
echo "== chat abuse limits, receipts, acks, resume (tests/chat/test_abuse.py)"
timeout 90 $PY tests/chat/test_abuse.py "$BUILD" >"$LOG.3" 2>&1 || rc3=$?
echo "== chat page views: private, pending/delivered/failed, 375 px (tests/chat/test_page.mjs)" >>"$LOG.3"
NODE_PATH="$NODE_DIR/node_modules" timeout 60 node tests/chat/test_page.mjs "$BUILD" >>"$LOG.3" 2>&1 || rc3=$?
echo "== chat history and scale-out (tests/chat/test_scale.py)" >>"$LOG.3"
timeout 120 $PY tests/chat/test_scale.py "$BUILD" >>"$LOG.3" 2>&1 || rc3=$?
echo "== chat limits: per user/address rate, --max-per-ip, reassembly cap and deadline (tests/chat/test_limits.py)" >>"$LOG.3"
timeout 60 $PY tests/chat/test_limits.py "$BUILD" >>"$LOG.3" 2>&1 || rc3=$?
echo "== chat scale-out over Redis: two and three nodes, receipts, broadcast, presence, Redis lost (tests/chat/test_redis.py)" >>"$LOG.3"
WICK_SAN_BUILD=build/test-san timeout 90 $PY tests/chat/test_redis.py build/test-san >>"$LOG.3" 2>&1 || rc3=$?
cat "$LOG.3"
cat "$LOG.1" "$LOG.2" "$LOG.3" >"$LOG"
set -- $(sed -n 's/^[a-z-]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$LOG" |
         awk '{p += $1; f += $2; n++} END {print p + 0, f + 0, n + 0}')
pass=$1; fail=$2; runners=$3
# A runner that failed or died before its summary line counts as a failure.
if [ "$rc1" != 0 ] || [ "$rc2" != 0 ] || [ "$rc3" != 0 ] || [ "$runners" != 7 ]; then
    [ "$fail" != 0 ] || fail=1
fi
echo "test-chat: $pass passed, $fail failed"
[ "$fail" = 0 ]
