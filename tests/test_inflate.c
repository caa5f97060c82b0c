/* wick's inflater (src/wick_inflate.c, RFC 1951): every stream zlib
 * makes (levels 0-9, windows 9-15, each strategy, flushed per message as
 * permessage-deflate does) inflates to the same bytes at any input split
 * and output piece size; hand-made malformed streams, one per error;
 * the RFC 7692 7.2.3 examples. The zlib half needs WICK_ZLIB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wick_inflate.h"

#ifdef WICK_ZLIB
#include <zlib.h>
#endif

static wick__inflater S;
static uint8_t win[1U << 15];

/* A deterministic generator (xorshift32). */
static uint32_t rng = 2463534242U;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

#define BYTEWISE ((size_t)-1)

/* Inflates all of in[0..len) in input pieces from `isplit` (0: random
 * 1..64, BYTEWISE: one byte each) and output pieces of `opiece` bytes (0: random 1..300) into out.
 * Returns the last result; *olen the bytes made. */
static int run(const uint8_t *in, size_t len, size_t isplit, size_t opiece, uint8_t *out,
               size_t cap, size_t *olen)
{
    size_t at = 0;
    size_t made = 0;
    int rc = 0;
    size_t stuck = 0;
    for (;;) {
        size_t il = isplit == BYTEWISE ? 1U
                    : isplit != 0      ? (at < isplit ? isplit - at : len - at)
                                       : 1U + rnd() % 64U;
        if (il > len - at) {
            il = len - at;
        }
        size_t ol = opiece != 0 ? opiece : 1U + rnd() % 300U;
        if (ol > cap - made) {
            ol = cap - made;
        }
        size_t il0 = il;
        size_t ol0 = ol;
        rc = wick__inflate(&S, in + at, &il, out + made, &ol);
        assert_true(il <= il0 && ol <= ol0);
        at += il;
        made += ol;
        if (rc != WICK__INF_OK) {
            break;
        }
        if (il == 0 && ol == 0) {
            if (at == len || ++stuck > 2) {
                break; /* nothing more to do with what there is */
            }
        } else {
            stuck = 0;
        }
    }
    *olen = made;
    return rc;
}

/* --- RFC 7692 7.2.3 --------------------------------------------------------- */

static void expect(const uint8_t *in, size_t len, const char *want, int want_rc)
{
    uint8_t out[64];
    for (size_t split = 1; split <= len; split++) {
        for (size_t piece = 1; piece <= 6; piece += 5) {
            wick__inflate_init(&S, win, 15);
            size_t n = 0;
            int rc = run(in, len, split, piece, out, sizeof(out), &n);
            assert_int_equal(rc, want_rc);
            assert_int_equal(n, strlen(want));
            assert_memory_equal(out, want, n);
        }
    }
}

static void test_rfc7692_examples(void **st)
{
    (void)st;
    /* 7.2.3.1 "Hello", with the tail 00 00 ff ff put back (7.2.2) */
    static const uint8_t a[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    expect(a, sizeof(a), "Hello", WICK__INF_OK);
    assert_true(wick__inflate_boundary(&S));
    /* 7.2.3.2: the second "Hello" refers to the first */
    static const uint8_t b[] = {0xf2, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff};
    wick__inflate_init(&S, win, 15);
    uint8_t out[16];
    size_t il = sizeof(a);
    size_t ol = sizeof(out);
    assert_int_equal(wick__inflate(&S, a, &il, out, &ol), WICK__INF_OK);
    il = sizeof(b);
    ol = sizeof(out);
    assert_int_equal(wick__inflate(&S, b, &il, out, &ol), WICK__INF_OK);
    assert_int_equal(ol, 5);
    assert_memory_equal(out, "Hello", 5);
    /* ... and without context takeover it may not */
    wick__inflate_reset(&S);
    il = sizeof(b);
    ol = sizeof(out);
    assert_int_equal(wick__inflate(&S, b, &il, out, &ol), WICK__INF_E_UNWRITTEN);
    /* 7.2.3.3 a stored block */
    static const uint8_t c[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c,
                                0x6c, 0x6f, 0x00, 0x00, 0x00, 0xff, 0xff};
    expect(c, sizeof(c), "Hello", WICK__INF_OK);
    /* 7.2.3.4 BFINAL set: the stream ends */
    static const uint8_t d[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    expect(d, sizeof(d), "Hello", WICK__INF_DONE);
    assert_true(wick__inflate_done(&S));
    /* 7.2.3.5 two blocks in one message */
    static const uint8_t e[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca,
                                0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    expect(e, sizeof(e), "Hello", WICK__INF_OK);
}

/* --- Hand-made streams ------------------------------------------------------ */

typedef struct bitw {
    uint8_t b[1024];
    size_t bits;
} bitw;

static void put(bitw *w, unsigned v, unsigned n)
{
    for (unsigned i = 0; i < n; i++, w->bits++) {
        if ((v >> i) & 1U) {
            w->b[w->bits >> 3] = (uint8_t)(w->b[w->bits >> 3] | (1U << (w->bits & 7U)));
        }
    }
}

/* A Huffman code: sent from its most significant bit (RFC 1951 3.1.1). */
static void putcode(bitw *w, unsigned code, unsigned n)
{
    for (unsigned i = n; i-- > 0;) {
        put(w, (code >> i) & 1U, 1);
    }
}

/* The fixed code (3.2.6). */
static void fixed_lit(bitw *w, unsigned v)
{
    if (v < 144) {
        putcode(w, 0x30U + v, 8);
    } else if (v < 256) {
        putcode(w, 0x190U + v - 144U, 9);
    } else if (v < 280) {
        putcode(w, v - 256U, 7);
    } else {
        putcode(w, 0xC0U + v - 280U, 8);
    }
}

/* A dynamic header whose code length code gives symbols 0, 1, 2 and 18
 * two bits each (codes 00, 01, 10, 11), then lens[0..hlit+hdist). */
static void dyn_header(bitw *w, const uint8_t *lens, unsigned hlit, unsigned hdist)
{
    put(w, 1, 1);
    put(w, 2, 2);
    put(w, hlit - 257U, 5);
    put(w, hdist - 1U, 5);
    put(w, 18 - 4, 4); /* up to symbol 1 in the order 16 17 18 0 8 7 ... 2 14 1 */
    static const uint8_t order[18] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1};
    for (unsigned i = 0; i < 18; i++) {
        unsigned s = order[i];
        put(w, s == 0 || s == 1 || s == 2 || s == 18 ? 2U : 0U, 3);
    }
    unsigned total = hlit + hdist;
    for (unsigned i = 0; i < total;) {
        if (lens[i] == 0) {
            unsigned run = 1;
            while (i + run < total && lens[i + run] == 0 && run < 138) {
                run++;
            }
            if (run >= 11) {
                putcode(w, 3, 2);
                put(w, run - 11U, 7);
                i += run;
                continue;
            }
        }
        putcode(w, lens[i], 2);
        i++;
    }
}

/* Inflates w a byte at a time and whole: the same answer both ways. */
static int one_shot(const bitw *w, unsigned bits, uint8_t *out, size_t cap, size_t *olen)
{
    size_t len = (w->bits + 7U) / 8U;
    wick__inflate_init(&S, win, bits);
    int rc = run(w->b, len, BYTEWISE, 1, out, cap, olen);
    size_t n1 = *olen;
    wick__inflate_init(&S, win, bits);
    assert_int_equal(run(w->b, len, len, cap, out, cap, olen), rc);
    assert_int_equal(*olen, n1);
    if (rc < 0) { /* an error sticks */
        size_t il = len;
        size_t ol = cap;
        assert_int_equal(wick__inflate(&S, w->b, &il, out, &ol), rc);
        assert_int_equal(ol, 0);
    }
    return rc;
}

static void test_malformed(void **st)
{
    (void)st;
    uint8_t out[600];
    size_t n;
    bitw w;
    uint8_t lens[320];

    memset(&w, 0, sizeof(w)); /* BTYPE 3 */
    put(&w, 1, 1);
    put(&w, 3, 2);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_BTYPE);

    memset(&w, 0, sizeof(w)); /* NLEN not the complement of LEN */
    put(&w, 1, 3);
    put(&w, 5, 16);
    put(&w, 0xFFFAU ^ 1U, 16);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_STORED);

    memset(&w, 0, sizeof(w)); /* HLIT 287 */
    put(&w, 5, 3);
    put(&w, 30, 5);
    put(&w, 0, 9);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_COUNTS);
    memset(&w, 0, sizeof(w)); /* HDIST 31 */
    put(&w, 5, 3);
    put(&w, 0, 5);
    put(&w, 30, 5);
    put(&w, 0, 4);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_COUNTS);

    /* code length code: 16, 17, 18 and 0 one bit each: over-subscribed */
    memset(&w, 0, sizeof(w));
    put(&w, 5, 3);
    put(&w, 0, 14);
    for (unsigned i = 0; i < 4; i++) {
        put(&w, 1, 3);
    }
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_CLEN_CODE);
    /* one code of two bits: incomplete; none at all: refused too */
    for (unsigned v = 0; v <= 2; v += 2) {
        memset(&w, 0, sizeof(w));
        put(&w, 5, 3);
        put(&w, 0, 14);
        put(&w, v, 3);
        put(&w, 0, 9);
        assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_CLEN_CODE);
    }

    /* 16 (repeat the previous length) first: 16 and 0 one bit each */
    memset(&w, 0, sizeof(w));
    put(&w, 5, 3);
    put(&w, 0, 14);
    put(&w, 1, 3); /* 16 */
    put(&w, 0, 3); /* 17 */
    put(&w, 0, 3); /* 18 */
    put(&w, 1, 3); /* 0 */
    putcode(&w, 1, 1);
    put(&w, 0, 2);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_REPEAT);

    /* 18 x 138 twice: past the 258 lengths */
    memset(&w, 0, sizeof(w));
    put(&w, 5, 3);
    put(&w, 0, 14);
    put(&w, 0, 3);
    put(&w, 0, 3);
    put(&w, 1, 3); /* 18 */
    put(&w, 1, 3); /* 0 */
    for (unsigned i = 0; i < 2; i++) {
        putcode(&w, 1, 1);
        put(&w, 127, 7);
    }
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_REPEAT);

    /* every length 0: no end-of-block code */
    memset(lens, 0, sizeof(lens));
    memset(&w, 0, sizeof(w));
    dyn_header(&w, lens, 257, 1);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_NO_EOB);

    /* literal/length code incomplete (two 2-bit codes), over-subscribed
     * (three 1-bit codes); distance code the same */
    static const struct {
        uint8_t l65, l66, l256, d0, d1, d2;
        int rc;
    } codes[] = {
        {2, 0, 2, 1, 0, 0, WICK__INF_E_LIT_CODE},  {1, 1, 1, 1, 0, 0, WICK__INF_E_LIT_CODE},
        {1, 0, 1, 2, 2, 0, WICK__INF_E_DIST_CODE}, {1, 0, 1, 1, 1, 1, WICK__INF_E_DIST_CODE},
        {0, 0, 1, 0, 0, 0, WICK__INF_OK}, /* one 1-bit code, no distances: accepted */
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        memset(lens, 0, sizeof(lens));
        lens[65] = codes[i].l65;
        lens[66] = codes[i].l66;
        lens[256] = codes[i].l256;
        lens[257] = codes[i].d0;
        lens[258] = codes[i].d1;
        lens[259] = codes[i].d2;
        memset(&w, 0, sizeof(w));
        dyn_header(&w, lens, 257, 3);
        if (codes[i].rc == WICK__INF_OK) {
            putcode(&w, 0, 1); /* end of block: the final one */
            assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_DONE);
            assert_int_equal(n, 0);
        } else {
            assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), codes[i].rc);
        }
    }

    /* One distance code (RFC 1951 3.2.7: one bit, one unused code):
     * "A" then length 3 at distance 1, then the unused distance code. */
    memset(lens, 0, sizeof(lens));
    lens[65] = 1;
    lens[256] = 2;
    lens[257] = 2;
    lens[258] = 1; /* distance 0 */
    for (unsigned bad = 0; bad < 2; bad++) {
        memset(&w, 0, sizeof(w));
        dyn_header(&w, lens, 258, 1);
        putcode(&w, 0, 1);   /* A */
        putcode(&w, 3, 2);   /* 257: length 3 */
        putcode(&w, bad, 1); /* distance code 0: distance 1 (1: unused) */
        putcode(&w, 2, 2);   /* end of block */
        int rc = one_shot(&w, 15, out, sizeof(out), &n);
        if (bad) {
            assert_int_equal(rc, WICK__INF_E_DIST_SYM);
        } else {
            assert_int_equal(rc, WICK__INF_DONE);
            assert_int_equal(n, 4);
            assert_memory_equal(out, "AAAA", 4);
        }
    }
    /* ... and with no distance code, any distance is an error */
    memset(lens, 0, sizeof(lens));
    lens[65] = 1;
    lens[256] = 2;
    lens[257] = 2;
    memset(&w, 0, sizeof(w));
    dyn_header(&w, lens, 258, 1);
    putcode(&w, 0, 1);
    putcode(&w, 3, 2);
    putcode(&w, 0, 1);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_DIST_SYM);

    /* fixed code: literal/length 286, 287; distance 30, 31 */
    for (unsigned v = 286; v <= 287; v++) {
        memset(&w, 0, sizeof(w));
        put(&w, 3, 3);
        fixed_lit(&w, v);
        assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_LIT_SYM);
    }
    for (unsigned v = 30; v <= 31; v++) {
        memset(&w, 0, sizeof(w));
        put(&w, 3, 3);
        fixed_lit(&w, 'A');
        fixed_lit(&w, 257);
        putcode(&w, v, 5);
        assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_DIST_SYM);
    }

    /* distances: before the first byte; beyond the window */
    memset(&w, 0, sizeof(w));
    put(&w, 3, 3);
    fixed_lit(&w, 257);
    putcode(&w, 0, 5);
    assert_int_equal(one_shot(&w, 15, out, sizeof(out), &n), WICK__INF_E_UNWRITTEN);
    assert_int_equal(n, 0);
    /* 520 literals, then distance 513 (code 18, 8 extra bits 0) */
    memset(&w, 0, sizeof(w));
    put(&w, 3, 3);
    for (unsigned i = 0; i < 520; i++) {
        fixed_lit(&w, 'a' + i % 26U);
    }
    fixed_lit(&w, 257);
    putcode(&w, 18, 5);
    put(&w, 0, 8);
    fixed_lit(&w, 256);
    assert_int_equal(one_shot(&w, 9, out, sizeof(out), &n), WICK__INF_E_FAR);
    assert_int_equal(n, 520);
    assert_int_equal(one_shot(&w, 10, out, sizeof(out), &n), WICK__INF_DONE);
    assert_int_equal(n, 523);
    assert_memory_equal(out + 520, out + 7, 3);
    /* the window's size exactly is fine: distance 512 */
    memset(&w, 0, sizeof(w));
    put(&w, 3, 3);
    for (unsigned i = 0; i < 520; i++) {
        fixed_lit(&w, 'a' + i % 26U);
    }
    fixed_lit(&w, 257);
    putcode(&w, 17, 5);
    put(&w, 127, 7); /* 385 + 127 */
    fixed_lit(&w, 256);
    assert_int_equal(one_shot(&w, 9, out, sizeof(out), &n), WICK__INF_DONE);
    assert_memory_equal(out + 520, out + 8, 3);
}

/* --- Against zlib ------------------------------------------------------------ */
#ifdef WICK_ZLIB

#define DATA_MAX (80U * 1024U)
static uint8_t data[DATA_MAX], comp[2U * DATA_MAX + 4096U], got[DATA_MAX + 1024U];

/* Inputs: words (text), chat-like JSON, runs, bytes with few values, and
 * random bytes (stored blocks). */
static size_t make_data(unsigned kind, size_t len)
{
    static const char *words[] = {"the ",     "wick ",  "socket ",  "frame ", "{\"type\":",
                                  "\"msg\",", "hello ", "deflate ", "\n",     "window "};
    size_t n = 0;
    while (n < len) {
        switch (kind) {
        case 0: {
            const char *wd = words[rnd() % 10U];
            while (*wd != '\0' && n < len) {
                data[n++] = (uint8_t)*wd++;
            }
            break;
        }
        case 1:
            n += (size_t)snprintf((char *)data + n, len - n + 1,
                                  "{\"room\":\"r%u\",\"from\":\"user%u\",\"text\":\"hi %u\"}\n",
                                  rnd() % 5U, rnd() % 50U, rnd() % 1000U);
            if (n > len) {
                n = len;
            }
            break;
        case 2: {
            size_t run = 1U + rnd() % 300U;
            uint8_t v = (uint8_t)rnd();
            while (run-- != 0 && n < len) {
                data[n++] = v;
            }
            break;
        }
        case 3:
            data[n++] = (uint8_t)("abcd"[rnd() % 4U]);
            break;
        default:
            data[n++] = (uint8_t)rnd();
            break;
        }
    }
    return len;
}

/* Deflates data[0..len) as `msgs` messages, each flushed with
 * Z_SYNC_FLUSH, into comp; returns its length. */
static size_t deflate_msgs(size_t len, unsigned msgs, int level, int bits, int strategy)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, level, Z_DEFLATED, -bits, 8, strategy), Z_OK);
    z.next_out = comp;
    z.avail_out = sizeof(comp);
    for (unsigned m = 0; m < msgs; m++) {
        size_t a = len * m / msgs;
        size_t b = len * (m + 1U) / msgs;
        z.next_in = data + a;
        z.avail_in = (uInt)(b - a);
        assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
        assert_int_equal(z.avail_in, 0);
    }
    size_t n = sizeof(comp) - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void check(size_t len, size_t clen, unsigned bits, size_t isplit, size_t opiece)
{
    wick__inflate_init(&S, win, bits);
    size_t n = 0;
    int rc = run(comp, clen, isplit, opiece, got, sizeof(got), &n);
    assert_int_equal(rc, WICK__INF_OK);
    assert_int_equal(n, len);
    assert_memory_equal(got, data, len);
    assert_true(wick__inflate_boundary(&S));
}

static void test_zlib_streams(void **st)
{
    (void)st;
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
                                     Z_FIXED};
    static const size_t sizes[] = {0, 1, 200, 5000, 70000};
    for (unsigned kind = 0; kind < 5; kind++) {
        for (size_t si = 0; si < 5; si++) {
            size_t len = make_data(kind, sizes[si]);
            for (int level = 0; level <= 9; level++) {
                for (int bits = 9; bits <= 15; bits++) {
                    for (size_t sg = 0; sg < 5; sg++) {
                        if (level == 0 && sg != 0) {
                            continue; /* stored: the strategy does not matter */
                        }
                        if (len > 5000 && (bits % 3 != 0 || sg % 2 != 0)) {
                            continue; /* the long ones: a sample */
                        }
                        unsigned msgs = len < 10 ? 1 : 1U + rnd() % 5U;
                        size_t clen = deflate_msgs(len, msgs, level, bits, strategies[sg]);
                        check(len, clen, (unsigned)bits, 0, 0);       /* random pieces */
                        check(len, clen, (unsigned)bits, clen, 4096); /* whole */
                    }
                }
            }
        }
    }
}

/* Short streams at every split into two pieces, and output one byte at a
 * time up to many. */
static void test_zlib_every_split(void **st)
{
    (void)st;
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
                                     Z_FIXED};
    for (unsigned kind = 0; kind < 4; kind++) {
        size_t len = make_data(kind, 700);
        for (int level = 0; level <= 9; level += 3) {
            for (size_t sg = 0; sg < 5; sg++) {
                int bits = level == 9 ? 9 : 15;
                size_t clen = deflate_msgs(len, 2, level, bits, strategies[sg]);
                for (size_t split = 1; split <= clen; split++) {
                    check(len, clen, (unsigned)bits, split, 1024);
                }
                for (size_t piece = 1; piece <= 300; piece += piece < 10 ? 1 : 37) {
                    check(len, clen, (unsigned)bits, 0, piece);
                }
            }
        }
    }
}

/* Context takeover across messages with the window wrapping many times,
 * and a reset between messages when the deflater resets too. */
static void test_zlib_messages(void **st)
{
    (void)st;
    size_t len = make_data(0, 60000);
    for (int bits = 9; bits <= 15; bits++) {
        size_t clen = deflate_msgs(len, 40, 6, bits, Z_DEFAULT_STRATEGY);
        check(len, clen, (unsigned)bits, 0, 0);
    }
    /* no context takeover: each message its own stream, one inflater */
    wick__inflate_init(&S, win, 10);
    for (unsigned m = 0; m < 20; m++) {
        size_t l = make_data(m % 4U, 100U + rnd() % 3000U);
        size_t clen = deflate_msgs(l, 1, 9, 10, Z_DEFAULT_STRATEGY);
        wick__inflate_reset(&S);
        size_t n = 0;
        assert_int_equal(run(comp, clen, 0, 0, got, sizeof(got), &n), WICK__INF_OK);
        assert_int_equal(n, l);
        assert_memory_equal(got, data, l);
    }
}

/* A 256-byte window (8 bits, which zlib will not deflate with): text
 * deflated with 9 reaches back at most 250 bytes (see wick_pmd.h). */
static void test_window_8(void **st)
{
    (void)st;
    size_t len = make_data(0, 20000);
    size_t clen = deflate_msgs(len, 3, 9, 9, Z_DEFAULT_STRATEGY);
    check(len, clen, 8, 0, 0);
}
#endif /* WICK_ZLIB */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7692_examples), cmocka_unit_test(test_malformed),
#ifdef WICK_ZLIB
        cmocka_unit_test(test_zlib_streams),     cmocka_unit_test(test_zlib_every_split),
        cmocka_unit_test(test_zlib_messages),    cmocka_unit_test(test_window_8),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
