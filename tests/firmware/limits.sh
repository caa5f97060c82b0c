#!/bin/sh
# Config safety (make test-limits): the one-file library (make
# amalgamation) and tests/firmware/limits_app.c, built together with the
# default, the smallest and the largest limits, parse exactly what those
# limits allow; a program built with other limits than its library's does
# not link, and the undefined reference names the limits it wanted.
# Usage: tests/firmware/limits.sh AMALGAMATION_DIR WORK_DIR "MIN FLAGS" "MAX FLAGS"
set -eu
amalg=$1
mkdir -p "$2"
work=$(cd "$2" && pwd)
app=tests/firmware/limits_app.c
flags="-std=c99 -O1 -Wall -Wextra -Werror -I$amalg"
run() { # name defines
    # The library's warnings are checked by make test-amalgamation; this
    # compiles it as a user would (gcc's -O1 maybe-uninitialized guesses
    # across the old file boundaries are not this test's subject).
    cc -std=c99 -O1 -I"$amalg" $2 -c "$amalg/wick.c" -o "$work/wick-$1.o"
    cc $flags $2 "$app" "$work/wick-$1.o" -o "$work/app-$1"
    "$work/app-$1"
}
run default ""
run min "$3"
run max "$4"
# WICK_CONFIG_FILE with the default values links with the default library.
cat > "$work/same.h" <<'H'
#define WICK_MAX_HEADERS    32
#define WICK_MAX_EXT_PARAMS 6
H
cc $flags -DWICK_CONFIG_FILE="\"$work/same.h\"" "$app" "$work/wick-default.o" -o "$work/app-same"
"$work/app-same" >/dev/null
if cc $flags -DWICK_MAX_HEADERS=16 "$app" "$work/wick-default.o" -o "$work/app-16" \
    >"$work/link.log" 2>&1; then
    echo "limits: a program built with WICK_MAX_HEADERS=16 linked with a library built with 32"
    exit 1
fi
ref=$(grep -o 'undefined reference to .wick_hs_[a-z_]*__limits_h16_p8_e8_x6.' "$work/link.log" |
    head -n 1)
[ -n "$ref" ] || {
    echo "limits: the link failed, but not on the limits:"
    cat "$work/link.log"
    exit 1
}
echo "limits: WICK_CONFIG_FILE with the same values links; WICK_MAX_HEADERS=16 against 32: $ref"
