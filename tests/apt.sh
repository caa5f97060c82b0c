# shellcheck shell=sh
# Sourced by the scripts that check what a build or test needs (the deps.sh
# scripts, tests/size/size.sh): one way to get missing Debian packages.
#
#   apt_install WHO "PACKAGES"
#
# Does nothing when PACKAGES is empty. As root with apt-get, installs them:
# first from the package lists already there (quick when the machine has
# them), and after `apt-get update` if that fails, as it does on a fresh
# machine. Anyone else gets the exact commands to run, and the script
# exits 1. Optional, set by the caller:
#   APT_ARCHES  foreign architectures the packages need (Debian multiarch:
#               added with dpkg --add-architecture, lists updated first)
#   APT_FLAGS   extra apt-get install flags (e.g. --no-install-recommends)

apt_install() {
    apt_who=$1
    apt_need=$2
    [ -n "$apt_need" ] || return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "$apt_who: installing$apt_need"
        for a in ${APT_ARCHES:-}; do
            dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
        done
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086 # lists of words on purpose
        if [ -n "${APT_ARCHES:-}" ] ||
            ! apt-get install -y -qq ${APT_FLAGS:-} $apt_need >/dev/null 2>&1; then
            # A list that fails to download is not fatal if the packages
            # resolve from the others.
            apt-get update -qq >/dev/null 2>&1 || true
            # shellcheck disable=SC2086
            apt-get install -y -qq ${APT_FLAGS:-} $apt_need >/dev/null || {
                echo "$apt_who: apt-get install$apt_need failed" >&2
                exit 1
            }
        fi
        return 0
    fi
    echo "$apt_who: missing Debian packages. Run:" >&2
    for a in ${APT_ARCHES:-}; do echo "  sudo dpkg --add-architecture $a" >&2; done
    [ -z "${APT_ARCHES:-}" ] || echo "  sudo apt-get update" >&2
    echo "  sudo apt-get install -y${APT_FLAGS:+ $APT_FLAGS}$apt_need" >&2
    exit 1
}
