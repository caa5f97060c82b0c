#!/bin/sh
# make bench-chat: many concurrent connections to chat_server on loopback
# and broadcast latency in a room of 1,000 (see docs/chat.md). Not in CI.
#   CHAT_CLIENTS (10000)  CHAT_ROOM (1000)  CHAT_BROADCASTS (50)
#   CHAT_DEFLATE (0; 1: the clients offer permessage-deflate)
#   CHAT_SERVER_ARGS (extra chat_server flags, e.g. --deflate-shared)
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CLIENTS=${CHAT_CLIENTS:-10000}
ROOM=${CHAT_ROOM:-1000}
BROADCASTS=${CHAT_BROADCASTS:-50}
DEFLATE=${CHAT_DEFLATE:-0}
SERVER_ARGS=${CHAT_SERVER_ARGS:-}

# Each side needs a descriptor per connection: raise the soft limit.
hard=$(ulimit -Hn)
ulimit -n "$hard" 2>/dev/null || true
if [ "$hard" != unlimited ] && [ "$hard" -lt $((CLIENTS + 100)) ]; then
    CLIENTS=$((hard - 100))
    echo "bench-chat: descriptor limit $hard: using $CLIENTS clients"
fi

OUT=$(mktemp)
"$BUILD/examples/chat_server" --port 0 -q --max-room "$ROOM" --rate-limit 1000000 \
    --max-per-ip 0 --max-clients $((CLIENTS + 100)) $SERVER_ARGS >"$OUT" 2>"$OUT.err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -f "$OUT" "$OUT.err"' EXIT
i=0
while ! grep -q '^listening on' "$OUT"; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-chat: server did not start" >&2; exit 1; }
    sleep 0.05
done
PORT=$(awk '{print $3}' "$OUT")
echo "bench-chat: $CLIENTS clients, room of $ROOM, $BROADCASTS broadcasts (server pid $PID, port $PORT)"
status=0
timeout 300 "$BUILD/tests/chat_load" --port "$PORT" --clients "$CLIENTS" --room-size "$ROOM" \
    --broadcasts "$BROADCASTS" --server-pid "$PID" --deflate "$DEFLATE" || status=$?
kill -TERM $PID
wait $PID || true

# Memory after churn (issue 15): CHAT_CHURN (10) rounds of CHAT_CHURN_CLIENTS
# (2000) connecting, joining and dropping, on a fresh server; RSS per round.
CHURN=${CHAT_CHURN:-10}
CCLIENTS=${CHAT_CHURN_CLIENTS:-2000}
if [ "$CHURN" -gt 0 ]; then
    : >"$OUT"
    "$BUILD/examples/chat_server" --port 0 -q --max-room "$CCLIENTS" --rate-limit 1000000 \
        --max-per-ip 0 --max-clients $((CCLIENTS + 100)) $SERVER_ARGS >"$OUT" 2>"$OUT.err" &
    PID=$!
    i=0
    while ! grep -q '^listening on' "$OUT"; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-chat: server did not start" >&2; exit 1; }
        sleep 0.05
    done
    PORT=$(awk '{print $3}' "$OUT")
    echo "bench-chat: churn, $CHURN rounds of $CCLIENTS connects/closes"
    timeout 300 "$BUILD/tests/chat_load" --port "$PORT" --clients "$CCLIENTS" \
        --room-size "$CCLIENTS" --broadcasts 0 --churn "$CHURN" --server-pid "$PID" || status=$?
    kill -TERM $PID
    wait $PID || true
fi
exit $status
