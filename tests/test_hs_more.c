/* Opening handshake, more cases: API misuse of every handshake function
 * (WICK_ERR_ARG), the client's check of the extensions it offered
 * (quoted parameters, duplicates), header limits, and the HTTP response
 * writer (reason phrases, Content-Type rules). Response parsing is fed
 * in every split of the growing buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/split.h"
#include "vectors/handshake.h"
#include "wick.h"

#define S(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }

static const uint8_t *nonce(void)
{
    return (const uint8_t *)HS_RFC_NONCE;
}

/* --- Client: verify in every split ------------------------------------ */

/* Writes the request for opts, then verifies resp[0..len) delivered as
 * growing prefixes ending at each cut in cuts[0..n) and finally len. */
static wick_err verify_cuts(const wick_hs_client_opts *o, const wick_hs_limits *lim,
                            const char *resp, size_t len, const size_t *cuts, size_t n,
                            size_t *consumed)
{
    static wick_hs_client c;
    char req[1024];
    size_t req_len = 0;
    assert_int_equal(wick_hs_client_request(&c, o, nonce(), lim, req, sizeof req, &req_len),
                     WICK_OK);
    for (size_t i = 0; i < n; i++) {
        wick_err e = wick_hs_client_verify(&c, resp, cuts[i], consumed);
        if (e != WICK_NEED_MORE) {
            /* An error can show up early (garbage fails early); it must be
             * the same one the full buffer gives. */
            wick_err again = wick_hs_client_verify(&c, resp, len, consumed);
            assert_int_equal(again, e);
            return e;
        }
    }
    return wick_hs_client_verify(&c, resp, len, consumed);
}

/* Whole, every split point, one byte at a time and random chunks (fixed
 * seed) must all give `want` (and the same consumed count). */
static void verify_all(const wick_hs_client_opts *o, const wick_hs_limits *lim, const char *resp,
                       wick_err want)
{
    size_t len = strlen(resp);
    size_t consumed = 0, ref = 0;
    static size_t cuts[4096];
    assert_true(len < 4096);
    assert_int_equal(verify_cuts(o, lim, resp, len, NULL, 0, &ref), want);
    for (size_t k = 1; k < len; k++) {
        assert_int_equal(verify_cuts(o, lim, resp, len, &k, 1, &consumed), want);
        assert_int_equal(consumed, ref);
    }
    for (size_t k = 0; k + 1 < len; k++) {
        cuts[k] = k + 1;
    }
    assert_int_equal(verify_cuts(o, lim, resp, len, cuts, len - 1, &consumed), want);
    assert_int_equal(consumed, ref);
    uint64_t seed = 0x5eed;
    for (int round = 0; round < 8; round++) {
        size_t n = 0, at = 0;
        for (;;) {
            at += 1 + split_rng_below(&seed, 17);
            if (at >= len) {
                break;
            }
            cuts[n++] = at;
        }
        assert_int_equal(verify_cuts(o, lim, resp, len, cuts, n, &consumed), want);
        assert_int_equal(consumed, ref);
    }
    if (want == WICK_OK) {
        assert_int_equal(ref, len);
    } else {
        assert_int_equal(ref, 0);
    }
}

#define RESP_HEAD                                                                                  \
    "HTTP/1.1 101 Switching Protocols\r\n"                                                         \
    "Upgrade: websocket\r\n"                                                                       \
    "Connection: Upgrade\r\n"                                                                      \
    "Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"

typedef struct ext_case {
    const char *offer;
    const char *answer; /* Sec-WebSocket-Extensions value */
    wick_err want;
} ext_case;

/* RFC 6455 4.1 client item 5 / 9.1: every extension in the answer was
 * offered (names only, never text inside a quoted parameter), once. */
static const ext_case ext_cases[] = {
    {"a; x=\"q\", c", "c", WICK_OK},
    {"a; x=\"q\", c", "q", WICK_ERR_HS_EXTENSION},
    {"a; x=\"q\\b\", c", "b", WICK_ERR_HS_EXTENSION},
    {"a; x=\"q\\b\", c", "a; x=qb", WICK_OK},
    {"x-a;p=\"v\"", "X-A", WICK_OK},
    {"x-foo, x-bar", "x-foo, X-FOO", WICK_ERR_HS_EXTENSION},
    {"x-foo, x-bar", "x-bar, x-foo", WICK_OK},
    {"x-foo", "x-foo; p=1, x-foo; p=2", WICK_ERR_HS_EXTENSION},
    {"x-foo", "x-foo, @", WICK_ERR_HS_EXTENSION},
};

static void test_client_ext_offered(void **state)
{
    (void)state;
    char resp[512];
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        const ext_case *t = &ext_cases[i];
        wick_hs_client_opts o;
        memset(&o, 0, sizeof o);
        o.host.ptr = "example.com";
        o.host.len = 11;
        o.extensions.ptr = t->offer;
        o.extensions.len = strlen(t->offer);
        int n = snprintf(resp, sizeof resp, RESP_HEAD "Sec-WebSocket-Extensions: %s\r\n\r\n",
                         t->answer);
        assert_true(n > 0 && (size_t)n < sizeof resp);
        print_message("case %zu: offer '%s' answer '%s'\n", i, t->offer, t->answer);
        verify_all(&o, NULL, resp, t->want);
    }
}

/* A limit above the ceiling is capped at WICK_MAX_HEADERS; a smaller one
 * applies. */
static void test_client_header_limits(void **state)
{
    (void)state;
    static char resp[2048];
    wick_hs_client_opts o;
    memset(&o, 0, sizeof o);
    o.host.ptr = "h";
    o.host.len = 1;
    size_t len = strlen(RESP_HEAD);
    memcpy(resp, RESP_HEAD, len);
    /* 3 headers so far; add X-N up to WICK_MAX_HEADERS + 1 in all. */
    for (int i = 3; i < WICK_MAX_HEADERS + 1; i++) {
        len += (size_t)snprintf(resp + len, sizeof resp - len, "X-%d: v\r\n", i);
    }
    memcpy(resp + len, "\r\n", 3);
    wick_hs_limits big = {0, WICK_MAX_HEADERS + 10};
    wick_hs_limits small = {0, 4};
    wick_hs_limits zero = {0, 0};
    verify_all(&o, &big, resp, WICK_ERR_HS_TOO_MANY_HEADERS);
    verify_all(&o, &zero, resp, WICK_ERR_HS_TOO_MANY_HEADERS);
    verify_all(&o, &small, resp, WICK_ERR_HS_TOO_MANY_HEADERS);
    /* Exactly WICK_MAX_HEADERS fits under the capped limit. */
    char *last = strstr(resp, "X-32: v\r\n");
    assert_non_null(last);
    memcpy(last, "\r\n", 3);
    verify_all(&o, &big, resp, WICK_OK);
    verify_all(&o, &small, resp, WICK_ERR_HS_TOO_MANY_HEADERS);
}

/* Item 6: an empty Sec-WebSocket-Protocol answer matches nothing. */
static void test_client_protocol_empty(void **state)
{
    (void)state;
    static const wick_str protos[] = {S("chat"), S("superchat")};
    wick_hs_client_opts o;
    memset(&o, 0, sizeof o);
    o.host.ptr = "h";
    o.host.len = 1;
    o.protocols = protos;
    o.num_protocols = 2;
    verify_all(&o, NULL, RESP_HEAD "Sec-WebSocket-Protocol:\r\n\r\n", WICK_ERR_HS_PROTOCOL);
    verify_all(&o, NULL, RESP_HEAD "Sec-WebSocket-Protocol: chax\r\n\r\n", WICK_ERR_HS_PROTOCOL);
    verify_all(&o, NULL, RESP_HEAD "Sec-WebSocket-Protocol: superchat\r\n\r\n", WICK_OK);
}

static void test_client_misuse(void **state)
{
    (void)state;
    static wick_hs_client c;
    char out[512];
    size_t n = 0;
    wick_hs_client_opts o;
    memset(&o, 0, sizeof o);
    o.host.ptr = "h";
    o.host.len = 1;
    assert_int_equal(wick_hs_client_request(NULL, &o, nonce(), NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    assert_int_equal(wick_hs_client_request(&c, NULL, nonce(), NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    assert_int_equal(wick_hs_client_request(&c, &o, NULL, NULL, out, sizeof out, &n), WICK_ERR_ARG);
    assert_int_equal(wick_hs_client_request(&c, &o, nonce(), NULL, out, sizeof out, NULL),
                     WICK_ERR_ARG);
    assert_int_equal(wick_hs_client_request(&c, &o, nonce(), NULL, NULL, 10, &n), WICK_ERR_ARG);
    /* No buffer at all: only the size is wrong. */
    assert_int_equal(wick_hs_client_request(&c, &o, nonce(), NULL, NULL, 0, &n),
                     WICK_ERR_BUFFER_TOO_SMALL);
    /* A view with a length but no pointer, in each optional field. */
    wick_hs_client_opts b = o;
    b.target.len = 3;
    assert_int_equal(wick_hs_client_request(&c, &b, nonce(), NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    b = o;
    b.origin.len = 3;
    assert_int_equal(wick_hs_client_request(&c, &b, nonce(), NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    b = o;
    b.extensions.len = 3;
    assert_int_equal(wick_hs_client_request(&c, &b, nonce(), NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    /* RFC 6455 9.1: an offer that is not extension grammar is refused,
     * since the answer could not be checked against it; a valid one is
     * written. */
    static const struct {
        const char *offer;
        wick_err want;
    } offers[] = {
        {"\"q\", c", WICK_ERR_ARG},
        {"a;", WICK_ERR_ARG},
        {"a; p=\"x", WICK_ERR_ARG},
        {"a; x=\"q,b\", c", WICK_ERR_ARG}, /* quoted value must unescape to a token */
        {"a; x=\"unterminated, b", WICK_ERR_ARG},
        {"a; x=\"ends in backslash\\", WICK_ERR_ARG},
        {"=junk, c", WICK_ERR_ARG},
        {"@", WICK_ERR_ARG},
        {"permessage-deflate; client_max_window_bits, x-foo", WICK_OK},
        {"a; p=\"1\"", WICK_OK},
    };
    for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++) {
        b = o;
        b.extensions.ptr = offers[i].offer;
        b.extensions.len = strlen(offers[i].offer);
        assert_int_equal(wick_hs_client_request(&c, &b, nonce(), NULL, out, sizeof out, &n),
                         offers[i].want);
    }
    b = o;
    b.host.ptr = NULL;
    b.host.len = 0;
    assert_int_equal(wick_hs_client_request(&c, &b, nonce(), NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    /* verify: NULL conn or buffer, then a buffer that shrank. */
    size_t used = 77;
    assert_int_equal(wick_hs_client_verify(NULL, "H", 1, &used), WICK_ERR_ARG);
    assert_int_equal(used, 0);
    assert_int_equal(wick_hs_client_request(&c, &o, nonce(), NULL, out, sizeof out, &n), WICK_OK);
    assert_int_equal(wick_hs_client_verify(&c, NULL, 1, &used), WICK_ERR_ARG);
    assert_int_equal(wick_hs_client_verify(&c, NULL, 0, &used), WICK_NEED_MORE);
    assert_int_equal(used, 0);
    const char *r = RESP_HEAD "\r\n";
    assert_int_equal(wick_hs_client_verify(&c, r, 20, NULL), WICK_NEED_MORE);
    assert_int_equal(wick_hs_client_verify(&c, r, 19, &used), WICK_ERR_ARG);
    assert_int_equal(used, 0);
    /* The error left the state alone: the whole answer still verifies. */
    assert_int_equal(wick_hs_client_verify(&c, r, strlen(r), &used), WICK_OK);
    assert_int_equal(used, strlen(r));
}

/* --- Extension grammar helpers ---------------------------------------- */

static void test_ext_misuse(void **state)
{
    (void)state;
    wick_ext ext[2];
    size_t count = 0;
    assert_int_equal(wick_ext_parse("a", 1, ext, 2, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_ext_parse(NULL, 1, ext, 2, &count), WICK_ERR_ARG);
    assert_int_equal(wick_ext_parse("a", 1, NULL, 2, &count), WICK_ERR_ARG);
    count = 3;
    assert_int_equal(wick_ext_parse("a", 1, ext, 2, &count), WICK_ERR_ARG);
    assert_int_equal(count, 3);
    /* No room at all (NULL, 0) is not misuse: the list is too long. */
    count = 0;
    assert_int_equal(wick_ext_parse("a", 1, NULL, 0, &count), WICK_ERR_HS_TOO_MANY_HEADERS);
    assert_int_equal(wick_ext_parse(NULL, 0, ext, 2, &count), WICK_ERR_HS_EXTENSION);
    assert_int_equal(count, 0);

    char out[8];
    size_t n = 99;
    wick_str s = S("a\\\"b");
    wick_str nul = {NULL, 2};
    wick_str empty = {NULL, 0};
    assert_int_equal(wick_str_unquote(s, out, sizeof out, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_str_unquote(nul, out, sizeof out, &n), WICK_ERR_ARG);
    assert_int_equal(wick_str_unquote(s, NULL, 4, &n), WICK_ERR_ARG);
    assert_int_equal(n, 99);
    assert_int_equal(wick_str_unquote(empty, NULL, 0, &n), WICK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(wick_str_unquote(s, NULL, 0, &n), WICK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wick_str_unquote(s, out, sizeof out, &n), WICK_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "a\"b", 3);
}

/* --- Server ------------------------------------------------------------ */

static void test_server_misuse(void **state)
{
    (void)state;
    static wick_hs_request r;
    wick_hs_request_init(NULL, NULL); /* tolerated; ASan/valgrind watch it */
    wick_hs_request_init(&r, NULL);
    size_t used = 5;
    /* Nothing yet (NULL, 0) is simply incomplete. */
    assert_int_equal(wick_hs_server_parse(&r, NULL, 0, &used), WICK_NEED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(wick_hs_server_parse(&r, NULL, 3, &used), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_parse(NULL, "GET", 3, &used), WICK_ERR_ARG);
    const char *req = HS_RFC_REQUEST;
    size_t len = strlen(req);
    assert_int_equal(wick_hs_server_parse(&r, req, len, &used), WICK_OK);
    assert_int_equal(used, len);

    char out[512];
    size_t n = 0;
    assert_int_equal(wick_hs_server_accept(NULL, NULL, out, sizeof out, &n), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_accept(&r, NULL, out, sizeof out, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_accept(&r, NULL, NULL, 10, &n), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_accept(&r, NULL, NULL, 0, &n), WICK_ERR_BUFFER_TOO_SMALL);
    wick_hs_accept_opts o;
    memset(&o, 0, sizeof o);
    o.protocol.len = 4;
    assert_int_equal(wick_hs_server_accept(&r, &o, out, sizeof out, &n), WICK_ERR_ARG);
    memset(&o, 0, sizeof o);
    o.extensions.len = 4;
    assert_int_equal(wick_hs_server_accept(&r, &o, out, sizeof out, &n), WICK_ERR_ARG);
    static const wick_header bad_name[] = {{{NULL, 1}, {"v", 1}}};
    static const wick_header bad_value[] = {{{"X", 1}, {NULL, 1}}};
    memset(&o, 0, sizeof o);
    o.headers = bad_name;
    o.num_headers = 1;
    assert_int_equal(wick_hs_server_accept(&r, &o, out, sizeof out, &n), WICK_ERR_ARG);
    o.headers = bad_value;
    assert_int_equal(wick_hs_server_accept(&r, &o, out, sizeof out, &n), WICK_ERR_ARG);
    o.headers = NULL;
    assert_int_equal(wick_hs_server_accept(&r, &o, out, sizeof out, &n), WICK_ERR_ARG);
    /* A good answer after all that: RFC 6455 1.3. */
    memset(&o, 0, sizeof o);
    o.protocol.ptr = "chat";
    o.protocol.len = 4;
    assert_int_equal(wick_hs_server_accept(&r, &o, out, sizeof out, &n), WICK_OK);
    assert_int_equal(n, strlen(HS_RFC_RESPONSE));
    assert_memory_equal(out, HS_RFC_RESPONSE, n);
}

/* --- HTTP responses ---------------------------------------------------- */

typedef struct reason_case {
    int status;
    const char *reason;
} reason_case;

static const reason_case reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    /* RFC 9110 15: unknown codes read as the class. */
    {102, "Informational"},
    {199, "Informational"},
    {203, "Success"},
    {299, "Success"},
    {300, "Redirection"},
    {399, "Redirection"},
    {402, "Client Error"},
    {499, "Client Error"},
    {506, "Server Error"},
    {599, "Server Error"},
    {600, "Unknown"},
    {99, "Unknown"},
    {0, "Unknown"},
    {-1, "Unknown"},
    {1000, "Unknown"},
};

/* The phrase wick_http_reason() gives for a status whose RFC 9110 phrase
 * is `full`: under WICK_NO_ERR_STRINGS only the handshake's statuses, 200
 * and 404 keep their own phrase; every other code gets its class phrase. */
static const char *want_reason(int status, const char *full)
{
#ifdef WICK_NO_ERR_STRINGS
    static const char *const cls[] = {"Informational", "Success", "Redirection", "Client Error",
                                      "Server Error"};
    if (status == 101 || status == 200 || status == 400 || status == 404 || status == 426 ||
        status == 431) {
        return full;
    }
    return (status >= 100 && status < 600) ? cls[status / 100 - 1] : "Unknown";
#else
    (void)status;
    return full;
#endif
}

static void test_http_reason(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
        print_message("status %d\n", reasons[i].status);
        assert_string_equal(wick_http_reason(reasons[i].status),
                            want_reason(reasons[i].status, reasons[i].reason));
    }
}

typedef struct resp_case {
    int status;
    const char *ctype;
    const char *body;
    size_t body_len;
    const wick_header *headers;
    size_t num_headers;
    bool close;
    size_t cap;
    wick_err want;
    const char *out; /* when WICK_OK */
} resp_case;

static const wick_header h_null_name[] = {{{NULL, 2}, {"v", 1}}};
static const wick_header h_empty_name[] = {{{NULL, 0}, {"v", 1}}};
static const wick_header h_null_value[] = {{{"X-A", 3}, {NULL, 2}}};
static const wick_header h_empty_value[] = {{{"X-A", 3}, {NULL, 0}}};
static const wick_header h_ok[] = {{{"X-A", 3}, {"1", 1}}};

/* WICK_NO_ERR_STRINGS gives 304 its class phrase (see wick_http_reason). */
#ifndef WICK_NO_ERR_STRINGS
#define R_304 "Not Modified"
#else
#define R_304 "Redirection"
#endif

static const resp_case resp_cases[] = {
    {99, NULL, NULL, 0, NULL, 0, false, 256, WICK_ERR_ARG, NULL},
    {600, NULL, NULL, 0, NULL, 0, false, 256, WICK_ERR_ARG, NULL},
    {200, NULL, NULL, 3, NULL, 0, false, 256, WICK_ERR_ARG, NULL},
    {200, NULL, NULL, 0, NULL, 1, false, 256, WICK_ERR_ARG, NULL},
    {200, NULL, NULL, 0, h_null_name, 1, false, 256, WICK_ERR_ARG, NULL},
    {200, NULL, NULL, 0, h_null_value, 1, false, 256, WICK_ERR_ARG, NULL},
    {200, NULL, NULL, 0, h_empty_name, 1, false, 256, WICK_ERR_ARG, NULL},
    {200, "a\r\nb", NULL, 0, NULL, 0, false, 256, WICK_ERR_ARG, NULL},
    {204, NULL, "x", 1, NULL, 0, false, 256, WICK_ERR_ARG, NULL},
    {200, NULL, NULL, 0, NULL, 0, false, 10, WICK_ERR_BUFFER_TOO_SMALL, NULL},
    /* A Content-Type without a body is still sent when given. */
    {200, "application/json", NULL, 0, NULL, 0, false, 256, WICK_OK,
     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"},
    {200, NULL, NULL, 0, h_empty_value, 1, false, 256, WICK_OK,
     "HTTP/1.1 200 OK\r\nX-A: \r\nContent-Length: 0\r\n\r\n"},
    {404, NULL, "no", 2, h_ok, 1, true, 256, WICK_OK,
     "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Length: 2\r\nConnection: close\r\n\r\nno"},
    {304, NULL, NULL, 0, NULL, 0, false, 256, WICK_OK, "HTTP/1.1 304 " R_304 "\r\n\r\n"},
    {426, NULL, NULL, 0, NULL, 0, false, 256, WICK_OK,
     "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
     "Content-Length: 0\r\nConnection: Upgrade\r\n\r\n"},
};

static void test_http_response(void **state)
{
    (void)state;
    char buf[256];
    for (size_t i = 0; i < sizeof resp_cases / sizeof resp_cases[0]; i++) {
        const resp_case *t = &resp_cases[i];
        size_t n = 12345;
        print_message("case %zu: status %d\n", i, t->status);
        wick_err e = wick_http_response(t->status, t->ctype, t->body, t->body_len, t->headers,
                                        t->num_headers, t->close, buf, t->cap, &n);
        assert_int_equal(e, t->want);
        if (t->want == WICK_OK) {
            assert_int_equal(n, strlen(t->out));
            assert_memory_equal(buf, t->out, n);
        }
    }
    size_t n = 0;
    assert_int_equal(wick_http_response(200, NULL, NULL, 0, NULL, 0, false, buf, sizeof buf, NULL),
                     WICK_ERR_ARG);
    assert_int_equal(wick_http_response(200, NULL, NULL, 0, NULL, 0, false, NULL, 5, &n),
                     WICK_ERR_ARG);
    assert_int_equal(wick_http_response(200, NULL, NULL, 0, NULL, 0, false, NULL, 0, &n),
                     WICK_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_ext_offered),
        cmocka_unit_test(test_client_header_limits),
        cmocka_unit_test(test_client_protocol_empty),
        cmocka_unit_test(test_client_misuse),
        cmocka_unit_test(test_ext_misuse),
        cmocka_unit_test(test_server_misuse),
        cmocka_unit_test(test_http_reason),
        cmocka_unit_test(test_http_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
