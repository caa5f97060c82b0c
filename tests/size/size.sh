#!/bin/sh
# make size: how many bytes of flash wick costs on a Cortex-M0+.
#
# Builds src/ for the target (arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb
# -Os -ffunction-sections -fdata-sections, WICK_NO_SIMD, built-in SHA-1)
# into a static library and links two programs against it with
# -Wl,--gc-sections, -nostdlib and tests/size/rt.c (entry point and
# byte-loop mem* functions), so nothing of newlib is linked:
#   everything  tests/size/everything.c: every part of the library;
#   minimal     tests/size/minimal.c: the engine's core calls only;
#   server      tests/size/server.c: server handshake + server engine;
#   client      tests/size/client.c: client handshake + client engine
#               (these two in the WICK_NO_ERR_STRINGS build; not budgeted).
#   *-noext     minimal, server and client again, built WICK_NO_EXTENSIONS
#               (and WICK_NO_ERR_STRINGS): the engine without its extension
#               hook, for firmware that negotiates none (minimal-noext is
#               budgeted).
# "library" is the .text + .rodata + .data that the link keeps from
# libwick.a, read from the linker map. The mem* functions of rt.c and the
# libgcc helpers the library calls (division, 64-bit shifts, switch
# tables) are listed apart and not counted. Also prints sizeof the state
# structs on the host and the target, and "everything" built with
# -DWICK_NO_ERR_STRINGS ("everything-nostr").
#
# The "everything" budget applies to everything-nostr: the firmware
# configuration is WICK_NO_ERR_STRINGS, the switch that exists to save
# flash (issue 10). The default build's figure is printed for reference.
#
# Usage: tests/size/size.sh [BUILD]   (results in BUILD/size/, default build)
# SIZE_CHECK=1 makes it exit 1 when a budget of tests/size/budget.txt is
# exceeded (default: report only). CROSS (default arm-none-eabi-) and
# HOSTCC (default cc) pick the compilers.
set -eu
build=${1:-build}
out=$build/size
CROSS=${CROSS:-arm-none-eabi-}
HOSTCC=${HOSTCC:-cc}
here=$(dirname "$0")

# --- The toolchain: gcc-arm-none-eabi and newlib's headers (string.h).
have_toolchain() {
    command -v "${CROSS}gcc" >/dev/null 2>&1 &&
        echo '#include <string.h>' | "${CROSS}gcc" -E -x c - >/dev/null 2>&1
}
if ! have_toolchain; then
    . "$here/../apt.sh"
    apt_install size " gcc-arm-none-eabi libnewlib-arm-none-eabi"
fi

TFLAGS="-std=c99 -mcpu=cortex-m0plus -mthumb -Os -ffunction-sections -fdata-sections -g0"
TDEFS="-DWICK_NO_SIMD -DNDEBUG"
rm -rf "$out"
mkdir -p "$out/obj" "$out/obj-nostr" "$out/obj-noext"

# --- The library, for the target (twice: default, and without strings).
srcs=""
for f in src/*.c; do
    [ "$f" = src/wick_sha1_openssl.c ] && continue
    srcs="$srcs $f"
done
build_lib() { # dir extra-defines
    for f in $srcs; do
        o="$1/$(basename "$f" .c).o"
        if ! "${CROSS}gcc" $TFLAGS $TDEFS $2 -Iinclude -Isrc -c "$f" -o "$o" 2>"$o.log"; then
            echo "size: $f does not build for the target:" >&2
            head -n 20 "$o.log" >&2
            exit 1
        fi
    done
    rm -f "$1/libwick.a"
    "${CROSS}ar" rcs "$1/libwick.a" "$1"/*.o
}
build_lib "$out/obj" ""
build_lib "$out/obj-nostr" "-DWICK_NO_ERR_STRINGS"
# Firmware that negotiates no extension: the engine without its hook.
build_lib "$out/obj-noext" "-DWICK_NO_ERR_STRINGS -DWICK_NO_EXTENSIONS"

"${CROSS}gcc" $TFLAGS -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns \
    -c "$here/rt.c" -o "$out/rt.o"

# link NAME PROGRAM LIBDIR: links and writes NAME.sections (mapsum.awk).
link() {
    "${CROSS}gcc" $TFLAGS $TDEFS -Iinclude -Isrc -c "$here/$2.c" -o "$out/$1.main.o"
    "${CROSS}gcc" $TFLAGS -nostdlib -nostartfiles -Wl,--gc-sections -Wl,-Map="$out/$1.map" \
        -o "$out/$1.elf" "$out/$1.main.o" "$out/rt.o" "$3/libwick.a" -lgcc
    awk -f "$here/mapsum.awk" "$out/$1.map" > "$out/$1.sections"
}
link everything everything "$out/obj"
link minimal minimal "$out/obj"
link everything-nostr everything "$out/obj-nostr"
# A server and a client product, firmware configuration (docs/embedded.md).
link server server "$out/obj-nostr"
link client client "$out/obj-nostr"
# wick's inflater alone (issue 16; its own row and budget, "inflate").
link inflate inflate "$out/obj-nostr"
# The same three without the extension hook (WICK_NO_EXTENSIONS).
link minimal-noext minimal "$out/obj-noext"
link server-noext server "$out/obj-noext"
link client-noext client "$out/obj-noext"

# Library rows of a .sections file: "kind size object name".
lib_rows() {
    awk '$1 != "pad" && $3 ~ /libwick\.a\(/ {
        f = $3; sub(/.*libwick\.a\(/, "", f); sub(/\)$/, "", f); print $1, $2, f, $4 }' "$1"
}
lib_total() {
    lib_rows "$1" | awk '$1 != "bss" { t += $2 } END { print t + 0 }'
}

echo "wick size: Cortex-M0+ (${CROSS}gcc $("${CROSS}gcc" -dumpversion)), $TFLAGS"
echo "           $TDEFS, built-in SHA-1, -nostdlib -Wl,--gc-sections"
echo

# --- Per object, both programs side by side.
for p in everything minimal everything-nostr; do
    lib_rows "$out/$p.sections" |
        awk -v p="$p" '$1 != "bss" { s[$3] += $2; k[$3 " " $1] += $2 }
            END { for (f in s) print p, f, s[f], k[f " text"] + 0, k[f " rodata"] + 0,
                                    k[f " data"] + 0 }'
done > "$out/objects.txt"
echo "library bytes (.text+.rodata+.data) per object:"
awk '{ t[$2] = t[$2]; v[$1 " " $2] = $3; d[$1 " " $2] = $4 "/" $5 "/" $6; tot[$1] += $3 }
     END {
        printf "  %-22s %10s %-17s %8s %8s\n", "object", "everything", "(text/rodata/data)", \
            "nostr", "minimal"
        for (f in t) printf "  %-22s %10d %-17s %8s %8s\n", f, v["everything " f], \
            "(" d["everything " f] ")", (("everything-nostr " f) in v) ? v["everything-nostr " f] : "-", \
            (("minimal " f) in v) ? v["minimal " f] : "-"
     }' "$out/objects.txt" | { IFS= read -r head; echo "$head"; sort -k2,2nr; }
echo

# --- What is linked besides the library (not counted).
extras() { # sections-file
    awk '$1 == "pad" { pad += $2; next }
         $3 ~ /libgcc\.a/ && $1 != "bss" { m = $3; sub(/.*libgcc\.a\(/, "", m); sub(/\)$/, "", m);
                                           g += $2; gn[m] = 1; next }
         $3 ~ /rt\.o$/ && $1 == "text" && $4 ~ /^mem/ { r += $2; rn = rn " " $4 " " $2; next }
         $3 ~ /main\.o$/ && $1 != "bss" { mn += $2; next }
         END { gl = ""; for (m in gn) gl = gl " " m
               printf "mem* (rt.c byte loops):%s = %d B; libgcc:%s = %d B;", \
                      rn == "" ? " none" : rn, r, gl == "" ? " none" : gl, g
               printf " the program itself %d B; padding %d B\n", mn, pad }' "$1"
}

# --- Totals, the biggest contributors, budgets.
budget() { awk -v k="$1" '$1 == k { print $2 }' "$here/budget.txt"; }
over=0
check() { # label value budget
    if [ -n "$3" ] && [ "$2" -gt "$3" ]; then
        echo "  -> $1: $2 bytes, budget $3: OVER by $(($2 - $3))"
        over=1
    elif [ -n "$3" ]; then
        echo "  -> $1: $2 bytes, budget $3: ok ($(($3 - $2)) to spare)"
    fi
}
probe() { # nm object symbol
    v=$("$1" -S "$2" | awk -v s="$3" '$4 == s { print $2 }')
    printf '%d' "0x$v"
}
for p in everything minimal everything-nostr server client inflate minimal-noext server-noext \
    client-noext; do
    total=$(lib_total "$out/$p.sections")
    echo "$p: library $total bytes"
    echo "  ${CROSS}size of the whole program: $("${CROSS}size" "$out/$p.elf" | awk 'NR == 2 {
        printf "text %d data %d bss %d", $1, $2, $3 }')"
    echo "  not counted: $(extras "$out/$p.sections")"
    n=12
    case $p in everything-nostr | server* | client* | inflate | *-noext) n=0 ;; esac
    if [ "$n" -gt 0 ]; then
        echo "  biggest symbols:"
        lib_rows "$out/$p.sections" | awk '$1 != "bss" { print $2, $1, $3, $4 }' |
            sort -k1,1nr | head -n "$n" |
            awk '{ printf "    %6d  %-6s %-20s %s\n", $1, $2, $3, $4 }'
    fi
    case $p in
    everything) echo "  (the \"everything\" budget applies to everything-nostr, below)" ;;
    minimal) check "minimal engine" "$total" "$(budget minimal)" ;;
    minimal-noext)
        check "minimal engine, WICK_NO_EXTENSIONS" "$total" "$(budget minimal_noext)" ;;
    everything-nostr)
        check "everything, firmware build (WICK_NO_ERR_STRINGS)" "$total" "$(budget everything)" ;;
    inflate)
        echo "  state: sizeof(wick__inflater) $(probe "${CROSS}nm" "$out/inflate.main.o" \
            size_inflater_state) bytes on the target, plus the window (2^bits bytes)"
        check "wick's inflater" "$total" "$(budget inflate)" ;;
    esac
    echo
done

# --- sizeof the state structs, host and target (nm -S of probe.c).
"$HOSTCC" -std=c99 -Iinclude -c "$here/probe.c" -o "$out/probe-host.o"
"${CROSS}gcc" $TFLAGS -Iinclude -c "$here/probe.c" -o "$out/probe-target.o"
host_arch=$("$HOSTCC" -dumpmachine | cut -d- -f1)
printf '%-22s %8s %8s\n' "sizeof" "$host_arch" "cortex-m0+"
for s in conn hs_request hs_client frame_parser; do
    printf '%-22s %8d %8d\n' "wick_$s" "$(probe nm "$out/probe-host.o" "wick_size_$s")" \
        "$(probe "${CROSS}nm" "$out/probe-target.o" "wick_size_$s")"
done
conn_host=$(probe nm "$out/probe-host.o" wick_size_conn)
if [ "$host_arch" = x86_64 ]; then
    check "sizeof(wick_conn) on x86-64" "$conn_host" "$(budget sizeof_conn_x86_64)"
fi

if [ "$over" = 1 ]; then
    if [ "${SIZE_CHECK:-0}" = 1 ]; then
        echo "size: over budget (tests/size/budget.txt)" >&2
        exit 1
    fi
    echo "size: over budget (report only; SIZE_CHECK=1 makes this fail)"
fi
exit 0
