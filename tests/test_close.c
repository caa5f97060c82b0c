/* Close code rules (RFC 6455 7.4.1, 7.4.2 and the IANA registry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "wick.h"

static const struct {
    uint16_t code;
    bool valid;
    const char *why;
} rows[] = {
    {0, false, "7.4.2: 0-999 not used"},
    {999, false, "7.4.2: 0-999 not used"},
    {1000, true, "7.4.1 normal closure"},
    {1001, true, "7.4.1 going away"},
    {1002, true, "7.4.1 protocol error"},
    {1003, true, "7.4.1 unsupported data"},
    {1004, false, "7.4.1 reserved"},
    {1005, false, "7.4.1 no status: MUST NOT be sent"},
    {1006, false, "7.4.1 abnormal: MUST NOT be sent"},
    {1007, true, "7.4.1 invalid payload data"},
    {1008, true, "7.4.1 policy violation"},
    {1009, true, "7.4.1 message too big"},
    {1010, true, "7.4.1 mandatory extension"},
    {1011, true, "7.4.1 internal error (IANA)"},
    {1012, true, "IANA service restart"},
    {1013, true, "IANA try again later"},
    {1014, true, "IANA bad gateway"},
    {1015, false, "7.4.1 TLS handshake: MUST NOT be sent"},
    {1016, false, "7.4.2: 1000-2999 reserved for future RFCs"},
    {2999, false, "7.4.2: 1000-2999 reserved for future RFCs"},
    {3000, true, "7.4.2: 3000-3999 libraries, frameworks"},
    {3999, true, "7.4.2: 3000-3999 libraries, frameworks"},
    {4000, true, "7.4.2: 4000-4999 private use"},
    {4999, true, "7.4.2: 4000-4999 private use"},
    {5000, false, "7.4.2: above 4999 undefined"},
    {65535, false, "7.4.2: above 4999 undefined"},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (wick_close_code_valid(rows[i].code) != rows[i].valid) {
            fail_msg("code %u (%s): want %s", rows[i].code, rows[i].why,
                     rows[i].valid ? "valid" : "invalid");
        }
    }
}

/* Over all 65536 values exactly 1000-1003, 1007-1014 and 3000-4999 are
 * valid: 4 + 8 + 2000 codes. */
static void test_count(void **state)
{
    (void)state;
    unsigned n = 0;
    for (uint32_t c = 0; c <= 0xFFFF; c++) {
        n += wick_close_code_valid((uint16_t)c) ? 1u : 0u;
    }
    assert_int_equal(n, 2012);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_count),
    };
    return cmocka_run_group_tests_name("close", tests, NULL, NULL);
}
