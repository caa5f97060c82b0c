/*
 * fuzz_inflate_diff: wick's inflater (src/wick_inflate.c) against zlib's
 * inflate on the same raw DEFLATE stream (RFC 1951) and the same window
 * (2^bits, 8..15).
 *
 * Input: byte 0: window bits (8 + low 3 bits) and the mode (bits 3-4):
 * 0 or 3, the rest is the stream as it is; 1, the rest is data that zlib
 * deflates (level, strategy and message count from byte 1) into sync-flushed
 * messages, as permessage-deflate sends them, sometimes ending in a final
 * block (with byte 0 bit 5 then followed by a second stream that has the
 * data as its dictionary: both inflaters start it as a new stream that
 * keeps the window, RFC 7692 7.2.2 across a final block); 2, the same
 * with one byte changed. Byte 1 also seeds the pieces:
 * wick gets the stream in random input pieces (1-64 bytes) and writes in
 * random output pieces (1-300 bytes); zlib gets it all at once with one
 * output buffer.
 *
 * The outcome of each: DONE (the final block ended), ERROR, MORE (the
 * input ran out without either), CAPPED (OUT_CAP bytes made: undecided).
 * Checks:
 *   - the same output bytes, up to the shorter when either is CAPPED;
 *   - the same outcome, with two exceptions where zlib is laxer than the
 *     stream's promise and wick stops first, its output then a prefix of
 *     zlib's: WICK__INF_E_FAR, a distance beyond the window's size, which
 *     zlib accepts while the bytes are still in its output buffer (only
 *     its window, not the buffer, is 2^bits); and WICK__INF_E_CLEN_CODE
 *     against zlib's MORE, since zlib takes a code length code with no
 *     codes at all and fails only after reading HLIT + HDIST lengths as
 *     one bit each (its error then comes later, missing end-of-block).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wick_inflate.h"

#define OUT_CAP (1U << 20)

enum { R_DONE, R_ERROR, R_MORE, R_CAPPED };

static uint8_t zout[OUT_CAP], wout[OUT_CAP], window[1U << 15];
static uint8_t made[1U << 16];
static wick__inflater S;

static uint32_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* zlib's deflate of data as 1-3 sync-flushed messages (RFC 7692 7.2.1),
 * sometimes finished with a final block instead. */
/* Where the second stream starts (0: none). */
static size_t second_at;

static size_t make_stream(const uint8_t *data, size_t len, unsigned bits, unsigned b1, bool second)
{
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE,
                                     Z_FIXED};
    z_stream z;
    memset(&z, 0, sizeof(z));
    int wbits = bits < 9 ? 9 : (int)bits;
    if (deflateInit2(&z, (int)(b1 % 10U), Z_DEFLATED, -wbits, 8, strategies[(b1 / 10U) % 5U]) !=
        Z_OK) {
        abort();
    }
    unsigned msgs = 1U + (b1 / 50U) % 3U;
    bool finish = (b1 & 0x80U) != 0;
    z.next_out = made;
    z.avail_out = sizeof(made);
    for (unsigned m = 0; m < msgs; m++) {
        size_t a = len * m / msgs;
        size_t b = len * (m + 1U) / msgs;
        z.next_in = (Bytef *)(uintptr_t)(data + a);
        z.avail_in = (uInt)(b - a);
        int flush = finish && m + 1U == msgs ? Z_FINISH : Z_SYNC_FLUSH;
        int rc = deflate(&z, flush);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) { /* BUF: nothing to flush */
            abort();
        }
    }
    if (finish && second && len != 0) {
        /* A second stream after the final block that refers back into
         * the first one's output (RFC 7692 7.2.2 context takeover across
         * a final block): the data again, with the data as dictionary. */
        second_at = sizeof(made) - z.avail_out;
        if (deflateReset(&z) != Z_OK || deflateSetDictionary(&z, data, (uInt)len) != Z_OK) {
            abort();
        }
        z.next_in = (Bytef *)(uintptr_t)data;
        z.avail_in = (uInt)len;
        int rc = deflate(&z, Z_SYNC_FLUSH);
        if (rc != Z_OK || z.avail_in != 0) {
            abort();
        }
    }
    size_t n = sizeof(made) - z.avail_out;
    deflateEnd(&z);
    return n;
}

static int zlib_run(const uint8_t *in, size_t len, unsigned bits, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -(int)bits) != Z_OK) {
        abort();
    }
    size_t first = second_at != 0 ? second_at : len;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)first;
    z.next_out = zout;
    z.avail_out = OUT_CAP;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_STREAM_END && second_at != 0) {
        /* A new stream that keeps the window. */
        if (inflateResetKeep(&z) != Z_OK) {
            abort();
        }
        z.next_in = (Bytef *)(uintptr_t)(in + second_at);
        z.avail_in = (uInt)(len - second_at);
        rc = inflate(&z, Z_SYNC_FLUSH);
    }
    *out_len = OUT_CAP - z.avail_out;
    inflateEnd(&z);
    if (rc == Z_STREAM_END) {
        return R_DONE;
    }
    if (rc == Z_DATA_ERROR) {
        return R_ERROR;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
        abort();
    }
    return z.avail_out == 0 ? R_CAPPED : R_MORE;
}

static int wick_run(const uint8_t *in, size_t len_all, unsigned bits, size_t *out_len, int *err)
{
    wick__inflate_init(&S, window, bits);
    size_t at = 0;
    size_t n = 0;
    size_t len = second_at != 0 ? second_at : len_all;
    *err = 0;
    for (;;) {
        size_t il = 1U + rnd() % 64U;
        size_t ol = 1U + rnd() % 300U;
        if (il > len - at) {
            il = len - at;
        }
        if (ol > OUT_CAP - n) {
            ol = OUT_CAP - n;
        }
        size_t il0 = il;
        size_t ol0 = ol;
        wick__inf_rc rc = wick__inflate(&S, in + at, &il, wout + n, &ol);
        if (il > il0 || ol > ol0) {
            abort();
        }
        at += il;
        n += ol;
        *out_len = n;
        if (rc == WICK__INF_DONE) {
            if (!wick__inflate_done(&S) || !wick__inflate_boundary(&S)) {
                abort();
            }
            if (len == len_all) {
                return R_DONE;
            }
            wick__inflate_restart(&S); /* the second stream, same window */
            at = len;
            len = len_all;
            continue;
        }
        if (rc < 0) {
            *err = rc;
            return R_ERROR;
        }
        if (n == OUT_CAP) {
            return R_CAPPED;
        }
        if (il < il0 && ol < ol0) {
            abort(); /* stopped with input and room left */
        }
        if (at == len && ol == 0) {
            return R_MORE;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    unsigned bits = 8U + (data[0] & 7U);
    unsigned mode = (data[0] >> 3) & 3U;
    unsigned b1 = data[1];
    rng = 0x9E3779B9U ^ (uint32_t)(data[0] << 8 | b1);
    const uint8_t *in = data + 2;
    size_t len = size - 2;
    uint8_t *copy = NULL;
    second_at = 0;
    if (mode == 1 || mode == 2) {
        if (len > 16384) {
            len = 16384;
        }
        len = make_stream(in, len, bits, b1, (data[0] & 0x20U) != 0);
        if (mode == 2 && len != 0) {
            made[(size_t)(data[0] ^ (unsigned)size) * 131U % len] ^= (uint8_t)(1U + (b1 >> 1));
        }
        copy = malloc(len ? len : 1); /* exact size: overreads show */
        if (copy == NULL) {
            abort();
        }
        memcpy(copy, made, len);
        in = copy;
    }
    size_t zn = 0;
    size_t wn = 0;
    int werr = 0;
    int zr = zlib_run(in, len, bits, &zn);
    int wr = wick_run(in, len, bits, &wn, &werr);
    size_t common = zn < wn ? zn : wn;
    if (memcmp(zout, wout, common) != 0) {
        abort(); /* different bytes */
    }
    if (zr == R_CAPPED || wr == R_CAPPED) {
        free(copy);
        return 0;
    }
    bool lax = werr == WICK__INF_E_FAR || (werr == WICK__INF_E_CLEN_CODE && zr == R_MORE);
    if (lax && wn <= zn) {
        free(copy);
        return 0;
    }
    if (zr != wr || zn != wn) {
        abort();
    }
    free(copy);
    return 0;
}
