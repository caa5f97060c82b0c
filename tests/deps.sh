#!/bin/sh
# Makes sure what the unit tests need is installed: cmocka (Debian
# libcmocka-dev), zlib (zlib1g-dev, permessage-deflate), valgrind, and OpenSSL's headers for the WICK_OPENSSL=1 build.
# As root it installs what is missing with apt-get; otherwise it prints the
# exact command and fails.
need=""
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
[ -f /usr/include/openssl/sha.h ] || need="$need libssl-dev"
[ -f /usr/include/zlib.h ] || need="$need zlib1g-dev"
[ -f /usr/include/uv.h ] || need="$need libuv1-dev"          # examples/echo_server_uv.c
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/deps.sh: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $need >/dev/null || {
        echo "tests/deps.sh: apt-get install$need failed" >&2; exit 1; }
    exit 0
fi
echo "missing test dependencies. Run:  sudo apt-get install -y$need" >&2
exit 1
