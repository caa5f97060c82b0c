#!/bin/sh
# Makes sure the Debian packages of the firmware tests are installed:
#   arm      gcc-arm-none-eabi + newlib headers (make cross, make size,
#            the bare-metal test)
#   qemu     qemu-system-arm (the emulated Cortex-M board)
#   multi    qemu-user, the s390x and armhf cross compilers and cmocka for
#            both architectures (Debian multiarch: dpkg --add-architecture)
#   cmake    cmake
# As root it installs what is missing with apt-get; otherwise it prints the
# exact commands and fails.
# Usage: tests/firmware/deps.sh arm|qemu|multi|cmake ...
set -eu
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
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && has apt-get; then
    echo "tests/firmware/deps.sh: installing$need"
    for a in $arches; do
        dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
    done
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine (or a new architecture) needs the package lists first;
    # a list that fails to download is not fatal if the packages resolve.
    if [ -n "$arches" ] || ! apt-get install -y -qq $need >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        apt-get install -y -qq $need >/dev/null || {
            echo "tests/firmware/deps.sh: apt-get install$need failed" >&2
            exit 1
        }
    fi
    exit 0
fi
echo "missing firmware test dependencies. Run:" >&2
for a in $arches; do echo "  sudo dpkg --add-architecture $a" >&2; done
[ -n "$arches" ] && echo "  sudo apt-get update" >&2
echo "  sudo apt-get install -y$need" >&2
exit 1
