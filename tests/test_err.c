/* The status table (WICK_ERR_MAP): every row's name, message, close code,
 * HTTP status and sign, and values that are not in the table. Built twice:
 * as test_err against the default library, and as test_err_nostr with
 * src/wick_err.c compiled with WICK_NO_ERR_STRINGS, where names and
 * messages are one per group and everything else must be unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wick.h"

static const struct row {
    int value;
    uint16_t close;
    const char *name;
    const char *msg;
} rows[] = {
#define ROW(name, value, close, msg) {(value), (close), "WICK_" #name, msg},
    WICK_ERR_MAP(ROW)
#undef ROW
};
#define NROWS (sizeof rows / sizeof rows[0])

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The HTTP status a server answers a failed handshake with, from the
 * error's name: RFC 6455 4.4 (426 with the versions spoken), RFC 6585 5
 * (431 for header fields too large), RFC 9110 15.5.1 (400 otherwise). */
static int want_http(const struct row *r)
{
    if (strcmp(r->name, "WICK_ERR_HS_VERSION") == 0) {
        return 426;
    }
    if (strcmp(r->name, "WICK_ERR_HS_TOO_LARGE") == 0 ||
        strcmp(r->name, "WICK_ERR_HS_TOO_MANY_HEADERS") == 0) {
        return 431;
    }
    return starts_with(r->name, "WICK_ERR_HS_") ? 400 : 0;
}

/* The close code the engine sends (RFC 6455 7.4.1), from the name. */
static uint16_t want_close(const struct row *r)
{
    if (starts_with(r->name, "WICK_ERR_PROTO_")) {
        return 1002;
    }
    if (strcmp(r->name, "WICK_ERR_UTF8") == 0 || strcmp(r->name, "WICK_ERR_INFLATE") == 0) {
        return 1007; /* invalid compressed data: as Node ws answers it */
    }
    if (strcmp(r->name, "WICK_ERR_TOO_BIG") == 0 ||
        strcmp(r->name, "WICK_ERR_FRAME_TOO_BIG") == 0 ||
        strcmp(r->name, "WICK_ERR_INFLATE_RATIO") == 0) {
        return 1009;
    }
    return r->value <= -500 && r->value > -600 ? 1011 : 0;
}

#ifdef WICK_NO_ERR_STRINGS
/* The group name and message of a known value (see wick.h). */
static void group_of(const struct row *r, const char **name, const char **msg)
{
    int v = r->value;
    if (v == 0) {
        *name = "WICK_OK";
        *msg = "success";
    } else if (v > 0) {
        *name = "WICK_STATUS";
        *msg = "status (not an error)";
    } else if (v > -200) {
        *name = "WICK_ERR_API";
        *msg = "API misuse";
    } else if (v > -300) {
        *name = "WICK_ERR_HS";
        *msg = "handshake error";
    } else if (v > -400) {
        *name = "WICK_ERR_PROTO";
        *msg = "protocol error (1002)";
    } else if (v > -500 && r->close == 1007) {
        *name = "WICK_ERR_PAYLOAD_1007";
        *msg = "invalid payload data (1007)";
    } else if (v > -500) {
        *name = "WICK_ERR_PAYLOAD_1009";
        *msg = "message too big (1009)";
    } else {
        *name = "WICK_ERR_ENV";
        *msg = "environment error (1011)";
    }
}
#endif

/* Every row: close code, HTTP status, sign, name and message. */
static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        const struct row *r = &rows[i];
        wick_err e = (wick_err)r->value;
        if (wick_err_close_code(e) != r->close || r->close != want_close(r)) {
            fail_msg("%s: close code %u, table %u, want %u", r->name, wick_err_close_code(e),
                     r->close, want_close(r));
        }
        if (wick_err_http_status(e) != want_http(r)) {
            fail_msg("%s: HTTP status %d, want %d", r->name, wick_err_http_status(e), want_http(r));
        }
        assert_int_equal(wick_err_is_error(e), r->value < 0);
        const char *name = r->name;
        const char *msg = r->msg;
#ifdef WICK_NO_ERR_STRINGS
        group_of(r, &name, &msg);
#endif
        if (strcmp(wick_err_name(e), name) != 0 || strcmp(wick_strerror(e), msg) != 0) {
            fail_msg("%s: got \"%s\" / \"%s\", want \"%s\" / \"%s\"", r->name, wick_err_name(e),
                     wick_strerror(e), name, msg);
        }
        /* Static strings: the same pointer every time. */
        assert_ptr_equal(wick_err_name(e), wick_err_name(e));
        assert_ptr_equal(wick_strerror(e), wick_strerror(e));
    }
}

/* The table itself: unique names and values, non-empty messages, values
 * grouped as wick.h says, and close codes only on errors. */
static void test_table(void **state)
{
    (void)state;
    assert_true(NROWS > 40);
    for (size_t i = 0; i < NROWS; i++) {
        assert_true(rows[i].msg[0] != '\0');
        assert_true(rows[i].value >= -599 && rows[i].value < 100);
        assert_true(rows[i].close == 0 || rows[i].value <= -300);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(rows[i].value, rows[j].value);
            assert_true(strcmp(rows[i].name, rows[j].name) != 0);
        }
    }
    assert_int_equal(WICK_OK, 0);
    assert_string_equal(rows[0].name, "WICK_OK");
}

/* Values that are not in the table, next to ones that are. */
static void test_unknown(void **state)
{
    (void)state;
    static const int values[] = {-1,   -99,  -105,  -199,   -218,  -250,   -299,
                                 -310, -399, -405,  -499,   -504,  -599,   -600,
                                 100,  1000, 32767, -32768, 65436, -65836, 0x7FFFFFFF};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        wick_err e = (wick_err)values[i];
        for (size_t j = 0; j < NROWS; j++) {
            assert_int_not_equal(rows[j].value, values[i]);
        }
        assert_string_equal(wick_err_name(e), "WICK_UNKNOWN");
        assert_string_equal(wick_strerror(e), "unknown status");
        assert_int_equal(wick_err_close_code(e), 0);
        assert_int_equal(wick_err_is_error(e), values[i] < 0);
        /* Anything in the handshake range is answered with 400. */
        int want = (values[i] <= -200 && values[i] > -300) ? 400 : 0;
        assert_int_equal(wick_err_http_status(e), want);
    }
}

/* The reject answer carries the status and wick_strerror() as its body. */
static void test_reject(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        wick_err e = (wick_err)rows[i].value;
        int status = wick_err_http_status(e);
        if (status == 0) {
            continue;
        }
        char out[512];
        size_t n = 0;
        assert_int_equal(wick_hs_server_reject(e, out, sizeof out, &n), WICK_OK);
        char line[32];
        snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
        assert_true(n > strlen(line) && memcmp(out, line, strlen(line)) == 0);
        const char *msg = wick_strerror(e);
        size_t ml = strlen(msg);
        assert_true(n > ml);
        assert_memory_equal(out + n - ml, msg, ml);
        assert_memory_equal(out + n - ml - 4, "\r\n\r\n", 4);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_reject),
    };
#ifdef WICK_NO_ERR_STRINGS
    return cmocka_run_group_tests_name("err (WICK_NO_ERR_STRINGS)", tests, NULL, NULL);
#else
    return cmocka_run_group_tests_name("err", tests, NULL, NULL);
#endif
}
