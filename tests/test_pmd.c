/* permessage-deflate on the engine (RFC 7692 7.2): the RFC's own
 * examples at every input split, round trips between a wick client and
 * a wick server under every parameter combination, fragmented and
 * backpressured sends, the bomb guard, bad compressed data, RSV rules,
 * compress-once broadcast, and the arena's bounds. Negotiation has its
 * own test (test_pmd_neg.c). */
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

#ifdef WICK_ZLIB
#include <zlib.h>
#endif

static harness H;

static wick_pmd_params params(bool snct, bool cnct, unsigned sbits, unsigned cbits)
{
    wick_pmd_params p;
    memset(&p, 0, sizeof(p));
    p.enabled = true;
    p.server_no_context_takeover = snct;
    p.client_no_context_takeover = cnct;
    p.server_max_window_bits = (uint8_t)sbits;
    p.client_max_window_bits = (uint8_t)cbits;
    return p;
}

/* Budget large enough for zlib's defaults in both directions. */
#define BIG_BUDGET (400U * 1024U)
static uint8_t arena_a[BIG_BUDGET], arena_b[BIG_BUDGET], arena_c[BIG_BUDGET];

static size_t pmd_setup(wick_pmd *pmd, wick_role role, const wick_pmd_params *p, uint8_t *arena,
                        const wick_pmd_config *cfg_in)
{
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    if (cfg_in != NULL) {
        cfg = *cfg_in;
    }
    if (cfg.budget == WICK_PMD_DEFAULT_BUDGET) {
        cfg.budget = BIG_BUDGET;
    }
    size_t need = wick_pmd_arena_size(&cfg, p, role);
    assert_true(need > 0 && need <= cfg.budget);
    assert_int_equal(wick_pmd_init(pmd, &cfg, p, role, arena, need), WICK_OK);
    assert_true(wick_pmd_arena_used(pmd) <= need);
    return need;
}

#ifdef WICK_ZLIB

/* A server connection with pmd set up for p and cfg (its extension),
 * writing into a 4 KiB static output buffer. */
static void server_conn(wick_conn *c, wick_pmd *pmd, const wick_pmd_params *p,
                        const wick_pmd_config *cfg, uint64_t max_message, const wick_callbacks *cb,
                        void *user)
{
    pmd_setup(pmd, WICK_ROLE_SERVER, p, arena_a, cfg);
    wick_conn_config cc;
    wick_conn_config_default(&cc, WICK_ROLE_SERVER);
    static uint8_t out[4096];
    cc.out_buf = out;
    cc.out_cap = sizeof out;
    cc.extension = wick_pmd_extension(pmd);
    cc.max_message = max_message;
    assert_int_equal(wick_conn_init(c, &cc, cb, user), WICK_OK);
}

/* --- The examples of RFC 7692 7.2.3, at every split ---------------------- */

struct rfc_case {
    const char *name;
    bool snct;      /* server_no_context_takeover: the client's inflater resets */
    const char *in; /* frames as the server sends them (unmasked) */
    const char *want;
};

static const struct rfc_case rfc_cases[] = {
    {"7.2.3.1 Hello", true, "c1 07 f2 48 cd c9 c9 07 00",
     "begin text | data fin=1 \"Hello\" => WICK_OK || -"},
    {"7.2.3.1 Hello, fragmented", true, "41 03 f2 48 cd 80 04 c9 c9 07 00",
     "begin text | data fin=1 \"Hello\" => WICK_OK || -"},
    {"7.2.3.3 stored block", true, "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00",
     "begin text | data fin=1 \"Hello\" => WICK_OK || -"},
    {"7.2.3.4 BFINAL set", true, "c1 08 f3 48 cd c9 c9 07 00 00",
     "begin text | data fin=1 \"Hello\" => WICK_OK || -"},
    {"7.2.3.5 two blocks", true, "c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00",
     "begin text | data fin=1 \"Hello\" => WICK_OK || -"},
    {"uncompressed message between", true, "c1 07 f2 48 cd c9 c9 07 00 81 02 'ok'",
     "begin text | data fin=1 \"Hello\" | begin text | data fin=1 \"ok\" => WICK_OK || -"},
    {"ping inside a compressed message", true, "41 03 f2 48 cd 89 01 'p' 80 04 c9 c9 07 00",
     "begin text | data fin=0 \"He\" | ping \"p\" | data fin=1 \"llo\" => WICK_OK || 8a 01 70"},
    {"RSV1 on a continuation frame", true, "41 03 f2 48 cd c0 04 c9 c9 07 00",
     "begin text | data fin=0 \"He\" | error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || "
     "88 02 03 ea"},
    {"RSV1 on a ping", true, "c9 00",
     "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea"},
    {"RSV2 on a data frame", true, "a1 07 f2 48 cd c9 c9 07 00",
     "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea"},
    {"reserved block type", true, "c1 02 ff ff",
     "error WICK_ERR_INFLATE => WICK_ERR_INFLATE || 88 02 03 ef"},
    {"cut inside a block", true, "c1 02 f2 48",
     /* the appended tail reads as one more literal before the error */
     "begin text | data fin=0 \"H`\" | error WICK_ERR_INFLATE => WICK_ERR_INFLATE || 88 02 03 ef"},
    {"empty compressed payload", true, "c1 00",
     "error WICK_ERR_INFLATE => WICK_ERR_INFLATE || 88 02 03 ef"},
    /* "He" then 0xff: the stored block carries bytes that are not UTF-8. */
    {"invalid UTF-8 inside", true, "c1 09 00 03 00 fc ff 48 65 ff 00",
     "begin text | data fin=0 \"He\" | error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef"},
    {"binary is not checked", true, "c2 09 00 03 00 fc ff 48 65 ff 00",
     "begin binary | data fin=1 \"He\\xff\" => WICK_OK || -"},
};

static void test_pmd_rfc_examples(void **state)
{
    (void)state;
    wick_pmd pmd;
    for (size_t i = 0; i < sizeof rfc_cases / sizeof rfc_cases[0]; i++) {
        const struct rfc_case *k = &rfc_cases[i];
        for (int r = 0; r < 2; r++) {
            /* The client receives them as written; the server masked. */
            wick_role role = r == 0 ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
            wick_pmd_params p = params(k->snct, k->snct, 15, 15);
            pmd_setup(&pmd, role, &p, arena_a, NULL);
            harness_free(&H);
            harness_init(&H, role);
            H.cfg.extension = wick_pmd_extension(&pmd);
            uint8_t raw[256], in[300];
            size_t n = trace_hex(k->in, raw, sizeof raw);
            assert_true(n != (size_t)-1);
            if (role == WICK_ROLE_SERVER) {
                n = trace_mask_frames(raw, n, in, sizeof in);
            } else {
                memcpy(in, raw, n);
            }
            /* Failing runs leave the inflater inside a stream: only the
             * whole-input run is meaningful then. */
            bool fails = strstr(k->want, "error") != NULL;
            int rc;
            if (fails) {
                wick_conn_config cfg = H.cfg;
                uint8_t out[4096];
                cfg.out_buf = out;
                cfg.out_cap = sizeof out;
                assert_int_equal(wick_conn_init(&H.conn, &cfg, &trace_callbacks, &H.tr), WICK_OK);
                trace_reset(&H.tr);
                size_t used = 0;
                wick_err e = wick_conn_recv(&H.conn, in, n, &used);
                split_buf b;
                memset(&b, 0, sizeof b);
                split_buf_printf(&b, "%s => %s || ", trace_str(&H.tr), wick_err_name(e));
                size_t on = 0;
                const uint8_t *o = wick_conn_out_peek(&H.conn, &on);
                trace_render_out(&b, o, on, role);
                rc = strcmp(split_buf_str(&b), k->want);
                if (rc != 0) {
                    fprintf(stderr, "got  %s\nwant %s\n", split_buf_str(&b), k->want);
                }
                split_buf_free(&b);
            } else {
                rc = harness_run(&H, in, n, k->want, true);
            }
            wick_pmd_release(&pmd);
            if (rc != 0) {
                fail_msg("RFC 7692 case \"%s\" (%s)", k->name, r == 0 ? "client" : "server");
            }
        }
    }
}

/* 7.2.3.2: the second "Hello" refers back into the first message. */
static void test_pmd_rfc_context_takeover(void **state)
{
    (void)state;
    wick_pmd pmd;
    wick_pmd_params p = params(false, false, 15, 15);
    pmd_setup(&pmd, WICK_ROLE_CLIENT, &p, arena_a, NULL);
    harness_free(&H);
    harness_init(&H, WICK_ROLE_CLIENT);
    H.cfg.extension = wick_pmd_extension(&pmd);
    uint8_t out[4096];
    wick_conn_config cfg = H.cfg;
    cfg.out_buf = out;
    cfg.out_cap = sizeof out;
    assert_int_equal(wick_conn_init(&H.conn, &cfg, &trace_callbacks, &H.tr), WICK_OK);
    trace_reset(&H.tr);
    uint8_t in[64];
    size_t n = trace_hex("c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00", in, sizeof in);
    size_t used = 0;
    assert_int_equal(wick_conn_recv(&H.conn, in, n, &used), WICK_OK);
    assert_int_equal(used, n);
    assert_string_equal(trace_str(&H.tr),
                        "begin text | data fin=1 \"Hello\" | begin text | data fin=1 \"Hello\"");
    wick_pmd_release(&pmd);
}

/* --- Two wick endpoints talking ------------------------------------------ */

#define PEER_OUT 8192U
#define PEER_RX  (256U * 1024U)
#define MAX_MSGS 64

typedef struct peer {
    wick_conn c;
    wick_pmd pmd;
    bool has_pmd;
    failalloc fa;
    uint8_t out[PEER_OUT];
    uint8_t *rx;
    size_t rx_len;
    /* What the other side sent, in order, to compare with. */
    const uint8_t *want[MAX_MSGS];
    size_t want_len[MAX_MSGS];
    uint8_t want_op[MAX_MSGS];
    size_t n_want, n_got;
    unsigned bad;
    size_t wire_in;    /* bytes received */
    size_t arena_need; /* wick_pmd_arena_size() */
    uint64_t rng;
} peer;

static int peer_on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len,
                           void *user)
{
    (void)c;
    peer *p = (peer *)user;
    if (p->n_got >= p->n_want || p->want_len[p->n_got] != len || p->want_op[p->n_got] != opcode ||
        (len != 0 && memcmp(p->want[p->n_got], data, len) != 0)) {
        p->bad++;
    }
    p->n_got++;
    return 0;
}

static int peer_random(void *user, uint8_t *out, size_t n)
{
    peer *p = (peer *)user;
    for (size_t i = 0; i < n; i++) {
        p->rng = p->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = (uint8_t)(p->rng >> 56);
    }
    return 0;
}

static const wick_callbacks peer_cb = {.on_message = peer_on_message, .random = peer_random};

static void peer_init(peer *p, wick_role role, const wick_pmd_params *prm, uint8_t *arena,
                      const wick_pmd_config *pcfg)
{
    memset(p, 0, sizeof(*p));
    p->rng = role == WICK_ROLE_CLIENT ? 1 : 2;
    p->rx = malloc(PEER_RX);
    assert_non_null(p->rx);
    failalloc_init(&p->fa, 0);
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, role);
    cfg.out_buf = p->out;
    cfg.out_cap = sizeof p->out;
    cfg.allocator = &p->fa.a;
    if (prm != NULL) {
        p->arena_need = pmd_setup(&p->pmd, role, prm, arena, pcfg);
        p->has_pmd = true;
        cfg.extension = wick_pmd_extension(&p->pmd);
    }
    assert_int_equal(wick_conn_init(&p->c, &cfg, &peer_cb, p), WICK_OK);
}

static void peer_free(peer *p)
{
    wick_conn_release(&p->c);
    if (p->has_pmd) {
        wick_pmd_release(&p->pmd);
    }
    free(p->rx);
    p->rx = NULL;
}

/* Moves a's output into b in pieces of random size (1..max_piece),
 * passing back whatever b leaves unconsumed (NEED_MORE). */
static void pump(peer *a, peer *b, size_t max_piece)
{
    size_t n = 0;
    const uint8_t *o = wick_conn_out_peek(&a->c, &n);
    while (n != 0) {
        a->rng = a->rng * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t piece = 1 + (size_t)((a->rng >> 33) % max_piece);
        if (piece > n) {
            piece = n;
        }
        assert_true(b->rx_len + piece <= PEER_RX);
        memcpy(b->rx + b->rx_len, o, piece);
        b->rx_len += piece;
        b->wire_in += piece;
        wick_conn_out_consume(&a->c, piece);
        size_t used = 0;
        wick_err e = wick_conn_recv(&b->c, b->rx, b->rx_len, &used);
        assert_true(e == WICK_OK || e == WICK_NEED_MORE);
        memmove(b->rx, b->rx + used, b->rx_len - used);
        b->rx_len -= used;
        o = wick_conn_out_peek(&a->c, &n);
    }
}

/* Sends msg from a to b with send_some (frames as large as the output
 * allows), pumping whenever the output is full. */
static void send_msg(peer *a, peer *b, uint8_t op, const uint8_t *msg, size_t len, size_t piece)
{
    assert_true(b->n_want < MAX_MSGS);
    b->want[b->n_want] = msg;
    b->want_len[b->n_want] = len;
    b->want_op[b->n_want] = (uint8_t)(op & 0x0F);
    b->n_want++;
    size_t off = 0;
    bool first = true;
    do {
        size_t acc = 0;
        wick_err e =
            wick_conn_send_some(&a->c, first ? op : WICK_OP_CONT, msg + off, len - off, true, &acc);
        if (e == WICK_ERR_WOULD_BLOCK) {
            pump(a, b, piece);
            continue;
        }
        assert_int_equal(e, WICK_OK);
        off += acc;
        first = false;
    } while (off < len || (first && len == 0) || a->c.priv_.out_in_message);
    pump(a, b, piece);
}

/* Test payloads: chat-like JSON, plain text, random bytes, zeros. */
static uint8_t *make_payload(unsigned kind, size_t len, uint64_t seed)
{
    uint8_t *m = malloc(len + 1);
    assert_non_null(m);
    static const char *words[] = {"{\"type\":\"message\",", "\"room\":\"lobby\",",
                                  "\"from\":\"alice\",",    "\"text\":\"hello there\",",
                                  "\"id\":12345}",          " the quick brown ",
                                  "fox jumps over ",        "lazy dogs. "};
    size_t i = 0;
    while (i < len) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        if (kind == 0) {
            const char *w = words[(seed >> 40) % 8];
            size_t wl = strlen(w);
            for (size_t j = 0; j < wl && i < len; j++) {
                m[i++] = (uint8_t)w[j];
            }
        } else if (kind == 1) {
            m[i++] = (uint8_t)(seed >> 56);
        } else {
            m[i++] = 0;
        }
    }
    return m;
}

static void round_trip(const wick_pmd_params *prm, const wick_pmd_config *ccfg,
                       const wick_pmd_config *scfg, size_t piece)
{
    static const size_t sizes[] = {0, 1, 5, 125, 126, 1000, 4000, 7000, 20000, 70000};
    peer *cl = malloc(sizeof(peer));
    peer *sv = malloc(sizeof(peer));
    assert_non_null(cl);
    assert_non_null(sv);
    peer_init(cl, WICK_ROLE_CLIENT, prm, arena_a, ccfg);
    peer_init(sv, WICK_ROLE_SERVER, prm, arena_b, scfg);
    uint8_t *msgs[2 * sizeof sizes / sizeof sizes[0] * 3];
    size_t nm = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (unsigned kind = 0; kind < 3; kind++) {
            uint8_t op = kind == 1 ? WICK_OP_BINARY : WICK_OP_TEXT;
            uint8_t *m = make_payload(kind, sizes[s], s * 7 + kind);
            msgs[nm++] = m;
            send_msg(cl, sv, op, m, sizes[s], piece);
            uint8_t *r = make_payload(kind, sizes[s], s * 11 + kind + 1);
            msgs[nm++] = r;
            send_msg(sv, cl, op, r, sizes[s], piece);
        }
    }
    assert_int_equal(sv->bad, 0);
    assert_int_equal(cl->bad, 0);
    assert_int_equal(sv->n_got, sv->n_want);
    assert_int_equal(cl->n_got, cl->n_want);
    assert_int_equal(wick_conn_error(&cl->c), WICK_OK);
    assert_int_equal(wick_conn_error(&sv->c), WICK_OK);
    /* The arena stays within what wick_pmd_arena_size() promised (zlib
     * takes the inflate window at the first message, nothing later). */
    assert_true(wick_pmd_arena_used(&cl->pmd) <= cl->arena_need);
    assert_true(wick_pmd_arena_used(&sv->pmd) <= sv->arena_need);
    for (size_t i = 0; i < nm; i++) {
        free(msgs[i]);
    }
    peer_free(cl);
    peer_free(sv);
    free(cl);
    free(sv);
}

static void test_pmd_round_trips(void **state)
{
    (void)state;
    for (unsigned snct = 0; snct < 2; snct++) {
        for (unsigned cnct = 0; cnct < 2; cnct++) {
            for (unsigned bits = 8; bits <= 15; bits += (bits == 8 ? 1 : 3)) {
                wick_pmd_params p = params(snct, cnct, bits, 23U - bits);
                round_trip(&p, NULL, NULL, 1 + (bits * 997) % 3000);
            }
        }
    }
}

/* Small budgets, decompress-only, min_size and levels change nothing the
 * peer can see but the bytes on the wire. */
static void test_pmd_round_trip_configs(void **state)
{
    (void)state;
    wick_pmd_params p = params(false, false, 15, 15);
    wick_pmd_config a, b;
    wick_pmd_config_default(&a);
    wick_pmd_config_default(&b);
    a.flags = WICK_PMD_DECOMPRESS_ONLY;
    b.min_size = 100;
    b.level = 1;
    round_trip(&p, &a, &b, 700);
    /* Budgets that only fit smaller windows when the peer's is limited. */
    wick_pmd_params q = params(false, false, 10, 10);
    a.flags = 0;
    a.budget = 24U * 1024U;
    b.budget = 24U * 1024U;
    b.level = 9;
    round_trip(&q, &a, &b, 4096);
}

/* Compressed frames carry RSV1 on the first frame only; WICK_SEND_PLAIN
 * and min_size send a message as it is. */
static void test_pmd_send_frames(void **state)
{
    (void)state;
    wick_pmd_params p = params(true, true, 15, 15);
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    cfg.min_size = 8;
    wick_pmd pmd;
    wick_conn c;
    static const wick_callbacks cb = {0};
    server_conn(&c, &pmd, &p, &cfg, 0, &cb, NULL);
    size_t n = 0;
    /* "Hello" is under min_size: as it is. */
    assert_int_equal(wick_conn_send(&c, WICK_OP_TEXT, "Hello", 5, true), WICK_OK);
    const uint8_t *o = wick_conn_out_peek(&c, &n);
    assert_int_equal(n, 7);
    assert_memory_equal(o, "\x81\x05Hello", 7);
    wick_conn_out_consume(&c, n);
    /* Long enough: compressed, RSV1. With a fresh window, zlib's output
     * for "HelloHello" ends in the RFC's 00 00 ff ff flush, stripped. */
    assert_int_equal(wick_conn_send(&c, WICK_OP_TEXT, "HelloHello", 10, true), WICK_OK);
    o = wick_conn_out_peek(&c, &n);
    assert_true(n >= 2);
    assert_int_equal(o[0], 0xC1);
    assert_int_equal(o[1], n - 2);
    wick_conn_out_consume(&c, n);
    /* WICK_SEND_PLAIN: as it is. */
    assert_int_equal(wick_conn_send(&c, WICK_OP_BINARY | WICK_SEND_PLAIN, "0123456789", 10, true),
                     WICK_OK);
    o = wick_conn_out_peek(&c, &n);
    assert_int_equal(n, 12);
    assert_int_equal(o[0], 0x82);
    wick_conn_out_consume(&c, n);
    /* Fragmented: RSV1 on the first frame only. */
    assert_int_equal(wick_conn_send(&c, WICK_OP_TEXT, "HelloHello", 10, false), WICK_OK);
    assert_int_equal(wick_conn_send(&c, WICK_OP_CONT, "HelloHello", 10, true), WICK_OK);
    o = wick_conn_out_peek(&c, &n);
    assert_int_equal(o[0], 0x41);
    size_t l1 = o[1];
    assert_int_equal(o[2 + l1], 0x80);
    wick_conn_out_consume(&c, n);
    assert_int_equal(wick_conn_send(&c, WICK_OP_CONT | WICK_SEND_PLAIN, "x", 1, true),
                     WICK_ERR_ARG);
    wick_pmd_release(&pmd);
}

/* --- Bomb guard ----------------------------------------------------------- */

/* Raw DEFLATE (15-bit window) of data as a permessage-deflate payload at
 * `level`: a sync flush with its 00 00 ff ff removed (RFC 7692 7.2.1), or
 * with Z_FINISH ending in a final block (7.2.3.4). `dict` (may be NULL)
 * primes the window, as the previous messages would under context
 * takeover. */
static size_t deflate_payload(const uint8_t *data, size_t len, int level, int flush,
                              const uint8_t *dict, size_t dict_len, uint8_t *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    if (dict != NULL) {
        assert_int_equal(deflateSetDictionary(&z, dict, (uInt)dict_len), Z_OK);
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, flush), flush == Z_FINISH ? Z_STREAM_END : Z_OK);
    assert_int_equal(z.avail_in, 0);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (flush == Z_FINISH) {
        return n;
    }
    assert_true(n >= 4);
    return n - 4;
}

/* Appends a masked frame to wire[*total..cap). */
static void add_frame(uint8_t *wire, size_t cap, size_t *total, uint8_t op, bool fin, uint8_t rsv,
                      const uint8_t key[4], const uint8_t *p, size_t n)
{
    size_t w = 0;
    assert_int_equal(wick_frame_write(op, fin, rsv, key, p, n, wire + *total, cap - *total, &w),
                     WICK_OK);
    *total += w;
}

struct bomb {
    uint64_t delivered;
    unsigned errors;
    wick_err err;
};

static int bomb_data(wick_conn *c, uint8_t op, const uint8_t *d, size_t len, unsigned fl, void *u)
{
    (void)c;
    (void)op;
    (void)d;
    (void)fl;
    ((struct bomb *)u)->delivered += len;
    return 0;
}

static void bomb_error(wick_conn *c, wick_err err, void *u)
{
    (void)c;
    ((struct bomb *)u)->errors++;
    ((struct bomb *)u)->err = err;
}

static const wick_callbacks bomb_cb = {.on_data = bomb_data, .on_error = bomb_error};

/* A client sends 16 MiB of zeros compressed to about 16 KiB; the server
 * stops inflating as soon as the limit (or the ratio) is crossed. */
static void run_bomb(uint64_t max_message, uint32_t max_ratio, wick_err want, uint64_t max_out)
{
    size_t plain_len = 16U * 1024U * 1024U;
    uint8_t *plain = calloc(1, plain_len);
    uint8_t *wire = malloc(64U * 1024U);
    assert_non_null(plain);
    assert_non_null(wire);
    size_t n =
        deflate_payload(plain, plain_len, 9, Z_SYNC_FLUSH, NULL, 0, wire + 14, 64U * 1024U - 14);
    /* A server receives masked frames: all-zero key, so no change. */
    wire[0] = 0xC2;
    wire[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) {
        wire[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    memset(wire + 10, 0, 4);
    wick_pmd_params p = params(false, false, 15, 15);
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    cfg.max_ratio = max_ratio;
    wick_pmd pmd;
    wick_conn c;
    struct bomb b = {0, 0, WICK_OK};
    server_conn(&c, &pmd, &p, &cfg, max_message, &bomb_cb, &b);
    size_t used = 0;
    assert_int_equal(wick_conn_recv(&c, wire, 14 + n, &used), want);
    assert_int_equal(b.errors, want == WICK_OK ? 0 : 1);
    assert_true(b.delivered <= max_out);
    if (want != WICK_OK) {
        size_t on = 0;
        const uint8_t *o = wick_conn_out_peek(&c, &on);
        assert_int_equal(on, 4);
        assert_int_equal(o[0], 0x88);
        assert_int_equal((uint16_t)((o[2] << 8) | o[3]), wick_err_close_code(want));
    } else {
        assert_int_equal(b.delivered, plain_len);
    }
    wick_pmd_release(&pmd);
    free(plain);
    free(wire);
}

static void test_pmd_bomb_guard(void **state)
{
    (void)state;
    /* 1009 once 64 KiB is crossed: no more than the limit was delivered. */
    run_bomb(64U * 1024U, 0, WICK_ERR_TOO_BIG, 64U * 1024U);
    /* The ratio guard: 100x of ~16 KiB is about 1.6 MB, far below 16 MiB. */
    run_bomb(0, 100, WICK_ERR_INFLATE_RATIO, 2U * 1024U * 1024U);
    /* No limits: all 16 MiB arrive. */
    run_bomb(0, 0, WICK_OK, 16U * 1024U * 1024U);
}

/* RFC 7692 7.2.3.4: a message may end its DEFLATE stream with a final
 * block. When the block's output fills the inflater's piece exactly, zlib
 * reports the end only on the next call, which takes no input (found by
 * fuzz_inflate). Each message is followed by one with a sync flush. */
static void test_pmd_final_block(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 1023, 1024, 1025, 2048, 3072, 4096, 5000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = sizes[i];
        uint8_t *plain = make_payload(0, len, i); /* text: Huffman codes, an end-of-block code */
        uint8_t *wire = malloc(2 * len + 64);
        assert_non_null(plain);
        assert_non_null(wire);
        size_t n = deflate_payload(plain, len, 6, Z_FINISH, NULL, 0, wire + 14, 2 * len + 50);
        wire[0] = 0xC2; /* masked with an all-zero key */
        wire[1] = 0x80 | 127;
        for (int b = 0; b < 8; b++) {
            wire[2 + b] = (uint8_t)((uint64_t)n >> (56 - 8 * b));
        }
        memset(wire + 10, 0, 4);
        size_t total = 14 + n;
        /* then "Hello" as in 7.2.3.1 */
        static const uint8_t hello[] = {0xC1, 0x87, 0,    0,    0,    0,   0xf2,
                                        0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
        memcpy(wire + total, hello, sizeof hello);
        total += sizeof hello;
        wick_pmd_params p = params(false, false, 15, 15);
        wick_pmd pmd;
        wick_conn c;
        struct bomb b = {0, 0, WICK_OK};
        server_conn(&c, &pmd, &p, NULL, 0, &bomb_cb, &b);
        size_t used = 0;
        assert_int_equal(wick_conn_recv(&c, wire, total, &used), WICK_OK);
        assert_int_equal(b.errors, 0);
        assert_int_equal(b.delivered, len + 5);
        wick_pmd_release(&pmd);
        free(plain);
        free(wire);
    }
}

/* --- Pausing inside a compressed message --------------------------------- */

struct pauser {
    uint8_t *got;
    size_t len, cap;
    unsigned calls, every, fins;
    size_t biggest;
};

static int pause_data(wick_conn *c, uint8_t op, const uint8_t *d, size_t len, unsigned fl, void *u)
{
    (void)c;
    (void)op;
    struct pauser *p = u;
    assert_true(p->len + len <= p->cap);
    memcpy(p->got + p->len, d, len);
    p->len += len;
    p->biggest = len > p->biggest ? len : p->biggest;
    p->fins += (fl & WICK_DATA_FIN) != 0;
    return ++p->calls % p->every == 0 ? WICK_PAUSE : 0;
}

static const wick_callbacks pause_cb = {.on_data = pause_data, .on_error = bomb_error};

/* One message of plain_len bytes of `kind` (compressed in `frames`
 * frames, a sync flush or a `final` block) and an uncompressed "ok", fed
 * to a server whose on_data pauses every `every` calls. */
static void run_pause(unsigned kind, size_t plain_len, unsigned frames, unsigned every, bool final)
{
    static const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
    uint8_t *plain = make_payload(kind, plain_len, 7);
    size_t cap = plain_len + 1024;
    uint8_t *z = malloc(cap);
    uint8_t *wire = malloc(cap + 64);
    uint8_t *copy = malloc(cap + 64);
    assert_non_null(z);
    assert_non_null(wire);
    assert_non_null(copy);
    size_t n =
        deflate_payload(plain, plain_len, 6, final ? Z_FINISH : Z_SYNC_FLUSH, NULL, 0, z, cap);
    size_t total = 0;
    for (unsigned f = 0; f < frames; f++) { /* RSV1 on the first */
        size_t from = n * f / frames, to = n * (f + 1) / frames;
        add_frame(wire, cap + 64, &total, f == 0 ? WICK_OP_TEXT : WICK_OP_CONT, f + 1 == frames,
                  f == 0 ? WICK_RSV1 : 0, key, z + from, to - from);
    }
    add_frame(wire, cap + 64, &total, WICK_OP_TEXT, true, 0, key, (const uint8_t *)"ok", 2);

    wick_pmd_params prm = params(false, false, 15, 15);
    wick_pmd pmd;
    wick_conn c;
    struct pauser p = {malloc(plain_len + 2), 0, plain_len + 2, 0, every, 0, 0};
    assert_non_null(p.got);
    server_conn(&c, &pmd, &prm, NULL, 0, &pause_cb, &p);
    size_t off = 0;
    unsigned calls = 0;
    while (p.fins < 2) {
        assert_true(++calls < 100000);
        size_t left = total - off, used = 0;
        memcpy(copy, wire + off, left);
        unsigned before = p.calls;
        wick_err rc = wick_conn_recv(&c, wire + off, left, &used);
        assert_true(rc == WICK_OK || rc == WICK_PAUSED);
        assert_true(used <= left);
        /* Pausing on every call: one piece per recv. */
        assert_true(p.calls - before <= (every == 1 ? 1U : 3U));
        assert_true(used > 0 || p.calls > before);
        if (rc == WICK_PAUSED) {
            assert_memory_equal(wire + off + used, copy + used, left - used);
        } else {
            assert_int_equal(used, left);
        }
        off += used;
    }
    assert_int_equal(off, total);
    assert_int_equal(p.len, plain_len + 2);
    assert_memory_equal(p.got, plain, plain_len);
    assert_memory_equal(p.got + plain_len, "ok", 2);
    assert_true(p.biggest <= 1024);
    /* The work really was cut short: many more calls than frames. */
    assert_true(calls > plain_len / 1024 / every);
    wick_pmd_release(&pmd);
    free(p.got);
    free(plain);
    free(z);
    free(wire);
    free(copy);
}

/* on_data pauses (every call, or every third): wick_conn_recv() returns
 * at once, having taken only the input the inflater used, and gives the
 * rest back as it came (masked). So a pausing reader gets at most one
 * 1 KiB piece per call, however much the input inflates to: 20 KB of
 * text, 300 KB of zeros. */
static void test_pmd_pause(void **state)
{
    (void)state;
    for (unsigned kind = 0; kind < 3; kind += 2) {            /* text, zeros */
        for (unsigned frames = 1; frames <= 3; frames += 2) { /* one, three */
            for (unsigned every = 1; every <= 3; every += 2) {
                for (int final = 0; final < 2; final++) {
                    run_pause(kind, kind == 0 ? 20000 : 300000, frames, every, final != 0);
                }
            }
        }
    }
}

/* RFC 7692 7.2.2: with context takeover each message is inflated with the
 * window the last one left, also when that one ended its DEFLATE stream
 * with a final block (7.2.3.4). The second message here is deflated with
 * the first one's text as its dictionary, so it refers back into it; it
 * arrives whole, and fails (1007) when client_no_context_takeover was
 * agreed, where the window starts empty. */
static void test_pmd_final_block_context(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0x0a, 0x0b, 0x0c, 0x0d};
    size_t len = 3000;
    uint8_t *plain = make_payload(0, len, 11);
    uint8_t z1[4096], z2[4096], wire[8192];
    size_t n1 = deflate_payload(plain, len, 6, Z_FINISH, NULL, 0, z1, sizeof z1);
    size_t n2 = deflate_payload(plain, len, 6, Z_SYNC_FLUSH, plain, len, z2, sizeof z2);
    assert_true(n2 < 64); /* it really is a reference to the first message */
    size_t total = 0;
    add_frame(wire, sizeof wire, &total, WICK_OP_TEXT, true, WICK_RSV1, key, z1, n1);
    add_frame(wire, sizeof wire, &total, WICK_OP_TEXT, true, WICK_RSV1, key, z2, n2);
    for (int cnct = 0; cnct < 2; cnct++) {
        wick_pmd_params prm = params(false, cnct != 0, 15, 15);
        wick_pmd pmd;
        wick_conn c;
        struct pauser p = {malloc(2 * len), 0, 2 * len, 0, 1000000, 0, 0};
        assert_non_null(p.got);
        server_conn(&c, &pmd, &prm, NULL, 0, &pause_cb, &p);
        uint8_t in[8192];
        memcpy(in, wire, total);
        size_t used = 0;
        wick_err rc = wick_conn_recv(&c, in, total, &used);
        if (cnct) {
            assert_int_equal(rc, WICK_ERR_INFLATE);
            assert_int_equal(p.fins, 1);
        } else {
            assert_int_equal(rc, WICK_OK);
            assert_int_equal(p.fins, 2);
            assert_int_equal(p.len, 2 * len);
            assert_memory_equal(p.got, plain, len);
            assert_memory_equal(p.got + len, plain, len);
        }
        wick_pmd_release(&pmd);
        free(p.got);
    }
    free(plain);
}

/* --- Compress once, send to many ----------------------------------------- */

static void test_pmd_prepare(void **state)
{
    (void)state;
    wick_pmd_params p = params(true, false, 15, 15);
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    cfg.flags = WICK_PMD_NO_CONTEXT_TAKEOVER;
    wick_pmd shared;
    pmd_setup(&shared, WICK_ROLE_SERVER, &p, arena_a, &cfg);
    uint8_t *msg = make_payload(0, 3000, 9);
    static uint8_t frame[8192];
    wick_prepared pf;
    assert_int_equal(wick_pmd_prepare(&shared, WICK_OP_TEXT, msg, 3000, frame, sizeof frame, &pf),
                     WICK_OK);
    assert_int_equal(pf.frame[0], 0xC1);
    assert_true(pf.len < 3000 / 4);
    /* The bound is enough even for bytes that do not compress. */
    uint8_t *noise = make_payload(1, 5000, 3);
    static uint8_t nf[8192];
    size_t nb = wick_pmd_prepare_bound(5000);
    assert_true(nb <= sizeof nf);
    wick_prepared np;
    assert_int_equal(wick_pmd_prepare(&shared, WICK_OP_BINARY, noise, 5000, nf, nb, &np), WICK_OK);
    assert_true(np.len > 5000 && np.len <= nb);
    assert_int_equal(wick_pmd_prepare(&shared, WICK_OP_BINARY, noise, 5000, nf, nb - 1, &np),
                     WICK_ERR_BUFFER_TOO_SMALL);
    free(noise);
    /* Twice, to two clients, between messages of the connection's own. */
    for (int k = 0; k < 2; k++) {
        peer *cl = malloc(sizeof(peer));
        peer *sv = malloc(sizeof(peer));
        assert_non_null(cl);
        assert_non_null(sv);
        peer_init(cl, WICK_ROLE_CLIENT, &p, arena_b, NULL);
        peer_init(sv, WICK_ROLE_SERVER, &p, arena_c, &cfg);
        send_msg(sv, cl, WICK_OP_TEXT, msg, 1000, 100);
        cl->want[cl->n_want] = msg;
        cl->want_len[cl->n_want] = 3000;
        cl->want_op[cl->n_want++] = WICK_OP_TEXT;
        assert_int_equal(wick_conn_send_prepared(&sv->c, &pf), WICK_OK);
        pump(sv, cl, 50);
        send_msg(sv, cl, WICK_OP_TEXT, msg + 5, 2000, 100);
        assert_int_equal(cl->bad, 0);
        assert_int_equal(cl->n_got, 3);
        peer_free(cl);
        peer_free(sv);
        free(cl);
        free(sv);
    }
    /* Not without the extension, not from a state that keeps context. */
    peer *plain = malloc(sizeof(peer));
    assert_non_null(plain);
    peer_init(plain, WICK_ROLE_SERVER, NULL, NULL, NULL);
    assert_int_equal(wick_conn_send_prepared(&plain->c, &pf), WICK_ERR_STATE);
    peer_free(plain);
    free(plain);
    wick_pmd keep;
    wick_pmd_params pk = params(false, false, 15, 15);
    pmd_setup(&keep, WICK_ROLE_SERVER, &pk, arena_b, NULL);
    assert_int_equal(wick_pmd_prepare(&keep, WICK_OP_TEXT, msg, 10, frame, sizeof frame, &pf),
                     WICK_ERR_STATE);
    wick_pmd_release(&keep);
    wick_pmd_release(&shared);
    free(msg);
}

/* --- Arena ---------------------------------------------------------------- */

/* What wick_pmd_get_info() reports against the agreement: the peer's
 * window to inflate with; a deflate window within ours (9 for 8) and a
 * memLevel, or neither; with room for everything (512 KiB), ours at
 * zlib's default memLevel 8. */
static void check_info(const wick_pmd *pmd, unsigned mine, unsigned theirs, size_t budget)
{
    wick_pmd_info info = wick_pmd_get_info(pmd);
    unsigned cap = mine < 9 ? 9 : mine;
    assert_int_equal(info.inflate_bits, theirs);
    assert_true(info.deflate_bits == 0 || (info.deflate_bits >= 9 && info.deflate_bits <= cap));
    assert_true((info.deflate_bits == 0) == (info.mem_level == 0));
    assert_true(info.mem_level <= 9);
    if (budget == 512U * 1024U) {
        assert_int_equal(info.deflate_bits, cap);
        assert_int_equal(info.mem_level, 8);
    }
}

static void test_pmd_arena(void **state)
{
    (void)state;
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    wick_pmd pmd;
    for (unsigned sb = 8; sb <= 15; sb++) {
        for (unsigned cb = 8; cb <= 15; cb++) {
            for (int role = 0; role < 2; role++) {
                wick_pmd_params p = params(false, false, sb, cb);
                wick_role r = role ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
                for (size_t budget = 8192; budget <= 512U * 1024U; budget *= 2) {
                    cfg.budget = budget;
                    size_t need = wick_pmd_arena_size(&cfg, &p, r);
                    if (need == 0) {
                        continue; /* even inflating alone does not fit */
                    }
                    assert_true(need <= budget);
                    assert_int_equal(wick_pmd_init(&pmd, &cfg, &p, r, arena_a, need - 1),
                                     WICK_ERR_BUFFER_TOO_SMALL);
                    /* An arena at an odd address works the same. */
                    assert_int_equal(wick_pmd_init(&pmd, &cfg, &p, r, arena_a + 3, need), WICK_OK);
                    assert_true(wick_pmd_arena_used(&pmd) <= need);
                    check_info(&pmd, r == WICK_ROLE_SERVER ? sb : cb,
                               r == WICK_ROLE_SERVER ? cb : sb, budget);
                    wick_pmd_release(&pmd);
                    wick_pmd_release(&pmd); /* idempotent */
                }
            }
        }
    }
    /* The default budget holds zlib with smaller windows for both sides. */
    cfg.budget = WICK_PMD_DEFAULT_BUDGET;
    wick_pmd_params p = params(false, false, 15, 15);
    size_t need = wick_pmd_arena_size(&cfg, &p, WICK_ROLE_SERVER);
    assert_true(need > 0 && need <= WICK_PMD_DEFAULT_BUDGET);
    wick_pmd_params off = p;
    off.enabled = false;
    assert_int_equal(wick_pmd_arena_size(&cfg, &off, WICK_ROLE_SERVER), 0);
    assert_int_equal(wick_pmd_init(&pmd, &cfg, &off, WICK_ROLE_SERVER, arena_a, need),
                     WICK_ERR_STATE);
    wick_pmd_info none = wick_pmd_get_info(&pmd); /* init cleared it before refusing */
    assert_int_equal(none.inflate_bits + none.deflate_bits + none.mem_level, 0);
    /* Decompress-only: nothing to deflate with. */
    cfg.flags = WICK_PMD_DECOMPRESS_ONLY;
    need = wick_pmd_arena_size(&cfg, &p, WICK_ROLE_SERVER);
    assert_int_equal(wick_pmd_init(&pmd, &cfg, &p, WICK_ROLE_SERVER, arena_a, need), WICK_OK);
    wick_pmd_info dec = wick_pmd_get_info(&pmd);
    assert_int_equal(dec.inflate_bits, 15);
    assert_int_equal(dec.deflate_bits + dec.mem_level, 0);
    wick_pmd_release(&pmd);
    assert_true(wick_pmd_available());
}

/* WICK_PMD_HEADER_MAX holds the longest offer and answer wick writes. */
static void test_pmd_header_max(void **state)
{
    (void)state;
    static const char offer[] = "permessage-deflate; server_no_context_takeover; "
                                "client_no_context_takeover; server_max_window_bits=10; "
                                "client_max_window_bits";
    wick_ext ext[2];
    size_t n = 0;
    assert_int_equal(wick_ext_parse(offer, sizeof offer - 1, ext, 2, &n), WICK_OK);
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    cfg.flags = WICK_PMD_NO_CONTEXT_TAKEOVER | WICK_PMD_PEER_NO_CONTEXT_TAKEOVER;
    char out[WICK_PMD_HEADER_MAX];
    size_t len = 0;
    wick_pmd_params agreed;
    assert_int_equal(wick_pmd_accept(&cfg, ext, n, &agreed, out, sizeof out, &len), WICK_OK);
    assert_true(agreed.enabled && len > 100 && len <= sizeof out);
    for (size_t budget = 4096; budget <= 512U * 1024U; budget *= 2) {
        cfg.budget = budget;
        wick_err e = wick_pmd_offer(&cfg, out, sizeof out, &len);
        assert_true(e == WICK_OK || (e == WICK_ERR_ARG && budget < 16384));
    }
}

#else /* built without zlib: wick's own inflater, decompress-only */

static uint8_t got_buf[256];
static size_t got_len;

static int collect(void *ctx, const uint8_t *data, size_t len)
{
    (void)ctx;
    assert_true(len <= sizeof got_buf - got_len);
    memcpy(got_buf + got_len, data, len);
    got_len += len;
    return 0;
}

/* The extension inflates (RFC 7692 7.2.3.1 and .2, with context takeover
 * and without), never compresses, and needs no more than the inflater. */
static void test_pmd_decompress_only(void **state)
{
    (void)state;
    assert_true(wick_pmd_available());
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    for (int nct = 0; nct < 2; nct++) {
        wick_pmd_params p = params(false, nct != 0, 15, 9);
        wick_pmd pmd;
        size_t need = pmd_setup(&pmd, WICK_ROLE_SERVER, &p, arena_a, NULL);
        assert_true(need < 40U * 1024U); /* 32 KiB window, state, chunk */
        const wick_extension *x = wick_pmd_extension(&pmd);
        assert_non_null(x);
        assert_null(x->encode);
        got_len = 0;
        size_t used = 0;
        for (size_t k = 0; k < sizeof hello; k++) { /* a byte at a time */
            used = 1;
            assert_int_equal(
                x->decode(x->state, hello + k, 1, k + 1 == sizeof hello, &used, collect, NULL), 0);
            assert_int_equal(used, 1);
        }
        used = sizeof again;
        int rc = x->decode(x->state, again, sizeof again, true, &used, collect, NULL);
        if (nct) {
            assert_int_equal(rc, WICK_ERR_INFLATE); /* refers to a reset window */
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(got_len, 10);
            assert_memory_equal(got_buf, "HelloHello", 10);
        }
        wick_pmd_release(&pmd);
    }
    (void)arena_b;
    (void)arena_c;
}

#endif

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
#ifdef WICK_ZLIB
        cmocka_unit_test(test_pmd_rfc_examples),
        cmocka_unit_test(test_pmd_rfc_context_takeover),
        cmocka_unit_test(test_pmd_send_frames),
        cmocka_unit_test(test_pmd_round_trips),
        cmocka_unit_test(test_pmd_round_trip_configs),
        cmocka_unit_test(test_pmd_bomb_guard),
        cmocka_unit_test(test_pmd_final_block),
        cmocka_unit_test(test_pmd_pause),
        cmocka_unit_test(test_pmd_final_block_context),
        cmocka_unit_test(test_pmd_prepare),
        cmocka_unit_test(test_pmd_arena),
        cmocka_unit_test(test_pmd_header_max),
#else
        cmocka_unit_test(test_pmd_decompress_only),
#endif
    };
    return cmocka_run_group_tests_name("pmd", tests, group_setup, group_teardown);
}
