/* Built-in SHA-1 (FIPS 180-4 section 6.1). Only the handshake uses it
 * (RFC 6455 4.2.2 Sec-WebSocket-Accept), where SHA-1 is a fixed encoding,
 * not a security primitive, so a small portable implementation is enough.
 * With WICK_OPENSSL=1 the build uses src/wick_sha1_openssl.c instead. */
#include "wick_internal.h"

static uint32_t sha1_rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32U - n));
}

static uint32_t sha1_load32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void sha1_store32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (24U - 8U * i));
    }
}

/* One 64-byte block (FIPS 180-4 6.1.2). The message schedule is kept as a
 * 16-word ring, so the stack frame stays small on firmware. */
static void sha1_block(uint32_t h[5], const uint8_t *blk)
{
    uint32_t w[16];
    for (unsigned t = 0; t < 16; t++) {
        w[t] = sha1_load32(blk + (size_t)4 * t);
    }
    uint32_t a = h[0];
    uint32_t b = h[1];
    uint32_t c = h[2];
    uint32_t d = h[3];
    uint32_t e = h[4];
    for (unsigned t = 0; t < 80; t++) {
        uint32_t wt;
        if (t < 16) {
            wt = w[t];
        } else {
            wt = sha1_rol(w[(t + 13) & 15] ^ w[(t + 8) & 15] ^ w[(t + 2) & 15] ^ w[t & 15], 1);
            w[t & 15] = wt;
        }
        uint32_t f;
        uint32_t k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999U;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1U;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCU;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6U;
        }
        uint32_t tmp = sha1_rol(a, 5) + f + e + k + wt;
        e = d;
        d = c;
        c = sha1_rol(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void wick_sha1(const void *data, size_t len, uint8_t out[WICK_SHA1_LEN])
{
    uint32_t h[5] = {0x67452301U, 0xEFCDAB89U, 0x98BADCFEU, 0x10325476U, 0xC3D2E1F0U};
    const uint8_t *p = (const uint8_t *)data;
    size_t left = len;
    while (left >= 64) {
        sha1_block(h, p);
        p += 64;
        left -= 64;
    }
    /* Padding (FIPS 180-4 5.1.1): 0x80, zeros, then the bit length as a
     * 64-bit big-endian integer; one or two final blocks, built in one
     * 64-byte buffer (the stack stays small, and no 64-bit arithmetic). */
    uint8_t tail[64];
    memset(tail, 0, sizeof tail);
    if (left > 0) {
        memcpy(tail, p, left);
    }
    tail[left] = 0x80;
    if (left >= 56) {
        sha1_block(h, tail);
        memset(tail, 0, sizeof tail);
    }
    sha1_store32(tail + 56, (uint32_t)(len >> 29));
    sha1_store32(tail + 60, (uint32_t)(len << 3));
    sha1_block(h, tail);
    for (unsigned i = 0; i < 5; i++) {
        sha1_store32(out + (size_t)4 * i, h[i]);
    }
}
