#!/bin/sh
# libwslay-dev, the comparison library of the benchmarks (tests/apt.sh:
# installed as root, else the command to run).
set -eu
. "$(dirname "$0")/../apt.sh"
[ -f /usr/include/wslay/wslay.h ] || apt_install bench " libwslay-dev"
