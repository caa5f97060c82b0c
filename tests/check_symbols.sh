#!/bin/sh
# check-symbols: proves with nm that a static libwick exports only wick_
# names, defines no writable globals, and imports nothing but the mem*
# functions (no malloc, stdio, time or rand) in the default build. The one
# exception is the optional zlib backend of permessage-deflate
# (WICK_ZLIB): wick_pmd_zlib.o, and only it, may call zlib's deflate* and
# inflate* (zlib allocates through the arena hook it is given, never
# malloc: its zalloc/zfree are set in that file).
set -eu
lib=$1
fail=0
bad=$(nm -g --defined-only "$lib" | awk 'NF==3 {print $3}' | grep -v '^wick_' || true)
if [ -n "$bad" ]; then echo "check-symbols: exported non-wick_ names:"; echo "$bad"; fail=1; fi
# Objects in .data/.bss (or common) are writable. .data.rel.ro holds const
# tables of pointers in a PIE build: relocated at load, then read-only (RELRO).
wr=$(objdump -t "$lib" | awk '$3=="O" && ($4 ~ /^\.(data|bss)/ || $4=="*COM*") && $4 !~ /^\.data\.rel\.ro/ {print $4, $NF}' || true)
if [ -n "$wr" ]; then echo "check-symbols: writable globals:"; echo "$wr"; fail=1; fi
imp=$(nm -A -u "$lib" | awk '{obj=$1; sym=$NF; n=split(obj, p, ":"); o=p[n-1]}
        !(o ~ /wick_pmd_zlib\.o$/ && sym ~ /^(deflate|inflate)[A-Za-z0-9_]*$/) {print sym}' |
      sort -u | grep -v -x -e memcpy -e memmove -e memset -e memcmp \
      -e '_GLOBAL_OFFSET_TABLE_' -e '__stack_chk_fail' \
      -e '__cpu_model' || true)
# __cpu_model: the compiler runtime's (libgcc / compiler-rt) CPU feature
# record, read by __builtin_cpu_supports("avx2") in src/wick_mask.c and
# src/wick_utf8.c to pick the SIMD path at run time (read only; not ours).
# Symbols defined elsewhere in the same archive are not imports.
defs=$(nm -g --defined-only "$lib" | awk 'NF==3 {print $3}' | sort -u)
ext=""
for s in $imp; do echo "$defs" | grep -qx "$s" || ext="$ext $s"; done
if [ -n "$ext" ]; then echo "check-symbols: imports beyond mem*:$ext"; fail=1; fi
if [ $fail = 0 ]; then
    n=$(echo "$defs" | wc -l)
    z=$(nm -A -u "$lib" | grep -c 'wick_pmd_zlib\.o:.* U \(deflate\|inflate\)' || true)
    echo "check-symbols: OK ($n wick_ symbols, no writable globals, imports: mem* only, plus $z zlib functions in wick_pmd_zlib.o)"
fi
exit $fail
