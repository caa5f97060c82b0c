/* permessage-deflate: fitting window sizes into the caller's memory
 * budget. zlib's defaults (15-bit windows, memLevel 8) cost about 300 KB
 * per connection for both directions; a budget picks smaller ones. */
#include "wick_pmd.h"

size_t wick__pmd_budget(const wick_pmd_config *cfg)
{
    return cfg != NULL && cfg->budget != 0 ? cfg->budget : WICK_PMD_DEFAULT_BUDGET;
}

static size_t inflate_bytes(unsigned bits)
{
    return wick__pmd_be_inflate_size(bits < 9U ? 9U : bits) + WICK__PMD_CHUNK;
}

bool wick__pmd_plan_fit(size_t budget, unsigned inflate_bits, unsigned deflate_cap, bool compress,
                        wick__pmd_plan *plan)
{
    if (!wick__pmd_be_present()) {
        return false;
    }
    compress = compress && wick__pmd_be_can_deflate();
    if (deflate_cap < WICK__PMD_MIN_DEFLATE_BITS) {
        deflate_cap = WICK__PMD_MIN_DEFLATE_BITS; /* see WICK__PMD_MIN_DEFLATE_BITS */
    }
    /* One window size for both directions, largest first; for each, the
     * largest memLevel from zlib's default ratio (memLevel 8 at 15 bits)
     * down to a few steps below it. */
    for (unsigned w = 15; compress && w >= 9; w--) {
        unsigned wi = inflate_bits != 0 ? inflate_bits : w;
        unsigned wd = w < deflate_cap ? w : deflate_cap;
        unsigned top = w > 8 ? w - 7 : 1;
        unsigned low = w > 11 ? w - 11 : 1;
        for (unsigned m = top; m >= low; m--) {
            size_t need = inflate_bytes(wi) + wick__pmd_be_deflate_size(wd, m);
            if (need <= budget) {
                plan->inflate_bits = (uint8_t)wi;
                plan->deflate_bits = (uint8_t)wd;
                plan->mem_level = (uint8_t)m;
                plan->bytes = need;
                return true;
            }
        }
    }
    /* Inflate only: we may send every message uncompressed (RFC 7692
     * 6: compression is per message, at the sender's choice). */
    for (unsigned w = 15; w >= 9; w--) {
        unsigned wi = inflate_bits != 0 ? inflate_bits : w;
        if (inflate_bytes(wi) <= budget) {
            plan->inflate_bits = (uint8_t)wi;
            plan->deflate_bits = 0;
            plan->mem_level = 0;
            plan->bytes = inflate_bytes(wi);
            return true;
        }
        if (inflate_bits != 0) {
            break;
        }
    }
    return false;
}

bool wick__pmd_plan_for(const wick_pmd_config *cfg, const wick_pmd_params *p, wick_role role,
                        wick__pmd_plan *plan)
{
    if (p == NULL || !p->enabled) {
        return false;
    }
    bool server = role == WICK_ROLE_SERVER;
    unsigned mine = server ? p->server_max_window_bits : p->client_max_window_bits;
    unsigned peer = server ? p->client_max_window_bits : p->server_max_window_bits;
    bool compress = cfg == NULL || (cfg->flags & WICK_PMD_DECOMPRESS_ONLY) == 0;
    return wick__pmd_plan_fit(wick__pmd_budget(cfg), peer, mine, compress, plan);
}
