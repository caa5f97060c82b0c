#!/bin/sh
# make bench-chat: many concurrent connections to chat_server on loopback
# and broadcast latency in a room of 1,000 (see docs/chat.md). Not in CI.
#   CHAT_CLIENTS (10000)  CHAT_ROOM (1000)  CHAT_BROADCASTS (50)
#   CHAT_DEFLATE (0; 1: the clients offer permessage-deflate)
#   CHAT_SERVER_ARGS (extra chat_server flags, e.g. --deflate-shared)
#   CHAT_NODES (1; 2 or more: a redis-server on a free 127.0.0.1 port and
#   that many nodes with --redis, the clients split across them)
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CLIENTS=${CHAT_CLIENTS:-10000}
ROOM=${CHAT_ROOM:-1000}
BROADCASTS=${CHAT_BROADCASTS:-50}
DEFLATE=${CHAT_DEFLATE:-0}
SERVER_ARGS=${CHAT_SERVER_ARGS:-}
NODES=${CHAT_NODES:-1}

# Each side needs a descriptor per connection: raise the soft limit.
hard=$(ulimit -Hn)
ulimit -n "$hard" 2>/dev/null || true
if [ "$hard" != unlimited ] && [ "$hard" -lt $((CLIENTS + 100)) ]; then
    CLIENTS=$((hard - 100))
    echo "bench-chat: descriptor limit $hard: using $CLIENTS clients"
fi

OUT=$(mktemp)
PIDS=""
REDIS_PID=""
trap 'kill $PIDS $REDIS_PID 2>/dev/null || true; rm -f "$OUT" "$OUT".*' EXIT
REDIS_ARGS=""
if [ "$NODES" -gt 1 ]; then
    RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --bind 127.0.0.1 --port "$RPORT" --save '' --appendonly no \
        --protected-mode no >/dev/null 2>&1 &
    REDIS_PID=$!
    i=0
    until redis-cli -p "$RPORT" ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-chat: redis-server did not start" >&2; exit 1; }
        sleep 0.05
    done
    REDIS_ARGS="--redis redis://127.0.0.1:$RPORT"
fi
PORTS=""
n=0
while [ $n -lt "$NODES" ]; do
    "$BUILD/examples/chat_server" --port 0 -q --max-room "$ROOM" --rate-limit 1000000 \
        --max-per-ip 0 --max-clients $((CLIENTS + 100)) $REDIS_ARGS $SERVER_ARGS \
        >"$OUT.$n" 2>"$OUT.$n.err" &
    PIDS="$PIDS${PIDS:+ }$!"
    i=0
    while ! grep -q '^listening on' "$OUT.$n"; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "bench-chat: server did not start" >&2; exit 1; }
        sleep 0.05
    done
    PORTS="$PORTS${PORTS:+,}$(awk '{print $3}' "$OUT.$n")"
    n=$((n + 1))
done
[ "$NODES" -le 1 ] || sleep 0.5 # every node subscribed
echo "bench-chat: $CLIENTS clients, room of $ROOM, $BROADCASTS broadcasts, $NODES node(s) (pids $PIDS, ports $PORTS)"
status=0
timeout 300 "$BUILD/tests/chat_load" --port "$PORTS" --clients "$CLIENTS" --room-size "$ROOM" \
    --broadcasts "$BROADCASTS" --server-pid "$(echo $PIDS | tr ' ' ,)" --deflate "$DEFLATE" || status=$?
if [ -n "$REDIS_PID" ]; then
    echo "redis-server CPU: $(awk '{printf "%.0f ms", ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"'}' /proc/$REDIS_PID/stat) in all"
fi
kill -TERM $PIDS
wait $PIDS || true
[ -z "$REDIS_PID" ] || { kill $REDIS_PID; wait $REDIS_PID || true; REDIS_PID=""; }
PIDS=""

# Memory after churn (issue 15): CHAT_CHURN (10) rounds of CHAT_CHURN_CLIENTS
# (2000) connecting, joining and dropping, on a fresh server; RSS per round.
CHURN=${CHAT_CHURN:-$([ "$NODES" -gt 1 ] && echo 0 || echo 10)}
CCLIENTS=${CHAT_CHURN_CLIENTS:-2000}
if [ "$CHURN" -gt 0 ]; then
    : >"$OUT"
    "$BUILD/examples/chat_server" --port 0 -q --max-room "$CCLIENTS" --rate-limit 1000000 \
        --max-per-ip 0 --max-clients $((CCLIENTS + 100)) $SERVER_ARGS >"$OUT" 2>"$OUT.err" &
    PID=$!
    PIDS=$PID
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
