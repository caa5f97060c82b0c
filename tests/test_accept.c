/* Sec-WebSocket-Accept (RFC 6455 1.3 and 4.2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wick.h"

struct accept_case {
    const char *key;
    const char *accept;
};

static const struct accept_case accept_cases[] = {
    /* RFC 6455 1.3 (and 4.2.2's worked example). */
    {"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
    /* RFC 6455 4.1's nonce is the same; other keys computed with
     * `printf "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11" KEY | openssl sha1 -binary | base64`. */
    {"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="},
    {"AQIDBAUGBwgJCgsMDQ4PEC==", "OfS0wDaT5NoxF2gqm7Zj2YtetzM="},
    {"", "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="},
};

static void test_accept_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        char out[WICK_ACCEPT_LEN + 1];
        memset(out, '#', sizeof out);
        const char *k = accept_cases[i].key;
        assert_int_equal(wick_accept_key(k, strlen(k), out), WICK_OK);
        assert_memory_equal(out, accept_cases[i].accept, WICK_ACCEPT_LEN);
        assert_int_equal(out[WICK_ACCEPT_LEN], '#'); /* no NUL, no overrun */
    }
}

static void test_accept_limits(void **state)
{
    (void)state;
    char key[65];
    char out[WICK_ACCEPT_LEN];
    memset(key, 'A', sizeof key);
    assert_int_equal(wick_accept_key(key, 64, out), WICK_OK);
    assert_int_equal(wick_accept_key(key, 65, out), WICK_ERR_ARG);
    assert_int_equal(wick_accept_key(NULL, 4, out), WICK_ERR_ARG);
    assert_int_equal(wick_accept_key(key, 4, NULL), WICK_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_vectors),
        cmocka_unit_test(test_accept_limits),
    };
    return cmocka_run_group_tests_name("accept", tests, NULL, NULL);
}
