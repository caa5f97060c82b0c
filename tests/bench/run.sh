#!/bin/sh
# Runs every benchmark of issue 7 and writes BUILD/bench/results.txt.
# Programs are built by `make bench` first. Environment:
#   BENCH_REPS  repetitions (default 11)      BENCH_MIB  MiB per stream (16)
#   BENCH_SECS  seconds per end-to-end run (5)
#   BENCH_CPU   pin the single-threaded benches to this CPU (default: no pin)
#   BENCH_E2E_PIN=1  pin the end-to-end server to CPU 0, load generator to 1
# End to end: examples/echo_server and a Node `ws` echo server, each on
# 127.0.0.1 with an ephemeral port, started and stopped here, driven by
# tests/bench/loadgen (64 connections, ping-pong). Not pinned by default:
# on a shared 2-CPU machine a pinned server cannot move away from another
# busy process, and its p99 becomes that process's time slice.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=$BUILD/bench
REPS=${BENCH_REPS:-11}
MIB=${BENCH_MIB:-16}
SECS=${BENCH_SECS:-5}
CPU=${BENCH_CPU:-}
OUT=$B/results.txt
PIN=""
if [ -n "$CPU" ] && command -v taskset >/dev/null; then PIN="taskset -c $CPU"; fi

{
    echo "# wick benchmarks $(date -u '+%Y-%m-%d %H:%M UTC') $(git rev-parse --short HEAD 2>/dev/null || true)"
    echo "# $(uname -m) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) ($(nproc) CPUs); cc: $(${CC:-cc} --version | head -1)"
    echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); pinned to CPU: ${CPU:-none}"
    echo "# busiest other processes:"; ps -eo pcpu,comm --sort=-pcpu | sed -n '2,4p' | sed 's/^/#   /'
} | tee "$OUT"

run() { "$@" | tee -a "$OUT"; }
run $PIN "$B/bench_stream" "$REPS" "$MIB"
run $PIN "$B/bench_frame" "$REPS"
run $PIN "$B/bench_utf8" "$REPS"
run $PIN "$B/bench_hs" "$REPS" builtin
run $PIN "$BUILD/bench-openssl/bench/bench_hs" "$REPS" openssl

# --- End to end --------------------------------------------------------
NODE_DIR="$ROOT/build/node"
if [ ! -d "$NODE_DIR/node_modules/ws" ]; then
    command -v npm >/dev/null || { echo "bench: npm missing (apt-get install npm)" >&2; exit 1; }
    echo "bench: installing ws from npm into build/node"
    mkdir -p "$NODE_DIR"
    cp tests/interop/package.json "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent >/dev/null)
fi
export NODE_PATH="$NODE_DIR/node_modules"

SPID=""
TMP=$(mktemp -d)
cleanup() {
    if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# start_server NAME CMD...: starts it on CPU 0, waits for "listening on".
start_server() {
    name=$1; shift
    if [ "${BENCH_E2E_PIN:-0}" = 1 ] && command -v taskset >/dev/null; then set -- taskset -c 0 "$@"; fi
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SPID=$!
    i=0
    while ! grep -q "listening on" "$TMP/$name.out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ]; then echo "bench: $name did not start" >&2; cat "$TMP/$name.err" >&2; exit 1; fi
        sleep 0.1
    done
    PORT=$(sed -n 's/^listening on \(.*:\)\{0,1\}\([0-9][0-9]*\)$/\2/p' "$TMP/$name.out" | head -1)
}
stop_server() {
    kill "$SPID" 2>/dev/null || true
    wait "$SPID" 2>/dev/null || true
    SPID=""
}

LG="$B/loadgen"
if [ "${BENCH_E2E_PIN:-0}" = 1 ] && command -v taskset >/dev/null; then LG="taskset -c 1 $LG"; fi
echo "# e2e: 64 connections, ping-pong (one message in flight per connection), ${SECS}s after 1s warm-up, pinned: ${BENCH_E2E_PIN:-0}" | tee -a "$OUT"
for size in 16 4096; do
    for rep in 1 2 3; do
        start_server wick "$BUILD/examples/echo_server" 0 --host 127.0.0.1
        printf 'e2e wick  size %-5s rep %s: ' "$size" "$rep" | tee -a "$OUT"
        run $LG "$PORT" "$size" 64 "$SECS" 1
        stop_server
        start_server node node tests/bench/echo_ws.cjs 0
        printf 'e2e node  size %-5s rep %s: ' "$size" "$rep" | tee -a "$OUT"
        run $LG "$PORT" "$size" 64 "$SECS" 1
        stop_server
    done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
