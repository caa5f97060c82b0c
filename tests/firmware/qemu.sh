#!/bin/sh
# The bare-metal test (make test-qemu-m): tests/firmware/baremetal/fw_*.c
# linked with the library that `make cross` built, run under
# qemu-system-arm with semihosting on two emulated boards:
#   microbit     BBC micro:bit, nRF51 Cortex-M0 (ARMv6-M), 256 KB flash,
#                16 KB RAM: build/cross-m0plus (-mcpu=cortex-m0plus -Os;
#                the M0 and M0+ run the same ARMv6-M code)
#   mps2-an386   ARM MPS2 with a Cortex-M4F: build/cross-m4f (-O2, hard float)
# Each prints its results, "N passed, N failed", the stack high-water mark
# and the RAM per connection; the script fails unless both exit 0 with
# 0 failed. Needs `make cross` first (the Makefile target does it).
# Usage: tests/firmware/qemu.sh [WORK_DIR]   (default build/firmware)
set -eu
work=${1:-build/firmware}
mkdir -p "$work"
here=tests/firmware/baremetal
CROSS=${CROSS:-arm-none-eabi-}
warn="-std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Werror"
fail=0
run_board() { # name machine library cpu-flags
    out=$work/$1
    mkdir -p "$out"
    "${CROSS}gcc" $4 $warn -ffreestanding -ffunction-sections -fdata-sections -g -Iinclude \
        -I"$here" -nostartfiles -T "$here/link.ld" -Wl,--gc-sections -Wl,-Map="$out/fw.map" \
        "$here"/fw_*.c "$here/startup.c" "$3" -lc -lgcc -o "$out/fw.elf"
    echo "== $1: qemu-system-arm -M $2 ($("${CROSS}size" "$out/fw.elf" | awk 'NR == 2 {
        printf "program text %d, data %d, bss %d bytes", $1, $2, $3 }'))"
    # qemu exits with the status the program passes to semihosting SYS_EXIT.
    if timeout 120 qemu-system-arm -M "$2" -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$out/fw.elf" >"$out/log.txt" 2>&1 &&
        grep -q ' passed, 0 failed$' "$out/log.txt"; then
        cat "$out/log.txt"
    else
        cat "$out/log.txt"
        echo "== $1: FAILED"
        fail=1
    fi
}
run_board microbit-m0 microbit build/cross-m0plus/libwick.a "-mcpu=cortex-m0plus -mthumb -Os"
run_board mps2-an386-m4f mps2-an386 build/cross-m4f/libwick.a \
    "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2"
exit $fail
