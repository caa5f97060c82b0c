/* HTTP helpers: comma lists (RFC 9110 5.6.1), header lookup, reason
 * phrases and plain responses (RFC 9112 4, RFC 9110 15). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wick.h"
#include "wick_http.h"

struct list_case {
    const char *list;
    const char *items; /* the elements joined with '|' */
};

static const struct list_case list_cases[] = {
    {"", ""},
    {"a", "a"},
    {"keep-alive, Upgrade", "keep-alive|Upgrade"},
    {" ,\t, a ,, b\t,", "a|b"},
    {"a b, c", "a b|c"},
    {",,,", ""},
};

static void test_list_next(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof list_cases / sizeof list_cases[0]; i++) {
        wick_str list = {list_cases[i].list, strlen(list_cases[i].list)};
        char joined[64] = "";
        size_t pos = 0, jl = 0;
        wick_str tok;
        while (wick_list_next(list, &pos, &tok)) {
            jl += (size_t)snprintf(joined + jl, sizeof joined - jl, "%s%.*s", jl ? "|" : "",
                                   (int)tok.len, tok.ptr);
        }
        assert_string_equal(joined, list_cases[i].items);
        assert_int_equal(pos, list.len);
        assert_false(wick_list_next(list, &pos, &tok)); /* stays at the end */
    }
    wick_str tok;
    wick_str none = {NULL, 0};
    size_t pos = 0;
    assert_false(wick_list_next(none, &pos, &tok));
    assert_false(wick_list_next(none, NULL, &tok));
}

static void test_list_has(void **state)
{
    (void)state;
    wick_str l = {"keep-alive, Upgrade", 19};
    assert_true(wick_list_has(l, "upgrade"));
    assert_true(wick_list_has(l, "KEEP-ALIVE"));
    assert_false(wick_list_has(l, "Upgrad"));
    assert_false(wick_list_has(l, "Upgrades"));
    assert_false(wick_list_has(l, ""));
    assert_false(wick_list_has(l, NULL));
    wick_str spaced = {"a, web socket", 13};
    assert_false(wick_list_has(spaced, "websocket"));
}

static void test_header_find(void **state)
{
    (void)state;
    const wick_header h[4] = {{{"Host", 4}, {"a", 1}},
                              {{"X-A", 3}, {"1", 1}},
                              {{"x-a", 3}, {"2", 1}},
                              {{"X-AB", 4}, {"3", 1}}};
    size_t from = 0;
    assert_int_equal(wick_header_find(h, 4, "X-a", &from), 1);
    assert_int_equal(from, 2);
    assert_int_equal(wick_header_find(h, 4, "X-a", &from), 2);
    assert_int_equal(from, 3);
    assert_int_equal(wick_header_find(h, 4, "X-a", &from), -1);
    assert_int_equal(wick_header_find(h, 4, "HOST", NULL), 0);
    assert_int_equal(wick_header_find(h, 4, "Hos", NULL), -1);
    assert_int_equal(wick_header_find(h, 3, "X-AB", NULL), -1);
    assert_int_equal(wick_header_find(NULL, 0, "Host", NULL), -1);
    assert_int_equal(wick_header_find(h, 4, NULL, NULL), -1);
}

static void test_reason(void **state)
{
    (void)state;
    assert_string_equal(wick_http_reason(101), "Switching Protocols");
    assert_string_equal(wick_http_reason(200), "OK");
    assert_string_equal(wick_http_reason(400), "Bad Request");
#ifndef WICK_NO_ERR_STRINGS
    assert_string_equal(wick_http_reason(403), "Forbidden");
    assert_string_equal(wick_http_reason(500), "Internal Server Error");
#else
    /* Only the handshake's statuses, 200 and 404 keep their own phrase. */
    assert_string_equal(wick_http_reason(403), "Client Error");
    assert_string_equal(wick_http_reason(500), "Server Error");
    assert_string_equal(wick_http_reason(100), "Informational");
    assert_string_equal(wick_http_reason(301), "Redirection");
    assert_string_equal(wick_http_reason(204), "Success");
#endif
    assert_string_equal(wick_http_reason(404), "Not Found");
    assert_string_equal(wick_http_reason(426), "Upgrade Required");
    assert_string_equal(wick_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(wick_http_reason(499), "Client Error");
    assert_string_equal(wick_http_reason(599), "Server Error");
    assert_string_equal(wick_http_reason(99), "Unknown");
}

struct resp_case {
    const char *name;
    int status;
    const char *ctype;
    const char *body;
    bool close;
    wick_err want;
    const char *out;
};

/* Phrases that WICK_NO_ERR_STRINGS replaces by their class phrase. */
#ifndef WICK_NO_ERR_STRINGS
#define R_403 "Forbidden"
#define R_204 "No Content"
#define R_302 "Found"
#else
#define R_403 "Client Error"
#define R_204 "Success"
#define R_302 "Redirection"
#endif

static const wick_header resp_extra[1] = {{{"Location", 8}, {"/b", 2}}};

static const struct resp_case resp_cases[] = {
    {"page", 200, "text/html", "<p>hi</p>", false, WICK_OK,
     "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>hi</p>"},
    {"403 for a refused Origin", 403, NULL, "", true, WICK_OK,
     "HTTP/1.1 403 " R_403 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
    {"404 default type", 404, NULL, "nope", true, WICK_OK,
     "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 4\r\n"
     "Connection: close\r\n\r\nnope"},
    {"426 keeps the connection", 426, NULL, "", false, WICK_OK,
     "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
     "Content-Length: 0\r\nConnection: Upgrade\r\n\r\n"},
    {"204 has no Content-Length", 204, NULL, "", false, WICK_OK, "HTTP/1.1 204 " R_204 "\r\n\r\n"},
    {"204 with a body", 204, NULL, "x", false, WICK_ERR_ARG, NULL},
    {"status 99", 99, NULL, "", false, WICK_ERR_ARG, NULL},
    {"status 600", 600, NULL, "", false, WICK_ERR_ARG, NULL},
    {"content type with CRLF", 200, "text/html\r\nX: 1", "", false, WICK_ERR_ARG, NULL},
};

static void test_response(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
        const struct resp_case *c = &resp_cases[i];
        char out[512];
        size_t n = 0;
        wick_err e = wick_http_response(c->status, c->ctype, c->body, strlen(c->body), NULL, 0,
                                        c->close, out, sizeof out, &n);
        if (e != c->want) {
            print_error("case \"%s\": got %s\n", c->name, wick_err_name(e));
        }
        assert_int_equal(e, c->want);
        if (e != WICK_OK) {
            continue;
        }
        if (n != strlen(c->out) || memcmp(out, c->out, n) != 0) {
            print_error("case \"%s\": got\n%.*s\n", c->name, (int)n, out);
        }
        assert_int_equal(n, strlen(c->out));
        assert_memory_equal(out, c->out, n);
        assert_int_equal(wick_http_response(c->status, c->ctype, c->body, strlen(c->body), NULL, 0,
                                            c->close, out, n - 1, &n),
                         WICK_ERR_BUFFER_TOO_SMALL);
    }
    /* Extra fields come after the status line. */
    char out[256];
    size_t n = 0;
    assert_int_equal(
        wick_http_response(302, NULL, NULL, 0, resp_extra, 1, false, out, sizeof out, &n), WICK_OK);
    const char *want = "HTTP/1.1 302 " R_302 "\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    const wick_header inj[1] = {{{"Location", 8}, {"/b\r\nSet-Cookie: x", 17}}};
    assert_int_equal(wick_http_response(302, NULL, NULL, 0, inj, 1, false, out, sizeof out, &n),
                     WICK_ERR_ARG);
    assert_int_equal(wick_http_response(200, NULL, NULL, 3, NULL, 0, false, out, sizeof out, &n),
                     WICK_ERR_ARG);
    /* Content-Length of a larger body. */
    static char big[100000];
    memset(big, 'b', sizeof big);
    static char bigout[100200];
    assert_int_equal(wick_http_response(200, "application/octet-stream", big, sizeof big, NULL, 0,
                                        false, bigout, sizeof bigout, &n),
                     WICK_OK);
    assert_non_null(strstr(bigout, "Content-Length: 100000\r\n"));
}

/* The character-class table against the grammars, for every byte. */
static bool in_set(const char *set, unsigned c)
{
    return c != 0 && strchr(set, (int)c) != NULL;
}

static void test_ctype(void **state)
{
    (void)state;
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static const char digit[] = "0123456789";
    static const struct {
        unsigned cls;
        const char *extra; /* besides ALPHA and DIGIT, or NULL: ALPHA only / DIGIT only */
        bool alpha, digit;
    } sets[] = {
        {WICK__C_TCHAR, "!#$%&'*+-.^_`|~", true, true}, /* RFC 9110 5.6.2 */
        {WICK__C_ALPHA, "", true, false},               /* RFC 5234 B.1 */
        {WICK__C_DIGIT, "", false, true},
        {WICK__C_SCHEME, "+-.", true, true},               /* RFC 3986 3.1 */
        {WICK__C_REGNAME, "-._~%!$&'()*+,;=", true, true}, /* RFC 3986 3.2.2 */
        {WICK__C_IPLIT, ":.", true, true},                 /* IPv6address, IPvFuture */
    };
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        for (unsigned c = 0; c < 256; c++) {
            bool want = in_set(sets[k].extra, c) || (sets[k].alpha && in_set(alpha, c)) ||
                        (sets[k].digit && in_set(digit, c));
            if (wick__http_is((unsigned char)c, sets[k].cls) != want) {
                fail_msg("class %u byte 0x%02x: want %d", sets[k].cls, c, want);
            }
        }
    }
    assert_true(wick__http_tchar('a') && !wick__http_tchar(' ') && !wick__http_tchar(0xC3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_next),   cmocka_unit_test(test_list_has),
        cmocka_unit_test(test_header_find), cmocka_unit_test(test_reason),
        cmocka_unit_test(test_response),    cmocka_unit_test(test_ctype),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
