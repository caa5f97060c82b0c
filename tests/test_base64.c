/* Base64 against RFC 4648 section 10, both directions, and the strict
 * decoder's rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wick.h"

struct b64_pair {
    const char *raw;
    const char *enc;
};

/* RFC 4648 section 10. */
static const struct b64_pair rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

static void test_base64_rfc4648(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc4648_vectors / sizeof rfc4648_vectors[0]; i++) {
        const struct b64_pair *v = &rfc4648_vectors[i];
        size_t rl = strlen(v->raw), el = strlen(v->enc);
        char enc[16];
        uint8_t dec[16];
        size_t n = 99;
        assert_int_equal(WICK_BASE64_LEN(rl), el);
        assert_int_equal(wick_base64_encode((const uint8_t *)v->raw, rl, enc, sizeof enc, &n),
                         WICK_OK);
        assert_int_equal(n, el);
        assert_memory_equal(enc, v->enc, el);
        n = 99;
        assert_int_equal(wick_base64_decode(v->enc, el, dec, sizeof dec, &n), WICK_OK);
        assert_int_equal(n, rl);
        if (rl > 0) {
            assert_memory_equal(dec, v->raw, rl);
        }
        /* Exact capacity works, one less does not. */
        if (el > 0) {
            assert_int_equal(wick_base64_encode((const uint8_t *)v->raw, rl, enc, el, &n),
                             WICK_OK);
            assert_int_equal(wick_base64_encode((const uint8_t *)v->raw, rl, enc, el - 1, &n),
                             WICK_ERR_BUFFER_TOO_SMALL);
        }
        if (rl > 0) {
            assert_int_equal(wick_base64_decode(v->enc, el, dec, rl, &n), WICK_OK);
            assert_int_equal(wick_base64_decode(v->enc, el, dec, rl - 1, &n),
                             WICK_ERR_BUFFER_TOO_SMALL);
        }
    }
}

/* All 256 byte values, every length 0..64: decode(encode(x)) == x. */
static void test_base64_roundtrip(void **state)
{
    (void)state;
    uint8_t raw[256];
    for (size_t i = 0; i < sizeof raw; i++) {
        raw[i] = (uint8_t)(255u - i);
    }
    char enc[WICK_BASE64_LEN(256)];
    uint8_t dec[256];
    size_t n = 0, m = 0;
    assert_int_equal(wick_base64_encode(raw, sizeof raw, enc, sizeof enc, &n), WICK_OK);
    assert_int_equal(n, sizeof enc);
    assert_int_equal(wick_base64_decode(enc, n, dec, sizeof dec, &m), WICK_OK);
    assert_int_equal(m, sizeof raw);
    assert_memory_equal(dec, raw, sizeof raw);
    for (size_t len = 0; len <= 64; len++) {
        assert_int_equal(wick_base64_encode(raw + len, len, enc, sizeof enc, &n), WICK_OK);
        assert_int_equal(wick_base64_decode(enc, n, dec, sizeof dec, &m), WICK_OK);
        assert_int_equal(m, len);
        assert_memory_equal(dec, raw + len, len);
    }
}

struct b64_bad {
    const char *name;
    const char *enc;
};

static const struct b64_bad bad_inputs[] = {
    {"length not multiple of 4", "Zm9"},
    {"one char", "Z"},
    {"padding only", "===="},
    {"three pads", "Z==="},
    {"pad in the middle", "Zg==Zm8="},
    {"pad then data", "Zm=v"},
    {"space", "Zm9 "},
    {"newline", "Zm9v\nZm9v"},
    {"url-safe alphabet", "-_-_"},
    {"non-ascii", "Zm9\xc3"},
    {"NUL", "Zm\0v"},
    {"non-canonical one pad", "Zm9="},  /* "fo" is Zm8= */
    {"non-canonical two pads", "Zh=="}, /* "f" is Zg== */
    {"key with non-zero tail bits", "dGhlIHNhbXBsZSBub25jZR=="},
};

static void test_base64_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_inputs / sizeof bad_inputs[0]; i++) {
        const struct b64_bad *b = &bad_inputs[i];
        /* "NUL" has an embedded NUL: its length is 4. */
        size_t len = (strcmp(b->name, "NUL") == 0) ? 4 : strlen(b->enc);
        uint8_t dec[32];
        size_t n = 12345;
        wick_err e = wick_base64_decode(b->enc, len, dec, sizeof dec, &n);
        if (e != WICK_ERR_ARG) {
            print_error("case %s: got %s\n", b->name, wick_err_name(e));
        }
        assert_int_equal(e, WICK_ERR_ARG);
        assert_int_equal(n, 12345); /* untouched on error */
    }
}

static void test_base64_args(void **state)
{
    (void)state;
    size_t n = 0;
    char enc[8];
    uint8_t dec[8];
    assert_int_equal(wick_base64_encode(NULL, 1, enc, sizeof enc, &n), WICK_ERR_ARG);
    assert_int_equal(wick_base64_encode((const uint8_t *)"a", 1, enc, sizeof enc, NULL),
                     WICK_ERR_ARG);
    assert_int_equal(wick_base64_decode(NULL, 4, dec, sizeof dec, &n), WICK_ERR_ARG);
    assert_int_equal(wick_base64_encode(NULL, 0, NULL, 0, &n), WICK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(wick_base64_decode(NULL, 0, NULL, 0, &n), WICK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(wick_base64_encode((const uint8_t *)"a", 1, NULL, 0, &n),
                     WICK_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648),
        cmocka_unit_test(test_base64_roundtrip),
        cmocka_unit_test(test_base64_invalid),
        cmocka_unit_test(test_base64_args),
    };
    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
