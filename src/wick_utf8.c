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

/* DFA states, premultiplied by 16 so a transition is one table load:
 * next = utf8_trans[state + class]. */
enum {
    U_ACCEPT = 0,  /* at a character boundary */
    U_TAIL1 = 16,  /* one continuation byte left */
    U_TAIL2 = 32,  /* two continuation bytes left */
    U_E0 = 48,     /* after E0: A0..BF, then one more */
    U_ED = 64,     /* after ED: 80..9F, then one more */
    U_F0 = 80,     /* after F0: 90..BF, then two more */
    U_F1 = 96,     /* after F1..F3: 80..BF, then two more */
    U_F4 = 112,    /* after F4: 80..8F, then two more */
    U_REJECT = 128 /* failed; sticky until wick_utf8_init() */
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

#define R U_REJECT

/* Rows are states, columns classes in the order of the class enum:
 *  ASCII    80-8F    90-9F    A0-BF    bad  C2-DF    E0    E1-EF    ED    F0    F1-F3 F4 */
static const uint8_t utf8_trans[144] = {
    /* U_ACCEPT */
    U_ACCEPT, R, R, R, R, U_TAIL1, U_E0, U_TAIL2, U_ED, U_F0, U_F1, U_F4, R, R, R, R,
    /* U_TAIL1 */
    R, U_ACCEPT, U_ACCEPT, U_ACCEPT, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_TAIL2 */
    R, U_TAIL1, U_TAIL1, U_TAIL1, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_E0 */
    R, R, R, U_TAIL1, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_ED */
    R, U_TAIL1, U_TAIL1, R, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_F0 */
    R, R, U_TAIL2, U_TAIL2, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_F1 */
    R, U_TAIL2, U_TAIL2, U_TAIL2, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_F4 */
    R, U_TAIL2, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
    /* U_REJECT */
    R, R, R, R, R, R, R, R, R, R, R, R, R, R, R, R,
};

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
static size_t ascii_run(const uint8_t *buf, size_t i, size_t len)
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
        if (s == U_ACCEPT && buf[i] < 0x80) {
            i += ascii_run(buf, i, len);
            /* Finish a short ASCII run byte by byte. */
            while (i < len && buf[i] < 0x80) {
                i++;
            }
            if (i == len) {
                break;
            }
        }
        s = utf8_trans[s + utf8_class[buf[i]]];
        if (wick__unlikely(s == U_REJECT)) {
            u->priv_.state = U_REJECT;
            if (bad_pos != NULL) {
                *bad_pos = i;
            }
            return WICK_ERR_UTF8;
        }
        i++;
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
