/* Connection engine: randomized frame sequences against a model trace,
 * UTF-8 failures at every chunk/frame boundary, the allocator hook
 * (counting, failing the Nth allocation) and the extension hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/failalloc.h"
#include "support/trace.h"
#include "wick.h"

static harness H;

static void reset_harness(wick_role role)
{
    wick_conn_release(&H.conn);
    wick_conn_config_default(&H.cfg, role);
    H.cb = NULL;
    H.tr.hook = NULL;
    H.tr.fail_at = 0;
    H.drain = true;
}

/* --- A growable byte string ------------------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const uint8_t *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap - b->len < n) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n != 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
}

static void put_frame(bytes *b, uint8_t b0, const uint8_t *p, size_t n)
{
    uint8_t h[4] = {b0, 0, 0, 0};
    size_t hl = 2;
    if (n <= 125) {
        h[1] = (uint8_t)n;
    } else {
        h[1] = 126;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    put(b, h, hl);
    put(b, p, n);
}

/* --- Randomized property test -------------------------------------------
 * Random valid sequences: text (random valid UTF-8, cut anywhere) and
 * binary messages in 1-5 fragments, empty fragments included, pings and
 * pongs between messages and between fragments, then a close. The model
 * renders the trace the engine must produce; each sequence is fed in
 * random chunkings (and once with every callback pausing). */

static size_t rnd(uint64_t *s, size_t n)
{
    return split_rng_below(s, n);
}

static size_t gen_utf8(uint64_t *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (n + 4 <= max && rnd(s, 8) != 0) {
        uint32_t cp;
        switch (rnd(s, 4)) {
        case 0:
            cp = (uint32_t)(0x20 + rnd(s, 0x5f));
            break;
        case 1:
            cp = (uint32_t)(0x80 + rnd(s, 0x780));
            break;
        case 2:
            cp = (uint32_t)(0x800 + rnd(s, 0xF800));
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0x4E2D;
            }
            break;
        default:
            cp = (uint32_t)(0x10000 + rnd(s, 0x100000));
            break;
        }
        if (cp < 0x80) {
            out[n++] = (uint8_t)cp;
        } else if (cp < 0x800) {
            out[n++] = (uint8_t)(0xC0 | (cp >> 6));
            out[n++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[n++] = (uint8_t)(0xE0 | (cp >> 12));
            out[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (uint8_t)(0x80 | (cp & 0x3F));
        } else {
            out[n++] = (uint8_t)(0xF0 | (cp >> 18));
            out[n++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
            out[n++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
            out[n++] = (uint8_t)(0x80 | (cp & 0x3F));
        }
    }
    return n;
}

typedef struct model {
    split_buf ev; /* expected events */
    bytes out;    /* expected output (unmasked server form) */
    bytes piece;  /* message bytes since the last rendered data piece */
    bytes whole;  /* the whole message */
} model;

static void m_sep(model *m)
{
    if (m->ev.len != 0) {
        split_buf_printf(&m->ev, " | ");
    }
}

/* A control frame in the stream and in the model. */
static void gen_control(uint64_t *s, bytes *in, model *m, bool in_message)
{
    uint8_t pl[125];
    size_t n = rnd(s, 4) == 0 ? rnd(s, 126) : rnd(s, 6);
    for (size_t i = 0; i < n; i++) {
        pl[i] = (uint8_t)rnd(s, 256);
    }
    bool ping = rnd(s, 2) == 0;
    put_frame(in, ping ? 0x89 : 0x8A, pl, n);
    if (in_message && m->piece.len != 0) {
        m_sep(m);
        split_buf_printf(&m->ev, "data fin=0 ");
        trace_quote(&m->ev, m->piece.p, m->piece.len);
        m->piece.len = 0;
    }
    m_sep(m);
    split_buf_printf(&m->ev, "%s ", ping ? "ping" : "pong");
    trace_quote(&m->ev, pl, n);
    if (ping) {
        uint8_t h[2] = {0x8A, (uint8_t)n};
        put(&m->out, h, 2);
        put(&m->out, pl, n);
    }
}

static void gen_message(uint64_t *s, bytes *in, model *m, bool reasm)
{
    uint8_t data[700];
    bool text = rnd(s, 2) == 0;
    size_t len;
    if (text) {
        len = gen_utf8(s, data, rnd(s, 3) == 0 ? sizeof data : 40);
    } else {
        len = rnd(s, 3) == 0 ? rnd(s, sizeof data) : rnd(s, 20);
        for (size_t i = 0; i < len; i++) {
            data[i] = (uint8_t)rnd(s, 256);
        }
    }
    size_t frames = 1 + rnd(s, 5);
    m_sep(m);
    split_buf_printf(&m->ev, "begin %s", text ? "text" : "binary");
    m->piece.len = 0;
    m->whole.len = 0;
    size_t pos = 0;
    for (size_t f = 0; f < frames; f++) {
        bool last = f + 1 == frames;
        size_t n = last ? len - pos : rnd(s, len - pos + 1);
        uint8_t op = f == 0 ? (text ? 0x1 : 0x2) : 0x0;
        put_frame(in, (uint8_t)(op | (last ? 0x80 : 0)), data + pos, n);
        put(&m->piece, data + pos, n);
        put(&m->whole, data + pos, n);
        pos += n;
        while (!last && rnd(s, 3) == 0) {
            gen_control(s, in, m, true);
        }
    }
    m_sep(m);
    split_buf_printf(&m->ev, "data fin=1 ");
    trace_quote(&m->ev, m->piece.p, m->piece.len);
    if (reasm) {
        split_buf_printf(&m->ev, " | message %s ", text ? "text" : "binary");
        trace_quote(&m->ev, m->whole.p, m->whole.len);
    }
}

static void render_model_out(split_buf *b, const bytes *out)
{
    trace_render_out(b, out->p, out->len, WICK_ROLE_SERVER);
}

static void test_conn_random_sequences(void **state)
{
    (void)state;
    uint64_t seed = 0xC0FFEE1234567ULL;
    failalloc fa;
    for (int iter = 0; iter < 120; iter++) {
        bytes in = {0};
        model m = {{0}, {0}, {0}, {0}};
        bool reasm = iter % 3 != 0;
        size_t items = 1 + rnd(&seed, 8);
        for (size_t i = 0; i < items; i++) {
            if (rnd(&seed, 3) == 0) {
                gen_control(&seed, &in, &m, false);
            } else {
                gen_message(&seed, &in, &m, reasm);
            }
        }
        if (rnd(&seed, 2) == 0) {
            static const uint8_t cl[] = {0x03, 0xE8, 'o', 'k'};
            put_frame(&in, 0x88, cl, sizeof cl);
            m_sep(&m);
            split_buf_printf(&m.ev, "close 1000 \"ok\"");
            static const uint8_t echo[] = {0x88, 0x02, 0x03, 0xE8};
            put(&m.out, echo, sizeof echo);
        }
        split_buf want = {0};
        split_buf_printf(&want, "%s => WICK_OK || ", split_buf_str(&m.ev));
        render_model_out(&want, &m.out);

        for (int r = 0; r < 2; r++) {
            wick_role role = r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
            reset_harness(role);
            failalloc_init(&fa, 0);
            if (reasm) {
                H.cfg.allocator = &fa.a;
            }
            bytes fed = {0};
            if (role == WICK_ROLE_SERVER) {
                fed.cap = in.len * 2 + 64;
                fed.p = malloc(fed.cap);
                assert_non_null(fed.p);
                fed.len = trace_mask_frames(in.p, in.len, fed.p, fed.cap);
            } else {
                put(&fed, in.p, in.len);
            }
            split_opts o = {24, 12, seed};
            H.tr.pause_all = iter % 4 == 1;
            if (split_run_all(&harness_ops, &H, fed.p, fed.len, split_buf_str(&want), &o) != 0) {
                fail_msg("random sequence %d (%s)", iter, r ? "client" : "server");
            }
            H.tr.pause_all = false;
            wick_conn_release(&H.conn);
            assert_int_equal(fa.live, 0);
            assert_int_equal(fa.bad_frees, 0);
            assert_int_equal(fa.allocs, fa.frees);
            free(fed.p);
        }
        split_buf_free(&want);
        split_buf_free(&m.ev);
        free(m.out.p);
        free(m.piece.p);
        free(m.whole.p);
        free(in.p);
    }
}

/* --- UTF-8 through the engine (RFC 6455 8.1) ------------------------------
 * Each payload is sent as one text message cut into two frames at every
 * position (and into one frame per byte), every chunking of the stream:
 * the data delivered before the failure is exactly the valid prefix. */

struct utf8_case {
    const char *bytes;
    size_t bad; /* index of the first bad byte; == len: cut short; SIZE_MAX: valid */
};

static const struct utf8_case utf8_cases[] = {
    {"ab\xff", 2},
    {"a\xc3\x28"
     "b",
     2},
    {"\xe2\x82\x28", 2},
    {"\xf0\x28\x8c\xbc", 1},
    {"x\xed\xa0\x80", 2},    /* UTF-16 surrogate */
    {"\xc0\xaf", 0},         /* overlong */
    {"\xe0\x80\xaf", 1},     /* overlong */
    {"\xf4\x90\x80\x80", 1}, /* above U+10FFFF */
    {"\xf5\x80", 0},
    {"\x80", 0},         /* stray continuation */
    {"h\xe2\x82", 3},    /* cut short */
    {"\xf0\x9f\x98", 3}, /* cut short */
    {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
     "edited",
     12},
    {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", SIZE_MAX},
    {"\xf0\x9f\x98\x80\xe2\x82\xac\xc2\xa2$", SIZE_MAX},
};

static void utf8_want(split_buf *w, const uint8_t *p, size_t len, size_t bad)
{
    split_buf_reset(w);
    split_buf_printf(w, "begin text");
    if (bad == SIZE_MAX) {
        split_buf_printf(w, " | data fin=1 ");
        trace_quote(w, p, len);
        split_buf_printf(w, " => WICK_OK || -");
        return;
    }
    if (bad != 0) {
        split_buf_printf(w, " | data fin=0 ");
        trace_quote(w, p, bad);
    }
    split_buf_printf(w, " | error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef");
}

static void test_conn_utf8_boundaries(void **state)
{
    (void)state;
    split_buf want = {0};
    for (size_t i = 0; i < sizeof utf8_cases / sizeof utf8_cases[0]; i++) {
        const uint8_t *p = (const uint8_t *)utf8_cases[i].bytes;
        size_t len = strlen(utf8_cases[i].bytes);
        utf8_want(&want, p, len, utf8_cases[i].bad);
        for (size_t cut = 0; cut <= len + 1; cut++) {
            bytes in = {0};
            if (cut <= len) {
                put_frame(&in, 0x01, p, cut);
                put_frame(&in, 0x80, p + cut, len - cut);
            } else {
                for (size_t k = 0; k < len; k++) {
                    put_frame(&in, k == 0 ? 0x01 : 0x00, p + k, 1);
                }
                put_frame(&in, 0x80, p, 0);
            }
            reset_harness(WICK_ROLE_CLIENT);
            if (harness_run(&H, in.p, in.len, split_buf_str(&want), cut == 1) != 0) {
                fail_msg("utf8 case %zu cut %zu", i, cut);
            }
            free(in.p);
        }
    }
    split_buf_free(&want);
}

/* --- Allocator hook ------------------------------------------------------ */

static void feed_hex_all(const char *hex, const char *want)
{
    uint8_t raw[2048], in[2100];
    size_t n = trace_hex(hex, raw, sizeof raw);
    assert_true(n != (size_t)-1);
    if (H.cfg.role == WICK_ROLE_SERVER) {
        n = trace_mask_frames(raw, n, in, sizeof in);
    } else {
        memcpy(in, raw, n);
    }
    assert_int_equal(split_run_all(&harness_ops, &H, in, n, want, NULL), 0);
}

/* Builds hex for a fragmented binary message of frames of sizes[] bytes
 * filled with 'x' (written as 78). */
static void frag_hex(char *out, size_t cap, const size_t *sizes, size_t n)
{
    size_t o = 0;
    for (size_t f = 0; f < n; f++) {
        unsigned b0 = (f == 0 ? 0x2u : 0x0u) | (f + 1 == n ? 0x80u : 0u);
        if (sizes[f] <= 125) {
            o += (size_t)snprintf(out + o, cap - o, "%02x %02zx ", b0, sizes[f]);
        } else {
            o += (size_t)snprintf(out + o, cap - o, "%02x 7e %02zx %02zx ", b0, sizes[f] >> 8,
                                  sizes[f] & 0xff);
        }
        for (size_t i = 0; i < sizes[f]; i++) {
            o += (size_t)snprintf(out + o, cap - o, "78");
        }
        o += (size_t)snprintf(out + o, cap - o, " ");
    }
}

static void test_conn_alloc_counting(void **state)
{
    (void)state;
    static char hex[6000];
    static const size_t sizes[] = {10, 100, 900};
    frag_hex(hex, sizeof hex, sizes, 3);
    const char *want = "begin binary | data fin=1 <1010 bytes c2a1222d> | "
                       "message binary <1010 bytes c2a1222d> => WICK_OK || -";
    failalloc fa;

    /* Without reassembly (no on_message): the engine never allocates. */
    static wick_callbacks no_msg;
    no_msg = trace_callbacks;
    no_msg.on_message = NULL;
    reset_harness(WICK_ROLE_SERVER);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cb = &no_msg;
    feed_hex_all(hex, "begin binary | data fin=1 <1010 bytes c2a1222d> => WICK_OK || -");
    assert_int_equal(fa.attempts, 0);

    /* With it: capacity grows at each header (64, then 2x or the need):
     * 3 allocations per message for 10 + 100 + 900 bytes, all freed, each
     * with its size; the same count for every split. */
    reset_harness(WICK_ROLE_SERVER);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    char *got = NULL;
    uint8_t raw[1100], in[1200];
    size_t n = trace_hex(hex, raw, sizeof raw);
    n = trace_mask_frames(raw, n, in, sizeof in);
    size_t whole = n;
    assert_int_equal(split_run_sizes(&harness_ops, &H, in, n, &whole, 1, &got), 0);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(fa.allocs, 3);
    assert_int_equal(fa.frees, 3);
    assert_int_equal(fa.live, 0);
    failalloc_init(&fa, 0);
    feed_hex_all(hex, want);
    unsigned runs = fa.allocs / 3;
    assert_true(runs > 100);
    assert_int_equal(fa.allocs, runs * 3);
    assert_int_equal(fa.bad_frees, 0);
    assert_int_equal(fa.live, 0);

    /* msg_buf first, the allocator only beyond it (contents carried). */
    static uint8_t mb[50];
    reset_harness(WICK_ROLE_CLIENT);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cfg.msg_buf = mb;
    H.cfg.msg_cap = sizeof mb;
    feed_hex_all("01 03 'abc' 80 02 'de'", "begin text | data fin=1 \"abcde\" | message text "
                                           "\"abcde\" => WICK_OK || -");
    assert_int_equal(fa.attempts, 0);
    static const size_t s2[] = {40, 20};
    frag_hex(hex, sizeof hex, s2, 2);
    failalloc_init(&fa, 0);
    split_buf w = {0};
    uint8_t sixty[60];
    memset(sixty, 'x', sizeof sixty);
    split_buf_printf(&w, "begin binary | data fin=1 ");
    trace_quote(&w, sixty, 60);
    split_buf_printf(&w, " | message binary ");
    trace_quote(&w, sixty, 60);
    split_buf_printf(&w, " => WICK_OK || -");
    feed_hex_all(hex, split_buf_str(&w));
    split_buf_free(&w);
    assert_true(fa.allocs > 0);
    assert_int_equal(fa.live, 0);
    assert_int_equal(fa.bad_frees, 0);
    wick_conn_release(&H.conn);
}

/* RFC 6455 7.1.7 with WICK_ERR_NOMEM: close 1011, nothing leaks. */
static void test_conn_alloc_failing(void **state)
{
    (void)state;
    static char hex[6000];
    static const size_t sizes[] = {10, 100, 900};
    frag_hex(hex, sizeof hex, sizes, 3);
    static const char *const want[] = {
        "error WICK_ERR_NOMEM => WICK_ERR_NOMEM || 88 02 03 f3",
        "begin binary | data fin=0 \"xxxxxxxxxx\" | error WICK_ERR_NOMEM => WICK_ERR_NOMEM || "
        "88 02 03 f3",
        "begin binary | data fin=0 <110 bytes 7da2a11d> | error WICK_ERR_NOMEM => "
        "WICK_ERR_NOMEM || 88 02 03 f3",
    };
    for (unsigned k = 1; k <= 3; k++) {
        failalloc fa;
        reset_harness(WICK_ROLE_SERVER);
        failalloc_init(&fa, k);
        H.cfg.allocator = &fa.a;
        /* Every run allocates afresh: fail the kth attempt of each run by
         * restarting the counter in a hook-free way: one run at a time. */
        uint8_t raw[1100], in[1200];
        size_t n = trace_hex(hex, raw, sizeof raw);
        n = trace_mask_frames(raw, n, in, sizeof in);
        size_t whole = n;
        char *got = NULL;
        assert_int_equal(split_run_sizes(&harness_ops, &H, in, n, &whole, 1, &got), 0);
        if (strcmp(got, want[k - 1]) != 0) {
            fail_msg("fail_at %u: %s", k, got);
        }
        free(got);
        /* One byte at a time as well. */
        failalloc_init(&fa, k);
        size_t *ones = malloc(n * sizeof *ones);
        assert_non_null(ones);
        for (size_t i = 0; i < n; i++) {
            ones[i] = 1;
        }
        assert_int_equal(split_run_sizes(&harness_ops, &H, in, n, ones, n, &got), 0);
        assert_string_equal(got, want[k - 1]);
        free(got);
        free(ones);
        assert_int_equal(wick_conn_error(&H.conn), WICK_ERR_NOMEM);
        wick_conn_release(&H.conn);
        assert_int_equal(fa.live, 0);
        assert_int_equal(fa.bad_frees, 0);
    }
}

/* Release in the middle of a reassembled message frees the buffer at
 * once; the message still streams but on_message does not fire. An empty
 * reassembled message needs no allocation and is not given NULL. */
static void test_conn_release_mid_message(void **state)
{
    (void)state;
    failalloc fa;
    reset_harness(WICK_ROLE_CLIENT);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cfg.out_buf = H.out_buf;
    H.cfg.out_cap = sizeof H.out_buf;
    trace_reset(&H.tr);
    assert_int_equal(wick_conn_init(&H.conn, &H.cfg, &trace_callbacks, &H.tr), WICK_OK);
    uint8_t in[64];
    size_t n = trace_hex("82 00 01 03 'abc'", in, sizeof in);
    assert_int_equal(wick_conn_recv(&H.conn, in, n, NULL), WICK_OK);
    assert_int_equal(fa.allocs, 1);
    assert_int_equal(fa.live, 64);
    wick_conn_release(&H.conn);
    assert_int_equal(fa.live, 0);
    n = trace_hex("80 02 'de' 81 01 'f'", in, sizeof in);
    assert_int_equal(wick_conn_recv(&H.conn, in, n, NULL), WICK_OK);
    assert_string_equal(trace_str(&H.tr), "begin binary | data fin=1 \"\" | message binary \"\" | "
                                          "begin text | data fin=1 \"abcde\" | begin text | "
                                          "data fin=1 \"f\" | message text \"f\"");
    wick_conn_release(&H.conn);
    assert_int_equal(fa.allocs, 2);
    assert_int_equal(fa.frees, 2);
    assert_int_equal(fa.bad_frees, 0);
}

/* --- Extension hook --------------------------------------------------------
 * A trivial "extension" whose decoding XORs every byte with 0x20 and emits
 * one byte at a time; '!' makes decode fail with an unknown value, '~'
 * with WICK_ERR_TOO_BIG. */

static int xor_decode(void *st, const uint8_t *in, size_t len, bool fin, wick_emit_fn emit,
                      void *ctx)
{
    unsigned *calls = st;
    (*calls)++;
    (void)fin;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '!') {
            return -12345;
        }
        if (in[i] == '~') {
            return WICK_ERR_TOO_BIG;
        }
        uint8_t b = (uint8_t)(in[i] ^ 0x20);
        int rc = emit(ctx, &b, 1);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static unsigned xor_calls;
static const wick_extension xor_ext = {WICK_RSV1, xor_decode, &xor_calls};

struct ext_case {
    const char *name;
    uint64_t max_message;
    size_t msg_cap;
    const char *in;
    const char *want;
};

static const struct ext_case ext_cases[] = {
    {"decoded single frame", 0, 0, "c1 05 'HELLO'",
     "begin text | data fin=1 \"hello\" => WICK_OK || -"},
    {"decoded fragments with ping", 0, 0, "41 03 'HEL' 89 00 80 02 'LO'",
     "begin text | data fin=0 \"hel\" | ping \"\" | data fin=1 \"lo\" => WICK_OK || 8a 00"},
    {"decoded binary, empty", 0, 0, "c2 00", "begin binary | data fin=1 \"\" => WICK_OK || -"},
    {"reassembled", 0, 16, "41 03 'HEL' 80 02 'LO'",
     "begin text | data fin=1 \"hello\" | message text \"hello\" => WICK_OK || -"},
    {"not compressed: untouched", 0, 0, "81 02 'AB'",
     "begin text | data fin=1 \"AB\" => WICK_OK || -"},
    {"RSV1 on a continuation", 0, 0, "41 01 'A' c0 01 'B'",
     "begin text | data fin=0 \"a\" | error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 "
     "ea"},
    {"RSV1 on a control frame", 0, 0, "c9 00",
     "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea"},
    {"RSV2 not claimed", 0, 0, "a1 01 'a'",
     "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea"},
    {"decoded bytes are UTF-8 checked", 0, 0, "c1 03 'AB' df",
     "begin text | data fin=0 \"ab\" | error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef"},
    {"decoded text cut short", 0, 0, "c1 02 'A' c2",
     "begin text | data fin=0 \"a\\xe2\" | error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef"},
    {"limit on decoded bytes", 3, 0, "c1 05 'HELLO'",
     "begin text | data fin=0 \"hel\" | error WICK_ERR_TOO_BIG => WICK_ERR_TOO_BIG || 88 02 03 f1"},
    {"decode fails: unknown value", 0, 0, "c1 03 'AB!'",
     "begin text | data fin=0 \"ab\" | error WICK_ERR_EXTENSION => WICK_ERR_EXTENSION || "
     "88 02 03 f3"},
    {"decode fails with a wick_err", 0, 0, "c1 03 'AB~'",
     "begin text | data fin=0 \"ab\" | error WICK_ERR_TOO_BIG => WICK_ERR_TOO_BIG || 88 02 03 f1"},
};

static void test_conn_extension(void **state)
{
    (void)state;
    static uint8_t mb[16];
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        const struct ext_case *k = &ext_cases[i];
        for (int r = 0; r < 2; r++) {
            reset_harness(r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER);
            H.cfg.extension = &xor_ext;
            if (k->max_message) {
                H.cfg.max_message = k->max_message;
            }
            if (k->msg_cap) {
                H.cfg.msg_buf = mb;
                H.cfg.msg_cap = k->msg_cap;
            }
            uint8_t raw[256], in[300];
            size_t n = trace_hex(k->in, raw, sizeof raw);
            assert_true(n != (size_t)-1);
            if (r == 0) {
                n = trace_mask_frames(raw, n, in, sizeof in);
            } else {
                memcpy(in, raw, n);
            }
            xor_calls = 0;
            if (harness_run(&H, in, n, k->want, true) != 0) {
                fail_msg("extension case \"%s\"", k->name);
            }
        }
    }
    assert_true(xor_calls > 0);
}

static int group_setup(void **state)
{
    (void)state;
    harness_init(&H, WICK_ROLE_SERVER);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_free(&H);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_random_sequences), cmocka_unit_test(test_conn_utf8_boundaries),
        cmocka_unit_test(test_conn_alloc_counting),   cmocka_unit_test(test_conn_alloc_failing),
        cmocka_unit_test(test_conn_release_mid_message),
        cmocka_unit_test(test_conn_extension),
    };
    return cmocka_run_group_tests_name("conn_more", tests, group_setup, group_teardown);
}
