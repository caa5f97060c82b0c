#!/bin/sh
# End-to-end echo benchmark (issue 10): wick's examples/echo_server against
# uWebSockets' echo server and Node `ws`, all on 127.0.0.1.
#
#   sh tests/bench/e2e.sh [BUILD [UWS_BINARY]]
#
# BUILD (default `build`) holds examples/echo_server and bench/loadgen
# (`make BUILD=... bench-progs`). UWS_BINARY is the uWebSockets echo server
# built by tests/bench/uws_build.sh; without it uWS is skipped (said so on
# stderr and in the output). Node `ws` is installed into build/node from npm
# when missing, like tests/interop/run.sh does.
#
# For each cell {16 B, 4 KiB} x {100, 500 connections} x {1, 16 messages in
# flight per connection} and each server (alternating servers within a
# cell): the server is started on an ephemeral port, pinned to CPU 0
# (`taskset -c 0`), the load generator (tests/bench/loadgen.c) pinned to
# CPU 1 opens the connections, warms up, measures for E2E_SECS seconds,
# reads the server's utime/stime from /proc/PID/stat at both ends of the
# timed window, and the server is stopped (SIGTERM). Prints one line per
# run, then a table. Environment:
#   E2E_SECS (4)  E2E_WARMUP (1)  E2E_REPS (1)  E2E_PIN (1; 0: no taskset)
#   E2E_SIZES ("16 4096")  E2E_CONNS ("100 500")  E2E_INFLIGHT ("1 16")
#   E2E_SERVERS ("wick uws node")
#   E2E_WICK_SERVER (BUILD/examples/echo_server: another build of it)
#   E2E_DEFLATE (0; 1: permessage-deflate: loadgen offers it and compresses
#     JSON-like text (LOADGEN_DEFLATE=1 LOADGEN_TEXT=1), Node ws with
#     perMessageDeflate, threshold 0, level 6 (ECHO_WS_DEFLATE=1), wick's
#     echo_server with its defaults (on, 64 KiB budget); a second table
#     gives bytes on the wire per message and server RSS per connection)
#   E2E_WICK_ARGS (extra echo_server flags, e.g. --deflate-budget 16384)
set -eu
BUILD=${1:-build}
UWS=${2:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SECS=${E2E_SECS:-4}
WARM=${E2E_WARMUP:-1}
REPS=${E2E_REPS:-1}
PIN=${E2E_PIN:-1}
SIZES=${E2E_SIZES:-16 4096}
CONNS=${E2E_CONNS:-100 500}
INFL=${E2E_INFLIGHT:-1 16}
SERVERS=${E2E_SERVERS:-wick uws node}
WICK=${E2E_WICK_SERVER:-$BUILD/examples/echo_server}
DEFLATE=${E2E_DEFLATE:-0}
WICK_ARGS=${E2E_WICK_ARGS:-}
if [ "$DEFLATE" = 1 ]; then
    export LOADGEN_DEFLATE=1 LOADGEN_TEXT=1 ECHO_WS_DEFLATE=1
fi
LG=$BUILD/bench/loadgen

for f in "$WICK" "$LG"; do
    [ -x "$f" ] || { echo "e2e: $f missing (make BUILD=$BUILD bench-progs)" >&2; exit 1; }
done
if [ -z "$UWS" ]; then
    echo "e2e: no uWebSockets binary given: skipping uWS (build it with tests/bench/uws_build.sh)" >&2
    echo "# uWS skipped: no binary given"
    SERVERS=$(echo "$SERVERS" | sed 's/uws//')
elif [ ! -x "$UWS" ]; then
    echo "e2e: $UWS is not an executable" >&2
    exit 1
fi
case " $SERVERS " in *" node "*)
    NODE_DIR="$ROOT/build/node"
    if [ ! -d "$NODE_DIR/node_modules/ws" ]; then
        command -v npm >/dev/null || { echo "e2e: npm missing (apt-get install npm)" >&2; exit 1; }
        echo "e2e: installing ws from npm into build/node" >&2
        mkdir -p "$NODE_DIR"
        cp tests/interop/package.json "$NODE_DIR/package.json"
        (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
    fi
    export NODE_PATH="$NODE_DIR/node_modules"
    ;;
esac
SPIN="" LPIN=""
if [ "$PIN" = 1 ]; then
    command -v taskset >/dev/null || { echo "e2e: taskset missing (util-linux)" >&2; exit 1; }
    SPIN="taskset -c 0" LPIN="taskset -c 1"
fi

SPID=""
TMP=$(mktemp -d)
cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME: starts it pinned, waits (at most 10 s) for "listening on PORT".
start_server() {
    case $1 in
        wick) set -- "$WICK" 0 --host 127.0.0.1 $WICK_ARGS ;;
        uws) set -- "$UWS" 0 ;;
        node) set -- node tests/bench/echo_ws.cjs 0 ;;
    esac
    # A fresh file, or the wait below could read the previous server's port
    # before the background shell has truncated it. taskset execs the
    # server, so $! is the server's own pid.
    rm -f "$TMP/srv.out"
    $SPIN "$@" >"$TMP/srv.out" 2>"$TMP/srv.err" &
    SPID=$!
    i=0
    while ! grep -q "^listening on [0-9]" "$TMP/srv.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$SPID" 2>/dev/null; then
            echo "e2e: $1 did not start" >&2; cat "$TMP/srv.err" >&2; exit 1
        fi
        sleep 0.1
    done
    PORT=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$TMP/srv.out" | head -1)
}
# stop_server: SIGTERM; reports any other way of ending (a crash).
stop_server() {
    kill "$SPID" 2>/dev/null || true
    rc=0
    wait "$SPID" 2>/dev/null || rc=$?
    SPID=""
    case $rc in 0 | 143) ;; *) echo "# server exited with status $rc" ;; esac
}

# The commit the wick server was built from (its own work tree when it is
# E2E_WICK_SERVER in another checkout, e.g. a `git worktree`).
WDIR=$(dirname "$WICK")
WCOMMIT=$(git -C "$WDIR" rev-parse --short HEAD 2>/dev/null || echo ?)
git -C "$WDIR" diff --quiet HEAD -- src include examples 2>/dev/null ||
    WCOMMIT="$WCOMMIT + uncommitted changes in src/ include/ examples/"
echo "# e2e $(date -u '+%Y-%m-%d %H:%M UTC'); wick server from commit $WCOMMIT"
echo "# wick server: $WICK; uWS: ${UWS:-none}; node $(node --version 2>/dev/null || echo missing), ws $(sed -n 's/.*"version": "\(.*\)".*/\1/p' build/node/node_modules/ws/package.json 2>/dev/null || echo ?)"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//') ($(nproc) CPUs), $(uname -r); pinned: $PIN (server CPU 0, loadgen CPU 1)"
echo "# ${SECS}s timed after ${WARM}s warm-up per run; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$DEFLATE" = 1 ] && echo "# permessage-deflate on (JSON-like text messages); wick args: ${WICK_ARGS:-none}"
RES=$TMP/res
: >"$RES"
rep=0
while [ $rep -lt "$REPS" ]; do
    rep=$((rep + 1))
    for size in $SIZES; do
        for conns in $CONNS; do
            for k in $INFL; do
                for s in $SERVERS; do
                    start_server "$s"
                    line=$($LPIN "$LG" "$PORT" "$size" "$conns" "$SECS" "$WARM" "$k" "$SPID" 2>"$TMP/lg.err") || {
                        echo "e2e: loadgen failed against $s (size $size, $conns conns, $k in flight):" >&2
                        cat "$TMP/lg.err" >&2
                        line="FAILED"
                    }
                    stop_server
                    printf '%-4s %s\n' "$s" "$line"
                    printf '%s %s\n' "$s" "$line" >>"$RES"
                done
            done
        done
    done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# Server CPU per message: its run time over all threads (schedstat, ns)
# divided by the echoes, split into user and system in the proportion of
# its utime/stime ticks. CPU0/CPU1 busy: /proc/stat, everything on that CPU
# (also interrupts and other processes), so busy > server (or loadgen)
# means something else ran there too.
echo "| size | conns | in flight | server | msgs/s | p50 µs | p99 µs | server CPU ns/msg (usr + sys) | server CPU % | loadgen busy % | CPU0 / CPU1 busy % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
awk '
function v(k,  i) { for (i = 2; i < NF; i++) if ($i == k) return $(i + 1); return "-" }
$2 == "FAILED" { print "| | | | " $1 " | failed | | | | | | |"; next }
{
    sz = v("size") == 4096 ? "4 KiB" : v("size") " B"
    u = v("srv_usr_pct"); sy = v("srv_sys_pct"); ns = v("srv_cpu_ns_per_msg")
    fu = (u + sy) > 0 ? u / (u + sy) : 0
    printf "| %s | %s | %s | %s | %d | %d | %d | %d (%d + %d) | %.0f | %.0f | %.0f / %.0f |\n", sz, v("conns"),
        v("inflight"), $1, v("msgs/s"), v("p50_us"), v("p99_us"), ns, ns * fu, ns * (1 - fu),
        v("srv_cpu_pct"), v("lg_busy_pct"), v("cpu0_busy_pct"), v("cpu1_busy_pct")
}' "$RES"
# Bytes on the wire and server memory per connection (idle: all open, no
# traffic yet; busy: at the end of the timed window), every run.
echo
echo "| size | conns | in flight | server | wire B/msg server->client | wire B/msg client->server | server RSS KiB/conn idle | busy |"
echo "|---|---|---|---|---|---|---|---|"
awk '
function v(k,  i) { for (i = 2; i < NF; i++) if ($i == k) return $(i + 1); return "-" }
$2 != "FAILED" { printf "| %s B | %s | %s | %s | %s | %s | %s | %s |\n", v("size"), v("conns"), v("inflight"), $1,
        v("rx_bytes_per_msg"), v("tx_bytes_per_msg"), v("srv_rss_idle_kb_per_conn"), v("srv_rss_kb_per_conn") }' "$RES"
