/* The program of tests/firmware/limits.sh. Compiled with some WICK_MAX_*
 * limits and linked with a library built with the same ones, it checks
 * that the handshake parser takes exactly what the limits allow: a request
 * with WICK_MAX_HEADERS fields, WICK_MAX_PROTOCOLS subprotocols and
 * WICK_MAX_EXTENSIONS extensions of WICK_MAX_EXT_PARAMS parameters each
 * parses; one more of any of them is WICK_ERR_HS_TOO_MANY_HEADERS. Prints
 * "N passed, N failed". Built with other limits than the library's, it
 * must not link at all (the config-safety check). */
#include <stdio.h>
#include <string.h>

#include "wick.h"

static char req[96 * 1024];
static size_t len;
static int passed, failed;

static void add(const char *s)
{
    size_t n = strlen(s);
    if (len + n < sizeof req) {
        memcpy(req + len, s, n);
        len += n;
    }
}

static void add_num(const char *pre, unsigned v, const char *post)
{
    char b[32];
    snprintf(b, sizeof b, "%s%u%s", pre, v, post);
    add(b);
}

/* The RFC 6455 1.2 request's five required fields, then `extra` fields:
 * a subprotocol list of np, an extension list of ne extensions with nx
 * parameters each, and X-N fields to make nh fields in all. */
static void build(unsigned nh, unsigned np, unsigned ne, unsigned nx)
{
    len = 0;
    add("GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n");
    unsigned fields = 5;
    if (np > 0) {
        add("Sec-WebSocket-Protocol: ");
        for (unsigned i = 0; i < np; i++) {
            add_num(i ? ", p" : "p", i, "");
        }
        add("\r\n");
        fields++;
    }
    if (ne > 0) {
        add("Sec-WebSocket-Extensions: ");
        for (unsigned i = 0; i < ne; i++) {
            add_num(i ? ", x" : "x", i, "");
            for (unsigned k = 0; k < nx; k++) {
                add_num("; k", k, "=1");
            }
        }
        add("\r\n");
        fields++;
    }
    while (fields < nh) {
        add_num("X-", fields++, ": 1\r\n");
    }
    add("\r\n");
}

static void expect(const char *what, wick_err want, size_t headers)
{
    static wick_hs_request r;
    wick_hs_request_init(&r, NULL);
    size_t used = 0;
    wick_err e = wick_hs_server_parse(&r, req, len, &used);
    int ok = e == want && (e != WICK_OK || (used == len && r.num_headers == headers));
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("FAIL %s: %s, %zu headers (want %s)\n", what, wick_err_name(e), r.num_headers,
               wick_err_name(want));
    }
}

int main(void)
{
    const unsigned h = WICK_MAX_HEADERS, p = WICK_MAX_PROTOCOLS, e = WICK_MAX_EXTENSIONS,
                   x = WICK_MAX_EXT_PARAMS;
    build(5, 0, 0, 0);
    expect("required fields only", WICK_OK, 5);
    build(h, 1, 1, 0);
    expect("WICK_MAX_HEADERS fields", WICK_OK, h);
    build(h + 1, 1, 1, 0);
    expect("one field more", WICK_ERR_HS_TOO_MANY_HEADERS, 0);
    build(0, p, e, x);
    expect("every list at its limit", WICK_OK, 7);
    build(0, p + 1, 1, 0);
    expect("one subprotocol more", WICK_ERR_HS_TOO_MANY_HEADERS, 0);
    build(0, 1, e + 1, 0);
    expect("one extension more", WICK_ERR_HS_TOO_MANY_HEADERS, 0);
    build(0, 1, 1, x + 1);
    expect("one parameter more", WICK_ERR_HS_TOO_MANY_HEADERS, 0);
    printf("limits h%u p%u e%u x%u: %d passed, %d failed\n", h, p, e, x, passed, failed);
    return failed != 0;
}
