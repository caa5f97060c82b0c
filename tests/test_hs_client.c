/* Client side of the opening handshake (RFC 6455 4.1): the request
 * wick_hs_client_request writes, wick_hs_client_verify under every split of
 * every response with one failing case per rule, and a round trip through
 * the server side. */
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
#include "vectors/hs_trace.h"
#include "wick.h"

static const wick_str cl_protos[2] = {{"chat", 4}, {"superchat", 9}};
#define CL_EXT_OFFER "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"

/* Offer sets a case can pick. */
static const wick_hs_client_opts cl_opts_full = {
    {"/chat", 5}, {"server.example.com", 18}, {"http://example.com", 18}, cl_protos, 2,
    {CL_EXT_OFFER, sizeof CL_EXT_OFFER - 1},   NULL, 0};
static const wick_hs_client_opts cl_opts_bare = {
    {NULL, 0}, {"h", 1}, {NULL, 0}, NULL, 0, {NULL, 0}, NULL, 0};

#define RS_LINE "HTTP/1.1 101 Switching Protocols\r\n"
#define RS_UPG "Upgrade: websocket\r\n"
#define RS_CONN "Connection: Upgrade\r\n"
#define RS_ACC "Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"
#define RS_MIN RS_LINE RS_UPG RS_CONN RS_ACC
#define RS(extra) RS_MIN extra "\r\n"

struct cl_case {
    const char *name;
    hs_bytes in;
    bool bare; /* answer to cl_opts_bare instead of cl_opts_full */
    wick_err want;
    size_t max_bytes, max_headers;
    const char *trace;
};

static const struct cl_case cl_cases[] = {
    /* --- Valid answers ------------------------------------------------ */
    {"RFC 6455 1.2 / 4.2.2 example", HS_B(HS_RFC_RESPONSE), false, WICK_OK, 0, 0,
     "WICK_OK consumed=159 status=101 reason=\"Switching Protocols\" protocol=\"chat\" exts=[]"
     " nheaders=4 leftover=0"},
    /* The server's first frame in the same read is left for the engine. */
    {"frame bytes after the block", HS_B(HS_RFC_RESPONSE HS_FRAME_HELLO), false, WICK_OK, 0, 0,
     "WICK_OK consumed=159 status=101 reason=\"Switching Protocols\" protocol=\"chat\" exts=[]"
     " nheaders=4 leftover=7"},
    {"no subprotocol chosen", HS_B(RS("")), false, WICK_OK, 0, 0,
     "WICK_OK consumed=129 status=101 reason=\"Switching Protocols\" protocol=(null) exts=[]"
     " nheaders=3 leftover=0"},
    {"bare request, bare answer", HS_B(RS("")), true, WICK_OK, 0, 0, NULL},
    {"extension accepted with params",
     HS_B(RS("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10;"
             " server_no_context_takeover\r\n")),
     false, WICK_OK, 0, 0,
     "WICK_OK consumed=230 status=101 reason=\"Switching Protocols\" protocol=(null)"
     " exts=[permessage-deflate;client_max_window_bits=10;server_no_context_takeover]"
     " nheaders=4 leftover=0"},
    {"second offered extension, other case", HS_B(RS("Sec-WebSocket-Extensions: X-WebKit-Deflate-Frame\r\n")),
     false, WICK_OK, 0, 0, NULL},
    {"no reason phrase, bare LF",
     HS_B("HTTP/1.1 101\nupgrade: WebSocket\nconnection: keep-alive, upgrade\n"
          "sec-websocket-accept: " HS_RFC_ACCEPT "\n\n"),
     false, WICK_OK, 0, 0,
     "WICK_OK consumed=116 status=101 reason=\"\" protocol=(null) exts=[] nheaders=3 leftover=0"},
    {"HTTP/1.1 101 with another reason", HS_B("HTTP/1.1 101 OK\r\n" RS_UPG RS_CONN RS_ACC "\r\n"),
     false, WICK_OK, 0, 0, NULL},
    /* --- Not 101: fields filled for the caller (item 1) ------------------ */
    {"403", HS_B("HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno"), false,
     WICK_ERR_HS_STATUS, 0, 0,
     "WICK_ERR_HS_STATUS consumed=45 status=403 reason=\"Forbidden\" protocol=(null) exts=[]"
     " nheaders=1 leftover=2"},
    {"426 from a server speaking other versions (RFC 6455 4.4)",
     HS_B("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 8, 7\r\n\r\n"), false,
     WICK_ERR_HS_STATUS, 0, 0, NULL},
    {"HTTP/1.0 200", HS_B("HTTP/1.0 200 OK\r\n\r\n"), false, WICK_ERR_HS_STATUS, 0, 0, NULL},
    {"200 with all WebSocket fields", HS_B("HTTP/1.1 200 OK\r\n" RS_UPG RS_CONN RS_ACC "\r\n"),
     false, WICK_ERR_HS_STATUS, 0, 0, NULL},
    /* --- Syntax ------------------------------------------------------------ */
    {"not HTTP (fails before any LF)", HS_B("SSH-2.0-OpenSSH_9.2"), false, WICK_ERR_HS_MALFORMED,
     0, 0, NULL},
    {"lower-case http", HS_B("http/1.1 101 Switching Protocols\r\n\r\n"), false,
     WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"four-digit status", HS_B("HTTP/1.1 1010 x\r\n\r\n"), false, WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"status not digits", HS_B("HTTP/1.1 abc x\r\n\r\n"), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"status 099", HS_B("HTTP/1.1 099 x\r\n\r\n"), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"status 600", HS_B("HTTP/1.1 600 x\r\n\r\n"), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"CTL in reason", HS_B("HTTP/1.1 101 a\x01\r\n\r\n"), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"obs-fold", HS_B(RS("X-A: 1\r\n 2\r\n")), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"space before colon", HS_B(RS("X-A : 1\r\n")), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"NUL in a value", HS_B(RS("X-A: \0\r\n")), false, WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"a request sent to the client", HS_B(HS_RFC_REQUEST), false, WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    /* --- RFC 6455 4.1, the client's checks in order ------------------------ */
    {"HTTP/1.0 101", HS_B("HTTP/1.0 101 Switching Protocols\r\n" RS_UPG RS_CONN RS_ACC "\r\n"),
     false, WICK_ERR_HS_HTTP_VERSION, 0, 0, NULL},
    {"HTTP/2.0 101", HS_B("HTTP/2.0 101 Switching Protocols\r\n" RS_UPG RS_CONN RS_ACC "\r\n"),
     false, WICK_ERR_HS_HTTP_VERSION, 0, 0, NULL},
    {"2: Upgrade missing", HS_B(RS_LINE RS_CONN RS_ACC "\r\n"), false, WICK_ERR_HS_UPGRADE, 0, 0,
     NULL},
    {"2: Upgrade h2c", HS_B(RS_LINE "Upgrade: h2c\r\n" RS_CONN RS_ACC "\r\n"), false,
     WICK_ERR_HS_UPGRADE, 0, 0, NULL},
    {"3: Connection missing", HS_B(RS_LINE RS_UPG RS_ACC "\r\n"), false, WICK_ERR_HS_CONNECTION, 0,
     0, NULL},
    {"3: Connection close", HS_B(RS_LINE RS_UPG "Connection: close\r\n" RS_ACC "\r\n"), false,
     WICK_ERR_HS_CONNECTION, 0, 0, NULL},
    {"4: Accept missing", HS_B(RS_LINE RS_UPG RS_CONN "\r\n"), false, WICK_ERR_HS_ACCEPT, 0, 0,
     NULL},
    {"4: Accept wrong",
     HS_B(RS_LINE RS_UPG RS_CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo-\r\n\r\n"),
     false, WICK_ERR_HS_ACCEPT, 0, 0, NULL},
    {"4: Accept in another case",
     HS_B(RS_LINE RS_UPG RS_CONN "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n\r\n"),
     false, WICK_ERR_HS_ACCEPT, 0, 0, NULL},
    {"4: Accept truncated",
     HS_B(RS_LINE RS_UPG RS_CONN "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n"),
     false, WICK_ERR_HS_ACCEPT, 0, 0, NULL},
    {"4: Accept twice", HS_B(RS(RS_ACC)), false, WICK_ERR_HS_DUPLICATE, 0, 0, NULL},
    {"5: extension not offered", HS_B(RS("Sec-WebSocket-Extensions: x-unknown\r\n")), false,
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"5: param name is not an offered extension",
     HS_B(RS("Sec-WebSocket-Extensions: client_max_window_bits\r\n")), false,
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"5: extension when none offered", HS_B(RS("Sec-WebSocket-Extensions: permessage-deflate\r\n")),
     true, WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"5: same extension twice",
     HS_B(RS("Sec-WebSocket-Extensions: permessage-deflate\r\n"
             "Sec-WebSocket-Extensions: permessage-deflate\r\n")),
     false, WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"5: extension header malformed", HS_B(RS("Sec-WebSocket-Extensions: ;\r\n")), false,
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"6: subprotocol not offered", HS_B(RS("Sec-WebSocket-Protocol: superchat2\r\n")), false,
     WICK_ERR_HS_PROTOCOL, 0, 0, NULL},
    {"6: subprotocol in another case", HS_B(RS("Sec-WebSocket-Protocol: Chat\r\n")), false,
     WICK_ERR_HS_PROTOCOL, 0, 0, NULL},
    {"6: subprotocol list", HS_B(RS("Sec-WebSocket-Protocol: chat, superchat\r\n")), false,
     WICK_ERR_HS_PROTOCOL, 0, 0, NULL},
    {"6: empty subprotocol", HS_B(RS("Sec-WebSocket-Protocol:\r\n")), false, WICK_ERR_HS_PROTOCOL,
     0, 0, NULL},
    {"6: subprotocol when none offered", HS_B(RS("Sec-WebSocket-Protocol: chat\r\n")), true,
     WICK_ERR_HS_PROTOCOL, 0, 0, NULL},
    {"6: two subprotocol fields",
     HS_B(RS("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n")), false,
     WICK_ERR_HS_DUPLICATE, 0, 0, NULL},
    /* --- Limits and incomplete input --------------------------------------- */
    {"over a byte limit", HS_B(HS_RFC_RESPONSE), false, WICK_ERR_HS_TOO_LARGE, 158, 0, NULL},
    {"exactly at a byte limit", HS_B(HS_RFC_RESPONSE), false, WICK_OK, 159, 0, NULL},
    {"over a header count limit", HS_B(HS_RFC_RESPONSE), false, WICK_ERR_HS_TOO_MANY_HEADERS, 0, 3,
     NULL},
    {"truncated", HS_B(RS_MIN), false, WICK_NEED_MORE, 0, 0, "WICK_NEED_MORE leftover=127"},
};

struct cl_ctx {
    wick_hs_client c;
    const wick_hs_client_opts *opts;
    wick_hs_limits lim;
    bool use_lim;
    bool finished;
    split_buf t;
};

static void cl_render(split_buf *t, wick_err e, const wick_hs_client *c, size_t used)
{
    split_buf_printf(t, "%s", wick_err_name(e));
    if (e != WICK_OK && e != WICK_ERR_HS_STATUS) {
        return;
    }
    split_buf_printf(t, " consumed=%zu status=%d", used, c->status);
    hs_trace_str(t, "reason", c->reason);
    hs_trace_str(t, "protocol", c->protocol);
    hs_trace_exts(t, c->extensions, c->num_extensions);
    split_buf_printf(t, " nheaders=%zu", c->num_headers);
}

static void cl_start(struct cl_ctx *x)
{
    static const uint8_t nonce[16] = HS_RFC_NONCE;
    char req[1024];
    size_t n = 0;
    wick_err e = wick_hs_client_request(&x->c, x->opts, nonce, x->use_lim ? &x->lim : NULL, req,
                                        sizeof req, &n);
    assert_int_equal(e, WICK_OK);
}

static void cl_begin(void *ctx)
{
    struct cl_ctx *x = ctx;
    cl_start(x);
    x->finished = false;
    split_buf_reset(&x->t);
}

static int cl_feed(void *ctx, uint8_t *buf, size_t len, size_t *consumed)
{
    struct cl_ctx *x = ctx;
    size_t used = 777;
    wick_err e = wick_hs_client_verify(&x->c, (const char *)buf, len, &used);
    *consumed = 0;
    if (e == WICK_NEED_MORE) {
        if (used != 0) {
            split_buf_printf(&x->t, "NEED_MORE with consumed=%zu ", used);
        }
        return SPLIT_NEED_MORE;
    }
    cl_render(&x->t, e, &x->c, used);
    x->finished = true;
    bool counted = e == WICK_OK || e == WICK_ERR_HS_STATUS;
    size_t again = 999;
    if (wick_hs_client_verify(&x->c, (const char *)buf, len, &again) != e ||
        again != (counted ? used : 0)) {
        split_buf_printf(&x->t, " (not sticky)");
    }
    *consumed = counted ? used : 0;
    return SPLIT_STOP;
}

static void cl_end(void *ctx, size_t leftover)
{
    struct cl_ctx *x = ctx;
    if (!x->finished) {
        split_buf_printf(&x->t, "WICK_NEED_MORE");
    }
    split_buf_printf(&x->t, " leftover=%zu", leftover);
}

static const char *cl_result(void *ctx)
{
    return split_buf_str(&((struct cl_ctx *)ctx)->t);
}

static const split_ops cl_ops = {cl_begin, cl_feed, cl_end, cl_result};

static void test_cl_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cl_cases / sizeof cl_cases[0]; i++) {
        const struct cl_case *k = &cl_cases[i];
        struct cl_ctx *x = calloc(1, sizeof *x);
        assert_non_null(x);
        x->opts = k->bare ? &cl_opts_bare : &cl_opts_full;
        x->use_lim = k->max_bytes != 0 || k->max_headers != 0;
        x->lim.max_header_bytes = k->max_bytes;
        x->lim.max_headers = k->max_headers;
        split_opts o = {0, 8, 0xc11e};
        int rc = split_run_all(&cl_ops, x, (const uint8_t *)k->in.ptr, k->in.len, k->trace, &o);
        if (rc != 0) {
            print_error("case \"%s\": runs disagree (see above)\n", k->name);
        }
        assert_int_equal(rc, 0);
        cl_start(x);
        wick_err e = wick_hs_client_verify(&x->c, k->in.ptr, k->in.len, NULL);
        if (e != k->want) {
            print_error("case \"%s\": got %s want %s\n", k->name, wick_err_name(e),
                        wick_err_name(k->want));
        }
        assert_int_equal(e, k->want);
        split_buf_free(&x->t);
        free(x);
    }
}

/* The request bytes, field by field (RFC 6455 4.1 items 1-12). */
static void test_cl_request(void **state)
{
    (void)state;
    static const uint8_t nonce[16] = HS_RFC_NONCE;
    wick_hs_client c;
    char out[1024];
    size_t n = 0;
    assert_int_equal(
        wick_hs_client_request(&c, &cl_opts_full, nonce, NULL, out, sizeof out, &n), WICK_OK);
    const char *want = "GET /chat HTTP/1.1\r\n"
                       "Host: server.example.com\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: " HS_RFC_KEY "\r\n"
                       "Origin: http://example.com\r\n"
                       "Sec-WebSocket-Protocol: chat, superchat\r\n"
                       "Sec-WebSocket-Extensions: " CL_EXT_OFFER "\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "\r\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    /* Exact capacity works, one less does not. */
    size_t exact = n;
    assert_int_equal(wick_hs_client_request(&c, &cl_opts_full, nonce, NULL, out, exact, &n),
                     WICK_OK);
    assert_int_equal(wick_hs_client_request(&c, &cl_opts_full, nonce, NULL, out, exact - 1, &n),
                     WICK_ERR_BUFFER_TOO_SMALL);
    /* Defaults: target "/", no optional fields; extra fields at the end. */
    wick_header extra[1] = {{{"Cookie", 6}, {"a=b", 3}}};
    wick_hs_client_opts o = cl_opts_bare;
    o.headers = extra;
    o.num_headers = 1;
    static const uint8_t zero[16] = {0};
    assert_int_equal(wick_hs_client_request(&c, &o, zero, NULL, out, sizeof out, &n), WICK_OK);
    const char *want2 = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
                        "Sec-WebSocket-Version: 13\r\nCookie: a=b\r\n\r\n";
    assert_int_equal(n, strlen(want2));
    assert_memory_equal(out, want2, n);
}

static void test_cl_request_refused(void **state)
{
    (void)state;
    static const uint8_t nonce[16] = HS_RFC_NONCE;
    wick_hs_client c;
    char out[1024];
    size_t n = 0;
    static const wick_str bad_proto[1] = {{"a b", 3}};
    static const wick_str empty_proto[1] = {{"", 0}};
    static const wick_header bad_field[1] = {{{"X", 1}, {"1\r\nInjected: 1", 15}}};
    static const wick_header bad_name[1] = {{{"X:", 2}, {"1", 1}}};
    struct {
        const char *name;
        wick_hs_client_opts o;
    } rows[] = {
        {"no host", {{NULL, 0}, {NULL, 0}, {NULL, 0}, NULL, 0, {NULL, 0}, NULL, 0}},
        {"empty host", {{NULL, 0}, {"", 0}, {NULL, 0}, NULL, 0, {NULL, 0}, NULL, 0}},
        {"host with CRLF", {{NULL, 0}, {"h\r\nX: 1", 8}, {NULL, 0}, NULL, 0, {NULL, 0}, NULL, 0}},
        {"relative target", {{"chat", 4}, {"h", 1}, {NULL, 0}, NULL, 0, {NULL, 0}, NULL, 0}},
        {"target with space", {{"/a b", 4}, {"h", 1}, {NULL, 0}, NULL, 0, {NULL, 0}, NULL, 0}},
        {"origin with LF", {{NULL, 0}, {"h", 1}, {"a\nb", 3}, NULL, 0, {NULL, 0}, NULL, 0}},
        {"protocol not a token", {{NULL, 0}, {"h", 1}, {NULL, 0}, bad_proto, 1, {NULL, 0}, NULL, 0}},
        {"empty protocol", {{NULL, 0}, {"h", 1}, {NULL, 0}, empty_proto, 1, {NULL, 0}, NULL, 0}},
        {"protocols NULL", {{NULL, 0}, {"h", 1}, {NULL, 0}, NULL, 1, {NULL, 0}, NULL, 0}},
        {"extensions with CR", {{NULL, 0}, {"h", 1}, {NULL, 0}, NULL, 0, {"a\r", 2}, NULL, 0}},
        {"field value injection",
         {{NULL, 0}, {"h", 1}, {NULL, 0}, NULL, 0, {NULL, 0}, bad_field, 1}},
        {"field name not a token",
         {{NULL, 0}, {"h", 1}, {NULL, 0}, NULL, 0, {NULL, 0}, bad_name, 1}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        wick_err e = wick_hs_client_request(&c, &rows[i].o, nonce, NULL, out, sizeof out, &n);
        if (e != WICK_ERR_ARG) {
            print_error("case \"%s\": got %s\n", rows[i].name, wick_err_name(e));
        }
        assert_int_equal(e, WICK_ERR_ARG);
    }
    assert_int_equal(wick_hs_client_request(&c, NULL, nonce, NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    assert_int_equal(wick_hs_client_request(&c, &cl_opts_bare, NULL, NULL, out, sizeof out, &n),
                     WICK_ERR_ARG);
    /* Early refusal: an answer that does not start with "HTTP/". */
    assert_int_equal(wick_hs_client_request(&c, &cl_opts_bare, nonce, NULL, out, sizeof out, &n),
                     WICK_OK);
    assert_int_equal(wick_hs_client_verify(&c, "HTTP", 4, NULL), WICK_NEED_MORE);
    assert_int_equal(wick_hs_client_verify(&c, "HTTPS", 5, NULL), WICK_ERR_HS_MALFORMED);
    /* verify before any request */
    wick_hs_client fresh;
    memset(&fresh, 0, sizeof fresh);
    assert_int_equal(wick_hs_client_verify(&fresh, "HTTP/1.1", 8, NULL), WICK_ERR_STATE);
    assert_int_equal(wick_hs_client_verify(NULL, "HTTP/1.1", 8, NULL), WICK_ERR_ARG);
}

/* Client request -> server parse -> server answer -> client verify, with
 * frames pipelined behind both header blocks. */
static void test_cl_round_trip(void **state)
{
    (void)state;
    uint64_t rng = 7;
    for (int round = 0; round < 64; round++) {
        uint8_t nonce[16];
        for (size_t i = 0; i < sizeof nonce; i++) {
            nonce[i] = (uint8_t)split_rng_below(&rng, 256);
        }
        wick_hs_client c;
        char req[1024 + 16];
        size_t req_len = 0;
        assert_int_equal(
            wick_hs_client_request(&c, &cl_opts_full, nonce, NULL, req, 1024, &req_len), WICK_OK);
        memcpy(req + req_len, HS_FRAME_MASKED_HELLO, 11);
        wick_hs_request r;
        wick_hs_request_init(&r, NULL);
        size_t used = 0;
        assert_int_equal(wick_hs_server_parse(&r, req, req_len + 11, &used), WICK_OK);
        assert_int_equal(used, req_len);
        assert_int_equal(r.num_protocols, 2);
        assert_int_equal(r.num_extensions, 2);
        assert_int_equal(r.extensions[0].num_params, 1);
        /* The server picks the client's second subprotocol and the first
         * extension. */
        wick_hs_accept_opts ao = {r.protocols[round % 2], r.extensions[0].name, NULL, 0};
        char resp[512 + 8];
        size_t resp_len = 0;
        assert_int_equal(wick_hs_server_accept(&r, &ao, resp, 512, &resp_len), WICK_OK);
        memcpy(resp + resp_len, HS_FRAME_HELLO, 7);
        assert_int_equal(wick_hs_client_verify(&c, resp, resp_len + 7, &used), WICK_OK);
        assert_int_equal(used, resp_len);
        assert_int_equal(c.protocol.len, cl_protos[round % 2].len);
        assert_memory_equal(c.protocol.ptr, cl_protos[round % 2].ptr, c.protocol.len);
        assert_int_equal(c.num_extensions, 1);
        assert_int_equal(c.extensions[0].name.len, strlen("permessage-deflate"));
        assert_int_equal(c.status, 101);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cl_table),
        cmocka_unit_test(test_cl_request),
        cmocka_unit_test(test_cl_request_refused),
        cmocka_unit_test(test_cl_round_trip),
    };
    return cmocka_run_group_tests_name("hs_client", tests, NULL, NULL);
}
