#!/bin/sh
# Conformance suite (issue 4): runs the Autobahn-numbered case catalogue
# against wick in both roles, plus the handshake/robustness cases.
#
#   tests/conformance/run.sh [--full] [BUILD]
#
#   server role: fuzzingclient.py against BUILD/examples/echo_server
#   client role: fuzzingserver.py serving BUILD/examples/autobahn_client
#
# --full adds the 9.x limits/performance cases (messages up to 16 MiB) and
# prints their round-trip times. Writes BUILD/conformance/report.md (both
# roles), server-role.md and client-role.md; prints a table per group and
# ends with `N passed, N failed`. Exits non-zero on any FAILED case.
set -u
full=""
if [ "${1:-}" = "--full" ]; then
    full="--full"
    shift
fi
BUILD=${1:-build}
PY=${PYTHON:-/usr/bin/python3}
dir=$(dirname "$0")
out=$BUILD/conformance
mkdir -p "$out"
rm -f "$out/server-role.json" "$out/client-role.json"

for prog in echo_server autobahn_client; do
    if [ ! -x "$BUILD/examples/$prog" ]; then
        echo "conformance: $BUILD/examples/$prog is missing (make BUILD=$BUILD examples)" >&2
        exit 1
    fi
done

echo "== conformance: server role (fuzzing client -> $BUILD/examples/echo_server)"
"$PY" "$dir/fuzzingclient.py" --server-cmd "$BUILD/examples/echo_server" --handshake $full \
    --outdir "$out" --name server-role --json > "$out/server-role.log" 2>&1
s1=$?
grep -E '^(  FAILED|fuzzing client:)' "$out/server-role.log"

echo "== conformance: client role (fuzzing server <- $BUILD/examples/autobahn_client)"
"$PY" "$dir/fuzzingserver.py" --client-cmd "$BUILD/examples/autobahn_client" $full \
    --outdir "$out" --name client-role --json > "$out/client-role.log" 2>&1
s2=$?
grep -E '^(  FAILED|fuzzing server:|the client )' "$out/client-role.log"

if [ ! -f "$out/server-role.json" ] || [ ! -f "$out/client-role.json" ]; then
    echo "conformance: a runner did not finish; see $out/server-role.log, $out/client-role.log" >&2
    tail -n 20 "$out/server-role.log" "$out/client-role.log" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
"$PY" "$dir/report.py" "$out/report.md" "$out/server-role.json" "$out/client-role.json"
s3=$?
if [ $s1 -ne 0 ] || [ $s2 -ne 0 ] || [ $s3 -ne 0 ]; then
    exit 1
fi
exit 0
