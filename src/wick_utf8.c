/* Incremental, fail-fast UTF-8 validation (RFC 3629 section 4; RFC 6455
 * 8.1 asks endpoints to fail the connection as soon as invalid UTF-8 is
 * seen).
 *
 * A DFA over byte classes, with ASCII runs skipped a word (or 16 or 64
 * bytes with SSE2) at a time while the DFA sits at a character boundary.
 * The DFA rejects on the exact byte at which the input stops being a prefix
 * of valid UTF-8, which is the fail-fast offset we report. Its state is all
 * that carries across calls.
 *
 * It is a "shift DFA": the row for a byte class packs, for every state, the
 * next state into the 6-bit field that starts at the state's own value, so
 * a step is next = (row >> state) & 63. The row load depends only on the
 * input, not on the state, so the chain from one byte to the next is a
 * shift and a mask instead of a dependent table load. REJECT is absorbing,
 * so a block of bytes runs without a per-byte check, and only a block that
 * ends in REJECT is rescanned to find the exact offset. On 32-bit targets
 * a 64-bit shift by a variable amount can be a library call (__aeabi_llsr
 * on Cortex-M0), so there the same rows are expanded at compile time into
 * a byte table indexed by state and class, and the ASCII words are 32-bit.
 *
 * The tables follow the RFC 3629 section 4 grammar directly:
 *   UTF8-1 = %x00-7F
 *   UTF8-2 = %xC2-DF UTF8-tail
 *   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
 *            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
 *   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
 *            %xF4 %x80-8F 2( UTF8-tail )
 * They are small enough to write and review by hand; the differential test
 * against tests/support/utf8_ref.c (which works by code point instead)
 * covers every byte value in every state.
 *
 * On x86 CPUs with AVX2 (checked at run time), inputs of 16 bytes or more
 * that start at a character boundary go through a vector validator written
 * from the lookup-table algorithm of Keiser and Lemire ("Validating UTF-8
 * in less than one instruction per byte", 2021): three 16-entry nibble
 * tables classify every pair of adjacent bytes, and a saturating
 * subtraction finds the bytes that must be the 3rd or 4th of a sequence.
 * Up to 128 bytes (most messages) are checked in one go; longer inputs
 * are tested for ASCII first, 64 and then 128 bytes with one OR and one
 * movemask, before any lookup. The vector code only says "valid so far" or
 * "some error in these 64 bytes"; it then backs up to the last character
 * boundary it proved, and the DFA takes over from there, so the reported
 * offset is the exact first invalid byte and the only state carried across
 * calls is the DFA's. */
#include "wick_internal.h"

#if defined(__SSE2__) && !defined(WICK_NO_SIMD)
#include <emmintrin.h>
#define WICK_UTF8_SSE2 1
#if (defined(__x86_64__) || defined(__i386__)) &&                                                  \
    (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 5))
#include <immintrin.h>
#define WICK_UTF8_AVX2 1
#endif
#endif

/* Word size of the portable ASCII loop and DFA flavour: 64 on 64-bit
 * targets, 32 elsewhere. -DWICK_UTF8_WORD_BITS=32 forces the 32-bit code
 * on a 64-bit host, so the tests can run it. */
#ifndef WICK_UTF8_WORD_BITS
#if UINTPTR_MAX > 0xFFFFFFFFu
#define WICK_UTF8_WORD_BITS 64
#else
#define WICK_UTF8_WORD_BITS 32
#endif
#endif

#if WICK_UTF8_WORD_BITS == 64
typedef uint64_t utf8_word;
#define UTF8_HIGH UINT64_C(0x8080808080808080)
#else
typedef uint32_t utf8_word;
#define UTF8_HIGH UINT32_C(0x80808080)
#endif

/* 1 where a memcpy of an unaligned word compiles to one load. Elsewhere
 * (Cortex-M0, ...) the ASCII loop first steps to an aligned address.
 * -DWICK_UTF8_UNALIGNED=0 forces that code on any host, for the tests. */
#ifndef WICK_UTF8_UNALIGNED
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86) ||             \
    defined(__aarch64__) || defined(__ARM_FEATURE_UNALIGNED)
#define WICK_UTF8_UNALIGNED 1
#else
#define WICK_UTF8_UNALIGNED 0
#endif
#endif

/* Byte classes. */
enum {
    CL_ASCII = 0, /* 00..7F */
    CL_C80 = 1,   /* 80..8F continuation */
    CL_C90 = 2,   /* 90..9F continuation */
    CL_CA0 = 3,   /* A0..BF continuation */
    CL_BAD = 4,   /* C0 C1 F5..FF: never valid */
    CL_L2 = 5,    /* C2..DF: lead of 2 */
    CL_E0 = 6,    /* E0: lead of 3, second byte A0..BF (no overlongs) */
    CL_L3 = 7,    /* E1..EC EE EF: lead of 3 */
    CL_ED = 8,    /* ED: lead of 3, second byte 80..9F (no surrogates) */
    CL_F0 = 9,    /* F0: lead of 4, second byte 90..BF (no overlongs) */
    CL_L4 = 10,   /* F1..F3: lead of 4 */
    CL_F4 = 11    /* F4: lead of 4, second byte 80..8F (max U+10FFFF) */
};

/* DFA states: each is the bit offset of its 6-bit field in a row. */
enum {
    U_ACCEPT = 0, /* at a character boundary (so a zeroed struct is fresh) */
    U_TAIL1 = 6,  /* one continuation byte left */
    U_TAIL2 = 12, /* two continuation bytes left */
    U_E0 = 18,    /* after E0: A0..BF, then one more */
    U_ED = 24,    /* after ED: 80..9F, then one more */
    U_F0 = 30,    /* after F0: 90..BF, then two more */
    U_F1 = 36,    /* after F1..F3: 80..BF, then two more */
    U_F4 = 42,    /* after F4: 80..8F, then two more */
    U_REJECT = 48 /* failed; sticky until wick_utf8_init() */
};

/* clang-format off */
#define A  CL_ASCII
#define C8 CL_C80
#define C9 CL_C90
#define CA CL_CA0
#define XX CL_BAD
#define L2 CL_L2
#define L3 CL_L3
#define L4 CL_L4

static const uint8_t utf8_class[256] = {
    /* 00..7F */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 00 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 10 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 20 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 30 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 40 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 50 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 60 */
    A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A, /* 70 */
    /* 80..BF continuation bytes, in three bands */
    C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, C8, /* 80 */
    C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, C9, /* 90 */
    CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, /* A0 */
    CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, CA, /* B0 */
    /* C0..DF: C0 and C1 could only start overlong forms */
    XX, XX, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, /* C0 */
    L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, L2, /* D0 */
    /* E0..EF */
    CL_E0, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, L3, CL_ED, L3, L3, /* E0 */
    /* F0..FF: F5 and up would exceed U+10FFFF */
    CL_F0, L4, L4, L4, CL_F4, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, /* F0 */
};

#undef A
#undef C8
#undef C9
#undef CA
#undef XX
#undef L2
#undef L3
#undef L4

#define T(from, to) ((uint64_t)(to) << (from))
#define ROW(acc, t1, t2, e0, ed, f0, f1, f4)                                  \
    (T(U_ACCEPT, acc) | T(U_TAIL1, t1) | T(U_TAIL2, t2) | T(U_E0, e0) |        \
     T(U_ED, ed) | T(U_F0, f0) | T(U_F1, f1) | T(U_F4, f4) | T(U_REJECT, U_REJECT))
#define R  U_REJECT
#define OK U_ACCEPT
#define T1 U_TAIL1
#define T2 U_TAIL2

/* One row per byte class; columns are the state before the byte, the
 * entry is the state after it (REJECT always stays REJECT). */
/*                     ACCEPT  TAIL1  TAIL2  E0   ED   F0   F1   F4 */
#define ROW_ASCII  ROW(OK,     R,     R,     R,   R,   R,   R,   R)  /* 00..7F */
#define ROW_C80    ROW(R,      OK,    T1,    R,   T1,  R,   T2,  T2) /* 80..8F */
#define ROW_C90    ROW(R,      OK,    T1,    R,   T1,  T2,  T2,  R)  /* 90..9F */
#define ROW_CA0    ROW(R,      OK,    T1,    T1,  R,   T2,  T2,  R)  /* A0..BF */
#define ROW_BAD    ROW(R,      R,     R,     R,   R,   R,   R,   R)  /* bad    */
#define ROW_L2     ROW(T1,     R,     R,     R,   R,   R,   R,   R)  /* C2..DF */
#define ROW_E0     ROW(U_E0,   R,     R,     R,   R,   R,   R,   R)  /* E0     */
#define ROW_L3     ROW(T2,     R,     R,     R,   R,   R,   R,   R)  /* E1..EF */
#define ROW_ED     ROW(U_ED,   R,     R,     R,   R,   R,   R,   R)  /* ED     */
#define ROW_F0     ROW(U_F0,   R,     R,     R,   R,   R,   R,   R)  /* F0     */
#define ROW_L4     ROW(U_F1,   R,     R,     R,   R,   R,   R,   R)  /* F1..F3 */
#define ROW_F4     ROW(U_F4,   R,     R,     R,   R,   R,   R,   R)  /* F4     */

#if WICK_UTF8_WORD_BITS == 64
static const uint64_t utf8_rows[12] = {
    ROW_ASCII, ROW_C80, ROW_C90, ROW_CA0, ROW_BAD, ROW_L2,
    ROW_E0,    ROW_L3,  ROW_ED,  ROW_F0,  ROW_L4,  ROW_F4,
};
#else
/* The same rows, expanded by the compiler: entry [2 * state + class] is
 * the next state (states are multiples of 6, so rows of 12 never overlap). */
#define NX(row, s) (uint8_t)(((row) >> (s)) & 63U)
#define NEXT12(s)                                                              \
    NX(ROW_ASCII, s), NX(ROW_C80, s), NX(ROW_C90, s), NX(ROW_CA0, s),          \
    NX(ROW_BAD, s), NX(ROW_L2, s), NX(ROW_E0, s), NX(ROW_L3, s),               \
    NX(ROW_ED, s), NX(ROW_F0, s), NX(ROW_L4, s), NX(ROW_F4, s)
static const uint8_t utf8_next[9 * 12] = {
    NEXT12(U_ACCEPT), NEXT12(U_TAIL1), NEXT12(U_TAIL2), NEXT12(U_E0), NEXT12(U_ED),
    NEXT12(U_F0), NEXT12(U_F1), NEXT12(U_F4), NEXT12(U_REJECT),
};
#undef NX
#undef NEXT12
#endif

#undef T
#undef ROW
#undef OK
#undef T1
#undef T2
#undef R
/* clang-format on */

void wick_utf8_init(wick_utf8 *u)
{
    if (u != NULL) {
        u->priv_.state = U_ACCEPT;
    }
}

static inline utf8_word utf8_load_word(const uint8_t *p)
{
    utf8_word w;
#if !WICK_UTF8_UNALIGNED && (defined(__GNUC__) || defined(__clang__))
    /* The caller aligned p; saying so lets memcpy become one load. */
    p = (const uint8_t *)__builtin_assume_aligned(p, sizeof(utf8_word));
#endif
    memcpy(&w, p, sizeof(w));
    return w;
}

/* Returns how many bytes from buf[i] on are ASCII, looking at whole words
 * only (so the answer may stop short of the first non-ASCII byte). */
static size_t utf8_ascii_run(const uint8_t *buf, size_t i, size_t len)
{
    size_t start = i;
#ifdef WICK_UTF8_SSE2
    while (len - i >= 64) {
        __m128i v[4];
        memcpy(v, buf + i, 64);
        __m128i o = _mm_or_si128(_mm_or_si128(v[0], v[1]), _mm_or_si128(v[2], v[3]));
        if (_mm_movemask_epi8(o) != 0) {
            break;
        }
        i += 64;
    }
    while (len - i >= 16) {
        __m128i v;
        memcpy(&v, buf + i, 16);
        if (_mm_movemask_epi8(v) != 0) {
            return i - start;
        }
        i += 16;
    }
    if (i < len && len - start >= 16) {
        /* The last 1..15 bytes: the last 16 of the input, all proven
         * but these. */
        __m128i v;
        memcpy(&v, buf + len - 16, 16);
        return _mm_movemask_epi8(v) == 0 ? len - start : i - start;
    }
#endif
#if !WICK_UTF8_UNALIGNED
    while (i < len && ((uintptr_t)(const void *)(buf + i) & (sizeof(utf8_word) - 1U)) != 0) {
        if (buf[i] >= 0x80U) {
            return i - start;
        }
        i++;
    }
#endif
    while (len - i >= sizeof(utf8_word)) {
        if ((utf8_load_word(buf + i) & UTF8_HIGH) != 0) {
            return i - start;
        }
        i += sizeof(utf8_word);
    }
#if WICK_UTF8_UNALIGNED
    if (i < len && len - start >= sizeof(utf8_word) &&
        (utf8_load_word(buf + len - sizeof(utf8_word)) & UTF8_HIGH) == 0) {
        /* The last few bytes, as the last word of the input. */
        i = len;
    }
#endif
    return i - start;
}

#ifdef WICK_UTF8_AVX2
/* Backs up from buf[i] over a sequence that may be cut there: up to three
 * continuation bytes and their lead. Everything before is proven. */
static size_t utf8_backup(const uint8_t *buf, size_t start, size_t i)
{
    size_t q = i;
    while (q > start && i - q < 3 && (buf[q - 1] & 0xC0U) == 0x80U) {
        q--;
    }
    if (q > start && buf[q - 1] >= 0xC0U) {
        q--;
    }
    return q;
}

/* Error bits of the pair tables (Keiser and Lemire, section 6): each
 * names one way a pair (previous byte, this byte) can be wrong; a pair is
 * bad when the same bit is set in all three lookups. */
#define K_TOO_SHORT  0x01 /* lead, then a non-continuation */
#define K_TOO_LONG   0x02 /* ASCII, then a continuation */
#define K_OVERLONG3  0x04 /* E0 80..9F */
#define K_TOO_LARGE  0x08 /* F4 90..BF, F5..FF 90..BF */
#define K_SURROGATE  0x10 /* ED A0..BF */
#define K_OVERLONG2  0x20 /* C0, C1 */
#define K_TOO_LARGE2 0x40 /* F5..FF 80..8F (shares its bit with OVERLONG4) */
#define K_OVERLONG4  0x40 /* F0 80..8F */
#define K_TWO_CONTS  0x80 /* continuation, continuation (fine as 3rd/4th byte) */
#define K_CARRY      (K_TOO_SHORT | K_TOO_LONG | K_TWO_CONTS)
#define K_LARGE      (K_CARRY | K_TOO_LARGE | K_TOO_LARGE2)
#define K_CONT       (K_TOO_LONG | K_OVERLONG2 | K_TWO_CONTS)

/* 16 entries, twice (one copy per 128-bit lane), and one byte 32 times. */
#define K32(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)                                        \
    a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p
#define X16(x)    x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
#define KSPLAT(x) X16(x), X16(x)

/* The constants of the lookups, one 32-byte row each (utf8_consts_load()
 * takes all but KT_INC into registers for a run). */
enum { KT_HI1, KT_LO1, KT_HI2, KT_NIB, KT_INC, KT_THIRD, KT_FOURTH, KT_TOP, KT_N };
__attribute__((aligned(32))) static const uint8_t utf8_k[KT_N][32] = {
    /* By the high nibble of the previous byte. */
    {K32(K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG,
         K_TOO_LONG, K_TWO_CONTS, K_TWO_CONTS, K_TWO_CONTS, K_TWO_CONTS, K_TOO_SHORT | K_OVERLONG2,
         K_TOO_SHORT, K_TOO_SHORT | K_OVERLONG3 | K_SURROGATE,
         K_TOO_SHORT | K_TOO_LARGE | K_TOO_LARGE2 | K_OVERLONG4)},
    /* By the low nibble of the previous byte. */
    {K32(K_CARRY | K_OVERLONG3 | K_OVERLONG2 | K_OVERLONG4, K_CARRY | K_OVERLONG2, K_CARRY, K_CARRY,
         K_CARRY | K_TOO_LARGE, K_LARGE, K_LARGE, K_LARGE, K_LARGE, K_LARGE, K_LARGE, K_LARGE,
         K_LARGE, K_LARGE | K_SURROGATE, K_LARGE, K_LARGE)},
    /* By the high nibble of this byte. */
    {K32(K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT,
         K_TOO_SHORT, K_CONT | K_OVERLONG3 | K_TOO_LARGE2 | K_OVERLONG4,
         K_CONT | K_OVERLONG3 | K_TOO_LARGE, K_CONT | K_SURROGATE | K_TOO_LARGE,
         K_CONT | K_SURROGATE | K_TOO_LARGE, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT)},
    {KSPLAT(0x0F)},
    /* A sequence cut by the end of a block: a lead in the last 3 bytes
     * that needs more bytes than are left (saturating subtraction). */
    {X16(0xFF), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
     0xF0 - 1, 0xE0 - 1, 0xC0 - 1},
    {KSPLAT(0xE0 - 0x80)},
    {KSPLAT(0xF0 - 0x80)},
    {KSPLAT(0x80)},
};

/* x for x < 16, then 0x80: from slide + n, a byte shuffle moves a vector
 * down by n bytes and fills the top with NULs. */
static const uint8_t utf8_slide[32] = {
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* The helpers below are small; inlined, their vectors stay in registers
 * (not inlined at -O0, where every temporary has a stack slot and one
 * big function would have a frame of kilobytes). */
#ifdef __OPTIMIZE__
#define UTF8_INLINE __attribute__((always_inline))
#else
#define UTF8_INLINE
#endif

#define LOADU(p) _mm256_loadu_si256((const __m256i_u *)(const void *)(p))

/* The constants of the lookups, in registers while a run lasts (Zen 1
 * splits each 256-bit load in two, and has two load ports: reading them
 * from memory at every use would make loads the limit). */
typedef struct utf8_consts {
    __m256i hi1, lo1, hi2, nib, third, fourth, top;
} utf8_consts;

__attribute__((target("avx2"))) UTF8_INLINE static inline void utf8_consts_load(utf8_consts *c)
{
    /* Hidden from the optimizer, so that it keeps the values it loaded
     * instead of rebuilding splats with broadcasts inside the loops. */
    const uint8_t(*k)[32] = utf8_k;
    __asm__("" : "+r"(k));
#define KLOAD(n) _mm256_load_si256((const __m256i *)(const void *)k[n])
    c->hi1 = KLOAD(KT_HI1);
    c->lo1 = KLOAD(KT_LO1);
    c->hi2 = KLOAD(KT_HI2);
    c->nib = KLOAD(KT_NIB);
    c->third = KLOAD(KT_THIRD);
    c->fourth = KLOAD(KT_FOURTH);
    c->top = KLOAD(KT_TOP);
#undef KLOAD
}

/* Error bits for the 32 bytes of `in`, given p1, p2, p3: the same bytes
 * shifted by 1, 2 and 3 (the bytes before each byte of `in`). */
__attribute__((target("avx2"))) UTF8_INLINE static inline __m256i
utf8_check(const utf8_consts *c, __m256i in, __m256i p1, __m256i p2, __m256i p3)
{
    __m256i a = _mm256_shuffle_epi8(c->hi1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), c->nib));
    __m256i b = _mm256_shuffle_epi8(c->lo1, _mm256_and_si256(p1, c->nib));
    __m256i h = _mm256_shuffle_epi8(c->hi2, _mm256_and_si256(_mm256_srli_epi16(in, 4), c->nib));
    __m256i special = _mm256_and_si256(_mm256_and_si256(a, b), h);
    /* Bytes that must be a 3rd or 4th byte: 2 after E0..FF, 3 after F0..FF. */
    __m256i third = _mm256_subs_epu8(p2, c->third);
    __m256i fourth = _mm256_subs_epu8(p3, c->fourth);
    __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth), c->top);
    return _mm256_xor_si256(must, special);
}

/* Error bits for the 32 bytes at p, which has at least 3 proven bytes
 * before it: they are read as unaligned loads (cheaper than assembling
 * them across the two 128-bit lanes, which costs 8 uops on Zen 1). */
__attribute__((target("avx2"))) UTF8_INLINE static inline __m256i
utf8_check_at(const utf8_consts *c, const uint8_t *p, __m256i in)
{
    return utf8_check(c, in, LOADU(p - 1), LOADU(p - 2), LOADU(p - 3));
}

/* Nonzero where a lead in the last 3 bytes of v needs more bytes than
 * are left in v. */
__attribute__((target("avx2"))) UTF8_INLINE static inline __m256i utf8_cut(__m256i v)
{
    return _mm256_subs_epu8(v, _mm256_load_si256((const __m256i *)(const void *)utf8_k[KT_INC]));
}

/* True when the 32 bytes before p end inside a sequence. */
__attribute__((target("avx2"))) UTF8_INLINE static inline bool utf8_cut_before(const uint8_t *p)
{
    __m256i c = utf8_cut(LOADU(p - 32));
    return !_mm256_testz_si256(c, c);
}

/* Validates from buf[start] (a character boundary, with at least 32 bytes
 * to go). Up to 128 bytes: all blocks at once. Longer: the first 32 bytes
 * as if ASCII came before, then 64-byte steps
 * (all-ASCII ones with no lookup, and then 128 bytes at a time while the
 * text stays ASCII), one 32-byte step, and the last 1..31 bytes as the
 * last 32 bytes of the input again. Returns len when all of it is valid
 * and complete; otherwise a character boundary up to which the input is
 * proven to be a valid prefix: an error lies within the 64 bytes (128
 * for a short input) from there, or the input ends inside a sequence, and
 * the DFA goes on from there to find the exact bad byte. */
__attribute__((target("avx2"))) UTF8_INLINE static inline size_t utf8_run(const uint8_t *buf,
                                                                          size_t start, size_t len)
{
    utf8_consts k;
    utf8_consts_load(&k);
    size_t i = start;
    __m256i a = LOADU(buf + i);
    if (len - start <= 128 && len - start >= 35) {
        /* A short input (most messages) in one go: its full blocks and
         * the last 32 bytes, one ASCII test, one error test. */
        const uint8_t *p = buf + start;
        const uint8_t *e = buf + len - 32;
        __m256i t = LOADU(e);
        __m256i b = _mm256_setzero_si256();
        __m256i c = b;
        if (len - start > 64) {
            b = LOADU(p + 32);
        }
        if (len - start > 96) {
            c = LOADU(p + 64);
        }
        __m256i any = _mm256_or_si256(_mm256_or_si256(a, t), _mm256_or_si256(b, c));
        if (_mm256_movemask_epi8(any) == 0) {
            return len;
        }
        __m256i z = _mm256_inserti128_si256(_mm256_setzero_si256(), _mm256_castsi256_si128(a), 1);
        __m256i err = utf8_check(&k, a, _mm256_alignr_epi8(a, z, 15), _mm256_alignr_epi8(a, z, 14),
                                 _mm256_alignr_epi8(a, z, 13));
        err = _mm256_or_si256(err, utf8_check_at(&k, e, t));
        if (len - start > 64) {
            err = _mm256_or_si256(err, utf8_check_at(&k, p + 32, b));
        }
        if (len - start > 96) {
            err = _mm256_or_si256(err, utf8_check_at(&k, p + 64, c));
        }
        __m256i cut = utf8_cut(t);
        __m256i any_err = _mm256_or_si256(err, cut);
        if (wick__likely(_mm256_testz_si256(any_err, any_err))) {
            return len;
        }
        /* Only cut at the end (a chunk of a longer text): the DFA takes
         * the last sequence; else it goes back to the start. */
        return _mm256_testz_si256(err, err) ? utf8_backup(buf, start, len) : start;
    }
    if (_mm256_movemask_epi8(a) != 0) {
        /* The bytes before each byte, with NULs before the start. */
        __m256i z = _mm256_inserti128_si256(_mm256_setzero_si256(), _mm256_castsi256_si128(a), 1);
        __m256i err = utf8_check(&k, a, _mm256_alignr_epi8(a, z, 15), _mm256_alignr_epi8(a, z, 14),
                                 _mm256_alignr_epi8(a, z, 13));
        if (!_mm256_testz_si256(err, err)) {
            return start;
        }
    }
    i += 32;
    while (len - i >= 64) {
        a = LOADU(buf + i);
        __m256i b = LOADU(buf + i + 32);
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
            /* All ASCII: only a sequence cut before it can fail. */
            if (utf8_cut_before(buf + i)) {
                return utf8_backup(buf, start, i);
            }
            i += 64;
            while (len - i >= 128) {
                __m256i o =
                    _mm256_or_si256(_mm256_or_si256(LOADU(buf + i), LOADU(buf + i + 32)),
                                    _mm256_or_si256(LOADU(buf + i + 64), LOADU(buf + i + 96)));
                if (_mm256_movemask_epi8(o) != 0) {
                    break;
                }
                i += 128;
            }
            continue;
        }
        __m256i err =
            _mm256_or_si256(utf8_check_at(&k, buf + i, a), utf8_check_at(&k, buf + i + 32, b));
        if (!_mm256_testz_si256(err, err)) {
            return utf8_backup(buf, start, i);
        }
        i += 64;
    }
    if (len - i >= 32) {
        a = LOADU(buf + i);
        if (_mm256_movemask_epi8(a) == 0) {
            if (utf8_cut_before(buf + i)) {
                return utf8_backup(buf, start, i);
            }
        } else {
            __m256i err = utf8_check_at(&k, buf + i, a);
            if (!_mm256_testz_si256(err, err)) {
                return utf8_backup(buf, start, i);
            }
        }
        i += 32;
    }
    if (i == len) {
        /* Ended on a step boundary: the last sequence may be cut there. */
        return utf8_cut_before(buf + len) ? utf8_backup(buf, start, len) : len;
    }
    if (len - start < 35) {
        /* 1 or 2 bytes after the first block: left to the DFA. */
        return utf8_backup(buf, start, i);
    }
    /* The last 1..31 bytes: check the last 32 bytes of the input again
     * (their first part is already proven; the 3 bytes before them are
     * inside the run), and a lead too close to the end for its sequence
     * counts as an error, left to the DFA. If they are all ASCII, so is
     * the byte before i, and no sequence can be cut there. */
    const uint8_t *e = buf + len - 32;
    a = LOADU(e);
    if (_mm256_movemask_epi8(a) != 0) {
        __m256i err = _mm256_or_si256(utf8_check_at(&k, e, a), utf8_cut(a));
        if (!_mm256_testz_si256(err, err)) {
            return utf8_backup(buf, start, i);
        }
    }
    return len;
}

#undef LOADU
#undef UTF8_INLINE

/* The run as a function of its own, for the general loop (which is not
 * compiled for AVX2, so cannot take it inline). */
__attribute__((target("avx2"), noinline)) static size_t utf8_run_avx2(const uint8_t *buf,
                                                                      size_t start, size_t len)
{
    return utf8_run(buf, start, len);
}

static bool utf8_have_avx2(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}
#endif

static inline uint32_t utf8_step(uint32_t s, uint8_t b)
{
#if WICK_UTF8_WORD_BITS == 64
    return (uint32_t)(utf8_rows[utf8_class[b]] >> s) & 63U;
#else
    return utf8_next[2U * s + utf8_class[b]];
#endif
}

/* Bytes run through the DFA per block before REJECT is checked. */
#define WICK_UTF8_BLOCK 16
/* Inputs at least this long (from a character boundary) go through the
 * vector validator. */
#define WICK_UTF8_SIMD_MIN 32

/* The general loop: from buf[i] in the state saved in u, ASCII runs a
 * word or vector at a time at character boundaries, the DFA elsewhere;
 * with simd, a vector run from the next boundary with 32 bytes or more to
 * go. */
static wick_err utf8_feed_dfa(wick_utf8 *u, const uint8_t *buf, size_t i, size_t len, bool simd,
                              size_t *bad_pos)
{
#ifndef WICK_UTF8_AVX2
    (void)simd;
#endif
    uint32_t s = u->priv_.state;
    while (i < len) {
        if (s == U_ACCEPT) {
#ifdef WICK_UTF8_AVX2
            if (simd && len - i >= WICK_UTF8_SIMD_MIN) {
                i = utf8_run_avx2(buf, i, len);
                /* It stops early only at an error close by, or at an
                 * incomplete end: both are the DFA's, so no more vector
                 * runs in this call. */
                simd = false;
                if (i == len) {
                    break;
                }
            }
#endif
            i += utf8_ascii_run(buf, i, len);
        }
#ifdef WICK_UTF8_AVX2
        else if (simd) {
            /* A sequence carried over from the last call: finish it byte
             * by byte (at most 3), then the vector run takes over. */
            s = utf8_step(s, buf[i]);
            if (s == U_REJECT) {
                break;
            }
            i++;
            continue;
        }
#endif
        size_t n = len - i;
        if (n > WICK_UTF8_BLOCK) {
            n = WICK_UTF8_BLOCK;
        }
        uint32_t s0 = s;
        for (size_t k = 0; k < n; k++) {
            s = utf8_step(s, buf[i + k]);
        }
        if (wick__unlikely(s == U_REJECT)) {
            /* Replay the block to find the first byte that failed. */
            s = s0;
            while ((s = utf8_step(s, buf[i])) != U_REJECT) {
                i++;
            }
            break;
        }
        i += n;
    }
    u->priv_.state = s;
    if (s == U_REJECT) {
        if (bad_pos != NULL) {
            *bad_pos = i;
        }
        return WICK_ERR_UTF8;
    }
    return WICK_OK;
}

#ifdef WICK_UTF8_AVX2
/* A whole call from a character boundary, 32 bytes or more: in its own
 * function so the vector run is inlined into a frame of its own. */
__attribute__((target("avx2"))) static wick_err utf8_feed_avx2(wick_utf8 *u, const uint8_t *buf,
                                                               size_t len, size_t *bad_pos)
{
    size_t i = utf8_run(buf, 0, len);
    if (wick__likely(i == len)) {
        return WICK_OK;
    }
    return utf8_feed_dfa(u, buf, i, len, false, bad_pos);
}

/* A whole call of 16..31 bytes from a character boundary: one vector of
 * the bytes and NULs after them (a sequence cut by the end then shows as
 * an error, left to the DFA), built from two 16-byte loads that stay
 * inside the input. */
__attribute__((target("avx2"))) static wick_err
utf8_feed_short_avx2(wick_utf8 *u, const uint8_t *buf, size_t len, size_t *bad_pos)
{
    __m128i lo = _mm_loadu_si128((const __m128i_u *)(const void *)buf);
    __m128i hi = _mm_loadu_si128((const __m128i_u *)(const void *)(buf + len - 16));
    hi = _mm_shuffle_epi8(
        hi, _mm_loadu_si128((const __m128i_u *)(const void *)(utf8_slide + 32 - len)));
    __m256i a = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    __m256i z = _mm256_inserti128_si256(_mm256_setzero_si256(), lo, 1);
    utf8_consts k;
    utf8_consts_load(&k);
    __m256i err = utf8_check(&k, a, _mm256_alignr_epi8(a, z, 15), _mm256_alignr_epi8(a, z, 14),
                             _mm256_alignr_epi8(a, z, 13));
    if (_mm256_testz_si256(err, err)) {
        return WICK_OK;
    }
    return utf8_feed_dfa(u, buf, 0, len, false, bad_pos);
}
#endif

/* True when the len < 32 bytes at buf are all ASCII, read as (possibly
 * overlapping) words; false when unsure. */
static inline bool utf8_short_ascii(const uint8_t *buf, size_t len)
{
#if WICK_UTF8_UNALIGNED
    if (len >= sizeof(utf8_word)) {
        utf8_word x = utf8_load_word(buf + len - sizeof(utf8_word));
        for (size_t i = 0; i + sizeof(utf8_word) < len; i += sizeof(utf8_word)) {
            x |= utf8_load_word(buf + i);
        }
        return (x & UTF8_HIGH) == 0;
    }
#else
    (void)buf;
#endif
    return len == 0;
}

wick_err wick_utf8_feed(wick_utf8 *u, const uint8_t *buf, size_t len, size_t *bad_pos)
{
    if (u == NULL || (buf == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    uint32_t s = u->priv_.state;
    bool simd = false;
    if (s == U_ACCEPT) {
        /* The common cases, with nothing else on the way. */
        if (len < WICK_UTF8_SIMD_MIN) {
            if (utf8_short_ascii(buf, len)) {
                return WICK_OK;
            }
#ifdef WICK_UTF8_AVX2
            if (len >= 16 && utf8_have_avx2()) {
                return utf8_feed_short_avx2(u, buf, len, bad_pos);
            }
#endif
        }
#ifdef WICK_UTF8_AVX2
        else if (utf8_have_avx2()) {
            return utf8_feed_avx2(u, buf, len, bad_pos);
        }
#endif
    } else if (s >= U_REJECT) {
        /* Already failed: nothing here can make the text valid again. */
        u->priv_.state = U_REJECT;
        if (bad_pos != NULL) {
            *bad_pos = 0;
        }
        return WICK_ERR_UTF8;
    }
#ifdef WICK_UTF8_AVX2
    else {
        simd = len > WICK_UTF8_SIMD_MIN && utf8_have_avx2();
    }
#endif
    return utf8_feed_dfa(u, buf, 0, len, simd, bad_pos);
}

wick_err wick_utf8_finish(const wick_utf8 *u)
{
    if (u == NULL) {
        return WICK_ERR_ARG;
    }
    return u->priv_.state == U_ACCEPT ? WICK_OK : WICK_ERR_UTF8;
}

bool wick_utf8_valid(const uint8_t *buf, size_t len)
{
    wick_utf8 u;
    wick_utf8_init(&u);
    return wick_utf8_feed(&u, buf, len, NULL) == WICK_OK && wick_utf8_finish(&u) == WICK_OK;
}
