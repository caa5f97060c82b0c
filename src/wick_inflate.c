/* wick's raw DEFLATE decoder (RFC 1951); see wick_inflate.h. One state
 * machine: each state either finishes its step or leaves the bits it
 * needs unconsumed, so input may stop anywhere. The bit buffer is taken
 * into locals for the call (stores through uint8_t pointers would
 * otherwise force it back to memory on every output byte). */
#include "wick_inflate.h"

#include <string.h>

enum {
    M_HEADER,      /* BFINAL, BTYPE (RFC 1951 3.2.3) */
    M_STORED,      /* LEN, NLEN (3.2.4) */
    M_STORED_COPY, /* s->len bytes as they are */
    M_TABLE,       /* HLIT, HDIST, HCLEN (3.2.7) */
    M_CLEN,        /* the code length code's lengths */
    M_CODELENS,    /* the literal/length and distance code lengths */
    M_LEN,         /* a literal/length symbol, with its extra bits */
    M_DIST,        /* a distance symbol */
    M_DISTEXT,     /* its extra bits */
    M_COPY,        /* s->len bytes from s->dist back */
    M_DONE,        /* the final block ended */
    M_BAD          /* s->err */
};

/* A lookup entry: symbol << 4 | code length. Length 0: the code is longer
 * than the root (walk the canonical code). ENTRY_BAD: no code starts with
 * these bits (only in the incomplete codes zlib accepts, whose codes are
 * at most one bit long: one bit tells). */
#define SYM_BAD   0xFFFU
#define SYM_NEED  0x1000U
#define ENTRY_BAD ((uint16_t)(SYM_BAD << 4 | 1U))

/* RFC 1951 3.2.5 */
static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
/* RFC 1951 3.2.7 */
static const uint8_t clen_order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                       11, 4,  12, 3, 13, 2, 14, 1, 15};

/* What build() found of a set of code lengths (RFC 1951 3.2.2). */
enum { B_COMPLETE, B_ONE, B_EMPTY, B_INCOMPLETE, B_OVER };

/* Counts the codes of each length and lists the symbols in canonical
 * order (by length, then symbol). */
static int build(const uint8_t *lens, unsigned n, uint16_t *count, uint16_t *sym)
{
    uint16_t offs[16];
    memset(count, 0, 16 * sizeof(count[0]));
    for (unsigned i = 0; i < n; i++) {
        count[lens[i]]++;
    }
    int left = 1;
    unsigned max = 0;
    for (unsigned l = 1; l < 16; l++) {
        left = left * 2 - count[l];
        if (left < 0) {
            return B_OVER;
        }
        max = count[l] != 0 ? l : max;
    }
    offs[1] = 0;
    for (unsigned l = 1; l < 15; l++) {
        offs[l + 1] = (uint16_t)(offs[l] + count[l]);
    }
    for (unsigned i = 0; i < n; i++) {
        if (lens[i] != 0) {
            sym[offs[lens[i]]++] = (uint16_t)i;
        }
    }
    if (left == 0) {
        return B_COMPLETE;
    }
    return max == 0 ? B_EMPTY : max == 1 ? B_ONE : B_INCOMPLETE;
}

/* Fills the lookup from the canonical order: codes are sent from their
 * most significant bit (3.1.1), so each code's bits are reversed to index
 * by the bit buffer, and repeated for every value of the bits after it. */
static void fill(uint16_t *fast, unsigned root, const uint16_t *count, const uint16_t *sym)
{
    unsigned size = 1U << root;
    for (unsigned i = 0; i < size; i++) {
        fast[i] = ENTRY_BAD;
    }
    unsigned code = 0;
    unsigned k = 0;
    for (unsigned l = 1; l < 16; l++) {
        for (unsigned j = 0; j < count[l]; j++, code++, k++) {
            unsigned r = 0;
            for (unsigned b = 0; b < l; b++) {
                r |= ((code >> b) & 1U) << (l - 1U - b);
            }
            if (l <= root) {
                for (unsigned i = r; i < size; i += 1U << l) {
                    fast[i] = (uint16_t)((unsigned)sym[k] << 4 | l);
                }
            } else {
                fast[r & (size - 1U)] = 0;
            }
        }
        code <<= 1;
    }
}

/* A code longer than the root: walks the canonical code a bit at a time
 * (the first code of each length follows from the counts, 3.2.2). */
static unsigned decode_slow(const uint16_t *count, const uint16_t *sym, uint32_t bb, unsigned bc,
                            unsigned *nbits)
{
    int code = 0;
    int first = 0;
    int index = 0;
    for (unsigned l = 1; l < 16; l++) {
        if (l > bc) {
            return SYM_NEED;
        }
        code |= (int)((bb >> (l - 1U)) & 1U);
        int c = count[l];
        if (code - first < c) {
            *nbits = l;
            return sym[index + code - first];
        }
        index += c;
        first = (first + c) * 2;
        code *= 2;
    }
    return SYM_BAD;
}

static inline unsigned decode(const uint16_t *fast, unsigned root, const uint16_t *count,
                              const uint16_t *sym, uint32_t bb, unsigned bc, unsigned *nbits)
{
    unsigned e = fast[bb & ((1U << root) - 1U)];
    unsigned n = e & 15U;
    if (n == 0) {
        return decode_slow(count, sym, bb, bc, nbits);
    }
    if (n > bc) {
        return SYM_NEED;
    }
    *nbits = n;
    return e >> 4;
}

/* RFC 1951 3.2.6: the fixed code. Kept until a dynamic header replaces
 * it, since permessage-deflate sends short messages as fixed blocks, one
 * after another. */
static void load_fixed(wick__inflater *s)
{
    uint8_t dl[32];
    uint8_t *l = s->lit.lens;
    memset(l, 8, 144);
    memset(l + 144, 9, 112);
    memset(l + 256, 7, 24);
    memset(l + 280, 8, 8);
    memset(dl, 5, sizeof(dl));
    /* 286, 287 and distances 30, 31 take part in the code but never
     * occur (3.2.6): decoding them is an error. */
    (void)build(l, 288, s->lit_count, s->lit_sym);
    (void)build(dl, 32, s->dtab.count, s->dtab.sym);
    fill(s->lit.fast, WICK__INF_LIT_ROOT, s->lit_count, s->lit_sym);
    fill(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym);
    s->fixed = 1;
}

void wick__inflate_init(wick__inflater *s, uint8_t *window, unsigned bits)
{
    memset(s, 0, sizeof(*s));
    s->window = window;
    s->mask = (1U << bits) - 1U;
    wick__inflate_reset(s);
}

void wick__inflate_reset(wick__inflater *s)
{
    s->wpos = 0;
    s->full = 0;
    s->bb = 0;
    s->bc = 0;
    s->len = 0;
    s->final = 0;
    s->err = 0;
    s->mode = M_HEADER;
}

bool wick__inflate_boundary(const wick__inflater *s)
{
    return s->mode == M_HEADER || s->mode == M_DONE;
}

bool wick__inflate_done(const wick__inflater *s)
{
    return s->mode == M_DONE;
}

/* Copies p[0..n) into the circular window. */
static uint32_t window_put(uint8_t *win, uint32_t mask, uint32_t wpos, const uint8_t *p, size_t n,
                           uint8_t *full)
{
    size_t size = (size_t)mask + 1U;
    if (n >= size) {
        p += n - size;
        n = size;
    }
    size_t first = size - wpos;
    if (n >= first) {
        memcpy(win + wpos, p, first);
        memcpy(win, p + first, n - first);
        *full = 1;
    } else {
        memcpy(win + wpos, p, n);
    }
    return (uint32_t)((wpos + n) & mask);
}

/* Bits: NEED makes sure n are in the buffer or leaves (input used up);
 * REFILL tops the buffer up to 25 or more bits while input lasts, so any
 * step short of that fails only at the end of the input. */
#define NEED(n)                                                                                    \
    do {                                                                                           \
        while (bc < (n)) {                                                                         \
            if (ip == iend) {                                                                      \
                goto leave;                                                                        \
            }                                                                                      \
            bb |= (uint32_t)*ip++ << bc;                                                           \
            bc += 8;                                                                               \
        }                                                                                          \
    } while (0)
#define REFILL()                                                                                   \
    do {                                                                                           \
        while (bc <= 24 && ip < iend) {                                                            \
            bb |= (uint32_t)*ip++ << bc;                                                           \
            bc += 8;                                                                               \
        }                                                                                          \
    } while (0)
#define BITS(n) (bb & ((1U << (n)) - 1U))
#define DROP(n)                                                                                    \
    do {                                                                                           \
        bb >>= (n);                                                                                \
        bc -= (n);                                                                                 \
    } while (0)
#define FAIL(e)                                                                                    \
    do {                                                                                           \
        s->err = (int8_t)(e);                                                                      \
        s->mode = M_BAD;                                                                           \
        goto leave;                                                                                \
    } while (0)

wick__inf_rc wick__inflate(wick__inflater *s, const uint8_t *in, size_t *in_len, uint8_t *out,
                           size_t *out_len)
{
    const uint8_t *ip = in;
    const uint8_t *iend = in + *in_len;
    uint8_t *op = out;
    uint8_t *oend = out + *out_len;
    uint32_t bb = s->bb;
    unsigned bc = s->bc;
    uint8_t *win = s->window;
    uint32_t mask = s->mask;
    uint32_t wpos = s->wpos;
    uint8_t full = s->full;
    unsigned sym = 0;
    unsigned n = 0;

    for (;;) {
        switch (s->mode) {
        case M_HEADER:
            NEED(3U);
            s->final = (uint8_t)(bb & 1U);
            sym = (bb >> 1) & 3U;
            DROP(3U);
            if (sym == 0) {
                s->mode = M_STORED;
            } else if (sym == 1) {
                if (!s->fixed) {
                    load_fixed(s);
                }
                s->mode = M_LEN;
            } else if (sym == 2) {
                s->fixed = 0; /* the tables are about to be overwritten */
                s->mode = M_TABLE;
            } else {
                FAIL(WICK__INF_E_BTYPE);
            }
            continue;

        case M_STORED:
            DROP(bc & 7U); /* to a byte boundary; whole bytes stay */
            NEED(32U);     /* bc was 0, 8, 16 or 24: now exactly 32 */
            if ((bb & 0xFFFFU) != (~bb >> 16)) {
                FAIL(WICK__INF_E_STORED);
            }
            s->len = (uint16_t)(bb & 0xFFFFU);
            bb = 0;
            bc = 0;
            s->mode = M_STORED_COPY;
            goto stored_copy;
        case M_STORED_COPY:
        stored_copy:
            while (s->len != 0) {
                size_t k = s->len;
                if (k > (size_t)(iend - ip)) {
                    k = (size_t)(iend - ip);
                }
                if (k > (size_t)(oend - op)) {
                    k = (size_t)(oend - op);
                }
                if (k == 0) {
                    goto leave;
                }
                memcpy(op, ip, k);
                wpos = window_put(win, mask, wpos, op, k, &full);
                op += k;
                ip += k;
                s->len = (uint16_t)(s->len - k);
            }
            s->mode = s->final ? M_DONE : M_HEADER;
            continue;

        case M_TABLE:
            NEED(14U);
            s->hlit = (uint16_t)(BITS(5U) + 257U);
            s->hdist = (uint8_t)(((bb >> 5) & 31U) + 1U);
            s->hclen = (uint8_t)(((bb >> 10) & 15U) + 4U);
            DROP(14U);
            if (s->hlit > 286U || s->hdist > 30U) {
                FAIL(WICK__INF_E_COUNTS); /* zlib refuses them too */
            }
            s->have = 0;
            s->mode = M_CLEN;
            goto clen;
        case M_CLEN:
        clen:
            while (s->have < s->hclen) {
                NEED(3U);
                s->clens[clen_order[s->have++]] = (uint8_t)BITS(3U);
                DROP(3U);
            }
            while (s->have < 19U) {
                s->clens[clen_order[s->have++]] = 0;
            }
            /* The code length code lives in the distance tables until the
             * distance code replaces it. */
            if (build(s->clens, 19, s->dtab.count, s->dtab.sym) != B_COMPLETE) {
                FAIL(WICK__INF_E_CLEN_CODE);
            }
            fill(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym);
            s->have = 0;
            s->mode = M_CODELENS;
            goto codelens;
        case M_CODELENS:
        codelens : {
            unsigned total = (unsigned)s->hlit + s->hdist;
            uint8_t *lens = s->lit.lens;
            while (s->have < total) {
                REFILL();
                sym = decode(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym, bb, bc,
                             &n);
                if (sym == SYM_NEED) {
                    goto leave;
                }
                if (sym > 18U) {
                    FAIL(WICK__INF_E_CLEN_CODE); /* not reached: the code is complete */
                }
                if (sym < 16U) {
                    DROP(n);
                    lens[s->have++] = (uint8_t)sym;
                    continue;
                }
                /* 16: repeat the last 3-6 times; 17: 3-10 zeros; 18: 11-138 */
                unsigned xb = sym == 16U ? 2U : sym == 17U ? 3U : 7U;
                if (n + xb > bc) {
                    goto leave;
                }
                unsigned rep = ((bb >> n) & ((1U << xb) - 1U)) + (sym == 18U ? 11U : 3U);
                DROP(n + xb);
                uint8_t v = 0;
                if (sym == 16U) {
                    if (s->have == 0) {
                        FAIL(WICK__INF_E_REPEAT);
                    }
                    v = lens[s->have - 1U];
                }
                if (s->have + rep > total) {
                    FAIL(WICK__INF_E_REPEAT);
                }
                memset(lens + s->have, v, rep);
                s->have = (uint16_t)(s->have + rep);
            }
            if (lens[256] == 0) {
                FAIL(WICK__INF_E_NO_EOB);
            }
            int r = build(lens, s->hlit, s->lit_count, s->lit_sym);
            if (r != B_COMPLETE && r != B_ONE) {
                FAIL(WICK__INF_E_LIT_CODE);
            }
            r = build(lens + s->hlit, s->hdist, s->dtab.count, s->dtab.sym);
            if (r != B_COMPLETE && r != B_ONE && r != B_EMPTY) {
                FAIL(WICK__INF_E_DIST_CODE);
            }
            /* lens are done with: the lookup takes their place */
            fill(s->lit.fast, WICK__INF_LIT_ROOT, s->lit_count, s->lit_sym);
            fill(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym);
            s->mode = M_LEN;
            continue;
        }

        case M_LEN:
        lit:
            if (op == oend) {
                goto leave;
            }
            REFILL();
            sym = decode(s->lit.fast, WICK__INF_LIT_ROOT, s->lit_count, s->lit_sym, bb, bc, &n);
            if (sym < 256U) {
                DROP(n);
                *op++ = (uint8_t)sym;
                win[wpos] = (uint8_t)sym;
                wpos = (wpos + 1U) & mask;
                full = (uint8_t)(full | (wpos == 0));
                goto lit;
            }
            if (sym == SYM_NEED) {
                goto leave;
            }
            if (sym == 256U) {
                DROP(n);
                s->mode = s->final ? M_DONE : M_HEADER;
                continue;
            }
            if (sym > 285U) {
                FAIL(WICK__INF_E_LIT_SYM);
            }
            sym -= 257U;
            if (n + len_extra[sym] > bc) {
                goto leave; /* REFILL stopped short: no more input */
            }
            s->len = (uint16_t)(len_base[sym] + ((bb >> n) & ((1U << len_extra[sym]) - 1U)));
            DROP(n + len_extra[sym]);
            s->mode = M_DIST;
            goto dist;
        case M_DIST:
        dist:
            REFILL();
            sym = decode(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym, bb, bc, &n);
            if (sym == SYM_NEED) {
                goto leave;
            }
            if (sym > 29U) {
                FAIL(WICK__INF_E_DIST_SYM);
            }
            DROP(n);
            s->dist = (uint16_t)sym;
            s->mode = M_DISTEXT;
            goto distext;
        case M_DISTEXT:
        distext : {
            unsigned xb = dist_extra[s->dist];
            NEED(xb);
            uint32_t d = dist_base[s->dist] + BITS(xb);
            DROP(xb);
            if (d > mask + 1U) {
                FAIL(WICK__INF_E_FAR);
            }
            if (!full && d > wpos) {
                FAIL(WICK__INF_E_UNWRITTEN);
            }
            s->dist = (uint16_t)d;
            s->mode = M_COPY;
            goto copy;
        }
        case M_COPY:
        copy : {
            size_t k = s->len;
            if (k > (size_t)(oend - op)) {
                k = (size_t)(oend - op);
            }
            uint32_t src = (wpos - s->dist) & mask;
            if (wpos + k > mask) {
                full = 1;
            }
            s->len = (uint16_t)(s->len - k);
            while (k-- != 0) {
                uint8_t c = win[src];
                src = (src + 1U) & mask;
                *op++ = c;
                win[wpos] = c;
                wpos = (wpos + 1U) & mask;
            }
            if (s->len != 0) {
                goto leave;
            }
            s->mode = M_LEN;
            goto lit;
        }

        case M_DONE:
            goto leave;

        default:
            if (s->err == 0) {
                s->err = WICK__INF_E_STATE;
            }
            goto leave;
        }
    }

leave:
    s->bb = bb;
    s->bc = (uint8_t)bc;
    s->wpos = wpos;
    s->full = full;
    *in_len = (size_t)(ip - in);
    *out_len = (size_t)(op - out);
    if (s->mode == M_BAD) {
        return (wick__inf_rc)s->err;
    }
    return s->mode == M_DONE ? WICK__INF_DONE : WICK__INF_OK;
}
