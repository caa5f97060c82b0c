#!/bin/sh
# Runs every benchmark of issue 7 and writes BUILD/bench/results.txt.
# Programs are built by `make bench` first. Environment:
#   BENCH_REPS  repetitions (default 11)      BENCH_MIB  MiB per stream (16)
#   BENCH_SECS  seconds per end-to-end run (4)
#   BENCH_CPU   pin the single-threaded benches to this CPU (default: no pin)
#   BENCH_E2E_PIN  1 (default): end-to-end server on CPU 0, load generator
#               on CPU 1; 0: not pinned
#   BENCH_UWS   a uWebSockets echo server (tests/bench/uws_build.sh) to
#               compare with; skipped when unset
# End to end: tests/bench/e2e.sh (examples/echo_server, uWebSockets and a
# Node `ws` echo server, each on 127.0.0.1 with an ephemeral port, started
# and stopped there, driven by tests/bench/loadgen).
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
run $PIN "$B/bench_pmd" 1000
run $PIN "$B/bench_inflate" "$REPS"

# --- End to end --------------------------------------------------------
# tests/bench/e2e.sh (issue 10): wick's echo_server, uWebSockets (when
# BENCH_UWS names a binary built by tests/bench/uws_build.sh) and Node `ws`,
# {16 B, 4 KiB} x {100, 500 connections} x {1, 16 in flight}, server pinned
# to CPU 0 and load generator to CPU 1 (BENCH_E2E_PIN=0: not pinned).
E2E_SECS=${BENCH_SECS:-4} E2E_PIN=${BENCH_E2E_PIN:-1} \
    sh tests/bench/e2e.sh "$BUILD" "${BENCH_UWS:-}" | tee -a "$OUT"
# permessage-deflate end to end: wick's echo_server (compression on, its
# defaults) against Node ws (perMessageDeflate, threshold 0, level 6) on
# JSON-like text, 16 B / 1 KiB / 64 KiB, 200 connections.
E2E_DEFLATE=1 E2E_SECS=${BENCH_SECS:-4} E2E_PIN=${BENCH_E2E_PIN:-1} E2E_SERVERS="wick node" \
    E2E_SIZES="16 1024 65536" E2E_CONNS=200 E2E_INFLIGHT=1 \
    sh tests/bench/e2e.sh "$BUILD" | tee -a "$OUT"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT"
