#!/bin/sh
# Installs libwslay-dev (the comparison library of the benchmarks) with
# apt-get when it is missing and we are root; otherwise says what to run.
set -eu
if [ -f /usr/include/wslay/wslay.h ]; then exit 0; fi
if [ "$(id -u)" = 0 ]; then
    echo "bench: installing libwslay-dev"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libwslay-dev >/dev/null 2>&1 || {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libwslay-dev >/dev/null
    }
else
    echo "bench: libwslay-dev missing. Run: sudo apt-get install -y libwslay-dev" >&2
    exit 1
fi
