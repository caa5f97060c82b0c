/* Payload masking (RFC 6455 5.3): XOR with a 4-byte key, in place.
 *
 * Paths, from wide to narrow: AVX2 (32 bytes per step; chosen at run time
 * with __builtin_cpu_supports, which reads the compiler runtime's CPU
 * model, so no global of ours caches anything), SSE2 or NEON (16 bytes),
 * a portable word loop (8 bytes through memcpy loads and stores, so
 * alignment and aliasing never matter), and a byte tail. WICK_NO_SIMD
 * builds use the word loop. The key is rotated by the starting phase once,
 * so every wide lane starts at key byte 0 of the rotated key; wide steps
 * are multiples of 4 bytes and keep that alignment. Every path is
 * reachable through wick__mask_apply_path() for the differential test. */
#include "wick_internal.h"

#include "wick_mask.h"

#if !defined(WICK_NO_SIMD) && defined(__SSE2__)
#include <emmintrin.h>
#define WICK_MASK_SSE2 1
#if (defined(__x86_64__) || defined(__i386__)) &&                                                  \
    (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#include <immintrin.h>
#define WICK_MASK_AVX2 1
#endif
#endif
#if !defined(WICK_NO_SIMD) && defined(__ARM_NEON)
#include <arm_neon.h>
#define WICK_MASK_NEON 1
#endif

/* Below this length the setup of the wide loops costs more than it saves. */
#define WICK_MASK_SHORT 16
/* From this length on, the AVX2 check and loop pay off. */
#define WICK_MASK_AVX2_MIN 128

/* Each wide helper masks whole steps from buf[0] with the rotated key
 * rk (repeated to 32 bytes) and returns how many bytes it did. */

static size_t mask_words(uint8_t *buf, size_t len, const uint8_t *rk)
{
    uint64_t kw;
    memcpy(&kw, rk, 8);
    size_t i = 0;
    while (len - i >= 8) {
        uint64_t w;
        memcpy(&w, buf + i, 8);
        w ^= kw;
        memcpy(buf + i, &w, 8);
        i += 8;
    }
    return i;
}

#ifdef WICK_MASK_SSE2
static size_t mask_sse2(uint8_t *buf, size_t len, const uint8_t *rk)
{
    __m128i kv;
    memcpy(&kv, rk, 16);
    size_t i = 0;
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
    return i;
}
#endif

#ifdef WICK_MASK_AVX2
__attribute__((target("avx2"))) static size_t mask_avx2(uint8_t *buf, size_t len, const uint8_t *rk)
{
    __m256i kv = _mm256_loadu_si256((const __m256i_u *)(const void *)rk);
    size_t i = 0;
    while (len - i >= 64) {
        __m256i a = _mm256_loadu_si256((const __m256i_u *)(const void *)(buf + i));
        __m256i b = _mm256_loadu_si256((const __m256i_u *)(const void *)(buf + i + 32));
        _mm256_storeu_si256((__m256i_u *)(void *)(buf + i), _mm256_xor_si256(a, kv));
        _mm256_storeu_si256((__m256i_u *)(void *)(buf + i + 32), _mm256_xor_si256(b, kv));
        i += 64;
    }
    if (len - i >= 32) {
        __m256i a = _mm256_loadu_si256((const __m256i_u *)(const void *)(buf + i));
        _mm256_storeu_si256((__m256i_u *)(void *)(buf + i), _mm256_xor_si256(a, kv));
        i += 32;
    }
    return i;
}

static bool have_avx2(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}
#endif

#ifdef WICK_MASK_NEON
static size_t mask_neon(uint8_t *buf, size_t len, const uint8_t *rk)
{
    uint8x16_t kv = vld1q_u8(rk);
    size_t i = 0;
    while (len - i >= 16) {
        vst1q_u8(buf + i, veorq_u8(vld1q_u8(buf + i), kv));
        i += 16;
    }
    return i;
}
#endif

static bool path_available(int path)
{
    bool ok = path == WICK_MASK_PATH_BYTE || path == WICK_MASK_PATH_WORD;
#ifdef WICK_MASK_SSE2
    ok = ok || path == WICK_MASK_PATH_SSE2;
#endif
#ifdef WICK_MASK_AVX2
    ok = ok || (path == WICK_MASK_PATH_AVX2 && have_avx2());
#endif
#ifdef WICK_MASK_NEON
    ok = ok || path == WICK_MASK_PATH_NEON;
#endif
    return ok;
}

/* The masking itself, through `path` (already known to be available). */
static void mask_run(int path, uint8_t *buf, size_t len, const uint8_t key[4], size_t ph)
{
    size_t i = 0;
    if (path != WICK_MASK_PATH_BYTE && len >= 8) {
        /* The key as it applies from buf[0] on, repeated to 32 bytes. */
        uint8_t rk[32];
        for (size_t j = 0; j < 32; j++) {
            rk[j] = key[(ph + j) & 3U];
        }
        switch (path) {
#ifdef WICK_MASK_AVX2
        case WICK_MASK_PATH_AVX2:
            i = mask_avx2(buf, len, rk);
            break;
#endif
#ifdef WICK_MASK_SSE2
        case WICK_MASK_PATH_SSE2:
            i = mask_sse2(buf, len, rk);
            break;
#endif
#ifdef WICK_MASK_NEON
        case WICK_MASK_PATH_NEON:
            i = mask_neon(buf, len, rk);
            break;
#endif
        default:
            break;
        }
        /* Every wide step is a multiple of 8 bytes, so the word loop
         * and the byte tail continue with the same rotated key. */
        i += mask_words(buf + i, len - i, rk);
    }
    for (; i < len; i++) {
        buf[i] = (uint8_t)(buf[i] ^ key[(ph + i) & 3U]);
    }
}

bool wick__mask_apply_path(int path, uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase)
{
    if (!path_available(path)) {
        return false;
    }
    size_t ph = (phase != NULL) ? (*phase & 3U) : 0U;
    if (phase != NULL) {
        *phase = (ph + len) & 3U;
    }
    mask_run(path, buf, len, key, ph);
    return true;
}

void wick_mask_apply(uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase)
{
    size_t ph = (phase != NULL) ? (*phase & 3U) : 0U;
    if (phase != NULL) {
        *phase = (ph + len) & 3U;
    }
    int path = WICK_MASK_PATH_WORD;
    if (len < WICK_MASK_SHORT) {
        path = WICK_MASK_PATH_BYTE;
    }
#if defined(WICK_MASK_SSE2)
    else if (len >= 32) {
        path = WICK_MASK_PATH_SSE2;
#ifdef WICK_MASK_AVX2
        if (len >= WICK_MASK_AVX2_MIN && have_avx2()) {
            path = WICK_MASK_PATH_AVX2;
        }
#endif
    }
#elif defined(WICK_MASK_NEON)
    else if (len >= 32) {
        path = WICK_MASK_PATH_NEON;
    }
#endif
    mask_run(path, buf, len, key, ph);
}
