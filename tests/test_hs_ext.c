/* Sec-WebSocket-Extensions grammar (RFC 6455 9.1, lists and quoting per
 * RFC 9110 5.6) and wick_str_unquote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/split.h"
#include "vectors/hs_trace.h"
#include "wick.h"

struct ext_case {
    const char *in;
    wick_err want;
    const char *render; /* hs_trace_exts() of the result when WICK_OK */
};

static const struct ext_case ext_cases[] = {
    /* RFC 6455 9.1 examples. */
    {"foo", WICK_OK, " exts=[foo]"},
    {"foo, bar; baz=2", WICK_OK, " exts=[foo,bar;baz=2]"},
    {"mux; max-channels=4; flow-control, deflate-stream", WICK_OK,
     " exts=[mux;max-channels=4;flow-control,deflate-stream]"},
    {"private-extension", WICK_OK, " exts=[private-extension]"},
    /* RFC 7692 offers. */
    {"permessage-deflate; client_max_window_bits; server_max_window_bits=10", WICK_OK,
     " exts=[permessage-deflate;client_max_window_bits;server_max_window_bits=10]"},
    {"permessage-deflate; client_max_window_bits=\"15\"", WICK_OK,
     " exts=[permessage-deflate;client_max_window_bits=\"15\"]"},
    /* OWS everywhere it may be, empty list elements ignored. */
    {"  a ;\tb = c ;d= \"e\" , , f  ", WICK_OK, " exts=[a;b=c;d=\"e\",f]"},
    {",a,,", WICK_OK, " exts=[a]"},
    /* Escapes stay in the view (unescaped "1\0" is still a token). */
    {"a; q=\"1\\0\"", WICK_OK, " exts=[a;q=\"1\\x5c0\"]"},
    {"a;b;c;d;e;f;g", WICK_OK, " exts=[a;b;c;d;e;f;g]"},
    {"a,b,c,d,e,f,g,h", WICK_OK, " exts=[a,b,c,d,e,f,g,h]"},
    /* Malformed. */
    {"", WICK_ERR_HS_EXTENSION, NULL},
    {"  ", WICK_ERR_HS_EXTENSION, NULL},
    {",", WICK_ERR_HS_EXTENSION, NULL},
    {";", WICK_ERR_HS_EXTENSION, NULL},
    {"a;", WICK_ERR_HS_EXTENSION, NULL},
    {"a; =1", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b=", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b==1", WICK_ERR_HS_EXTENSION, NULL},
    {"a b", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b c", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b=\"1", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b=\"1\\", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b=\"\"", WICK_ERR_HS_EXTENSION, NULL},    /* empty is not a token */
    {"a; b=\"x y\"", WICK_ERR_HS_EXTENSION, NULL}, /* unescaped must be a token */
    {"a; b=\"x\"y", WICK_ERR_HS_EXTENSION, NULL},
    {"a; b=x\"y\"", WICK_ERR_HS_EXTENSION, NULL},
    {"a@b", WICK_ERR_HS_EXTENSION, NULL},
    {"\"a\"", WICK_ERR_HS_EXTENSION, NULL},
    {"a\r\n", WICK_ERR_HS_EXTENSION, NULL},
    {"a;b\x01", WICK_ERR_HS_EXTENSION, NULL},
    /* Over the capacity. */
    {"a;b;c;d;e;f;g;h", WICK_ERR_HS_TOO_MANY_HEADERS, NULL},
    {"a,b,c,d,e,f,g,h,i", WICK_ERR_HS_TOO_MANY_HEADERS, NULL},
};

static void test_ext_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        const struct ext_case *c = &ext_cases[i];
        wick_ext ext[WICK_MAX_EXTENSIONS];
        size_t count = 0;
        /* Copied to an exact-size block so ASan sees any over-read. */
        size_t len = strlen(c->in);
        char *in = malloc(len + 1);
        assert_non_null(in);
        memcpy(in, c->in, len);
        wick_err e = wick_ext_parse(in, len, ext, WICK_MAX_EXTENSIONS, &count);
        if (e != c->want) {
            print_error("case \"%s\": got %s want %s\n", c->in, wick_err_name(e),
                        wick_err_name(c->want));
        }
        assert_int_equal(e, c->want);
        if (e == WICK_OK) {
            split_buf b = {0};
            hs_trace_exts(&b, ext, count);
            assert_string_equal(split_buf_str(&b), c->render);
            split_buf_free(&b);
        } else {
            assert_int_equal(count, 0); /* untouched on error */
        }
        free(in);
    }
}

/* Several header fields append to one array (RFC 9110 5.3). */
static void test_ext_append(void **state)
{
    (void)state;
    wick_ext ext[3];
    size_t count = 0;
    assert_int_equal(wick_ext_parse("a, b", 4, ext, 3, &count), WICK_OK);
    assert_int_equal(count, 2);
    assert_int_equal(wick_ext_parse("c", 1, ext, 3, &count), WICK_OK);
    assert_int_equal(count, 3);
    assert_memory_equal(ext[2].name.ptr, "c", 1);
    assert_int_equal(wick_ext_parse("d", 1, ext, 3, &count), WICK_ERR_HS_TOO_MANY_HEADERS);
    assert_int_equal(count, 3);
    /* A failing field leaves the count where it was. */
    count = 1;
    assert_int_equal(wick_ext_parse("x, ;", 4, ext, 3, &count), WICK_ERR_HS_EXTENSION);
    assert_int_equal(count, 1);
    assert_int_equal(wick_ext_parse("x", 1, ext, 3, NULL), WICK_ERR_ARG);
    count = 4;
    assert_int_equal(wick_ext_parse("x", 1, ext, 3, &count), WICK_ERR_ARG);
    /* Parameter fields. */
    count = 0;
    const char *v = "x; a; b=1; c=\"q\\\"\"";
    assert_int_equal(wick_ext_parse(v, strlen(v), ext, 3, &count), WICK_ERR_HS_EXTENSION);
    v = "x; a; b=1; c=\"q\\-\"";
    assert_int_equal(wick_ext_parse(v, strlen(v), ext, 3, &count), WICK_OK);
    assert_int_equal(ext[0].num_params, 3);
    assert_false(ext[0].params[0].has_value);
    assert_null(ext[0].params[0].value.ptr);
    assert_true(ext[0].params[1].has_value);
    assert_false(ext[0].params[1].quoted);
    assert_true(ext[0].params[2].quoted);
    assert_int_equal(ext[0].params[2].value.len, 3);
    char un[8];
    size_t un_len = 0;
    assert_int_equal(wick_str_unquote(ext[0].params[2].value, un, sizeof un, &un_len), WICK_OK);
    assert_int_equal(un_len, 2);
    assert_memory_equal(un, "q-", 2);
}

struct unquote_case {
    const char *in;
    const char *out;
};

static const struct unquote_case unquote_cases[] = {
    {"", ""},           {"abc", "abc"},     {"a\\\"b", "a\"b"},
    {"\\\\", "\\"},     {"\\a\\b", "ab"},   {"x\\", "x\\"}, /* lone trailing backslash kept */
};

static void test_unquote(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof unquote_cases / sizeof unquote_cases[0]; i++) {
        const struct unquote_case *c = &unquote_cases[i];
        wick_str s = {c->in, strlen(c->in)};
        char out[16];
        size_t n = 99;
        assert_int_equal(wick_str_unquote(s, out, sizeof out, &n), WICK_OK);
        assert_int_equal(n, strlen(c->out));
        assert_memory_equal(out, c->out, n);
        if (n > 0) {
            assert_int_equal(wick_str_unquote(s, out, n - 1, &n), WICK_ERR_BUFFER_TOO_SMALL);
        }
    }
    wick_str s = {"a", 1};
    assert_int_equal(wick_str_unquote(s, NULL, 0, NULL), WICK_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ext_table),
        cmocka_unit_test(test_ext_append),
        cmocka_unit_test(test_unquote),
    };
    return cmocka_run_group_tests_name("hs_ext", tests, NULL, NULL);
}
