/* Connection engine: randomized frame sequences against a model trace,
 * and UTF-8 failures at every chunk and frame boundary (RFC 6455 8.1). */
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
    bool reasm;   /* whole-message delivery: no data events */
    bool begun;   /* the current message's first chunk was rendered */
    bool text;    /* the current message is text */
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
    if (in_message && !m->reasm && m->piece.len != 0) {
        if (!m->begun) { /* "begin" comes with the first chunk delivered */
            m_sep(m);
            split_buf_printf(&m->ev, "begin %s", m->text ? "text" : "binary");
            m->begun = true;
        }
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

static void gen_message(uint64_t *s, bytes *in, model *m)
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
    m->text = text;
    m->begun = false;
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
    if (m->reasm) {
        split_buf_printf(&m->ev, "message %s ", text ? "text" : "binary");
        trace_quote(&m->ev, m->whole.p, m->whole.len);
        return;
    }
    if (!m->begun) {
        split_buf_printf(&m->ev, "begin %s | ", text ? "text" : "binary");
    }
    split_buf_printf(&m->ev, "data fin=1 ");
    trace_quote(&m->ev, m->piece.p, m->piece.len);
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
        model m = {{0}, {0}, {0}, {0}, false, false, false};
        bool reasm = iter % 3 != 0;
        m.reasm = reasm;
        size_t items = 1 + rnd(&seed, 8);
        for (size_t i = 0; i < items; i++) {
            if (rnd(&seed, 3) == 0) {
                gen_control(&seed, &in, &m, false);
            } else {
                gen_message(&seed, &in, &m);
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
    /* Long enough for the fused unmask-and-ASCII pass (32 bytes and up),
     * whole or in pieces that end inside a character. */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xff", 70},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xce\xba"
     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
     SIZE_MAX},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xe2\x82", 38},
    {"\xce\xbaxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\xed\xa0\x80", 45},
};

static void utf8_want(split_buf *w, const uint8_t *p, size_t len, size_t bad)
{
    split_buf_reset(w);
    if (bad == SIZE_MAX) {
        split_buf_printf(w, "begin text | data fin=1 ");
        trace_quote(w, p, len);
        split_buf_printf(w, " => WICK_OK || -");
        return;
    }
    if (bad != 0) { /* the valid prefix is delivered, "begin" with it */
        split_buf_printf(w, "begin text | data fin=0 ");
        trace_quote(w, p, bad);
        split_buf_printf(w, " | ");
    }
    split_buf_printf(w, "error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef");
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
        cmocka_unit_test(test_conn_random_sequences),
        cmocka_unit_test(test_conn_utf8_boundaries),
    };
    return cmocka_run_group_tests_name("conn_prop", tests, group_setup, group_teardown);
}
