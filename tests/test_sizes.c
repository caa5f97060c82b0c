/* Size guard for the caller-owned state structs (house style 3.10): prints
 * sizeof of each and fails above the budget kept here, so growth becomes
 * a reviewed diff. Budgets are for LP64 (x86-64); 32-bit targets are
 * smaller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "wick.h"

struct size_budget {
    const char *name;
    size_t size;
    size_t budget;
};

static void test_sizes(void **state)
{
    (void)state;
    const struct size_budget sizes[] = {
        /* Pointers and buffer bookkeeping, limits, the current frame's
         * length and key; no copies of frames (issue 10: at most 256). */
        {"wick_conn", sizeof(wick_conn), 256},
        {"wick_frame_parser", sizeof(wick_frame_parser), 80},
        {"wick_utf8", sizeof(wick_utf8), 8},
        /* WICK_MAX_HEADERS views plus protocols/extensions. */
        {"wick_hs_request", sizeof(wick_hs_request), 4096},
        {"wick_hs_client", sizeof(wick_hs_client), 4096},
    };
    int over = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        printf("  sizeof(%s) = %zu (budget %zu)\n", sizes[i].name, sizes[i].size, sizes[i].budget);
        if (sizes[i].size > sizes[i].budget) {
            printf("  %s is over its budget\n", sizes[i].name);
            over++;
        }
    }
    assert_int_equal(over, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests_name("sizes", tests, NULL, NULL);
}
