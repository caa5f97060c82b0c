#!/bin/sh
# make amalgamation: writes OUT/wick.c (every src/*.c as one translation
# unit) and OUT/wick.h (a copy of include/wick.h). Vendoring wick is then
# copying two files; the result builds with any C99 compiler and no flags.
#
# How the single file is made (SQLite's mksqlite3c idea, in sh and awk):
#   - the sources are every src/*.c in name order, picked up by glob, so a
#     new source needs no change here; a source that is an optional
#     backend guards itself (#ifdef WICK_ZLIB inside the file), except
#     the two SHA-1 backends, which the script wraps in #ifndef / #ifdef
#     WICK_OPENSSL because the Makefile builds exactly one of them;
#   - each private header (src/*.h) is inlined where it is first
#     included, and later includes of it are dropped; <system> includes
#     stay as they are; "wick.h" stays an include of the copy beside it;
#   - every non-static file-scope declaration of a wick__ name (the
#     private functions and tables shared between files) gets WICK_PRIVATE
#     in front, which is `static`: nothing private is exported and the
#     compiler may inline across the old file boundaries. Defining
#     WICK_AMALGAMATION_EXPORT_PRIVATE makes them extern again, which is
#     how the unit tests that call private hooks link against it.
# Usage: tools/amalgamate.sh [OUT]   (default build/amalgamation)
set -eu
out=${1:-build/amalgamation}
cd "$(dirname "$0")/.."
mkdir -p "$out"
version=$(sed -n 's/^#define WICK_VERSION_STRING "\(.*\)"/\1/p' include/wick.h)

cp include/wick.h "$out/wick.h.tmp"
mv "$out/wick.h.tmp" "$out/wick.h"

{
    cat <<EOF
/*
 * wick $version: single-file build of the library (make amalgamation).
 * Generated from every .c file of src/ by tools/amalgamate.sh; do not edit. Compile this
 * one file with wick.h beside it. Build switches (WICK_NO_SIMD,
 * WICK_NO_ERR_STRINGS, WICK_NO_EXTENSIONS, WICK_OPENSSL, WICK_CONFIG_FILE and the WICK_MAX_*
 * limits) are the same as for the Makefile build: see docs/embedded.md.
 */
/* WICK_PRIVATE: private functions and table definitions; WICK_PRIVATE_DATA:
 * declarations of private tables. */
#ifdef WICK_AMALGAMATION_EXPORT_PRIVATE
#define WICK_PRIVATE
#define WICK_PRIVATE_DATA extern
#elif defined(__GNUC__) || defined(__clang__)
/* unused: a few private functions exist for the unit tests only. */
#define WICK_PRIVATE      static __attribute__((unused))
#define WICK_PRIVATE_DATA static
#else
#define WICK_PRIVATE      static
#define WICK_PRIVATE_DATA static
#endif
EOF
    for f in src/*.c; do
        case $f in
        src/wick_sha1.c) guard_open='#ifndef WICK_OPENSSL' ;;
        src/wick_sha1_openssl.c) guard_open='#ifdef WICK_OPENSSL' ;;
        *) guard_open='' ;;
        esac
        printf '\n/* ===== %s ===== */\n' "$f"
        [ -n "$guard_open" ] && echo "$guard_open"
        echo "$f"
        [ -n "$guard_open" ] && echo "#endif"
    done
} | awk -v dir=src '
    # Lines naming a source file are expanded; everything else is copied.
    function emit(line) {
        # extern declaration of a private table: static (or extern).
        if (line ~ /^extern [^(]*[ *]wick__[a-z0-9_]+ *\[/) {
            sub(/^extern /, "WICK_PRIVATE_DATA ", line)
        } else if (line ~ /^[a-z][a-z0-9_ ]*[ *]wick__[a-z0-9_]+ *\[.*=/) {
            # Definition of a private table.
            line = "WICK_PRIVATE " line
        } else if (line ~ /^[a-z][a-z0-9_ ]*[ *]wick__[a-z0-9_]+ *\(/ &&
                   line !~ /^(static|typedef|extern|return|struct|enum|union) /) {
            line = "WICK_PRIVATE " line
        }
        print line
    }
    function expand(file, line, inc) {
        while ((getline line < file) > 0) {
            if (line ~ /^#include "wick\.h"/) {
                if (!seen["wick.h"]++) print "#include \"wick.h\""
                continue
            }
            if (line ~ /^#include "[a-z0-9_]+\.h"/) {
                inc = line
                sub(/^#include "/, "", inc)
                sub(/".*/, "", inc)
                if (!seen[inc]++) {
                    printf "/* --- %s/%s --- */\n", dir, inc
                    expand(dir "/" inc)
                }
                continue
            }
            emit(line)
        }
        close(file)
    }
    /^src\/[a-z0-9_]+\.c$/ { expand($0); next }
    { print }
' > "$out/wick.c.tmp"
mv "$out/wick.c.tmp" "$out/wick.c"
echo "amalgamation: $out/wick.c ($(wc -l < "$out/wick.c") lines, $(ls src/*.c | wc -l) sources), $out/wick.h"
