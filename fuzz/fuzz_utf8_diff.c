/*
 * fuzz_utf8_diff: wick_utf8_feed/finish/valid against an independent
 * byte-at-a-time decoder (fz_utf8 in fuzz_util.h, and the test suite's
 * reference decoder tests/support/utf8_ref.h when it is built in), on
 * validity and on the position of the first invalid byte: for the whole
 * input, for one input-chosen split, and for input-chosen chunks.
 *
 * Also the text between runs of ASCII of input-chosen lengths (0..299
 * before, 0..199 after), so short inputs reach the vector paths' 64- and
 * 128-byte ASCII steps at every offset, and a sequence cut by the end of
 * a step is followed by ASCII.
 *
 * Input: byte 0 and 1 choose the split point, the chunking seed and the
 * ASCII runs; the rest is the text.
 */
#include "fuzz_util.h"

#ifdef WICK_FUZZ_UTF8_REF
#include "support/utf8_ref.h"
#endif

/* Feeds text[0..len) in the given chunks; returns the absolute position of
 * the first invalid byte (len when none) and checks stickiness. */
static size_t feed_chunks(const uint8_t *text, size_t len, uint64_t seed, bool one_split,
                          size_t split, wick_utf8 *u)
{
    wick_utf8_init(u);
    size_t off = 0;
    while (off < len) {
        size_t n = one_split ? (off < split ? split - off : len - off) : fz_chunk(&seed, len - off);
        /* Each chunk in its own exact-size block: overreads are caught. */
        uint8_t *chunk = fz_dup(text + off, n);
        size_t bad = (size_t)-1;
        wick_err e = wick_utf8_feed(u, chunk, n, &bad);
        if (e == WICK_OK) {
            /* bad_pos is only defined on error; nothing to check. */
        } else {
            FZ_CHECK(e == WICK_ERR_UTF8);
            FZ_CHECK(bad < n);
            /* Sticky until init: more input (even valid ASCII) fails. */
            uint8_t a = 'a';
            FZ_CHECK(wick_utf8_feed(u, &a, 1, NULL) == WICK_ERR_UTF8);
            FZ_CHECK(wick_utf8_finish(u) == WICK_ERR_UTF8);
            free(chunk);
            return off + bad;
        }
        free(chunk);
        off += n;
    }
    /* A zero-length feed changes nothing. */
    FZ_CHECK(wick_utf8_feed(u, text, 0, NULL) == WICK_OK);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t s0 = fz_u8(&in);
    uint8_t s1 = fz_u8(&in);
    const uint8_t *text = in.p;
    size_t len = in.n;

    /* Reference answers. */
    fz_utf8 ref;
    fz_utf8_init(&ref);
    size_t ref_bad = fz_utf8_scan(&ref, text, len);
    bool ref_valid = ref_bad == len && fz_utf8_complete(&ref);

#ifdef WICK_FUZZ_UTF8_REF
    {
        /* The two references agree with each other first. */
        bool incomplete = false;
        size_t ref2_bad = utf8_ref_first_invalid(text, len, &incomplete);
        FZ_CHECK(ref2_bad == ref_bad);
        if (ref_bad == len) {
            FZ_CHECK(incomplete == !ref_valid);
        }
    }
#endif

    /* One-shot helper. The text sits at an input-chosen misalignment and
     * ends exactly at the end of its block (vector paths: no overread). */
    size_t mis = s1 & 31u;
    uint8_t *block = fz_alloc(mis + len);
    uint8_t *whole = block + mis;
    if (len) {
        memcpy(whole, text, len);
    }
    FZ_CHECK(wick_utf8_valid(whole, len) == ref_valid);

    /* Whole input in one feed. */
    wick_utf8 u;
    wick_utf8_init(&u);
    size_t bad = (size_t)-1;
    wick_err e = wick_utf8_feed(&u, whole, len, &bad);
    if (ref_bad < len) {
        FZ_CHECK(e == WICK_ERR_UTF8);
        FZ_CHECK(bad == ref_bad);
    } else {
        FZ_CHECK(e == WICK_OK);
        FZ_CHECK((wick_utf8_finish(&u) == WICK_OK) == ref_valid);
        /* finish does not change the state: asking twice agrees. */
        FZ_CHECK((wick_utf8_finish(&u) == WICK_OK) == ref_valid);
    }
    free(block);

    /* One input-chosen split point. */
    size_t split = len ? ((size_t)s0 << 8 | s1) % (len + 1) : 0;
    FZ_CHECK(feed_chunks(text, len, 0, true, split, &u) == ref_bad);
    if (ref_bad == len) {
        FZ_CHECK((wick_utf8_finish(&u) == WICK_OK) == ref_valid);
    }

    /* Input-chosen chunks. */
    uint64_t seed = ((uint64_t)s0 << 8 | s1) + 1;
    FZ_CHECK(feed_chunks(text, len, seed, false, 0, &u) == ref_bad);
    if (ref_bad == len) {
        FZ_CHECK((wick_utf8_finish(&u) == WICK_OK) == ref_valid);
    }

    /* Between ASCII runs, in one block of its exact size: whole and in
     * input-chosen chunks. */
    size_t pre = ((size_t)s0 * 7u + s1) % 300u;
    size_t post = ((size_t)s1 * 5u + s0) % 200u;
    size_t wlen = pre + len + post;
    uint8_t *wide = fz_alloc(wlen);
    memset(wide, 'x', wlen);
    if (len) {
        memcpy(wide + pre, text, len);
    }
    fz_utf8 wref;
    fz_utf8_init(&wref);
    size_t wref_bad = fz_utf8_scan(&wref, wide, wlen);
    bool wref_valid = wref_bad == wlen && fz_utf8_complete(&wref);
    wick_utf8_init(&u);
    bad = (size_t)-1;
    e = wick_utf8_feed(&u, wide, wlen, &bad);
    if (wref_bad < wlen) {
        FZ_CHECK(e == WICK_ERR_UTF8);
        FZ_CHECK(bad == wref_bad);
    } else {
        FZ_CHECK(e == WICK_OK);
        FZ_CHECK((wick_utf8_finish(&u) == WICK_OK) == wref_valid);
    }
    FZ_CHECK(feed_chunks(wide, wlen, seed + 7u, false, 0, &u) == wref_bad);
    if (wref_bad == wlen) {
        FZ_CHECK((wick_utf8_finish(&u) == WICK_OK) == wref_valid);
    }
    free(wide);

    /* Re-init after a failure gives a fresh validator. */
    wick_utf8_init(&u);
    FZ_CHECK(wick_utf8_finish(&u) == WICK_OK);
    return 0;
}
