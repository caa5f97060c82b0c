/* Incremental, fail-fast UTF-8 validation (RFC 3629 section 4; RFC 6455
 * 8.1 asks endpoints to fail the connection as soon as invalid UTF-8 is
 * seen).
 *
 * A DFA over byte classes, with ASCII runs skipped 8 bytes (or 16 with
 * SSE2) at a time while the DFA sits at a character boundary. The DFA
 * rejects on the exact byte at which the input stops being a prefix of
 * valid UTF-8, which is the fail-fast offset we report. Its state is all
 * that carries across calls.
 *
 * It is a "shift DFA": the row for a byte class packs, for every state, the
 * next state into the 6-bit field that starts at the state's own value, so
 * a step is next = (row >> state) & 63. The row load depends only on the
 * input, not on the state, so the chain from one byte to the next is a
 * shift and a mask instead of a dependent table load. REJECT is absorbing,
 * so a block of bytes runs without a per-byte check, and only a block that
 * ends in REJECT is rescanned to find the exact offset.
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
 * On x86 CPUs with AVX2 (checked at run time), long runs that start at a
 * character boundary go through a vector validator written from the
 * lookup-table algorithm of Keiser and Lemire ("Validating UTF-8 in less
 * than one instruction per byte", 2021): three 16-entry nibble tables
 * classify every pair of adjacent bytes, and a saturating subtraction
 * finds the bytes that must be the 3rd or 4th of a sequence. The vector
 * code only says "valid so far" or "some error in these 64 bytes"; the
 * run then backs up to the last character boundary it proved, and the
 * DFA takes over from there, so the reported offset is the exact first
 * invalid byte and the only state carried across calls is the DFA's. */
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
static const uint64_t utf8_rows[12] = {
    /*                 ACCEPT  TAIL1  TAIL2  E0   ED   F0   F1   F4 */
    /* 00..7F  */ ROW(OK,     R,     R,     R,   R,   R,   R,   R),
    /* 80..8F  */ ROW(R,      OK,    T1,    R,   T1,  R,   T2,  T2),
    /* 90..9F  */ ROW(R,      OK,    T1,    R,   T1,  T2,  T2,  R),
    /* A0..BF  */ ROW(R,      OK,    T1,    T1,  R,   T2,  T2,  R),
    /* bad     */ ROW(R,      R,     R,     R,   R,   R,   R,   R),
    /* C2..DF  */ ROW(T1,     R,     R,     R,   R,   R,   R,   R),
    /* E0      */ ROW(U_E0,   R,     R,     R,   R,   R,   R,   R),
    /* E1..EF  */ ROW(T2,     R,     R,     R,   R,   R,   R,   R),
    /* ED      */ ROW(U_ED,   R,     R,     R,   R,   R,   R,   R),
    /* F0      */ ROW(U_F0,   R,     R,     R,   R,   R,   R,   R),
    /* F1..F3  */ ROW(U_F1,   R,     R,     R,   R,   R,   R,   R),
    /* F4      */ ROW(U_F4,   R,     R,     R,   R,   R,   R,   R),
};

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

/* Returns how many bytes from buf[i] on are ASCII, looking at whole words
 * only (so the answer may stop short of the first non-ASCII byte). */
static size_t utf8_ascii_run(const uint8_t *buf, size_t i, size_t len)
{
    size_t start = i;
#ifdef WICK_UTF8_SSE2
    while (len - i >= 16) {
        __m128i v;
        memcpy(&v, buf + i, 16);
        if (_mm_movemask_epi8(v) != 0) {
            break;
        }
        i += 16;
    }
#endif
    while (len - i >= 8) {
        uint64_t w;
        memcpy(&w, buf + i, 8);
        if ((w & UINT64_C(0x8080808080808080)) != 0) {
            break;
        }
        i += 8;
    }
    return i - start;
}

#ifdef WICK_UTF8_AVX2
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

#define K16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)                                        \
    _mm256_setr_epi8((char)(a), (char)(b), (char)(c), (char)(d), (char)(e), (char)(f), (char)(g),  \
                     (char)(h), (char)(i), (char)(j), (char)(k), (char)(l), (char)(m), (char)(n),  \
                     (char)(o), (char)(p), (char)(a), (char)(b), (char)(c), (char)(d), (char)(e),  \
                     (char)(f), (char)(g), (char)(h), (char)(i), (char)(j), (char)(k), (char)(l),  \
                     (char)(m), (char)(n), (char)(o), (char)(p))

typedef struct utf8_tables {
    __m256i hi1, lo1, hi2, nib, inc;
} utf8_tables;

__attribute__((target("avx2"))) static inline __m256i utf8_prev(__m256i in, __m256i prev, int n)
{
    /* Bytes of (prev:in) shifted by n: lane-crossing via permute2x128. */
    __m256i t = _mm256_permute2x128_si256(prev, in, 0x21);
    switch (n) {
    case 1:
        return _mm256_alignr_epi8(in, t, 15);
    case 2:
        return _mm256_alignr_epi8(in, t, 14);
    default:
        return _mm256_alignr_epi8(in, t, 13);
    }
}

/* Error bits for the 32 bytes of `in`, given p1, p2, p3: the same bytes
 * shifted by 1, 2 and 3 (the bytes before each byte of `in`). */
__attribute__((target("avx2"))) static inline __m256i utf8_check(const utf8_tables *t, __m256i in,
                                                                 __m256i p1, __m256i p2, __m256i p3)
{
    __m256i a = _mm256_shuffle_epi8(t->hi1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), t->nib));
    __m256i b = _mm256_shuffle_epi8(t->lo1, _mm256_and_si256(p1, t->nib));
    __m256i c = _mm256_shuffle_epi8(t->hi2, _mm256_and_si256(_mm256_srli_epi16(in, 4), t->nib));
    __m256i special = _mm256_and_si256(_mm256_and_si256(a, b), c);
    /* Bytes that must be a 3rd or 4th byte: 2 after E0..FF, 3 after F0..FF. */
    __m256i third = _mm256_subs_epu8(p2, _mm256_set1_epi8((char)(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xF0 - 0x80)));
    __m256i must = _mm256_and_si256(_mm256_or_si256(third, fourth), _mm256_set1_epi8((char)0x80));
    return _mm256_xor_si256(must, special);
}

/* Error bits for the 32 bytes of `in`, with `prev` the 32 bytes before. */
__attribute__((target("avx2"))) static inline __m256i utf8_block(const utf8_tables *t, __m256i in,
                                                                 __m256i prev)
{
    return utf8_check(t, in, utf8_prev(in, prev, 1), utf8_prev(in, prev, 2),
                      utf8_prev(in, prev, 3));
}

static size_t utf8_backup(const uint8_t *buf, size_t start, size_t i);

/* Validates from buf[i] (a character boundary) in 64-byte steps, then one
 * 32-byte step and a NUL-padded tail, while they are fine. Returns len
 * when all of it is valid and complete; otherwise a character boundary up
 * to which the input is proven to be a valid prefix, and the DFA goes on
 * from there (it finds the exact bad byte, or an incomplete end). */
__attribute__((target("avx2"))) static size_t utf8_run_avx2(const uint8_t *buf, size_t i,
                                                            size_t len)
{
    utf8_tables t;
    t.hi1 = K16(K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG, K_TOO_LONG,
                K_TOO_LONG, K_TWO_CONTS, K_TWO_CONTS, K_TWO_CONTS, K_TWO_CONTS,
                K_TOO_SHORT | K_OVERLONG2, K_TOO_SHORT, K_TOO_SHORT | K_OVERLONG3 | K_SURROGATE,
                K_TOO_SHORT | K_TOO_LARGE | K_TOO_LARGE2 | K_OVERLONG4);
    t.lo1 = K16(K_CARRY | K_OVERLONG3 | K_OVERLONG2 | K_OVERLONG4, K_CARRY | K_OVERLONG2, K_CARRY,
                K_CARRY, K_CARRY | K_TOO_LARGE, K_CARRY | K_TOO_LARGE | K_TOO_LARGE2,
                K_CARRY | K_TOO_LARGE | K_TOO_LARGE2, K_CARRY | K_TOO_LARGE | K_TOO_LARGE2,
                K_CARRY | K_TOO_LARGE | K_TOO_LARGE2, K_CARRY | K_TOO_LARGE | K_TOO_LARGE2,
                K_CARRY | K_TOO_LARGE | K_TOO_LARGE2, K_CARRY | K_TOO_LARGE | K_TOO_LARGE2,
                K_CARRY | K_TOO_LARGE | K_TOO_LARGE2,
                K_CARRY | K_TOO_LARGE | K_TOO_LARGE2 | K_SURROGATE,
                K_CARRY | K_TOO_LARGE | K_TOO_LARGE2, K_CARRY | K_TOO_LARGE | K_TOO_LARGE2);
    t.hi2 = K16(K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT,
                K_TOO_SHORT, K_TOO_SHORT,
                K_TOO_LONG | K_OVERLONG2 | K_TWO_CONTS | K_OVERLONG3 | K_TOO_LARGE2 | K_OVERLONG4,
                K_TOO_LONG | K_OVERLONG2 | K_TWO_CONTS | K_OVERLONG3 | K_TOO_LARGE,
                K_TOO_LONG | K_OVERLONG2 | K_TWO_CONTS | K_SURROGATE | K_TOO_LARGE,
                K_TOO_LONG | K_OVERLONG2 | K_TWO_CONTS | K_SURROGATE | K_TOO_LARGE, K_TOO_SHORT,
                K_TOO_SHORT, K_TOO_SHORT, K_TOO_SHORT);
    t.nib = _mm256_set1_epi8(0x0F);
    /* A sequence cut by the end of a block: a lead in the last 3 bytes
     * that needs more bytes than are left. */
    t.inc = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                             -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)(0xF0 - 1),
                             (char)(0xE0 - 1), (char)(0xC0 - 1));
    size_t start = i;
    __m256i prev = _mm256_setzero_si256();
    __m256i prev_inc = _mm256_setzero_si256();
    while (len - i >= 64) {
        __m256i a = _mm256_loadu_si256((const __m256i_u *)(const void *)(buf + i));
        __m256i b = _mm256_loadu_si256((const __m256i_u *)(const void *)(buf + i + 32));
        __m256i err;
        if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
            /* All ASCII: only a sequence cut at the end of prev can fail. */
            err = prev_inc;
            prev_inc = _mm256_setzero_si256();
        } else {
            err = _mm256_or_si256(utf8_block(&t, a, prev), utf8_block(&t, b, a));
            prev_inc = _mm256_subs_epu8(b, t.inc);
        }
        if (!_mm256_testz_si256(err, err)) {
            return utf8_backup(buf, start, i);
        }
        prev = b;
        i += 64;
    }
    if (len - i >= 32) {
        __m256i a = _mm256_loadu_si256((const __m256i_u *)(const void *)(buf + i));
        __m256i err = utf8_block(&t, a, prev);
        if (!_mm256_testz_si256(err, err)) {
            return utf8_backup(buf, start, i);
        }
        prev = a;
        i += 32;
    }
#define LOADU(p) _mm256_loadu_si256((const __m256i_u *)(const void *)(p))
    if (i < len && len - start >= 35) {
        /* The last 1..31 bytes: check the last 32 bytes of the input again
         * (their first part is already proven), reading the bytes before
         * each one directly; then a lead too close to the end for its
         * sequence counts as an error, left to the DFA. */
        const uint8_t *e = buf + len - 32;
        __m256i a = LOADU(e);
        __m256i err = utf8_check(&t, a, LOADU(e - 1), LOADU(e - 2), LOADU(e - 3));
        err = _mm256_or_si256(err, _mm256_subs_epu8(a, t.inc));
        if (!_mm256_testz_si256(err, err)) {
            return utf8_backup(buf, start, i);
        }
        return len;
    }
#undef LOADU
    if (i < len) {
        /* A short input: the last 1..31 bytes, padded with NULs, so a
         * sequence cut by the end shows as an error, left to the DFA. */
        uint8_t tail[32];
        memset(tail, 0, sizeof(tail));
        memcpy(tail, buf + i, len - i);
        __m256i a = _mm256_loadu_si256((const __m256i_u *)(const void *)tail);
        __m256i err = utf8_block(&t, a, prev);
        if (!_mm256_testz_si256(err, err)) {
            return utf8_backup(buf, start, i);
        }
        return len;
    }
    /* Ended on a step boundary: the last sequence may be cut there. */
    return utf8_backup(buf, start, i);
}

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

static bool utf8_have_avx2(void)
{
    return __builtin_cpu_supports("avx2") != 0;
}
#endif

static inline uint32_t utf8_step(uint32_t s, uint8_t b)
{
    return (uint32_t)(utf8_rows[utf8_class[b]] >> s) & 63U;
}

/* Bytes run through the DFA per block before REJECT is checked. */
#define WICK_UTF8_BLOCK 16
/* Runs at least this long go through the vector validator. */
#define WICK_UTF8_SIMD_MIN 12

wick_err wick_utf8_feed(wick_utf8 *u, const uint8_t *buf, size_t len, size_t *bad_pos)
{
    if (u == NULL || (buf == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    uint32_t s = u->priv_.state;
    if (s >= U_REJECT) {
        /* Already failed: nothing here can make the text valid again. */
        u->priv_.state = U_REJECT;
        if (bad_pos != NULL) {
            *bad_pos = 0;
        }
        return WICK_ERR_UTF8;
    }
    size_t i = 0;
#ifdef WICK_UTF8_AVX2
    bool simd = len >= WICK_UTF8_SIMD_MIN && utf8_have_avx2();
#endif
    while (i < len) {
        if (s == U_ACCEPT) {
            i += utf8_ascii_run(buf, i, len);
#ifdef WICK_UTF8_AVX2
            if (simd && len - i >= WICK_UTF8_SIMD_MIN) {
                /* Returns a boundary at or after i; the DFA block below
                 * always makes progress from there. */
                i = utf8_run_avx2(buf, i, len);
            }
#endif
        }
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
            size_t k = 0;
            while ((s = utf8_step(s, buf[i + k])) != U_REJECT) {
                k++;
            }
            u->priv_.state = U_REJECT;
            if (bad_pos != NULL) {
                *bad_pos = i + k;
            }
            return WICK_ERR_UTF8;
        }
        i += n;
    }
    u->priv_.state = s;
    return WICK_OK;
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
