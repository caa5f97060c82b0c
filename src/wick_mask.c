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

/* Each wide helper masks whole steps from buf[0] with kw, the rotated
 * key repeated to 8 bytes (in memory order), and returns how many bytes it
 * did. */

static size_t mask_words(uint8_t *dst, const uint8_t *src, size_t len, uint64_t kw)
{
    size_t i = 0;
    while (len - i >= 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= kw;
        memcpy(dst + i, &w, 8);
        i += 8;
    }
    return i;
}

#ifdef WICK_MASK_SSE2
static size_t mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint64_t kw)
{
    __m128i kv = _mm_set1_epi64x((long long)kw);
    size_t i = 0;
    while (len - i >= 32) {
        __m128i a;
        __m128i b;
        memcpy(&a, src + i, 16);
        memcpy(&b, src + i + 16, 16);
        a = _mm_xor_si128(a, kv);
        b = _mm_xor_si128(b, kv);
        memcpy(dst + i, &a, 16);
        memcpy(dst + i + 16, &b, 16);
        i += 32;
    }
    return i;
}
#endif

#ifdef WICK_MASK_AVX2
#define LOAD32(p)     _mm256_loadu_si256((const __m256i_u *)(const void *)(p))
#define STORE32(p, v) _mm256_storeu_si256((__m256i_u *)(void *)(p), (v))

__attribute__((target("avx2"))) static size_t mask_avx2(uint8_t *dst, const uint8_t *src,
                                                        size_t len, uint64_t kw)
{
    __m256i kv = _mm256_set1_epi64x((long long)kw);
    size_t i = 0;
    while (len - i >= 64) {
        __m256i a = LOAD32(src + i);
        __m256i b = LOAD32(src + i + 32);
        STORE32(dst + i, _mm256_xor_si256(a, kv));
        STORE32(dst + i + 32, _mm256_xor_si256(b, kv));
        i += 64;
    }
    if (len - i >= 32) {
        STORE32(dst + i, _mm256_xor_si256(LOAD32(src + i), kv));
        i += 32;
    }
    return i;
}

#undef LOAD32
#undef STORE32

static bool have_avx2(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}
#endif

#ifdef WICK_MASK_NEON
static size_t mask_neon(uint8_t *dst, const uint8_t *src, size_t len, uint64_t kw)
{
    uint8x16_t kv = vreinterpretq_u8_u64(vdupq_n_u64(kw));
    size_t i = 0;
    while (len - i >= 16) {
        vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), kv));
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

/* The key as it applies from buf[0] on (starting at key byte ph),
 * repeated to 8 bytes in memory order. Built with shifts where the byte
 * order is known, so it is not read back from freshly stored bytes. */
static uint64_t key_word(const uint8_t key[4], size_t ph)
{
    uint32_t k;
    memcpy(&k, key, 4);
    unsigned sh = (unsigned)(ph & 3U) * 8U;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    k = sh != 0 ? (k >> sh) | (k << (32U - sh)) : k;
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    k = sh != 0 ? (k << sh) | (k >> (32U - sh)) : k;
#else
    uint8_t r[4];
    for (size_t j = 0; j < 4; j++) {
        r[j] = key[(ph + j) & 3U];
    }
    memcpy(&k, r, 4);
    (void)sh;
#endif
    return ((uint64_t)k << 32) | k;
}

/* The masking itself, through `path` (already known to be available):
 * dst[i] = src[i] ^ key, with dst == src (in place) or the two apart. */
static void mask_run(int path, uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                     size_t ph)
{
    size_t i = 0;
    if (path != WICK_MASK_PATH_BYTE && len >= 8) {
        uint64_t kw = key_word(key, ph);
        switch (path) {
#ifdef WICK_MASK_AVX2
        case WICK_MASK_PATH_AVX2:
            i = mask_avx2(dst, src, len, kw);
            break;
#endif
#ifdef WICK_MASK_SSE2
        case WICK_MASK_PATH_SSE2:
            i = mask_sse2(dst, src, len, kw);
            break;
#endif
#ifdef WICK_MASK_NEON
        case WICK_MASK_PATH_NEON:
            i = mask_neon(dst, src, len, kw);
            break;
#endif
        default:
            break;
        }
        /* Every wide step is a multiple of 8 bytes, so the word loop
         * and the byte tail continue with the same rotated key. */
        i += mask_words(dst + i, src + i, len - i, kw);
    }
    for (; i < len; i++) {
        dst[i] = (uint8_t)(src[i] ^ key[(ph + i) & 3U]);
    }
}

/* The fastest available path for len bytes. */
static int best_path(size_t len)
{
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
    return path;
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
    mask_run(path, buf, buf, len, key, ph);
    return true;
}

bool wick__mask_copy_path(int path, uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4])
{
    if (!path_available(path)) {
        return false;
    }
    mask_run(path, dst, src, len, key, 0);
    return true;
}

void wick__mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4])
{
    mask_run(best_path(len), dst, src, len, key, 0);
}

void wick_mask_apply(uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase)
{
    size_t ph = (phase != NULL) ? (*phase & 3U) : 0U;
    if (phase != NULL) {
        *phase = (ph + len) & 3U;
    }
    mask_run(best_path(len), buf, buf, len, key, ph);
}
