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
 * covers every byte value in every state. */
#include "wick_internal.h"

#if defined(__SSE2__) && !defined(WICK_NO_SIMD)
#include <emmintrin.h>
#define WICK_UTF8_SSE2 1
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

static inline uint32_t utf8_step(uint32_t s, uint8_t b)
{
    return (uint32_t)(utf8_rows[utf8_class[b]] >> s) & 63U;
}

/* Bytes run through the DFA per block before REJECT is checked. */
#define WICK_UTF8_BLOCK 16

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
    while (i < len) {
        if (s == U_ACCEPT) {
            i += utf8_ascii_run(buf, i, len);
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
