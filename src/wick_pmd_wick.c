/* permessage-deflate backend on wick's own inflater (wick_inflate.c,
 * issue 16): the receive half when the library is built without zlib,
 * or with WICK_INFLATE=1 beside it (zlib then only deflates). Without
 * zlib there is no deflater: the plan gives none, the connection
 * negotiates, inflates what it receives and sends every message
 * uncompressed, which RFC 7692 6 allows (compression is per message, at
 * the sender's choice). */
#include "wick_pmd.h"

#if !defined(WICK_ZLIB) || defined(WICK_INFLATE)
#include "wick_inflate.h"

/* Two allocations (state, window), each 16-byte aligned. */
#define WICK_INFLATE_SLACK 32U

size_t wick__pmd_be_inflate_size(unsigned bits)
{
    return sizeof(wick__inflater) + ((size_t)1 << bits) + WICK_INFLATE_SLACK;
}

wick_err wick__pmd_be_inflate_init(wick_pmd *pmd, unsigned bits)
{
    wick__inflater *s = (wick__inflater *)wick__pmd_arena_alloc(pmd, sizeof(wick__inflater));
    uint8_t *window = (uint8_t *)wick__pmd_arena_alloc(pmd, (size_t)1 << bits);
    if (s == NULL || window == NULL) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    wick__inflate_init(s, window, bits);
    pmd->priv_.inflater = s;
    return WICK_OK;
}

wick_err wick__pmd_be_inflate(wick_pmd *pmd, const uint8_t *in, size_t *in_len, uint8_t *out,
                              size_t *out_len)
{
    wick__inf_rc rc =
        wick__inflate((wick__inflater *)pmd->priv_.inflater, in, in_len, out, out_len);
    if (rc == WICK__INF_DONE) {
        return WICK_DONE;
    }
    return rc == WICK__INF_OK ? WICK_OK : WICK_ERR_INFLATE;
}

bool wick__pmd_be_inflate_boundary(const wick_pmd *pmd)
{
    return wick__inflate_boundary((const wick__inflater *)pmd->priv_.inflater);
}

wick_err wick__pmd_be_inflate_reset(wick_pmd *pmd, bool keep)
{
    wick__inflater *s = (wick__inflater *)pmd->priv_.inflater;
    if (keep) {
        wick__inflate_restart(s);
    } else {
        wick__inflate_reset(s);
    }
    return WICK_OK;
}
#endif /* !WICK_ZLIB || WICK_INFLATE */

#ifndef WICK_ZLIB
/* No deflater: wick__pmd_plan_fit() plans none, so the deflate functions
 * below are never reached; they fail cleanly all the same. */
bool wick__pmd_be_present(void)
{
    return true;
}

bool wick__pmd_be_can_deflate(void)
{
    return false;
}

size_t wick__pmd_be_deflate_size(unsigned bits, unsigned mem_level)
{
    (void)bits;
    (void)mem_level;
    return 0;
}

wick_err wick__pmd_be_deflate_init(wick_pmd *pmd, unsigned bits, unsigned mem_level, int level)
{
    (void)pmd;
    (void)bits;
    (void)mem_level;
    (void)level;
    return WICK_ERR_STATE;
}

wick_err wick__pmd_be_deflate(wick_pmd *pmd, const uint8_t *in, size_t len, uint8_t *out,
                              size_t cap, size_t *out_len)
{
    (void)pmd;
    (void)in;
    (void)len;
    (void)out;
    (void)cap;
    *out_len = 0;
    return WICK_ERR_STATE;
}

wick_err wick__pmd_be_deflate_reset(wick_pmd *pmd)
{
    (void)pmd;
    return WICK_ERR_STATE;
}

void wick__pmd_be_end(wick_pmd *pmd)
{
    /* Everything is in the arena: nothing to free. */
    pmd->priv_.inflater = NULL;
}
#endif /* !WICK_ZLIB */
