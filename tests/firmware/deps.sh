#!/bin/sh
# Makes sure the Debian packages of the firmware tests are installed:
#   arm      gcc-arm-none-eabi + newlib headers (make cross, make size,
#            the bare-metal test)
#   qemu     qemu-system-arm (the emulated Cortex-M board)
#   multi    qemu-user, the s390x and armhf cross compilers and cmocka for
#            both architectures (Debian multiarch: dpkg --add-architecture)
#   cmake    cmake
# Missing packages: tests/apt.sh (installed as root, else the commands).
# Usage: tests/firmware/deps.sh arm|qemu|multi|cmake ...
set -eu
. "$(dirname "$0")/../apt.sh"
need=""
arches=""
has() { command -v "$1" >/dev/null 2>&1; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
for what in "$@"; do
    case $what in
    arm)
        has arm-none-eabi-gcc || need="$need gcc-arm-none-eabi"
        pkg_ok libnewlib-arm-none-eabi || need="$need libnewlib-arm-none-eabi"
        ;;
    qemu) has qemu-system-arm || need="$need qemu-system-arm" ;;
    multi)
        has qemu-s390x || need="$need qemu-user"
        has s390x-linux-gnu-gcc || need="$need gcc-s390x-linux-gnu"
        has arm-linux-gnueabihf-gcc || need="$need gcc-arm-linux-gnueabihf"
        for a in s390x armhf; do
            pkg_ok "libcmocka-dev:$a" || { need="$need libcmocka-dev:$a"; arches="$arches $a"; }
        done
        ;;
    cmake) has cmake || need="$need cmake" ;;
    *) echo "tests/firmware/deps.sh: unknown group $what" >&2; exit 2 ;;
    esac
done
APT_ARCHES=$arches apt_install tests/firmware/deps.sh "$need"
