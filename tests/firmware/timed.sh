#!/bin/sh
# Runs a command and prints how long it took: "== NAME: N s", so the cost
# of each firmware step of `make test` stays visible (budget: make test
# under 10 minutes on 2 cores).
# Usage: tests/firmware/timed.sh NAME command args...
set -eu
name=$1
shift
echo "== $name"
start=$(date +%s)
"$@"
echo "== $name: $(($(date +%s) - start)) s"
