#!/bin/sh
# Checks the single-file build (make amalgamation): wick.c compiles with
# the project's warning set and -Werror for the host with gcc and clang and
# for a Cortex-M0+, and exports only public names (no wick__ helper, no
# other symbol). The unit tests against it run from the Makefile.
# Usage: tests/firmware/amalgamation.sh DIR "WARNING FLAGS"
set -eu
dir=$1
warn=$2
tmp=$dir/check
mkdir -p "$tmp"
fail=0
check_exports() { # object nm
    bad=$("$2" -g --defined-only "$1" | awk 'NF == 3 { print $3 }' |
        grep -v -E '^wick_[a-z0-9]' || true)
    if [ -n "$bad" ]; then
        echo "amalgamation: $1 exports private or foreign names:" $bad
        fail=1
    fi
}
# The clang-only and gcc-only warnings of the Makefile are in $warn for
# the compiler that make was run with; each compiler gets the common set.
common=$(echo "$warn" | tr ' ' '\n' | grep -v -E '^-W(shorten-64-to-32|comma|extra-semi|assign-enum|conditional-uninitialized|missing-variable-declarations|unreachable-code-aggressive|logical-op|duplicated-cond|duplicated-branches|jump-misses-init|cast-align=strict)$' | tr '\n' ' ')
for cc in gcc clang; do
    for defs in "" "-DWICK_NO_ERR_STRINGS -DWICK_NO_SIMD"; do
        $cc -O2 $common $defs -I"$dir" -c "$dir/wick.c" -o "$tmp/wick-$cc.o"
        check_exports "$tmp/wick-$cc.o" nm
    done
done
gcc -O2 $common -DWICK_OPENSSL -I"$dir" -c "$dir/wick.c" -o "$tmp/wick-openssl.o"
check_exports "$tmp/wick-openssl.o" nm
arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb -Os -ffreestanding -ffunction-sections \
    -fdata-sections $common -Wframe-larger-than=512 -DWICK_NO_ERR_STRINGS -I"$dir" -c "$dir/wick.c" -o "$tmp/wick-m0plus.o"
check_exports "$tmp/wick-m0plus.o" arm-none-eabi-nm
n=$(nm -g --defined-only "$tmp/wick-gcc.o" | awk 'NF == 3' | wc -l)
if [ $fail = 0 ]; then
    echo "amalgamation: wick.c builds clean (gcc, clang, WICK_OPENSSL, Cortex-M0+ -Os);" \
        "$n public symbols, nothing private exported"
fi
exit $fail
