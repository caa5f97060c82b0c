#!/bin/sh
# Tests of the examples' I/O layer (issue 14): wss in both roles (a
# certificate made here with the openssl CLI), a bad certificate refused,
# SIGTERM during a 500-connection load against an ASan+UBSan echo_server,
# and the conformance catalogue against the libuv echo server.
#
#   tests/io/run.sh [BUILD]      (make test-io)
set -eu
BUILD=${1:-build}
PY=/usr/bin/python3
dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

sh "$dir/deps.sh"

# Our own -j2, not the calling make's jobserver (whose pipes this
# shell does not inherit).
unset MAKEFLAGS MFLAGS
make --no-print-directory -j2 BUILD="$BUILD" WERROR=1 "$BUILD/examples/echo_server" \
    "$BUILD/examples/echo_client" "$BUILD/examples/echo_server_uv"
make --no-print-directory -j2 BUILD=build/test-san WERROR=1 SAN=address,undefined OPT=-O1 \
    build/test-san/examples/echo_server

# A self-signed certificate for localhost and 127.0.0.1, and an unrelated one.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other \
    -keyout "$work/other-key.pem" -out "$work/other.pem" 2>/dev/null

WICK_BUILD="$BUILD" WICK_SAN_BUILD=build/test-san $PY "$dir/test_io.py" "$work"

echo "== conformance: server role against $BUILD/examples/echo_server_uv (libuv)"
mkdir -p "$BUILD/conformance"
$PY tests/conformance/fuzzingclient.py --server-cmd "$BUILD/examples/echo_server_uv" --handshake \
    --outdir "$BUILD/conformance" --name libuv-server-role --json \
    > "$BUILD/conformance/libuv-server-role.log" 2>&1 || {
    grep -E '^  FAILED' "$BUILD/conformance/libuv-server-role.log" | head -20
    tail -n 1 "$BUILD/conformance/libuv-server-role.log"
    exit 1
}
tail -n 1 "$BUILD/conformance/libuv-server-role.log"
