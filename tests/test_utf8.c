/* UTF-8 validator tests (RFC 3629 section 4, RFC 6455 8.1): boundary code
 * points, overlongs, surrogates, out-of-range, truncation, fail-fast
 * positions under every split, and a differential test against the
 * code-point reference in tests/support/utf8_ref.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/split.h"
#include "support/utf8_ref.h"
#include "wick.h"

/* --- Split harness: the result of a run is "ok", "incomplete" (finish()
 * failed) or "bad@N" with N the absolute offset of the first bad byte. */

typedef struct uctx {
    wick_utf8 u;
    size_t base; /* bytes accepted so far */
    char result[48];
} uctx;

static void u_begin(void *ctx)
{
    uctx *c = ctx;
    wick_utf8_init(&c->u);
    c->base = 0;
    c->result[0] = '\0';
}

static int u_feed(void *ctx, uint8_t *buf, size_t len, size_t *consumed)
{
    uctx *c = ctx;
    size_t bad = 0;
    wick_err e = wick_utf8_feed(&c->u, buf, len, &bad);
    if (e == WICK_OK) {
        c->base += len;
        *consumed = len;
        return SPLIT_OK;
    }
    if (e != WICK_ERR_UTF8 || bad >= len) {
        snprintf(c->result, sizeof(c->result), "error %d bad=%zu len=%zu", (int)e, bad, len);
        return SPLIT_STOP;
    }
    snprintf(c->result, sizeof(c->result), "bad@%zu", c->base + bad);
    *consumed = bad;
    return SPLIT_STOP;
}

static void u_end(void *ctx, size_t leftover)
{
    uctx *c = ctx;
    (void)leftover;
    if (c->result[0] == '\0') {
        snprintf(c->result, sizeof(c->result), "%s",
                 wick_utf8_finish(&c->u) == WICK_OK ? "ok" : "incomplete");
    }
}

static const char *u_result(void *ctx)
{
    return ((uctx *)ctx)->result;
}

static const split_ops utf8_ops = {u_begin, u_feed, u_end, u_result};

/* Every split of in[0..len) plus `runs` random chunkings from `seed` must
 * give `want` (see split.h); returns 0 when they all do. */
static int check_splits(const uint8_t *in, size_t len, const char *want, unsigned runs,
                        uint64_t seed)
{
    uctx c;
    memset(&c, 0, sizeof(c));
    split_opts o;
    memset(&o, 0, sizeof(o));
    o.random_runs = runs;
    o.seed = seed;
    return split_run_all(&utf8_ops, &c, in, len, want, &o);
}

/* What the reference says, in the same words. */
static void ref_result(const uint8_t *buf, size_t len, char *out, size_t cap)
{
    bool incomplete = false;
    size_t bad = utf8_ref_first_invalid(buf, len, &incomplete);
    if (bad < len) {
        snprintf(out, cap, "bad@%zu", bad);
    } else {
        snprintf(out, cap, "%s", incomplete ? "incomplete" : "ok");
    }
}

/* One-shot result (whole input) without the split driver, for bulk loops. */
static void oneshot(const uint8_t *buf, size_t len, char *out, size_t cap)
{
    wick_utf8 u;
    size_t bad = 0;
    wick_utf8_init(&u);
    wick_err e = wick_utf8_feed(&u, buf, len, &bad);
    if (e != WICK_OK) {
        snprintf(out, cap, "bad@%zu", bad);
    } else {
        snprintf(out, cap, "%s", wick_utf8_finish(&u) == WICK_OK ? "ok" : "incomplete");
    }
}

/* The same as numbers (cheap enough for millions of calls): the bad
 * offset, or RES_OK / RES_INCOMPLETE. */
#define RES_OK         ((size_t)-1)
#define RES_INCOMPLETE ((size_t)-2)

static size_t lib_res(const uint8_t *buf, size_t len)
{
    wick_utf8 u;
    size_t bad = 0;
    wick_utf8_init(&u);
    if (wick_utf8_feed(&u, buf, len, &bad) != WICK_OK) {
        return bad;
    }
    return wick_utf8_finish(&u) == WICK_OK ? RES_OK : RES_INCOMPLETE;
}

static size_t ref_res(const uint8_t *buf, size_t len)
{
    bool incomplete = false;
    size_t bad = utf8_ref_first_invalid(buf, len, &incomplete);
    if (bad < len) {
        return bad;
    }
    return incomplete ? RES_INCOMPLETE : RES_OK;
}

/* --- Table of cases -------------------------------------------------------- */

typedef struct ucase {
    const char *name;
    const char *in;
    size_t len;
    const char *want;
} ucase;

#define BYTES(s) s, sizeof(s) - 1

static const ucase cases[] = {
    /* RFC 3629 4: the boundary code points of each length. */
    {"U+0000", BYTES("\x00"), "ok"},
    {"U+007F", BYTES("\x7f"), "ok"},
    {"U+0080", BYTES("\xc2\x80"), "ok"},
    {"U+07FF", BYTES("\xdf\xbf"), "ok"},
    {"U+0800", BYTES("\xe0\xa0\x80"), "ok"},
    {"U+D7FF", BYTES("\xed\x9f\xbf"), "ok"},
    {"U+E000", BYTES("\xee\x80\x80"), "ok"},
    {"U+FFFD", BYTES("\xef\xbf\xbd"), "ok"},
    {"U+FFFF", BYTES("\xef\xbf\xbf"), "ok"},
    {"U+10000", BYTES("\xf0\x90\x80\x80"), "ok"},
    {"U+FFFFF", BYTES("\xf3\xbf\xbf\xbf"), "ok"},
    {"U+100000", BYTES("\xf4\x80\x80\x80"), "ok"},
    {"U+10FFFF", BYTES("\xf4\x8f\xbf\xbf"), "ok"},
    {"empty", BYTES(""), "ok"},
    {"greek kosme", BYTES("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), "ok"},
    {"mixed", BYTES("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!"),
     "ok"},
    /* Overlong forms. */
    {"overlong C0 80", BYTES("\xc0\x80"), "bad@0"},
    {"overlong C1 BF", BYTES("\xc1\xbf"), "bad@0"},
    {"overlong E0 80 80", BYTES("\xe0\x80\x80"), "bad@1"},
    {"overlong E0 9F BF", BYTES("\xe0\x9f\xbf"), "bad@1"},
    {"overlong F0 80 80 80", BYTES("\xf0\x80\x80\x80"), "bad@1"},
    {"overlong F0 8F BF BF", BYTES("\xf0\x8f\xbf\xbf"), "bad@1"},
    {"overlong slash C0 AF", BYTES("\xc0\xaf"), "bad@0"},
    /* Surrogates U+D800..U+DFFF. */
    {"surrogate ED A0 80", BYTES("\xed\xa0\x80"), "bad@1"},
    {"surrogate ED AF BF", BYTES("\xed\xaf\xbf"), "bad@1"},
    {"surrogate ED B0 80", BYTES("\xed\xb0\x80"), "bad@1"},
    {"surrogate ED BF BF", BYTES("\xed\xbf\xbf"), "bad@1"},
    {"surrogate pair", BYTES("\xed\xa0\x80\xed\xb0\x80"), "bad@1"},
    /* Above U+10FFFF. */
    {"F4 90 80 80", BYTES("\xf4\x90\x80\x80"), "bad@1"},
    {"F4 BF BF BF", BYTES("\xf4\xbf\xbf\xbf"), "bad@1"},
    {"F5 80 80 80", BYTES("\xf5\x80\x80\x80"), "bad@0"},
    {"F7 BF BF BF", BYTES("\xf7\xbf\xbf\xbf"), "bad@0"},
    {"F8 88 80 80 80", BYTES("\xf8\x88\x80\x80\x80"), "bad@0"},
    {"FC 84 80 80 80 80", BYTES("\xfc\x84\x80\x80\x80\x80"), "bad@0"},
    {"FE", BYTES("\xfe"), "bad@0"},
    {"FF", BYTES("\xff"), "bad@0"},
    {"ascii then FF", BYTES("abc\xff"), "bad@3"},
    /* Lone continuation bytes. */
    {"lone 80", BYTES("\x80"), "bad@0"},
    {"lone BF", BYTES("\xbf"), "bad@0"},
    {"a 80", BYTES("a\x80"), "bad@1"},
    {"one extra tail", BYTES("\xc2\x80\x80"), "bad@2"},
    {"tail after 3", BYTES("\xe2\x82\xac\xbf"), "bad@3"},
    {"tail after 4", BYTES("\xf0\x9f\x98\x80\x80"), "bad@4"},
    /* A lead byte where a tail is expected. */
    {"C2 41", BYTES("\xc2\x41"), "bad@1"},
    {"C2 C2", BYTES("\xc2\xc2"), "bad@1"},
    {"E1 80 41", BYTES("\xe1\x80\x41"), "bad@2"},
    {"F1 80 80 41", BYTES("\xf1\x80\x80\x41"), "bad@3"},
    {"F1 80 80 F1", BYTES("\xf1\x80\x80\xf1"), "bad@3"},
    /* Truncated: every byte may still be valid, but finish() fails. */
    {"trunc C2", BYTES("\xc2"), "incomplete"},
    {"trunc E0 A0", BYTES("\xe0\xa0"), "incomplete"},
    {"trunc E0", BYTES("\xe0"), "incomplete"},
    {"trunc ED 9F", BYTES("\xed\x9f"), "incomplete"},
    {"trunc F0 90 80", BYTES("\xf0\x90\x80"), "incomplete"},
    {"trunc F4 8F BF", BYTES("\xf4\x8f\xbf"), "incomplete"},
    {"trunc after text", BYTES("euro \xe2\x82"), "incomplete"},
    /* Errors after long ASCII runs (the word/SIMD paths). */
    {"ascii 20 then C0",
     BYTES("aaaaaaaaaaaaaaaaaaaa\xc0"), "bad@20"},
    {"ascii 17 then 80", BYTES("aaaaaaaaaaaaaaaaa\x80"), "bad@17"},
    {"ascii 33 then F4 90",
     BYTES("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf4\x90\x80\x80"), "bad@34"},
    {"ascii 40 then ok 3 then bad",
     BYTES("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x82\xac\xed\xa0\x80"), "bad@44"},
    {"ascii 31 then trunc", BYTES("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf0\x9f\x98"), "incomplete"},
};

/* Every table case under every split, with the fail-fast offset, and the
 * reference agrees with each expectation. */
static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ucase *uc = &cases[i];
        uctx c;
        memset(&c, 0, sizeof(c));
        if (split_run_all(&utf8_ops, &c, (const uint8_t *)uc->in, uc->len, uc->want, NULL) != 0) {
            fail_msg("case %s", uc->name);
        }
        char r[48];
        ref_result((const uint8_t *)uc->in, uc->len, r, sizeof(r));
        if (strcmp(r, uc->want) != 0) {
            fail_msg("reference disagrees on %s: %s", uc->name, r);
        }
        bool ok = strcmp(uc->want, "ok") == 0;
        assert_int_equal(wick_utf8_valid((const uint8_t *)uc->in, uc->len), ok);
    }
}

/* Every scalar value U+0000..U+10FFFF is valid; every surrogate fails at its
 * second byte; every overlong encoding of a code point fails. */
static void test_all_code_points(void **state)
{
    (void)state;
    uint8_t b[6];
    char r[48];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        size_t n = utf8_ref_encode(cp, 0, b);
        bool want = cp < 0xD800 || cp > 0xDFFF;
        if (wick_utf8_valid(b, n) != want) {
            fail_msg("U+%04X", (unsigned)cp);
        }
        if (!want) {
            oneshot(b, n, r, sizeof(r));
            assert_string_equal(r, "bad@1");
        }
    }
    /* Overlongs: every code point that fits in fewer bytes, forced longer.
     * A 2-byte overlong fails at its lead (C0/C1), longer ones at byte 1. */
    for (uint32_t cp = 0; cp < 0x10000; cp += (cp < 0x1000 ? 1u : 7u)) {
        size_t minimal = utf8_ref_encode(cp, 0, b);
        for (size_t force = minimal + 1; force <= 4; force++) {
            size_t n = utf8_ref_encode(cp, force, b);
            assert_int_equal(n, force);
            oneshot(b, n, r, sizeof(r));
            assert_string_equal(r, force == 2 ? "bad@0" : "bad@1");
        }
    }
    /* Above U+10FFFF: F4 90.. fails at byte 1; F5 and up at byte 0. */
    for (uint32_t cp = 0x110000; cp < 0x200000; cp += 0x1111) {
        size_t n = utf8_ref_encode(cp, 0, b);
        oneshot(b, n, r, sizeof(r));
        assert_string_equal(r, cp < 0x140000 ? "bad@1" : "bad@0");
    }
}

/* Every 1- and 2-byte string, every 3-byte string with a lead E0..FF (the
 * only leads whose state reaches the third byte), and every 4-byte string
 * with a lead F0..F4, a tail second byte and third/fourth bytes from a
 * sample, agree with the reference. */
static void test_exhaustive_short(void **state)
{
    (void)state;
    uint8_t b[4];
    for (unsigned x = 0; x < 65536; x++) {
        b[0] = (uint8_t)(x >> 8);
        b[1] = (uint8_t)x;
        if (x < 256) {
            b[0] = (uint8_t)x;
            assert_int_equal(lib_res(b, 1), ref_res(b, 1));
        }
        if (lib_res(b, 2) != ref_res(b, 2)) {
            fail_msg("%02x %02x", b[0], b[1]);
        }
    }
    for (unsigned x = 0xE00000; x < 0x1000000; x++) {
        b[0] = (uint8_t)(x >> 16);
        b[1] = (uint8_t)(x >> 8);
        b[2] = (uint8_t)x;
        if (lib_res(b, 3) != ref_res(b, 3)) {
            fail_msg("%02x %02x %02x", b[0], b[1], b[2]);
        }
    }
    static const uint8_t tails[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f,
                                    0xa0, 0xbf, 0xc0, 0xc2, 0xe0, 0xf4, 0xff};
    for (unsigned lead = 0xF0; lead <= 0xF4; lead++) {
        for (unsigned t1 = 0x80; t1 <= 0xBF; t1++) {
            for (size_t t2 = 0; t2 < sizeof(tails); t2++) {
                for (size_t t3 = 0; t3 < sizeof(tails); t3++) {
                    b[0] = (uint8_t)lead;
                    b[1] = (uint8_t)t1;
                    b[2] = tails[t2];
                    b[3] = tails[t3];
                    if (lib_res(b, 4) != ref_res(b, 4)) {
                        fail_msg("%02x %02x %02x %02x", b[0], b[1], b[2], b[3]);
                    }
                }
            }
        }
    }
}

/* A random string biased toward interesting UTF-8: ASCII runs, valid
 * sequences of every length, edge code points, and random junk. */
static size_t random_text(uint64_t *rng, uint8_t *out, size_t cap)
{
    size_t n = 0;
    size_t target = split_rng_below(rng, cap + 1);
    while (n + 6 <= cap && n < target) {
        size_t kind = split_rng_below(rng, 10);
        uint8_t b[6];
        size_t k;
        if (kind < 3) {
            size_t run = 1 + split_rng_below(rng, 24);
            for (size_t i = 0; i < run && n < cap; i++) {
                out[n++] = (uint8_t)(0x20 + split_rng_below(rng, 0x5F));
            }
            continue;
        } else if (kind < 7) {
            static const uint32_t edges[] = {0x7F,   0x80,    0x7FF,   0x800,   0xD7FF,
                                             0xE000, 0xFFFF,  0x10000, 0x10FFFF, 0xFFFD};
            uint32_t cp = split_rng_below(rng, 2) ? (uint32_t)split_rng_below(rng, 0x110000)
                                                  : edges[split_rng_below(rng, 10)];
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0x41;
            }
            k = utf8_ref_encode(cp, 0, b);
        } else if (kind < 9) {
            /* A valid sequence cut short, or a surrogate / out-of-range one. */
            uint32_t cp = (uint32_t)split_rng_below(rng, 0x140000);
            k = utf8_ref_encode(cp, 0, b);
            if (k > 1 && split_rng_below(rng, 2)) {
                k -= 1 + split_rng_below(rng, k - 1);
            }
        } else {
            k = 1;
            b[0] = (uint8_t)split_rng_next(rng);
        }
        memcpy(out + n, b, k);
        n += k;
    }
    return n;
}

/* Differential: the library and the reference agree on many random
 * strings, whole; a share of them also under every split. */
static void test_differential(void **state)
{
    (void)state;
    uint64_t rng = 0xD1FF0000C0FFEEu;
    uint8_t buf[400];
    char want[48];
    int bad_seen = 0;
    int ok_seen = 0;
    for (int iter = 0; iter < 40000; iter++) {
        size_t n = random_text(&rng, buf, iter % 4 == 0 ? sizeof(buf) : 48);
        size_t want_res = ref_res(buf, n);
        if (lib_res(buf, n) != want_res) {
            fail_msg("iteration %d (len %zu)", iter, n);
        }
        bad_seen += want_res < n;
        ok_seen += want_res == RES_OK;
        if (iter % 40 == 1 || iter % 1000 == 0) {
            ref_result(buf, n, want, sizeof(want));
            if (check_splits(buf, n, want, 4, (uint64_t)iter + 1) != 0) {
                fail_msg("iteration %d: splits", iter);
            }
        }
    }
    /* The generator must exercise both outcomes a fair amount. */
    assert_true(bad_seen > 5000);
    assert_true(ok_seen > 5000);
}

/* The fast paths at every alignment and every position of the bad byte
 * inside and around 8- and 16-byte words. */
static void test_alignment(void **state)
{
    (void)state;
    uint8_t mem[96 + 16];
    char got[48];
    char want[48];
    static const uint8_t bads[] = {0x80, 0xC0, 0xFF, 0xED};
    for (size_t align = 0; align < 16; align++) {
        uint8_t *b = mem + align;
        for (size_t pos = 0; pos < 80; pos++) {
            for (size_t k = 0; k < sizeof(bads); k++) {
                memset(b, 'x', 96);
                b[pos] = bads[k];
                if (bads[k] == 0xED) {
                    b[pos + 1] = 0xA0; /* surrogate: fails one byte later */
                }
                oneshot(b, 96, got, sizeof(got));
                snprintf(want, sizeof(want), "bad@%zu", pos + (bads[k] == 0xED ? 1u : 0u));
                assert_string_equal(got, want);
            }
            /* A valid 4-byte sequence at pos keeps the whole buffer valid. */
            memset(b, 'x', 96);
            memcpy(b + pos, "\xf0\x9f\x98\x80", 4);
            assert_true(wick_utf8_valid(b, 96));
            /* ... and cut at the end it is incomplete. */
            assert_false(wick_utf8_valid(b, pos + 3));
        }
    }
}

/* --- Vector path (AVX2, 64-byte steps) ----------------------------------- */

/* Result of feeding buf[0..len) in chunks that end at the offsets in
 * cuts[] (increasing, each < len), in the RES_* / bad-offset form. */
static size_t chunked_res(const uint8_t *buf, size_t len, const size_t *cuts, size_t ncuts)
{
    wick_utf8 u;
    wick_utf8_init(&u);
    size_t at = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        if (end < at || end > len) {
            continue;
        }
        size_t bad = 0;
        if (wick_utf8_feed(&u, buf + at, end - at, &bad) != WICK_OK) {
            return at + bad;
        }
        at = end;
    }
    return wick_utf8_finish(&u) == WICK_OK ? RES_OK : RES_INCOMPLETE;
}

/* Fills buf[0..n) with valid UTF-8 of one script (kind 0: 3-byte CJK,
 * 1: 4-byte emoji, 2: 2-byte Latin/Greek, 3: mixed lengths, 4: ASCII with
 * one 3-byte character every 61 bytes), padding the end with ASCII. */
static void script_text(uint64_t *rng, int kind, uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t r = (uint32_t)split_rng_next(rng);
        uint32_t cp;
        switch (kind) {
        case 0:
            cp = 0x4E00 + r % 0x5000;
            break;
        case 1:
            cp = 0x1F300 + r % 0x300;
            break;
        case 2:
            cp = 0x80 + r % 0x700;
            break;
        case 3: {
            static const uint32_t base[4] = {0x20, 0x100, 0xE000, 0x10000};
            static const uint32_t span[4] = {0x5F, 0x700, 0x1FFF, 0xFFFFF};
            cp = base[r % 4] + (r >> 8) % span[r % 4];
            break;
        }
        default:
            cp = (i % 61 == 60) ? 0x20AC : 'a' + r % 26;
            break;
        }
        uint8_t enc[6];
        size_t k = utf8_ref_encode(cp, 0, enc);
        if (k > n - i) {
            memset(buf + i, 'z', n - i);
            break;
        }
        memcpy(buf + i, enc, k);
        i += k;
    }
}

/* Kinds 0-4 as script_text(); 5: ASCII only (the skipping loops). */
static void kind_text(uint64_t *rng, int kind, uint8_t *buf, size_t n)
{
    if (kind < 5) {
        script_text(rng, kind, buf, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t)('a' + split_rng_below(rng, 26));
    }
}

/* Errors of every kind at every position of 256-byte texts in several
 * scripts (so inside and across the 32-byte halves and 64-byte steps of
 * the vector path, and after all-ASCII steps), whole and split into
 * chunks around the error and at step boundaries; always the reference's
 * exact first bad byte. */
static void test_simd_every_position(void **state)
{
    (void)state;
    enum { N = 256 };
    static const uint8_t corrupt[][2] = {
        {0x80, 0}, {0xBF, 0}, {0xC0, 0}, {0xC1, 0x80}, {0xC2, 'a'}, {0xE0, 0x80}, {0xE0, 0x9F},
        {0xED, 0xA0}, {0xF0, 0x80}, {0xF0, 0x8F}, {0xF4, 0x90}, {0xF5, 0}, {0xFF, 0}, {'a', 0},
        {0xE2, 0x82}, {0xF0, 0x9F},
    };
    uint8_t text[N];
    uint8_t buf[N + 32];
    uint64_t rng = 0x51D0u;
    size_t checked = 0;
    for (int kind = 0; kind < 5; kind++) {
        script_text(&rng, kind, text, N);
        assert_true(wick_utf8_valid(text, N));
        for (size_t pos = 0; pos < N; pos++) {
            for (size_t c = 0; c < sizeof(corrupt) / sizeof(corrupt[0]); c++) {
                for (size_t align = 0; align < 2; align++) {
                    uint8_t *b = buf + align * 17;
                    memcpy(b, text, N);
                    b[pos] = corrupt[c][0];
                    if (corrupt[c][1] != 0 && pos + 1 < N) {
                        b[pos + 1] = corrupt[c][1];
                    }
                    size_t want = ref_res(b, N);
                    size_t got = lib_res(b, N);
                    if (got != want) {
                        fail_msg("kind %d pos %zu corrupt %zu: got %zu want %zu", kind, pos, c,
                                 got, want);
                    }
                    /* Truncated here: incomplete or bad exactly as the reference. */
                    if (lib_res(b, pos + 1) != ref_res(b, pos + 1)) {
                        fail_msg("kind %d truncated at %zu corrupt %zu", kind, pos + 1, c);
                    }
                    size_t cuts[3][3] = {{pos > 2 ? pos - 2 : 0, pos + 1, pos + 3},
                                         {pos, 64, 128},
                                         {63, pos + 2 < N ? pos + 2 : 0, 200}};
                    for (size_t k = 0; k < 3; k++) {
                        size_t cs[3];
                        memcpy(cs, cuts[k], sizeof(cs));
                        /* chunked_res skips offsets that go backwards. */
                        if (chunked_res(b, N, cs, 3) != want) {
                            fail_msg("kind %d pos %zu corrupt %zu cuts %zu", kind, pos, c, k);
                        }
                    }
                    checked++;
                }
            }
        }
    }
    assert_true(checked > 40000);
}

/* Long valid texts (vector path end to end) fed in chunks of every size
 * 1..130 bytes are accepted, and an error placed after a chunk boundary
 * that cuts a character is found at its exact offset. */
static void test_simd_chunks(void **state)
{
    (void)state;
    enum { N = 4096 };
    uint8_t *t = malloc(N);
    assert_non_null(t);
    uint64_t rng = 0xC4u;
    for (int kind = 0; kind < 6; kind++) {
        kind_text(&rng, kind, t, N);
        for (size_t step = 1; step <= 130; step++) {
            wick_utf8 u;
            wick_utf8_init(&u);
            for (size_t at = 0; at < N; at += step) {
                size_t n = N - at < step ? N - at : step;
                assert_int_equal(wick_utf8_feed(&u, t + at, n, NULL), WICK_OK);
            }
            assert_int_equal(wick_utf8_finish(&u), WICK_OK);
        }
        for (size_t pos = 1000; pos < 1200; pos += 7) {
            uint8_t saved = t[pos];
            t[pos] = 0xFF;
            size_t want = ref_res(t, N);
            for (size_t cut = pos - 70; cut <= pos; cut += 3) {
                size_t cs[1] = {cut};
                assert_int_equal(chunked_res(t, N, cs, 1), want);
            }
            t[pos] = saved;
        }
    }
    free(t);
}

/* --- Every length, every position (issue 10) ------------------------------
 *
 * The vector path takes a 32-byte first block, 64-byte steps (all-ASCII
 * ones skipped, then 128 bytes at a time), one 32-byte step, and the last
 * 1..31 bytes as the last 32 bytes again (from 35 bytes on); inputs of
 * 16..31 bytes are one NUL-filled vector, shorter ones are words and the
 * DFA. So every input length up to a few steps, and a patch at every
 * position of each, meets every block boundary of every path. */

/* Up to 4 bytes written over a text (cut short at its end): errors of
 * every kind, sequences cut by the next byte of the text, and valid
 * sequences of every length (which must keep a valid text valid). */
typedef struct upatch {
    uint8_t b[4];
    size_t n;
} upatch;

static const upatch patches[] = {
    {{0x80}, 1},       {{0xBF}, 1},       {{0xC0}, 1},       {{0xC1, 0x80}, 2}, {{0xC2, 'a'}, 2},
    {{0xE0, 0x80}, 2}, {{0xE0, 0x9F}, 2}, {{0xED, 0xA0}, 2}, {{0xF0, 0x80}, 2}, {{0xF0, 0x8F}, 2},
    {{0xF4, 0x90}, 2}, {{0xF5}, 1},       {{0xFF}, 1},       {{0xE2, 0x82}, 2}, {{0xF0, 0x9F}, 2},
    {{0xF0, 0x9F, 0x98}, 3},              {{'a'}, 1},        {{0xC3, 0xA9}, 2},
    {{0xE2, 0x82, 0xAC}, 3},              {{0xED, 0x9F, 0xBF}, 3},
    {{0xF0, 0x9F, 0x98, 0x80}, 4},        {{0xF4, 0x8F, 0xBF, 0xBF}, 4},
};

#define NPATCHES (sizeof(patches) / sizeof(patches[0]))

static void apply_patch(uint8_t *b, size_t len, size_t pos, const upatch *pt)
{
    for (size_t k = 0; k < pt->n && pos + k < len; k++) {
        b[pos + k] = pt->b[k];
    }
}

/* Every length 0..160 and a few around the 128-byte ASCII steps, four
 * scripts, every patch at every position: the library says exactly what
 * the reference says (bad offset, incomplete or ok), for the whole text
 * and for the text cut right after the patch. Each text sits in a heap
 * block of its exact size, so a read past its end fails under ASan. */
static void test_every_length(void **state)
{
    (void)state;
    static const size_t big[] = {191, 192, 193, 223, 224, 225, 255, 256, 257, 351, 352, 353, 385};
    static const int kinds[] = {0, 1, 3, 5};
    uint8_t text[400];
    uint64_t rng = 0x1E6u;
    size_t checked = 0;
    size_t nbig = sizeof(big) / sizeof(big[0]);
    for (size_t li = 0; li <= 160 + nbig; li++) {
        size_t len = li <= 160 ? li : big[li - 161];
        uint8_t *b = malloc(len ? len : 1);
        assert_non_null(b);
        for (size_t ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ki++) {
            kind_text(&rng, kinds[ki], text, len);
            memcpy(b, text, len);
            assert_int_equal(lib_res(b, len), RES_OK);
            for (size_t pos = 0; pos < len; pos++) {
                for (size_t pi = 0; pi < NPATCHES; pi++) {
                    memcpy(b, text, len);
                    apply_patch(b, len, pos, &patches[pi]);
                    size_t want = ref_res(b, len);
                    size_t got = lib_res(b, len);
                    if (got != want) {
                        fail_msg("len %zu kind %d pos %zu patch %zu: got %zu want %zu", len,
                                 kinds[ki], pos, pi, got, want);
                    }
                    size_t cut = pos + patches[pi].n < len ? pos + patches[pi].n : len;
                    if (lib_res(b, cut) != ref_res(b, cut)) {
                        fail_msg("len %zu kind %d pos %zu patch %zu cut at %zu", len, kinds[ki],
                                 pos, pi, cut);
                    }
                    checked++;
                }
            }
        }
        free(b);
    }
    assert_true(checked > 1000000);
}

/* The same texts under every split (two chunks split at every byte, one
 * byte per call, random chunkings; each chunk in its own exact-size heap
 * block): the state carried across calls, sequences cut by a chunk end,
 * and vector runs starting after a carried-over sequence all give the
 * reference's answer, with the exact offset of the first bad byte. */
static void test_every_split(void **state)
{
    (void)state;
    static const size_t lens[] = {17, 31, 32, 34, 35, 64, 65, 97, 125, 130, 193, 257};
    static const int kinds[] = {0, 1, 5};
    static const size_t some[] = {0, 4, 12, 13, 16, 18, 20};
    uint8_t b[260];
    char want[48];
    uint64_t rng = 0x5B117u;
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t len = lens[li];
        for (size_t ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ki++) {
            uint8_t text[260];
            kind_text(&rng, kinds[ki], text, len);
            for (size_t pos = 0; pos < len; pos++) {
                for (size_t si = 0; si < sizeof(some) / sizeof(some[0]); si++) {
                    memcpy(b, text, len);
                    apply_patch(b, len, pos, &patches[some[si]]);
                    ref_result(b, len, want, sizeof(want));
                    if (check_splits(b, len, want, 2, (uint64_t)(pos + 1)) != 0) {
                        fail_msg("len %zu kind %d pos %zu patch %zu", len, kinds[ki], pos,
                                 some[si]);
                    }
                }
            }
        }
    }
}

/* After an error the validator stays failed until wick_utf8_init(). */
static void test_sticky_and_args(void **state)
{
    (void)state;
    wick_utf8 u;
    size_t bad = 99;
    wick_utf8_init(&u);
    assert_int_equal(wick_utf8_feed(&u, (const uint8_t *)"ab\xff", 3, &bad), WICK_ERR_UTF8);
    assert_int_equal(bad, 2);
    /* Valid input afterwards still fails, at its first byte. */
    bad = 99;
    assert_int_equal(wick_utf8_feed(&u, (const uint8_t *)"ok", 2, &bad), WICK_ERR_UTF8);
    assert_int_equal(bad, 0);
    assert_int_equal(wick_utf8_feed(&u, NULL, 0, NULL), WICK_ERR_UTF8);
    assert_int_equal(wick_utf8_finish(&u), WICK_ERR_UTF8);
    /* init() clears it. */
    wick_utf8_init(&u);
    assert_int_equal(wick_utf8_feed(&u, (const uint8_t *)"ok", 2, NULL), WICK_OK);
    assert_int_equal(wick_utf8_finish(&u), WICK_OK);
    /* A zeroed struct is a fresh validator. */
    memset(&u, 0, sizeof(u));
    assert_int_equal(wick_utf8_feed(&u, (const uint8_t *)"\xc3\xa9", 2, NULL), WICK_OK);
    assert_int_equal(wick_utf8_finish(&u), WICK_OK);
    /* bad_pos may be NULL; finish() mid-sequence fails without changing state. */
    wick_utf8_init(&u);
    assert_int_equal(wick_utf8_feed(&u, (const uint8_t *)"\xe2\x82", 2, NULL), WICK_OK);
    assert_int_equal(wick_utf8_finish(&u), WICK_ERR_UTF8);
    assert_int_equal(wick_utf8_feed(&u, (const uint8_t *)"\xac", 1, NULL), WICK_OK);
    assert_int_equal(wick_utf8_finish(&u), WICK_OK);
    /* API misuse. */
    assert_int_equal(wick_utf8_feed(NULL, (const uint8_t *)"a", 1, &bad), WICK_ERR_ARG);
    assert_int_equal(wick_utf8_feed(&u, NULL, 1, &bad), WICK_ERR_ARG);
    assert_int_equal(wick_utf8_feed(&u, NULL, 0, &bad), WICK_OK);
    assert_int_equal(wick_utf8_finish(NULL), WICK_ERR_ARG);
    assert_true(wick_utf8_valid(NULL, 0));
    assert_false(wick_utf8_valid(NULL, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),        cmocka_unit_test(test_all_code_points),
        cmocka_unit_test(test_exhaustive_short), cmocka_unit_test(test_differential),
        cmocka_unit_test(test_alignment),    cmocka_unit_test(test_sticky_and_args),
        cmocka_unit_test(test_simd_every_position), cmocka_unit_test(test_simd_chunks),
        cmocka_unit_test(test_every_length),        cmocka_unit_test(test_every_split),
    };
    return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
