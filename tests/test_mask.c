/* Masking tests (RFC 6455 5.3): wick_mask_apply against a byte-at-a-time
 * reference at every length 0..300, every alignment 0..15 and every phase
 * 0..3, and applied in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/split.h"
#include "wick.h"
#include "wick_mask.h"

/* RFC 6455 5.3: j = i MOD 4; transformed-octet-i = original-octet-i XOR
 * masking-key-octet-j, with i counted from `phase`. */
static void mask_ref(uint8_t *buf, size_t len, const uint8_t key[4], size_t phase)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= key[(phase + i) % 4];
    }
}

#define MAX_LEN  300
#define GUARD    16
#define ALIGNS   16

static void fill(uint64_t *rng, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)split_rng_next(rng);
    }
}

/* RFC 6455 5.7: "Hello" masked with 37 fa 21 3d. */
static void test_rfc_example(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t b[5] = {'H', 'e', 'l', 'l', 'o'};
    static const uint8_t want[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    size_t phase = 0;
    wick_mask_apply(b, 5, key, &phase);
    assert_memory_equal(b, want, 5);
    assert_int_equal(phase, 1);
    wick_mask_apply(b, 5, key, NULL);
    assert_memory_equal(b, "Hello", 5);
}

/* Every length, alignment and phase against the reference; the bytes
 * around the range are untouched and the phase advances by len mod 4. */
static void test_differential(void **state)
{
    (void)state;
    uint64_t rng = 0x3A5C0FFEEu;
    size_t cap = GUARD + ALIGNS + MAX_LEN + GUARD;
    uint8_t *a = malloc(cap);
    uint8_t *b = malloc(cap);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t len = 0; len <= MAX_LEN; len++) {
        for (size_t align = 0; align < ALIGNS; align++) {
            for (size_t ph = 0; ph < 4; ph++) {
                uint8_t key[4];
                fill(&rng, key, 4);
                fill(&rng, a, cap);
                memcpy(b, a, cap);
                size_t phase = ph;
                wick_mask_apply(a + GUARD + align, len, key, &phase);
                mask_ref(b + GUARD + align, len, key, ph);
                if (memcmp(a, b, cap) != 0) {
                    fail_msg("len %zu align %zu phase %zu", len, align, ph);
                }
                assert_int_equal(phase, (ph + len) % 4);
            }
        }
    }
    /* phase == NULL starts at key byte 0. */
    for (size_t len = 0; len <= 64; len++) {
        uint8_t key[4] = {0x01, 0x20, 0x03, 0x40};
        fill(&rng, a, len + 1);
        memcpy(b, a, len + 1);
        wick_mask_apply(a, len, key, NULL);
        mask_ref(b, len, key, 0);
        assert_memory_equal(a, b, len + 1);
    }
    free(a);
    free(b);
}

/* Every compiled path (byte, word, the 32-bit targets' aligned word loop,
 * SSE2, AVX2 when the CPU has it, NEON)
 * against the reference at every length 0..300, alignment 0..15 and
 * phase, with guard bytes; unavailable paths must refuse and touch
 * nothing. */
static void test_every_path(void **state)
{
    (void)state;
    uint64_t rng = 0x9A7Bu;
    size_t cap = GUARD + ALIGNS + MAX_LEN + GUARD;
    uint8_t *a = malloc(cap);
    uint8_t *b = malloc(cap);
    assert_non_null(a);
    assert_non_null(b);
    int ran = 0;
    for (int path = 0; path < WICK_MASK_PATHS + 1; path++) {
        uint8_t key[4] = {1, 2, 3, 4};
        fill(&rng, a, cap);
        memcpy(b, a, cap);
        size_t phase = 1;
        if (!wick__mask_apply_path(path, a + GUARD, 40, key, &phase)) {
            assert_memory_equal(a, b, cap);
            assert_int_equal(phase, 1);
            assert_true(path != WICK_MASK_PATH_BYTE && path != WICK_MASK_PATH_WORD &&
                        path != WICK_MASK_PATH_WORD32);
            continue;
        }
        ran++;
        for (size_t len = 0; len <= MAX_LEN; len++) {
            for (size_t align = 0; align < ALIGNS; align++) {
                for (size_t ph = 0; ph < 4; ph++) {
                    fill(&rng, key, 4);
                    fill(&rng, a, cap);
                    memcpy(b, a, cap);
                    phase = ph;
                    assert_true(wick__mask_apply_path(path, a + GUARD + align, len, key, &phase));
                    mask_ref(b + GUARD + align, len, key, ph);
                    if (memcmp(a, b, cap) != 0) {
                        fail_msg("path %d len %zu align %zu phase %zu", path, len, align, ph);
                    }
                    assert_int_equal(phase, (ph + len) % 4);
                }
            }
        }
    }
#if defined(__SSE2__) && !defined(WICK_NO_SIMD)
    assert_true(ran >= 3); /* byte, word, SSE2 (and AVX2 on most CPUs) */
#else
    assert_true(ran >= 2);
#endif
    free(a);
    free(b);
}

/* The one-pass copy-and-mask (used by the frame writers) through every
 * path, every length 0..300 and source/destination alignment, in place
 * and between separate buffers, against the reference. */
static void test_copy_paths(void **state)
{
    (void)state;
    uint64_t rng = 0xC0B1u;
    size_t cap = GUARD + ALIGNS + MAX_LEN + GUARD;
    uint8_t *src = malloc(cap);
    uint8_t *dst = malloc(cap);
    uint8_t *want = malloc(cap);
    assert_non_null(src);
    assert_non_null(dst);
    assert_non_null(want);
    for (int path = 0; path < WICK_MASK_PATHS; path++) {
        uint8_t key[4] = {9, 8, 7, 6};
        if (!wick__mask_copy_path(path, dst, src, 0, key)) {
            continue;
        }
        for (size_t len = 0; len <= MAX_LEN; len++) {
            for (size_t align = 0; align < ALIGNS; align += 3) {
                size_t salign = (align * 7 + len) % ALIGNS;
                fill(&rng, key, 4);
                fill(&rng, src, cap);
                fill(&rng, dst, cap);
                memcpy(want, dst, cap);
                memcpy(want + GUARD + align, src + GUARD + salign, len);
                mask_ref(want + GUARD + align, len, key, 0);
                assert_true(
                    wick__mask_copy_path(path, dst + GUARD + align, src + GUARD + salign, len, key));
                if (memcmp(dst, want, cap) != 0) {
                    fail_msg("copy path %d len %zu align %zu/%zu", path, len, align, salign);
                }
                /* In place (dst == src) is allowed too. */
                memcpy(want, src, cap);
                mask_ref(want + GUARD + salign, len, key, 0);
                assert_true(wick__mask_copy_path(path, src + GUARD + salign, src + GUARD + salign,
                                                 len, key));
                if (memcmp(src, want, cap) != 0) {
                    fail_msg("in-place copy path %d len %zu", path, len);
                }
            }
        }
    }
    /* The default path choice, on a large buffer. */
    size_t big = 70001;
    uint8_t *a = malloc(big);
    uint8_t *b = malloc(big);
    assert_non_null(a);
    assert_non_null(b);
    fill(&rng, a, big);
    static const uint8_t k2[4] = {0x11, 0x22, 0x33, 0x44};
    wick__mask_copy(b, a, big, k2, 0);
    mask_ref(a, big, k2, 0);
    assert_memory_equal(a, b, big);
    free(a);
    free(b);
    free(src);
    free(dst);
    free(want);
}

/* wick_frame_write() masks correctly whether the payload is apart from
 * the output, already in place at out + header, or overlapping it (the
 * one-pass copy is only used when that is safe). */
static void test_frame_write_overlap(void **state)
{
    (void)state;
    static const uint8_t key[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    uint64_t rng = 0x0F0Fu;
    static const size_t lens[] = {0,  1,  2,  3,  4,   5,   7,   8,    9,    15,   16,
                                  17, 24, 31, 32, 33, 64, 125, 126, 300, 5000, 70000};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t len = lens[li];
        size_t hn = wick_frame_header_size(len, true);
        uint8_t *pl = malloc(len + 1);
        uint8_t *want = malloc(len + 1);
        uint8_t *out = malloc(len + 64);
        assert_non_null(pl);
        assert_non_null(want);
        assert_non_null(out);
        fill(&rng, pl, len + 1);
        memcpy(want, pl, len + 1);
        mask_ref(want, len, key, 0);
        /* Offsets of the payload in out: in place, then overlapping. */
        const long offs[] = {0, -1, 1, -3, 5, (long)hn};
        for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
            size_t at = (size_t)((long)hn + offs[k]);
            if (at + len > len + 64) {
                continue;
            }
            memcpy(out + at, pl, len);
            size_t n = 0;
            assert_int_equal(wick_frame_write(WICK_OP_BINARY, true, 0, key, out + at, len, out,
                                              len + 64, &n),
                             WICK_OK);
            assert_int_equal(n, hn + len);
            if (len != 0 && memcmp(out + hn, want, len) != 0) {
                fail_msg("len %zu payload offset %ld", len, offs[k]);
            }
        }
        /* Unmasked (server) frames too, including the small-copy path
         * (payload up to 32 bytes) with every overlap. */
        size_t hu = wick_frame_header_size(len, false);
        const long uoffs[] = {0, -2, -1, 1, 2, 3, 7, 9, 17, 40};
        for (size_t k = 0; k < sizeof(uoffs) / sizeof(uoffs[0]); k++) {
            long at = (long)hu + uoffs[k];
            if (at < 0 || (size_t)at + len > len + 64) {
                continue;
            }
            memcpy(out + at, pl, len);
            size_t m = 0;
            assert_int_equal(wick_frame_write(WICK_OP_BINARY, true, 0, NULL, out + at, len, out,
                                              len + 64, &m),
                             WICK_OK);
            assert_int_equal(m, hu + len);
            if (len != 0 && memcmp(out + hu, pl, len) != 0) {
                fail_msg("unmasked len %zu payload offset %ld", len, uoffs[k]);
            }
        }
        size_t n = 0;
        assert_int_equal(
            wick_frame_write(WICK_OP_TEXT, true, 0, key, pl, len, out, len + 64, &n), WICK_OK);
        if (len != 0) {
            assert_memory_equal(out + hn, want, len);
        }
        free(pl);
        free(want);
        free(out);
    }
}

/* Applying in pieces (every two-way split, and random many-way splits)
 * gives the same bytes as one call: the phase carries. */
static void test_split_application(void **state)
{
    (void)state;
    uint64_t rng = 0x5117u;
    uint8_t orig[MAX_LEN];
    uint8_t whole[MAX_LEN];
    uint8_t parts[MAX_LEN];
    static const size_t lens[] = {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                  100, 255, 256, 300};
    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        size_t len = lens[li];
        uint8_t key[4];
        fill(&rng, key, 4);
        fill(&rng, orig, len);
        memcpy(whole, orig, len);
        wick_mask_apply(whole, len, key, NULL);
        for (size_t k = 0; k <= len; k++) {
            memcpy(parts, orig, len);
            size_t phase = 0;
            wick_mask_apply(parts, k, key, &phase);
            wick_mask_apply(parts + k, len - k, key, &phase);
            if (len != 0 && memcmp(parts, whole, len) != 0) {
                fail_msg("len %zu split %zu", len, k);
            }
            assert_int_equal(phase, len % 4);
        }
        for (int r = 0; r < 50 && len > 0; r++) {
            memcpy(parts, orig, len);
            size_t phase = 0;
            size_t at = 0;
            while (at < len) {
                size_t n = 1 + split_rng_below(&rng, (r % 2) ? 5 : len - at);
                if (n > len - at) {
                    n = len - at;
                }
                wick_mask_apply(parts + at, n, key, &phase);
                at += n;
            }
            assert_memory_equal(parts, whole, len);
        }
        /* Masking twice restores the input (RFC 6455 5.3: same operation). */
        wick_mask_apply(whole, len, key, NULL);
        if (len != 0) {
            assert_memory_equal(whole, orig, len);
        }
    }
}

/* A large buffer through the wide paths, at an odd offset. */
/* The fused unmask-and-ASCII test (where compiled): the unmasked bytes
 * equal the reference, in place and as a copy, at every length, alignment
 * and phase, and the answer is "ASCII" exactly when no byte has bit 7,
 * with one non-ASCII byte tried at every position. */
#ifdef WICK__MASK_ASCII
static void test_mask_ascii(void **state)
{
    (void)state;
    enum { MAXL = 300, PAD = 16 };
    static uint8_t plain[MAXL], wire[MAXL + PAD], got[MAXL + PAD], copy[MAXL + PAD];
    uint64_t rng = 77;
    for (size_t len = 0; len <= MAXL; len++) {
        for (size_t ph = 0; ph < 4; ph++) {
            uint8_t key[4];
            fill(&rng, key, 4);
            size_t align = (len * 7 + ph) % 8;
            /* bad == len: all ASCII; else plain[bad] gets bit 7. Every
             * position for short lengths, a sample beyond. */
            size_t step = len <= 72 ? 1 : 13;
            for (size_t bad = 0; bad <= len; bad = bad == len ? len + 1 : (bad + step < len ? bad + step : len)) {
                for (size_t i = 0; i < len; i++) {
                    plain[i] = (uint8_t)(split_rng_next(&rng) & 0x7F);
                }
                if (bad < len) {
                    plain[bad] |= 0x80;
                }
                memcpy(wire + align, plain, len);
                mask_ref(wire + align, len, key, ph);
                memcpy(got + align, wire + align, len);
                bool ascii = wick__mask_ascii(got + align, got + align, len, key, ph);
                assert_memory_equal(got + align, plain, len);
                assert_int_equal(ascii, bad >= len);
                memset(copy, 0xEE, sizeof copy);
                ascii = wick__mask_ascii(copy + PAD / 2, wire + align, len, key, ph);
                assert_memory_equal(copy + PAD / 2, plain, len);
                assert_int_equal(copy[PAD / 2 + len], 0xEE); /* nothing past the end */
                assert_int_equal(ascii, bad >= len);
            }
        }
    }
}
#endif

static void test_large(void **state)
{
    (void)state;
    uint64_t rng = 0xB16u;
    size_t len = 70001;
    uint8_t *a = malloc(len + 3);
    uint8_t *b = malloc(len + 3);
    assert_non_null(a);
    assert_non_null(b);
    fill(&rng, a, len + 3);
    memcpy(b, a, len + 3);
    static const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};
    size_t phase = 2;
    wick_mask_apply(a + 3, len, key, &phase);
    mask_ref(b + 3, len, key, 2);
    assert_memory_equal(a, b, len + 3);
    assert_int_equal(phase, (2 + len) % 4);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_every_path),
        cmocka_unit_test(test_copy_paths),
        cmocka_unit_test(test_frame_write_overlap),
        cmocka_unit_test(test_split_application),
        cmocka_unit_test(test_large),
#ifdef WICK__MASK_ASCII /* compiled on 64-bit targets with unaligned access */
        cmocka_unit_test(test_mask_ascii),
#endif
    };
    return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
