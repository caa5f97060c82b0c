/* Linked into the unit tests that run under qemu-user (tests/firmware/
 * multiarch.sh) through LDFLAGS, so no test file changes: before main()
 * runs, it hands WICK_TEST_SKIP (a cmocka name pattern) to
 * cmocka_set_skip_filter(). multiarch.sh uses it for the one test that
 * takes most of a minute under emulation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

__attribute__((constructor)) static void skip_from_env(void)
{
    const char *p = getenv("WICK_TEST_SKIP");
    if (p != NULL && *p != '\0') {
        cmocka_set_skip_filter(p);
    }
}
