/* Payload masking (RFC 6455 5.3): XOR with a 4-byte key, in place.
 *
 * Three layers, each a superset of the one below: an optional SSE2 loop
 * (16 bytes per step), a word loop (8 bytes per step through memcpy loads
 * and stores, so alignment and aliasing never matter), and a byte tail.
 * Short inputs and WICK_NO_SIMD builds skip the vector layer. The key is
 * rotated by the starting phase once, so every wide lane starts at key
 * byte 0 of the rotated key; wide steps are multiples of 4 bytes and keep
 * that alignment. */
#include "wick_internal.h"

#if defined(__SSE2__) && !defined(WICK_NO_SIMD)
#include <emmintrin.h>
#define WICK_MASK_SSE2 1
#endif

/* Below this length the setup of the wide loops costs more than it saves. */
#define WICK_MASK_SHORT 16

void wick_mask_apply(uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase)
{
    size_t ph = (phase != NULL) ? (*phase & 3U) : 0U;
    if (phase != NULL) {
        *phase = (ph + len) & 3U;
    }
    if (len == 0) {
        return;
    }
    size_t i = 0;
    if (len >= WICK_MASK_SHORT) {
        /* The key as it applies from buf[0] on, repeated to 8 bytes. */
        uint8_t rk[8];
        for (size_t j = 0; j < 8; j++) {
            rk[j] = key[(ph + j) & 3U];
        }
#ifdef WICK_MASK_SSE2
        uint8_t rk16[16];
        memcpy(rk16, rk, 8);
        memcpy(rk16 + 8, rk, 8);
        __m128i kv;
        memcpy(&kv, rk16, 16);
        while (len - i >= 32) {
            __m128i a;
            __m128i b;
            memcpy(&a, buf + i, 16);
            memcpy(&b, buf + i + 16, 16);
            a = _mm_xor_si128(a, kv);
            b = _mm_xor_si128(b, kv);
            memcpy(buf + i, &a, 16);
            memcpy(buf + i + 16, &b, 16);
            i += 32;
        }
#endif
        uint64_t kw;
        memcpy(&kw, rk, 8);
        while (len - i >= 8) {
            uint64_t w;
            memcpy(&w, buf + i, 8);
            w ^= kw;
            memcpy(buf + i, &w, 8);
            i += 8;
        }
    }
    /* i is a multiple of 8 here, so the tail continues at phase ph. */
    for (; i < len; i++) {
        buf[i] = (uint8_t)(buf[i] ^ key[(ph + i) & 3U]);
    }
}
