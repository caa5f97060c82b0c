#!/bin/sh
# Makes sure what the unit tests need is installed: cmocka (Debian
# libcmocka-dev), zlib (zlib1g-dev, permessage-deflate), OpenSSL's headers
# for the WICK_OPENSSL=1 build, libuv (examples/echo_server_uv.c) and
# pkg-config. Missing packages: tests/apt.sh (installed as root, else the
# command to run).
. "$(dirname "$0")/apt.sh"
need=""
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
[ -f /usr/include/openssl/sha.h ] || need="$need libssl-dev"
[ -f /usr/include/zlib.h ] || need="$need zlib1g-dev"
[ -f /usr/include/uv.h ] || need="$need libuv1-dev"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
apt_install tests/deps.sh "$need"
