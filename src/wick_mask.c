/* Payload masking (RFC 6455 5.3): XOR with a 4-byte key, in place.
 *
 * Paths, from wide to narrow: AVX2 (32 bytes per step; chosen at run time
 * with __builtin_cpu_supports, which reads the compiler runtime's CPU
 * model, so no global of ours caches anything), SSE2 or NEON (16 bytes),
 * a portable loop over the native word, and a byte tail. WICK_NO_SIMD
 * builds use the word loop.
 *
 * The word loop: on 64-bit targets, 8 bytes through memcpy loads and
 * stores (so alignment and aliasing never matter; unaligned access is
 * cheap there). On 32-bit targets (Cortex-M, ESP32, RISC-V MCUs), 4 bytes:
 * a few leading bytes first so the destination is word-aligned, then
 * aligned loads and stores (memcpy of 4 bytes from a pointer known to be
 * aligned is one ldr/str), never 64-bit arithmetic or a library call.
 * When the source is not aligned like the destination (a masking copy on
 * a core without unaligned access, such as the Cortex-M0), the bytes go
 * one at a time.
 *
 * The key is rotated by the starting phase once, so every wide lane
 * starts at key byte 0 of the rotated key; wide steps are multiples of 4
 * bytes and keep that alignment. Every path is reachable through
 * wick__mask_apply_path() for the differential test. */
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

/* The native word: 8 bytes where size_t is 64 bits, else 4. */
#if SIZE_MAX > 0xFFFFFFFFU
#define WICK_MASK_WORD64 1
#endif

/* Cores whose loads may be unaligned at no great cost. */
#if defined(__x86_64__) || defined(__i386__) || defined(__ARM_FEATURE_UNALIGNED) ||                \
    defined(__aarch64__)
#define WICK_MASK_UNALIGNED_OK 1
#endif

/* Word loads and stores: memcpy of a constant size, which compilers turn
 * into a load or store (the builtin, so that holds under -ffreestanding
 * too, where a plain memcpy stays a call); from a pointer known to be
 * 4-aligned it is one instruction even on cores without unaligned access. */
#if defined(__GNUC__) || defined(__clang__)
#define WICK_MASK_ALIGNED4(p)   __builtin_assume_aligned((p), 4)
#define WICK_MASK_COPY(d, s, n) __builtin_memcpy((d), (s), (n))
#else
#define WICK_MASK_ALIGNED4(p)   (p)
#define WICK_MASK_COPY(d, s, n) memcpy((d), (s), (n))
#endif

/* Each wide helper masks whole steps from buf[0] with the rotated key
 * (kw: repeated to the helper's width, in memory order) and returns how
 * many bytes it did. */

#ifdef WICK_MASK_WORD64
static size_t mask_words64(uint8_t *dst, const uint8_t *src, size_t len, uint64_t kw)
{
    size_t i = 0;
    while (len - i >= 8) {
        uint64_t w;
        WICK_MASK_COPY(&w, src + i, 8);
        w ^= kw;
        WICK_MASK_COPY(dst + i, &w, 8);
        i += 8;
    }
    return i;
}
#endif

/* 4 bytes per step, for dst 4-byte aligned. A core without unaligned
 * access also needs src aligned (else it does nothing: the byte loop
 * takes over); told so, the compiler emits single loads and stores. */
static size_t mask_words32(uint8_t *dst, const uint8_t *src, size_t len, uint32_t kw)
{
    size_t n = len & ~(size_t)3U;
#ifndef WICK_MASK_UNALIGNED_OK
    if (((uintptr_t)src & 3U) != 0) {
        return 0;
    }
    dst = (uint8_t *)WICK_MASK_ALIGNED4(dst);
    src = (const uint8_t *)WICK_MASK_ALIGNED4(src);
#endif
    for (size_t i = 0; i < n; i += 4) {
        uint32_t w;
        WICK_MASK_COPY(&w, src + i, 4);
        w ^= kw;
        WICK_MASK_COPY(dst + i, &w, 4);
    }
    return n;
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

#ifdef WICK__MASK_ASCII
/* mask_avx2() that also ORs every masked byte into *high (bit 7 of each
 * byte lane, as a movemask). */
__attribute__((target("avx2"))) static size_t ascii_avx2(uint8_t *dst, const uint8_t *src,
                                                         size_t len, uint64_t kw, unsigned *high)
{
    __m256i kv = _mm256_set1_epi64x((long long)kw);
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    while (len - i >= 64) {
        __m256i a = _mm256_xor_si256(LOAD32(src + i), kv);
        __m256i b = _mm256_xor_si256(LOAD32(src + i + 32), kv);
        STORE32(dst + i, a);
        STORE32(dst + i + 32, b);
        acc = _mm256_or_si256(acc, _mm256_or_si256(a, b));
        i += 64;
    }
    *high = (unsigned)_mm256_movemask_epi8(acc);
    return i;
}
#endif

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
    bool ok =
        path == WICK_MASK_PATH_BYTE || path == WICK_MASK_PATH_WORD || path == WICK_MASK_PATH_WORD32;
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

/* The key as it applies from buf[0] on (starting at key byte ph), as a
 * word in memory order. Built with shifts where the byte order is known,
 * so it is neither read back from freshly stored bytes nor a library
 * call on a 32-bit core. */
static uint32_t key_word(const uint8_t key[4], size_t ph)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t k = (uint32_t)key[0] | ((uint32_t)key[1] << 8) | ((uint32_t)key[2] << 16) |
                 ((uint32_t)key[3] << 24);
    unsigned sh = (unsigned)(ph & 3U) * 8U;
    return sh != 0 ? (k >> sh) | (k << (32U - sh)) : k;
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint32_t k = ((uint32_t)key[0] << 24) | ((uint32_t)key[1] << 16) | ((uint32_t)key[2] << 8) |
                 (uint32_t)key[3];
    unsigned sh = (unsigned)(ph & 3U) * 8U;
    return sh != 0 ? (k << sh) | (k >> (32U - sh)) : k;
#else
    uint8_t r[4];
    for (size_t j = 0; j < 4; j++) {
        r[j] = key[(ph + j) & 3U];
    }
    uint32_t k;
    memcpy(&k, r, 4);
    return k;
#endif
}

#if defined(WICK_MASK_WORD64) || defined(WICK_MASK_SSE2) || defined(WICK_MASK_NEON)
/* k repeated to 8 bytes. */
static uint64_t key_word64(uint32_t k)
{
    return ((uint64_t)k << 32) | k;
}
#endif

/* dst[i] = src[i] ^ key for i in [from, to), counting the key from ph. */
static void mask_bytes(uint8_t *dst, const uint8_t *src, size_t from, size_t to,
                       const uint8_t key[4], size_t ph)
{
    for (size_t i = from; i < to; i++) {
        dst[i] = (uint8_t)(src[i] ^ key[(ph + i) & 3U]);
    }
}

/* The masking itself, through `path` (already known to be available):
 * dst[i] = src[i] ^ key, with dst == src (in place) or the two apart. */
static void mask_run(int path, uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                     size_t ph)
{
    size_t i = 0;
    if (path != WICK_MASK_PATH_BYTE && len >= 8) {
#ifdef WICK_MASK_WORD64
        bool w32 = path == WICK_MASK_PATH_WORD32;
#else
        bool w32 = true; /* the native word loop */
#endif
        if (w32) {
            /* Word-align the destination first. */
            i = (size_t)(-(uintptr_t)dst & 3U);
            mask_bytes(dst, src, 0, i, key, ph);
        }
        uint32_t k = key_word(key, ph + i);
#if defined(WICK_MASK_SSE2) || defined(WICK_MASK_NEON)
        uint64_t kw = key_word64(k);
        switch (path) {
#ifdef WICK_MASK_AVX2
        case WICK_MASK_PATH_AVX2:
            i += mask_avx2(dst + i, src + i, len - i, kw);
            break;
#endif
#ifdef WICK_MASK_SSE2
        case WICK_MASK_PATH_SSE2:
            i += mask_sse2(dst + i, src + i, len - i, kw);
            break;
#endif
#ifdef WICK_MASK_NEON
        case WICK_MASK_PATH_NEON:
            i += mask_neon(dst + i, src + i, len - i, kw);
            break;
#endif
        default:
            break;
        }
#endif
        /* Every wide step is a multiple of 8 bytes, so the word loop
         * and the byte tail continue with the same rotated key. */
        if (w32) {
            i += mask_words32(dst + i, src + i, len - i, k);
        }
#ifdef WICK_MASK_WORD64
        else {
            i += mask_words64(dst + i, src + i, len - i, key_word64(k));
        }
#endif
    }
    mask_bytes(dst, src, i, len, key, ph);
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

#ifdef WICK__MASK_ASCII
bool wick__mask_ascii(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t ph)
{
    size_t i = 0;
    uint64_t acc = 0; /* every masked byte ORed in: bit 7 of a lane says non-ASCII */
    uint64_t kw = key_word64(key_word(key, ph));
#ifdef WICK_MASK_AVX2
    if (len >= WICK_MASK_AVX2_MIN && have_avx2()) {
        unsigned high = 0;
        i = ascii_avx2(dst, src, len, kw, &high);
        acc = high != 0 ? 0x80U : 0U;
    }
#endif
    while (len - i >= 8) {
        uint64_t w;
        WICK_MASK_COPY(&w, src + i, 8);
        w ^= kw;
        WICK_MASK_COPY(dst + i, &w, 8);
        acc |= w;
        i += 8;
    }
    for (; i < len; i++) {
        dst[i] = (uint8_t)(src[i] ^ key[(ph + i) & 3U]);
        acc |= dst[i];
    }
    return (acc & UINT64_C(0x8080808080808080)) == 0;
}
#endif

#if defined(WICK_MASK_WORD64) && defined(WICK_MASK_UNALIGNED_OK)
/* 4..16 bytes with two overlapping words, both loaded before either is
 * stored, so the bytes they share are masked once (and dst == src works).
 * The second word starts at len - w, a multiple of 4 before the end, so
 * its key is the one for position len. Returns false for other lengths. */
static bool mask_short(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                       size_t ph)
{
    if (len >= 8 && len <= 16) {
        uint64_t a;
        uint64_t b;
        __builtin_memcpy(&a, src, 8);
        __builtin_memcpy(&b, src + len - 8, 8);
        a ^= key_word64(key_word(key, ph));
        b ^= key_word64(key_word(key, ph + len));
        __builtin_memcpy(dst, &a, 8);
        __builtin_memcpy(dst + len - 8, &b, 8);
        return true;
    }
    if (len >= 4 && len < 8) {
        uint32_t a;
        uint32_t b;
        __builtin_memcpy(&a, src, 4);
        __builtin_memcpy(&b, src + len - 4, 4);
        a ^= key_word(key, ph);
        b ^= key_word(key, ph + len);
        __builtin_memcpy(dst, &a, 4);
        __builtin_memcpy(dst + len - 4, &b, 4);
        return true;
    }
    return false;
}
#endif

/* The masking behind both entry points: small payloads (the common case
 * of chat traffic) with the overlapping words, the rest through the best
 * path for their length. */
static void mask_best(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t ph)
{
#if defined(WICK_MASK_WORD64) && defined(WICK_MASK_UNALIGNED_OK)
    if (mask_short(dst, src, len, key, ph)) {
        return;
    }
#endif
    mask_run(best_path(len), dst, src, len, key, ph);
}

void wick__mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t ph)
{
    mask_best(dst, src, len, key, ph & 3U);
}

void wick_mask_apply(uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase)
{
    size_t ph = (phase != NULL) ? (*phase & 3U) : 0U;
    if (phase != NULL) {
        *phase = (ph + len) & 3U;
    }
    mask_best(buf, buf, len, key, ph);
}
