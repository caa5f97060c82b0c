#!/bin/sh
# The unit tests on other CPUs under qemu-user (make test-multiarch):
#   s390x  64-bit big-endian: every wire value, the word-at-a-time masking
#          and UTF-8 paths, SHA-1 and base64 with the bytes the other way;
#   armhf  32-bit ARMv7 with -mfpu=neon: the NEON masking path (compiled
#          in, and run by test_mask against the byte-at-a-time reference),
#          32-bit size_t and the 4-byte word loops.
# Debian's cross compilers and multiarch cmocka build the test programs
# (tests/firmware/deps.sh multi installs them; WICK_ZLIB=0: zlib1g-dev for
# s390x/armhf does not install beside this Debian's amd64 packages, and
# permessage-deflate builds and is tested without it); qemu-user runs them with
# the multiarch libraries (QEMU_LD_PREFIX=/). The two architectures run at
# the same time, one core each, built with -O2 (a fifth faster under
# emulation than -O1). test_utf8's test_every_split, which feeds texts of
# every length split at every position, takes 22 s of the 35 s all tests
# take under qemu-s390x: it is skipped here (tests/firmware/skip.c); the
# host runs it in every build, and test_every_length, test_all_code_points
# and test_exhaustive_short still run on both architectures.
skip=test_every_split
# Usage: tests/firmware/multiarch.sh [MAKE]
set -eu
make=${1:-make}
# name  compiler prefix  qemu  extra flags
archs="s390x:s390x-linux-gnu-:qemu-s390x: armhf:arm-linux-gnueabihf-:qemu-arm:-mfpu=neon"
for a in $archs; do
    IFS=: read -r name cross qemu flags <<EOF2
$a
EOF2
    b=build/test-$name
    mkdir -p "$b"
    "${cross}gcc" -std=c99 -O2 -c tests/firmware/skip.c -o "$b/skip.o"
    bins=$(ls tests/test_*.c | sed "s|^tests/|$b/tests/|; s|\.c\$||")
    $make --no-print-directory BUILD="$b" CC="${cross}gcc" AR="${cross}ar" NO_SHARED=1 \
        WERROR=1 WICK_ZLIB=0 OPT="-O2 $flags" LDFLAGS="$(pwd)/$b/skip.o" $bins "$b/tests/test_err_nostr" >"$b.build.log" 2>&1 || {
        tail -n 30 "$b.build.log"
        exit 1
    }
done
run_arch() { # name qemu
    b=build/test-$1
    n=0
    start=$(date +%s)
    for t in $(ls tests/test_*.c | sed "s|^tests/|$b/tests/|; s|\.c\$||") "$b/tests/test_err_nostr"; do
        if ! WICK_TEST_SKIP=$skip QEMU_LD_PREFIX=/ "$2" "$t" >"$t.log" 2>&1; then
            echo "multiarch $1: $t FAILED:"
            tail -n 30 "$t.log"
            return 1
        fi
        n=$((n + 1))
    done
    echo "multiarch $1: $n unit test programs passed under $2 ($(($(date +%s) - start)) s;" \
        "skipped: $skip)"
}
run_arch s390x qemu-s390x &
p1=$!
run_arch armhf qemu-arm &
p2=$!
fail=0
wait $p1 || fail=1
wait $p2 || fail=1
# The NEON path must really be in the armhf build (veor: NEON XOR).
if ! arm-linux-gnueabihf-objdump -d build/test-armhf/obj/wick_mask.o | grep -q veor; then
    echo "multiarch armhf: the NEON masking path was not compiled in"
    fail=1
fi
exit $fail
