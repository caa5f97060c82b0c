#!/bin/sh
# Makes sure the chat server can be built: Debian libjansson-dev (JSON),
# libssl-dev (HMAC-SHA256 for tokens) and libhiredis-dev (the Redis client
# behind --redis; a server without --redis never connects to Redis). As root it installs what is missing;
# otherwise it prints the exact command and fails.
need=""
[ -f /usr/include/jansson.h ] || need="$need libjansson-dev"
[ -f /usr/include/openssl/hmac.h ] || need="$need libssl-dev"
[ -f /usr/include/hiredis/async.h ] || need="$need libhiredis-dev"
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "chat: installing$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq $need >/dev/null || {
        echo "chat: apt-get install$need failed" >&2; exit 1; }
    exit 0
fi
echo "missing packages for the chat example. Run:  sudo apt-get install -y$need" >&2
exit 1
