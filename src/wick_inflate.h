/*
 * wick's own raw DEFLATE decoder (RFC 1951), for permessage-deflate
 * without zlib (issue 16). Streaming both ways: input and output in pieces
 * of any size, everything between calls kept in the state. No allocation:
 * the caller supplies the state and a window of exactly 2^bits bytes
 * (RFC 7692 7.1.2: the peer promises no distance beyond it).
 *
 * Huffman decoding is table-driven: a 2^9-entry lookup for literal/length
 * codes (2^6 for distances) answers every code up to that many bits in one
 * step; longer codes walk the canonical code (RFC 1951 3.2.2) from the
 * per-length counts. Which codes are accepted follows zlib exactly (so the
 * differential tests and fuzzer can insist on the same answer): an
 * over-subscribed code is an error; an incomplete one is an error except a
 * literal/length or distance code whose only code is one bit long (RFC
 * 1951 3.2.7: "one distance code ... encoded using one bit"), or a
 * distance code with no codes at all (an error only when one is used).
 */
#ifndef WICK_INFLATE_H
#define WICK_INFLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WICK__INF_LIT_ROOT  9U /* bits resolved by one lookup */
#define WICK__INF_DIST_ROOT 6U

/* What wick__inflate() returns: 0 progress (or needs more input or
 * output), 1 the final block ended, negative a malformed stream, which
 * sticks until wick__inflate_reset(). */
typedef enum wick__inf_rc {
    WICK__INF_OK = 0,
    WICK__INF_DONE = 1,
    WICK__INF_E_BTYPE = -1,      /* block type 3 (RFC 1951 3.2.3) */
    WICK__INF_E_STORED = -2,     /* LEN is not the complement of NLEN (3.2.4) */
    WICK__INF_E_COUNTS = -3,     /* HLIT > 286 or HDIST > 30 (3.2.7) */
    WICK__INF_E_CLEN_CODE = -4,  /* code length code over-subscribed or incomplete */
    WICK__INF_E_REPEAT = -5,     /* code 16 with nothing before, or past the end */
    WICK__INF_E_NO_EOB = -6,     /* no code for end-of-block (256) */
    WICK__INF_E_LIT_CODE = -7,   /* literal/length code over-subscribed or incomplete */
    WICK__INF_E_DIST_CODE = -8,  /* distance code over-subscribed or incomplete */
    WICK__INF_E_LIT_SYM = -9,    /* unused literal/length code, or 286/287 */
    WICK__INF_E_DIST_SYM = -10,  /* unused distance code, or 30/31 */
    WICK__INF_E_FAR = -11,       /* distance beyond the window's size */
    WICK__INF_E_UNWRITTEN = -12, /* distance before the first byte written */
    WICK__INF_E_STATE = -13      /* called again after an error */
} wick__inf_rc;

/* A decoding table: the per-length counts and the symbols in canonical
 * order serve codes longer than the root; `fast` serves the rest. */
typedef struct wick__inf_dist_tab {
    uint16_t fast[1U << WICK__INF_DIST_ROOT];
    uint16_t count[16];
    uint16_t sym[32];
} wick__inf_dist_tab;

typedef struct wick__inflater {
    uint8_t *window;
    uint32_t mask; /* window size - 1 */
    uint32_t wpos; /* where the next byte goes */
    uint32_t bb;   /* bit buffer: the next bit is bit 0 */
    uint16_t len;  /* stored bytes or match bytes still to copy */
    uint16_t dist; /* the match's distance; in M_DISTEXT its symbol */
    uint16_t hlit; /* dynamic header: counts (RFC 1951 3.2.7) */
    uint16_t have; /* code lengths read so far */
    uint8_t hdist;
    uint8_t hclen;
    uint8_t bc;    /* bits in bb */
    uint8_t mode;  /* what comes next (wick_inflate.c) */
    uint8_t final; /* the current block is the last */
    uint8_t full;  /* the window has wrapped: all of it is history */
    uint8_t fixed; /* the tables hold the fixed code (3.2.6) */
    int8_t err;    /* the sticky error */
    uint8_t clens[19];
    /* The literal/length lookup, or while a dynamic header is read, the
     * code lengths themselves (both are never needed at once). */
    union {
        uint16_t fast[1U << WICK__INF_LIT_ROOT];
        uint8_t lens[286 + 30];
    } lit;
    uint16_t lit_count[16];
    uint16_t lit_sym[288];
    wick__inf_dist_tab dtab; /* also the code length code, while read */
} wick__inflater;

/* Sets up s with window[0 .. 2^bits), bits 8..15, and resets it. */
void wick__inflate_init(wick__inflater *s, uint8_t *window, unsigned bits);

/* Starts a new stream with an empty window (RFC 7692 7.2.2 no context
 * takeover), clearing any error. */
void wick__inflate_reset(wick__inflater *s);

/* Starts a new stream that may refer back into the window the last one
 * left (RFC 7692 7.2.2 with context takeover, after a final block). */
void wick__inflate_restart(wick__inflater *s);

/* Decodes in[0..*in_len) into out[0..*out_len); on return both hold the
 * bytes consumed and produced. Input bytes are taken into the bit buffer
 * greedily: after a final block some may have been consumed unused. */
wick__inf_rc wick__inflate(wick__inflater *s, const uint8_t *in, size_t *in_len, uint8_t *out,
                           size_t *out_len);

/* True between blocks: the next bits are a block header (or the stream
 * ended). */
bool wick__inflate_boundary(const wick__inflater *s);

/* True once the block with BFINAL set has ended. */
bool wick__inflate_done(const wick__inflater *s);

#endif /* WICK_INFLATE_H */
