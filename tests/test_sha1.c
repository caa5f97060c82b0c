/* SHA-1 against the FIPS 180 example vectors (FIPS 180-2 appendix A and
 * the NIST "SHA1ShortMsg" empty message). Runs against whichever backend
 * the build selected (built-in or WICK_OPENSSL=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wick.h"

struct sha1_case {
    const char *name;
    const char *msg; /* repeated `repeat` times */
    size_t repeat;
    const char *hex;
};

static const struct sha1_case sha1_cases[] = {
    {"empty", "", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    /* FIPS 180-2 A.1: one block. */
    {"abc", "abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
    /* FIPS 180-2 A.2: the 448-bit message, padding spills into a 2nd block. */
    {"448-bit", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    /* FIPS 180-2 A.3: one million 'a'. */
    {"million-a", "a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
    /* Block-boundary lengths: 55 and 56 bytes straddle the padding limit,
     * 64 is one exact block (values from `sha1sum`). */
    {"55xa", "a", 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
    {"56xa", "a", 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
    {"64xa", "a", 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
    /* FIPS 180-4 long example: 896-bit message (two blocks of data). */
    {"896-bit",
     "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     1, "a49b2446a02c645bf419f995b67091253a04a259"},
};

static void to_hex(const uint8_t *d, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void test_sha1_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sha1_cases / sizeof sha1_cases[0]; i++) {
        const struct sha1_case *c = &sha1_cases[i];
        size_t mlen = strlen(c->msg);
        size_t total = mlen * c->repeat;
        char *buf = malloc(total + 1);
        assert_non_null(buf);
        for (size_t r = 0; r < c->repeat; r++) {
            memcpy(buf + r * mlen, c->msg, mlen);
        }
        uint8_t digest[WICK_SHA1_LEN];
        char hex[2 * WICK_SHA1_LEN + 1];
        wick_sha1(buf, total, digest);
        to_hex(digest, sizeof digest, hex);
        if (strcmp(hex, c->hex) != 0) {
            print_error("case %s: got %s want %s\n", c->name, hex, c->hex);
        }
        assert_string_equal(hex, c->hex);
        free(buf);
    }
}

/* Every length 0..200 against a byte-by-byte reference property: the
 * digest of a prefix must not depend on bytes after it (catches reads past
 * `len` in the padding code, together with ASan/valgrind). */
static void test_sha1_prefix_independence(void **state)
{
    (void)state;
    uint8_t a[200], b[200];
    for (size_t i = 0; i < sizeof a; i++) {
        a[i] = (uint8_t)(i * 7u + 1u);
        b[i] = a[i];
    }
    for (size_t n = 0; n < sizeof a; n++) {
        uint8_t da[WICK_SHA1_LEN], db[WICK_SHA1_LEN];
        b[n] ^= 0xFF; /* differs only after the prefix */
        wick_sha1(a, n, da);
        wick_sha1(b, n, db);
        assert_memory_equal(da, db, sizeof da);
        b[n] ^= 0xFF;
        if (n > 0) {
            /* ...and does depend on the last byte inside it. */
            b[n - 1] ^= 0x01;
            wick_sha1(b, n, db);
            assert_memory_not_equal(da, db, sizeof da);
            b[n - 1] ^= 0x01;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_vectors),
        cmocka_unit_test(test_sha1_prefix_independence),
    };
    return cmocka_run_group_tests_name("sha1", tests, NULL, NULL);
}
