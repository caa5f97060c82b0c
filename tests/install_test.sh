#!/bin/sh
# Installs wick into a scratch prefix (with DESTDIR staging too), then builds
# a one-file program with `pkg-config --cflags --libs wick` that computes the
# RFC 6455 1.3 accept key, against the static and the shared library.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
make --no-print-directory -s install PREFIX="$TMP/prefix" >/dev/null
make --no-print-directory -s install PREFIX=/usr/local DESTDIR="$TMP/stage" >/dev/null
for f in include/wick.h lib/libwick.a lib/libwick.so lib/pkgconfig/wick.pc; do
    [ -e "$TMP/prefix/$f" ] || { echo "install: missing $f"; exit 1; }
    [ -e "$TMP/stage/usr/local/$f" ] || { echo "install DESTDIR: missing $f"; exit 1; }
done
cat > "$TMP/app.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <wick.h>
int main(void)
{
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char acc[WICK_ACCEPT_LEN];
    if (wick_accept_key(key, strlen(key), acc) != WICK_OK)
        return 1;
    printf("%.*s %s\n", WICK_ACCEPT_LEN, acc, wick_version() == WICK_VERSION_NUM ? "match" : "mismatch");
    return 0;
}
C
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig"
want="s3pPLMBiTxaQ9kYGzzhZRbK+xOo= match"
# shellcheck disable=SC2046
cc -std=c99 "$TMP/app.c" $(pkg-config --cflags --libs wick) -Wl,-rpath,"$TMP/prefix/lib" -o "$TMP/app"
got=$("$TMP/app")
[ "$got" = "$want" ] || { echo "install: shared build printed '$got'"; exit 1; }
# shellcheck disable=SC2046
cc -std=c99 "$TMP/app.c" $(pkg-config --cflags wick) "$TMP/prefix/lib/libwick.a" -o "$TMP/app-static"
got=$("$TMP/app-static")
[ "$got" = "$want" ] || { echo "install: static build printed '$got'"; exit 1; }
echo "install: 2 passed, 0 failed (pkg-config program prints $want)"
