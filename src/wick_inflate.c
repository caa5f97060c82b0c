/* wick's raw DEFLATE decoder (RFC 1951); see wick_inflate.h. One state
 * machine: each state either finishes its step or leaves the bits it
 * needs unconsumed, so input may stop anywhere. The bit buffer is taken
 * into locals for the call (stores through uint8_t pointers would
 * otherwise force it back to memory on every output byte). */
#include "wick_inflate.h"

#include <string.h>

enum {
    INF_M_HEADER,      /* BFINAL, BTYPE (RFC 1951 3.2.3) */
    INF_M_STORED,      /* LEN, NLEN (3.2.4) */
    INF_M_STORED_COPY, /* s->len bytes as they are */
    INF_M_TABLE,       /* HLIT, HDIST, HCLEN (3.2.7) */
    INF_M_CLEN,        /* the code length code's lengths */
    INF_M_CODELENS,    /* the literal/length and distance code lengths */
    INF_M_LEN,         /* a literal/length symbol, with its extra bits */
    INF_M_DIST,        /* a distance symbol */
    INF_M_DISTEXT,     /* its extra bits */
    INF_M_COPY,        /* s->len bytes from s->dist back */
    INF_M_DONE,        /* the final block ended */
    INF_M_BAD          /* s->err */
};

/* A lookup entry: symbol << 4 | code length. Length 0: the code is longer
 * than the root (walk the canonical code). INF_ENTRY_BAD: no code starts with
 * these bits (only in the incomplete codes zlib accepts, whose codes are
 * at most one bit long: one bit tells). */
#define INF_SYM_BAD   0xFFFU
#define INF_SYM_NEED  0x1000U
#define INF_ENTRY_BAD ((uint16_t)(INF_SYM_BAD << 4 | 1U))

/* RFC 1951 3.2.5 */
static const uint16_t inf_len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                          15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                          67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t inf_len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                          2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t inf_dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t inf_dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
/* RFC 1951 3.2.7 */
static const uint8_t inf_clen_order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                           11, 4,  12, 3, 13, 2, 14, 1, 15};

/* What inf_build() found of a set of code lengths (RFC 1951 3.2.2). */
enum { INF_B_COMPLETE, INF_B_ONE, INF_B_EMPTY, INF_B_INCOMPLETE, INF_B_OVER };

/* Counts the codes of each length and lists the symbols in canonical
 * order (by length, then symbol). */
static int inf_build(const uint8_t *lens, unsigned n, uint16_t *count, uint16_t *sym)
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
            return INF_B_OVER;
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
        return INF_B_COMPLETE;
    }
    return max == 0 ? INF_B_EMPTY : max == 1 ? INF_B_ONE : INF_B_INCOMPLETE;
}

/* Fills the lookup from the canonical order: codes are sent from their
 * most significant bit (3.1.1), so each code's bits are reversed to index
 * by the bit buffer, and repeated for every value of the bits after it. */
static void inf_fill(uint16_t *fast, unsigned root, const uint16_t *count, const uint16_t *sym)
{
    unsigned size = 1U << root;
    for (unsigned i = 0; i < size; i++) {
        fast[i] = INF_ENTRY_BAD;
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
static unsigned inf_decode_slow(const uint16_t *count, const uint16_t *sym, uint32_t bb,
                                unsigned bc, unsigned *nbits)
{
    int code = 0;
    int first = 0;
    int index = 0;
    for (unsigned l = 1; l < 16; l++) {
        if (l > bc) {
            return INF_SYM_NEED;
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
    return INF_SYM_BAD;
}

static inline unsigned inf_decode(const uint16_t *fast, unsigned root, const uint16_t *count,
                                  const uint16_t *sym, uint32_t bb, unsigned bc, unsigned *nbits)
{
    unsigned e = fast[bb & ((1U << root) - 1U)];
    unsigned n = e & 15U;
    if (n == 0) {
        return inf_decode_slow(count, sym, bb, bc, nbits);
    }
    if (n > bc) {
        return INF_SYM_NEED;
    }
    *nbits = n;
    return e >> 4;
}

/* RFC 1951 3.2.6: the fixed code. Kept until a dynamic header replaces
 * it, since permessage-deflate sends short messages as fixed blocks, one
 * after another. */
static void inf_load_fixed(wick__inflater *s)
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
    (void)inf_build(l, 288, s->lit_count, s->lit_sym);
    (void)inf_build(dl, 32, s->dtab.count, s->dtab.sym);
    inf_fill(s->lit.fast, WICK__INF_LIT_ROOT, s->lit_count, s->lit_sym);
    inf_fill(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym);
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
    wick__inflate_restart(s);
}

void wick__inflate_restart(wick__inflater *s)
{
    s->bb = 0;
    s->bc = 0;
    s->len = 0;
    s->final = 0;
    s->err = 0;
    s->mode = INF_M_HEADER;
}

bool wick__inflate_boundary(const wick__inflater *s)
{
    return s->mode == INF_M_HEADER || s->mode == INF_M_DONE;
}

bool wick__inflate_done(const wick__inflater *s)
{
    return s->mode == INF_M_DONE;
}

/* Copies p[0..n) into the circular window. */
static uint32_t inf_window_put(uint8_t *win, uint32_t mask, uint32_t wpos, const uint8_t *p,
                               size_t n, uint8_t *full)
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

/* Bits: INF_NEED makes sure n are in the buffer or leaves (input used up);
 * INF_REFILL tops the buffer up to 25 or more bits while input lasts, so any
 * step short of that fails only at the end of the input. */
#define INF_NEED(n)                                                                                \
    do {                                                                                           \
        while (bc < (n)) {                                                                         \
            if (ip == iend) {                                                                      \
                goto leave;                                                                        \
            }                                                                                      \
            bb |= (uint32_t)*ip++ << bc;                                                           \
            bc += 8;                                                                               \
        }                                                                                          \
    } while (0)
#define INF_REFILL()                                                                               \
    do {                                                                                           \
        while (bc <= 24 && ip < iend) {                                                            \
            bb |= (uint32_t)*ip++ << bc;                                                           \
            bc += 8;                                                                               \
        }                                                                                          \
    } while (0)
#define INF_BITS(n) (bb & ((1U << (n)) - 1U))
#define INF_DROP(n)                                                                                \
    do {                                                                                           \
        bb >>= (n);                                                                                \
        bc -= (n);                                                                                 \
    } while (0)
#define INF_FAIL(e)                                                                                \
    do {                                                                                           \
        s->err = (int8_t)(e);                                                                      \
        s->mode = INF_M_BAD;                                                                       \
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
        case INF_M_HEADER:
            INF_NEED(3U);
            s->final = (uint8_t)(bb & 1U);
            sym = (bb >> 1) & 3U;
            INF_DROP(3U);
            if (sym == 0) {
                s->mode = INF_M_STORED;
            } else if (sym == 1) {
                if (!s->fixed) {
                    inf_load_fixed(s);
                }
                s->mode = INF_M_LEN;
            } else if (sym == 2) {
                s->fixed = 0; /* the tables are about to be overwritten */
                s->mode = INF_M_TABLE;
            } else {
                INF_FAIL(WICK__INF_E_BTYPE);
            }
            continue;

        case INF_M_STORED:
            INF_DROP(bc & 7U); /* to a byte boundary; whole bytes stay */
            INF_NEED(32U);     /* bc was 0, 8, 16 or 24: now exactly 32 */
            if ((bb & 0xFFFFU) != (~bb >> 16)) {
                INF_FAIL(WICK__INF_E_STORED);
            }
            s->len = (uint16_t)(bb & 0xFFFFU);
            bb = 0;
            bc = 0;
            s->mode = INF_M_STORED_COPY;
            goto stored_copy;
        case INF_M_STORED_COPY:
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
                wpos = inf_window_put(win, mask, wpos, op, k, &full);
                op += k;
                ip += k;
                s->len = (uint16_t)(s->len - k);
            }
            s->mode = s->final ? INF_M_DONE : INF_M_HEADER;
            continue;

        case INF_M_TABLE:
            INF_NEED(14U);
            s->hlit = (uint16_t)(INF_BITS(5U) + 257U);
            s->hdist = (uint8_t)(((bb >> 5) & 31U) + 1U);
            s->hclen = (uint8_t)(((bb >> 10) & 15U) + 4U);
            INF_DROP(14U);
            if (s->hlit > 286U || s->hdist > 30U) {
                INF_FAIL(WICK__INF_E_COUNTS); /* zlib refuses them too */
            }
            s->have = 0;
            s->mode = INF_M_CLEN;
            goto clen;
        case INF_M_CLEN:
        clen:
            while (s->have < s->hclen) {
                INF_NEED(3U);
                s->clens[inf_clen_order[s->have++]] = (uint8_t)INF_BITS(3U);
                INF_DROP(3U);
            }
            while (s->have < 19U) {
                s->clens[inf_clen_order[s->have++]] = 0;
            }
            /* The code length code lives in the distance tables until the
             * distance code replaces it. */
            if (inf_build(s->clens, 19, s->dtab.count, s->dtab.sym) != INF_B_COMPLETE) {
                INF_FAIL(WICK__INF_E_CLEN_CODE);
            }
            inf_fill(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym);
            s->have = 0;
            s->mode = INF_M_CODELENS;
            goto codelens;
        case INF_M_CODELENS:
        codelens : {
            unsigned total = (unsigned)s->hlit + s->hdist;
            uint8_t *lens = s->lit.lens;
            while (s->have < total) {
                INF_REFILL();
                sym = inf_decode(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym, bb,
                                 bc, &n);
                if (sym == INF_SYM_NEED) {
                    goto leave;
                }
                if (sym > 18U) {
                    INF_FAIL(WICK__INF_E_CLEN_CODE); /* not reached: the code is complete */
                }
                if (sym < 16U) {
                    INF_DROP(n);
                    lens[s->have++] = (uint8_t)sym;
                    continue;
                }
                /* 16: repeat the last 3-6 times; 17: 3-10 zeros; 18: 11-138 */
                unsigned xb = sym == 16U ? 2U : sym == 17U ? 3U : 7U;
                if (n + xb > bc) {
                    goto leave;
                }
                unsigned rep = ((bb >> n) & ((1U << xb) - 1U)) + (sym == 18U ? 11U : 3U);
                INF_DROP(n + xb);
                uint8_t v = 0;
                if (sym == 16U) {
                    if (s->have == 0) {
                        INF_FAIL(WICK__INF_E_REPEAT);
                    }
                    v = lens[s->have - 1U];
                }
                if (s->have + rep > total) {
                    INF_FAIL(WICK__INF_E_REPEAT);
                }
                memset(lens + s->have, v, rep);
                s->have = (uint16_t)(s->have + rep);
            }
            if (lens[256] == 0) {
                INF_FAIL(WICK__INF_E_NO_EOB);
            }
            int r = inf_build(lens, s->hlit, s->lit_count, s->lit_sym);
            if (r != INF_B_COMPLETE && r != INF_B_ONE) {
                INF_FAIL(WICK__INF_E_LIT_CODE);
            }
            r = inf_build(lens + s->hlit, s->hdist, s->dtab.count, s->dtab.sym);
            if (r != INF_B_COMPLETE && r != INF_B_ONE && r != INF_B_EMPTY) {
                INF_FAIL(WICK__INF_E_DIST_CODE);
            }
            /* lens are done with: the lookup takes their place */
            inf_fill(s->lit.fast, WICK__INF_LIT_ROOT, s->lit_count, s->lit_sym);
            inf_fill(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym);
            s->mode = INF_M_LEN;
            continue;
        }

        case INF_M_LEN:
        lit:
            if (op == oend) {
                goto leave;
            }
            INF_REFILL();
            sym = inf_decode(s->lit.fast, WICK__INF_LIT_ROOT, s->lit_count, s->lit_sym, bb, bc, &n);
            if (sym < 256U) {
                INF_DROP(n);
                *op++ = (uint8_t)sym;
                win[wpos] = (uint8_t)sym;
                wpos = (wpos + 1U) & mask;
                full = (uint8_t)(full | (wpos == 0));
                goto lit;
            }
            if (sym == INF_SYM_NEED) {
                goto leave;
            }
            if (sym == 256U) {
                INF_DROP(n);
                s->mode = s->final ? INF_M_DONE : INF_M_HEADER;
                continue;
            }
            if (sym > 285U) {
                INF_FAIL(WICK__INF_E_LIT_SYM);
            }
            sym -= 257U;
            if (n + inf_len_extra[sym] > bc) {
                goto leave; /* INF_REFILL stopped short: no more input */
            }
            s->len =
                (uint16_t)(inf_len_base[sym] + ((bb >> n) & ((1U << inf_len_extra[sym]) - 1U)));
            INF_DROP(n + inf_len_extra[sym]);
            s->mode = INF_M_DIST;
            goto dist;
        case INF_M_DIST:
        dist:
            INF_REFILL();
            sym = inf_decode(s->dtab.fast, WICK__INF_DIST_ROOT, s->dtab.count, s->dtab.sym, bb, bc,
                             &n);
            if (sym == INF_SYM_NEED) {
                goto leave;
            }
            if (sym > 29U) {
                INF_FAIL(WICK__INF_E_DIST_SYM);
            }
            INF_DROP(n);
            s->dist = (uint16_t)sym;
            s->mode = INF_M_DISTEXT;
            goto distext;
        case INF_M_DISTEXT:
        distext : {
            unsigned xb = inf_dist_extra[s->dist];
            INF_NEED(xb);
            uint32_t d = inf_dist_base[s->dist] + INF_BITS(xb);
            INF_DROP(xb);
            if (d > mask + 1U) {
                INF_FAIL(WICK__INF_E_FAR);
            }
            if (!full && d > wpos) {
                INF_FAIL(WICK__INF_E_UNWRITTEN);
            }
            s->dist = (uint16_t)d;
            s->mode = INF_M_COPY;
            goto copy;
        }
        case INF_M_COPY:
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
            s->mode = INF_M_LEN;
            goto lit;
        }

        case INF_M_DONE:
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
    if (s->mode == INF_M_BAD) {
        return (wick__inf_rc)s->err;
    }
    return s->mode == INF_M_DONE ? WICK__INF_DONE : WICK__INF_OK;
}

#undef INF_NEED
#undef INF_REFILL
#undef INF_BITS
#undef INF_DROP
#undef INF_FAIL
#undef INF_SYM_BAD
#undef INF_SYM_NEED
#undef INF_ENTRY_BAD
