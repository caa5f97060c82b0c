#!/bin/sh
# Makes sure the chat server can be built: Debian libjansson-dev (JSON),
# libssl-dev (HMAC-SHA256 for tokens) and libhiredis-dev (the Redis client
# behind --redis; a server without --redis never connects to Redis).
# Missing packages: tests/apt.sh (installed as root, else the command to
# run).
. "$(dirname "$0")/../../tests/apt.sh"
need=""
[ -f /usr/include/jansson.h ] || need="$need libjansson-dev"
[ -f /usr/include/openssl/hmac.h ] || need="$need libssl-dev"
[ -f /usr/include/hiredis/async.h ] || need="$need libhiredis-dev"
apt_install chat "$need"
