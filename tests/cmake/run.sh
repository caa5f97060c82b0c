#!/bin/sh
# CMake test (make test-cmake): builds and installs wick with its
# CMakeLists.txt, then builds tests/cmake/consumer twice, through
# find_package(wick) against the install (static and shared programs) and
# through add_subdirectory(), and runs every program it built; then builds
# the library for a Cortex-M0+ (static only).
# Usage: tests/cmake/run.sh [BUILD]   (work in BUILD/cmake)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "${1:-build}"
work=$(cd "${1:-build}" && pwd)/cmake
rm -rf "$work"
mkdir -p "$work"
gen=""
command -v ninja >/dev/null 2>&1 && gen="-G Ninja"
log=$work/log.txt
step() { # name command...: runs quietly, shows the log on failure
    name=$1
    shift
    if ! "$@" >>"$log" 2>&1; then
        echo "cmake test: $name failed:"
        tail -n 40 "$log"
        exit 1
    fi
}
step "configure wick" cmake $gen -S "$root" -B "$work/wick" -DCMAKE_BUILD_TYPE=Release \
    -DWICK_WERROR=ON -DCMAKE_INSTALL_PREFIX="$work/prefix"
step "build wick" cmake --build "$work/wick" -j 2
step "install wick" cmake --install "$work/wick"
for f in include/wick.h lib/libwick.a lib/cmake/wick/wickConfig.cmake \
    lib/cmake/wick/wickConfigVersion.cmake lib/pkgconfig/wick.pc; do
    [ -e "$work/prefix/$f" ] || { echo "cmake test: install is missing $f"; exit 1; }
done
ls "$work"/prefix/lib/libwick.so* >/dev/null 2>&1 || { echo "cmake test: no libwick.so"; exit 1; }
step "configure consumer (find_package)" cmake $gen -S "$root/tests/cmake/consumer" \
    -B "$work/pkg" -DCMAKE_PREFIX_PATH="$work/prefix"
step "build consumer (find_package)" cmake --build "$work/pkg" -j 2
step "configure consumer (add_subdirectory)" cmake $gen -S "$root/tests/cmake/consumer" \
    -B "$work/sub" -DWICK_SOURCE_DIR="$root" -DWICK_BUILD_SHARED=OFF
step "build consumer (add_subdirectory)" cmake --build "$work/sub" -j 2
# Cross: a bare-metal target (CMAKE_SYSTEM_NAME Generic) gets the static
# library only, warning-free.
step "configure wick for Cortex-M0+" cmake $gen -S "$root" -B "$work/m0plus" \
    -DCMAKE_SYSTEM_NAME=Generic -DCMAKE_C_COMPILER=arm-none-eabi-gcc \
    -DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DCMAKE_C_FLAGS="-mcpu=cortex-m0plus -mthumb -ffreestanding" -DWICK_WERROR=ON
step "build wick for Cortex-M0+" cmake --build "$work/m0plus" -j 2
[ -e "$work/m0plus/libwick.a" ] && ! ls "$work"/m0plus/libwick.so* >/dev/null 2>&1 || {
    echo "cmake test: the Cortex-M0+ build should make libwick.a only"
    exit 1
}
pass=1
for prog in pkg/consumer pkg/consumer_shared sub/consumer; do
    out=$("$work/$prog" 2>&1) || { echo "cmake test: $prog failed: $out"; exit 1; }
    [ "$out" = ok ] || { echo "cmake test: $prog printed: $out"; exit 1; }
    pass=$((pass + 1))
done
echo "cmake: $pass passed, 0 failed (Cortex-M0+ static build; find_package static + shared;" \
    "add_subdirectory)"
