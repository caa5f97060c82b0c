/*
 * permessage-deflate (RFC 7692): what the negotiation, the per-connection
 * glue (wick_pmd.c) and a compression backend share.
 *
 * The backend is chosen at build time: src/wick_pmd_zlib.c under
 * WICK_ZLIB; else wick's own inflater (src/wick_pmd_wick.c, issue 16),
 * which only inflates: the plan then gives no deflater and every message
 * goes out uncompressed. WICK_INFLATE=1 with WICK_ZLIB: wick's inflater
 * receives, zlib deflates. Another
 * inflater/deflater plugs in by implementing the wick__pmd_be_* functions
 * below; everything it needs comes from the arena.
 */
#ifndef WICK_PMD_H
#define WICK_PMD_H

#include "wick_internal.h"

/* The inflate output piece handed to the engine per emit(). */
#define WICK__PMD_CHUNK 1024U

/* Smallest window zlib deflates with: a raw stream with windowBits 8 is
 * refused (zlib 1.2.9 on). Compressing with 9 where 8 was agreed is safe:
 * zlib never emits a distance beyond the window less MIN_LOOKAHEAD (262
 * bytes), so a 512-byte window reaches back 250 bytes, inside the 256
 * the peer keeps. */
#define WICK__PMD_MIN_DEFLATE_BITS 9U

/* What one connection will run with: derived from the agreed parameters
 * and the budget by wick__pmd_plan(). */
typedef struct wick__pmd_plan {
    uint8_t inflate_bits; /* window we inflate with (the peer's) */
    uint8_t deflate_bits; /* window we deflate with; 0: we never compress */
    uint8_t mem_level;    /* zlib memLevel for the deflater (1-9) */
    size_t bytes;         /* arena bytes it needs */
} wick__pmd_plan;

/* Fits a plan into `budget` bytes. inflate_bits: the peer's window when
 * fixed (it cannot be asked to shrink it), or 0 when we may ask for any
 * 9..15. deflate_cap: the largest window the peer lets us deflate with
 * (8..15). compress: false for decompress-only. Returns false when even
 * inflating alone does not fit (decline). The preference: the largest
 * common window, then the largest memLevel; when compressing cannot fit,
 * inflate only (we may send every message uncompressed). */
bool wick__pmd_plan_fit(size_t budget, unsigned inflate_bits, unsigned deflate_cap, bool compress,
                        wick__pmd_plan *plan);

/* The plan for a connection in `role` with these agreed parameters. */
bool wick__pmd_plan_for(const wick_pmd_config *cfg, const wick_pmd_params *p, wick_role role,
                        wick__pmd_plan *plan);

/* The config's budget, 0 meaning the default. */
size_t wick__pmd_budget(const wick_pmd_config *cfg);

/* --- Backend ------------------------------------------------------------ */

/* True when a backend is compiled in (always, since wick has its own
 * inflater). */
bool wick__pmd_be_present(void);

/* False when the backend cannot deflate (wick's inflater alone): the plan
 * is then decompress-only, whatever the config asks. */
bool wick__pmd_be_can_deflate(void);

/* Arena bytes for an inflater with 2^bits window / a deflater with 2^bits
 * window and memLevel m (alignment slack included). */
size_t wick__pmd_be_inflate_size(unsigned bits);
size_t wick__pmd_be_deflate_size(unsigned bits, unsigned mem_level);

/* Creates the streams inside the pmd's arena (wick__pmd_arena_alloc).
 * Return WICK_OK or WICK_ERR_BUFFER_TOO_SMALL / WICK_ERR_EXTENSION. */
wick_err wick__pmd_be_inflate_init(wick_pmd *pmd, unsigned bits);
wick_err wick__pmd_be_deflate_init(wick_pmd *pmd, unsigned bits, unsigned mem_level, int level);

/* Inflates in[0..*in_len) into out[0..*out_len): on return *in_len and
 * *out_len hold the bytes consumed and produced. Returns WICK_OK (made
 * progress or needs more input), WICK_DONE (the stream ended: a final
 * block), or WICK_ERR_INFLATE. */
wick_err wick__pmd_be_inflate(wick_pmd *pmd, const uint8_t *in, size_t *in_len, uint8_t *out,
                              size_t *out_len);
/* A new stream: with an empty window, or keeping the window (`keep`). */
wick_err wick__pmd_be_inflate_reset(wick_pmd *pmd, bool keep);
/* True when the inflater stopped between blocks (not inside one). */
bool wick__pmd_be_inflate_boundary(const wick_pmd *pmd);

/* Deflates all of in[0..len) and flushes (Z_SYNC_FLUSH: the output ends
 * with 00 00 ff ff) into out[0..cap), cap >= wick__pmd_deflate_bound(len).
 * Sets *out_len. Returns WICK_OK or WICK_ERR_EXTENSION. */
wick_err wick__pmd_be_deflate(wick_pmd *pmd, const uint8_t *in, size_t len, uint8_t *out,
                              size_t cap, size_t *out_len);
wick_err wick__pmd_be_deflate_reset(wick_pmd *pmd);
void wick__pmd_be_end(wick_pmd *pmd);

/* An upper bound of the flushed deflate output for len input bytes:
 * stored blocks at worst (5 bytes per block, blocks of at least 128 bytes
 * with the smallest memLevel, so len/8 covers them), plus the bits
 * pending from before and the flush marker. */
static inline size_t wick__pmd_deflate_bound(size_t len)
{
    return len + (len >> 3) + 32U;
}

/* Bump allocation from the pmd's arena, 16-byte aligned; NULL when full. */
void *wick__pmd_arena_alloc(wick_pmd *pmd, size_t n);

#endif /* WICK_PMD_H */
