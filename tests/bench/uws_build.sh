#!/bin/sh
# Builds the uWebSockets echo server used by tests/bench/e2e.sh (issue 10).
#
#   sh tests/bench/uws_build.sh UWS_SRC USOCKETS_SRC OUTPUT
#
# UWS_SRC and USOCKETS_SRC are source trees of uWebSockets and uSockets
# (https://github.com/uNetworking/uWebSockets, .../uSockets; the uSockets
# commit should be the one uWebSockets pins as its `uSockets` submodule).
# Nothing is fetched or installed here and nothing is written into this
# repository or into the two source trees: the objects go to a temporary
# directory, the binary to OUTPUT. Needs gcc and g++ with C++2b support
# (Debian 12: `apt-get install build-essential`, g++ 12).
#
# What it does, following uWebSockets' own build (GNUmakefile + build.c,
# which run `make -C uSockets` and then compile each example with g++):
#   1. uSockets, as its Makefile's default target with no TLS library:
#        cc -DLIBUS_NO_SSL -std=c11 -Isrc -O3 -flto -c src/*.c
#           src/eventing/*.c src/crypto/*.c src/io_uring/*.c
#      (epoll event loop; the io_uring and crypto files compile to nothing
#      without LIBUS_USE_IO_URING / LIBUS_USE_OPENSSL).
#   2. The echo server, with build.c's flags for the examples:
#        g++ -march=native -O3 -flto=auto -std=c++2b -Isrc -IuSockets/src
#           -DUWS_NO_ZLIB  echo.cpp uSockets/*.o
#      UWS_NO_ZLIB is build.c's WITH_ZLIB=0 (no permessage-deflate; none
#      of the benchmarked servers negotiates compression).
# The echo server is examples/EchoServer.cpp with three changes, written
# out below rather than patched: it takes the port from argv[1] (0: an
# ephemeral one), listens on 127.0.0.1 only (the example listens on every
# address, port 9001) and prints "listening on PORT" (the port it got)
# like the other benchmark servers. Its settings are the example's:
# maxPayloadLength and maxBackpressure 100 MiB, idleTimeout 16 s,
# automatic pings; compression is DISABLED (the example asks for
# DEDICATED_COMPRESSOR, which only applies when a client offers
# permessage-deflate; ours does not, and zlib is not linked).
set -eu
if [ $# -ne 3 ]; then
    echo "usage: sh tests/bench/uws_build.sh UWS_SRC USOCKETS_SRC OUTPUT" >&2
    exit 2
fi
UWS=$(cd "$1" && pwd)
USOCK=$(cd "$2" && pwd)
OUT=$3
CC=${CC:-gcc}
CXX=${CXX:-g++}
for f in "$UWS/src/App.h" "$USOCK/src/libusockets.h" "$USOCK/src/eventing/epoll_kqueue.c"; do
    [ -f "$f" ] || { echo "uws_build: $f not found" >&2; exit 1; }
done
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac
mkdir -p "$(dirname "$OUT")"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
mkdir "$TMP/us"

echo "uws_build: uSockets ($CC)"
(cd "$TMP/us" && $CC -DLIBUS_NO_SSL -std=c11 -I"$USOCK/src" -O3 -flto -c \
    "$USOCK"/src/*.c "$USOCK"/src/eventing/*.c "$USOCK"/src/crypto/*.c \
    $(ls "$USOCK"/src/io_uring/*.c 2>/dev/null || true))

cat >"$TMP/echo.cpp" <<'EOF'
/* uWebSockets examples/EchoServer.cpp, taking the port from argv[1] and
 * listening on 127.0.0.1 only (written by tests/bench/uws_build.sh). */
#include "App.h"
#include <cstdio>
#include <cstdlib>

int main(int argc, char **argv) {
    struct PerSocketData {
    };
    int port = argc > 1 ? std::atoi(argv[1]) : 9001;
    uWS::App().ws<PerSocketData>("/*", {
        .compression = uWS::DISABLED,
        .maxPayloadLength = 100 * 1024 * 1024,
        .idleTimeout = 16,
        .maxBackpressure = 100 * 1024 * 1024,
        .closeOnBackpressureLimit = false,
        .resetIdleTimeoutOnSend = false,
        .sendPingsAutomatically = true,
        .upgrade = nullptr,
        .open = [](auto * /*ws*/) {},
        .message = [](auto *ws, std::string_view message, uWS::OpCode opCode) {
            ws->send(message, opCode, false);
        },
        .dropped = [](auto * /*ws*/, std::string_view, uWS::OpCode) {},
        .drain = [](auto * /*ws*/) {},
        .ping = [](auto * /*ws*/, std::string_view) {},
        .pong = [](auto * /*ws*/, std::string_view) {},
        .close = [](auto * /*ws*/, int, std::string_view) {}
    }).listen("127.0.0.1", port, [](auto *listen_socket) {
        if (listen_socket) {
            std::printf("listening on %d\n",
                        us_socket_local_port(0, (struct us_socket_t *) listen_socket));
            std::fflush(stdout);
        } else {
            std::fprintf(stderr, "uws echo: cannot listen\n");
            std::exit(1);
        }
    }).run();
}
EOF

echo "uws_build: echo server ($CXX)"
$CXX -march=native -O3 -flto=auto -std=c++2b -DUWS_NO_ZLIB -I"$UWS/src" -I"$USOCK/src" \
    "$TMP/echo.cpp" "$TMP"/us/*.o -o "$OUT"
echo "uws_build: wrote $OUT"
