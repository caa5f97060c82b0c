/* permessage-deflate (RFC 7692) on one connection: the arena, and the
 * engine's extension hooks: decode() inflates a message's payload as it
 * arrives (with the bomb guard), encode() deflates each outgoing frame.
 * Negotiation is in wick_pmd_neg.c, the window plan in wick_pmd_plan.c,
 * the compression itself in the backend (wick_pmd_zlib.c). */
#include "wick_pmd.h"

/* RFC 7692 7.2.1: a message's compressed data ends with an empty stored
 * block flush whose last four octets the sender removes; the receiver
 * appends them again (7.2.2). */
static const uint8_t pmd_tail[4] = {0x00, 0x00, 0xFF, 0xFF};

/* The bomb guard's allowance before the ratio applies. */
#define PMD_RATIO_SLACK 1024U

void wick_pmd_config_default(wick_pmd_config *cfg)
{
    if (cfg != NULL) {
        memset(cfg, 0, sizeof(*cfg));
        cfg->budget = WICK_PMD_DEFAULT_BUDGET;
        cfg->level = 6;
    }
}

bool wick_pmd_available(void)
{
    return wick__pmd_be_present();
}

void *wick__pmd_arena_alloc(wick_pmd *pmd, size_t n)
{
    uintptr_t base = (uintptr_t)pmd->priv_.arena;
    size_t at = pmd->priv_.arena_used;
    size_t pad = (size_t)((16U - ((base + at) & 15U)) & 15U);
    if (pad > pmd->priv_.arena_cap - at || n > pmd->priv_.arena_cap - at - pad) {
        return NULL;
    }
    pmd->priv_.arena_used = at + pad + n;
    return pmd->priv_.arena + at + pad;
}

size_t wick_pmd_arena_size(const wick_pmd_config *cfg, const wick_pmd_params *agreed,
                           wick_role role)
{
    wick__pmd_plan plan = {0, 0, 0, 0};
    return wick__pmd_plan_for(cfg, agreed, role, &plan) ? plan.bytes : 0;
}

size_t wick_pmd_arena_used(const wick_pmd *pmd)
{
    return pmd != NULL ? pmd->priv_.arena_used : 0;
}

wick_pmd_info wick_pmd_get_info(const wick_pmd *pmd)
{
    wick_pmd_info info = {0, 0, 0};
    if (pmd != NULL) {
        info.inflate_bits = pmd->priv_.inflate_bits;
        info.deflate_bits = pmd->priv_.deflate_bits;
        info.mem_level = pmd->priv_.mem_level;
    }
    return info;
}

/* --- Receive: inflate ----------------------------------------------------- */

/* Inflates in[0..len) and hands every piece to emit, adding what it took
 * to *took. At the message end (`drain`), keeps calling until the
 * inflater has nothing more. Stops with WICK_PAUSE when emit asks for it:
 * the inflater keeps whatever it has not written yet for the next call. */
static int inflate_feed(wick_pmd *pmd, const uint8_t *in, size_t len, bool drain, size_t *took,
                        wick_emit_fn emit, void *ctx)
{
    for (;;) {
        if (pmd->priv_.msg_done) {
            *took += len; /* a final block ended the stream: the rest is ignored */
            return 0;
        }
        size_t used = len;
        size_t made = pmd->priv_.chunk_cap;
        wick_err err = wick__pmd_be_inflate(pmd, in, &used, pmd->priv_.chunk, &made);
        if (err == WICK_DONE) {
            /* A block with BFINAL set ended the stream (RFC 7692 7.2.3.4
             * allows it): its output goes on, what follows is ignored. */
            pmd->priv_.msg_done = true;
        } else if (err != WICK_OK) {
            return (int)err;
        }
        in += used;
        len -= used;
        *took += used;
        if (made != 0) {
            pmd->priv_.msg_out += made;
            /* Bomb guard: checked per piece, before the piece goes on. */
            uint64_t ratio = pmd->priv_.max_ratio;
            if (ratio != 0 && pmd->priv_.msg_out > pmd->priv_.msg_in * ratio + PMD_RATIO_SLACK) {
                return (int)WICK_ERR_INFLATE_RATIO;
            }
            int rc = emit(ctx, pmd->priv_.chunk, made);
            if (rc != 0) {
                return rc; /* a failure, or WICK_PAUSE */
            }
        }
        bool full = made == pmd->priv_.chunk_cap;
        if (pmd->priv_.msg_done || (len == 0 && !(drain && full))) {
            return 0;
        }
        if (used == 0 && !full) {
            return (int)WICK_ERR_INFLATE; /* no progress on input it refuses */
        }
    }
}

static int pmd_decode(void *state, const uint8_t *in, size_t len, bool fin, size_t *used,
                      wick_emit_fn emit, void *ctx)
{
    wick_pmd *pmd = (wick_pmd *)state;
    size_t took = 0;
    pmd->priv_.msg_in += len;
    int rc = inflate_feed(pmd, in, len, false, &took, emit, ctx);
    *used = took;
    if (rc == WICK_PAUSE) {
        pmd->priv_.msg_in -= len - took; /* counted again when it comes back */
    }
    if (rc != 0 || !fin) {
        return rc;
    }
    /* RFC 7692 7.2.2: the tail the sender removed, then whatever output
     * the inflater still holds. After a pause inside it, the rest. */
    size_t fed = pmd->priv_.tail_fed;
    took = 0;
    rc = inflate_feed(pmd, pmd_tail + fed, sizeof(pmd_tail) - fed, true, &took, emit, ctx);
    pmd->priv_.tail_fed = (uint8_t)(fed + took);
    if (rc != 0) {
        return rc;
    }
    /* The flush must have ended on a block boundary: a message cut inside
     * a block would leave the inflater in the middle of it. */
    if (!pmd->priv_.msg_done && !wick__pmd_be_inflate_boundary(pmd)) {
        return (int)WICK_ERR_INFLATE;
    }
    /* RFC 7692 7.2.2: without context takeover the peer starts every
     * message with an empty window; so do we. With it, each message is
     * inflated with the window the last one left, even when that one
     * ended its stream with a final block (7.2.3.4): a new stream then. */
    if (pmd->priv_.inflate_reset || pmd->priv_.msg_done) {
        if (wick__pmd_be_inflate_reset(pmd, !pmd->priv_.inflate_reset) != WICK_OK) {
            return (int)WICK_ERR_EXTENSION;
        }
    }
    pmd->priv_.msg_in = 0;
    pmd->priv_.msg_out = 0;
    pmd->priv_.msg_done = false;
    pmd->priv_.tail_fed = 0;
    return 0;
}

/* --- Send: deflate -------------------------------------------------------- */

static size_t pmd_bound(void *state, size_t len)
{
    (void)state;
    return wick__pmd_deflate_bound(len);
}

/* Deflates one frame's payload into out; at the message end strips the
 * flush's 00 00 ff ff (RFC 7692 7.2.1) and, without context takeover,
 * resets the window. Frames before the last keep their flush: an empty
 * stored block inside the stream is valid DEFLATE. */
static wick_err deflate_frame(wick_pmd *pmd, const uint8_t *in, size_t len, bool fin, uint8_t *out,
                              size_t cap, size_t *out_len)
{
    size_t n = 0;
    wick_err err = wick__pmd_be_deflate(pmd, in, len, out, cap, &n);
    if (err != WICK_OK) {
        return err;
    }
    pmd->priv_.send_open = !fin;
    if (fin) {
        if (n < sizeof(pmd_tail) || memcmp(out + n - 4, pmd_tail, 4) != 0) {
            return WICK_ERR_EXTENSION;
        }
        n -= 4;
        if (pmd->priv_.deflate_reset && wick__pmd_be_deflate_reset(pmd) != WICK_OK) {
            return WICK_ERR_EXTENSION;
        }
    }
    *out_len = n;
    return WICK_OK;
}

static int pmd_encode(void *state, const uint8_t *in, size_t len, bool first, bool fin,
                      uint8_t *out, size_t cap, size_t *out_len)
{
    wick_pmd *pmd = (wick_pmd *)state;
    if (first && fin && len < pmd->priv_.min_size) {
        return 1; /* small: not worth compressing; sent as it is */
    }
    return (int)deflate_frame(pmd, in, len, fin, out, cap, out_len);
}

/* --- Set-up --------------------------------------------------------------- */

wick_err wick_pmd_init(wick_pmd *pmd, const wick_pmd_config *cfg, const wick_pmd_params *agreed,
                       wick_role role, void *arena, size_t arena_len)
{
    if (pmd == NULL || agreed == NULL || (arena == NULL && arena_len != 0)) {
        return WICK_ERR_ARG;
    }
    if (role != WICK_ROLE_SERVER && role != WICK_ROLE_CLIENT) {
        return WICK_ERR_ARG;
    }
    memset(pmd, 0, sizeof(*pmd));
    wick__pmd_plan plan = {0, 0, 0, 0};
    if (!wick__pmd_plan_for(cfg, agreed, role, &plan)) {
        return WICK_ERR_STATE;
    }
    if (plan.bytes > arena_len) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    bool server = role == WICK_ROLE_SERVER;
    pmd->priv_.params = *agreed;
    pmd->priv_.arena = (uint8_t *)arena;
    pmd->priv_.arena_cap = arena_len;
    pmd->priv_.role = (uint8_t)role;
    pmd->priv_.inflate_bits = plan.inflate_bits;
    pmd->priv_.deflate_bits = plan.deflate_bits;
    pmd->priv_.mem_level = plan.mem_level;
    pmd->priv_.level =
        (uint8_t)(cfg != NULL && cfg->level >= 1 && cfg->level <= 9 ? cfg->level : 6);
    pmd->priv_.min_size = cfg != NULL ? cfg->min_size : 0;
    pmd->priv_.max_ratio = cfg != NULL ? cfg->max_ratio : 0;
    pmd->priv_.inflate_reset =
        server ? agreed->client_no_context_takeover : agreed->server_no_context_takeover;
    pmd->priv_.deflate_reset =
        server ? agreed->server_no_context_takeover : agreed->client_no_context_takeover;
    pmd->priv_.chunk = (uint8_t *)wick__pmd_arena_alloc(pmd, WICK__PMD_CHUNK);
    pmd->priv_.chunk_cap = WICK__PMD_CHUNK;
    wick_err err = pmd->priv_.chunk != NULL ? wick__pmd_be_inflate_init(pmd, plan.inflate_bits)
                                            : WICK_ERR_BUFFER_TOO_SMALL;
    if (err == WICK_OK && plan.deflate_bits != 0) {
        err = wick__pmd_be_deflate_init(pmd, plan.deflate_bits, plan.mem_level, pmd->priv_.level);
    }
    if (err != WICK_OK) {
        wick__pmd_be_end(pmd);
        return err;
    }
    pmd->priv_.ext.rsv_mask = WICK_RSV1; /* RFC 7692 6 */
    pmd->priv_.ext.decode = pmd_decode;
    pmd->priv_.ext.state = pmd;
    if (plan.deflate_bits != 0) {
        pmd->priv_.ext.encode = pmd_encode;
        pmd->priv_.ext.encode_bound = pmd_bound;
    }
    return WICK_OK;
}

const wick_extension *wick_pmd_extension(const wick_pmd *pmd)
{
    return pmd != NULL && pmd->priv_.ext.decode != NULL ? &pmd->priv_.ext : NULL;
}

void wick_pmd_release(wick_pmd *pmd)
{
    if (pmd != NULL) {
        wick__pmd_be_end(pmd);
    }
}

/* --- Compress once, send to many ----------------------------------------- */

size_t wick_pmd_prepare_bound(size_t len)
{
    size_t bound = wick__pmd_deflate_bound(len);
    return bound + wick_frame_header_size(bound, false);
}

wick_err wick_pmd_prepare(wick_pmd *pmd, uint8_t opcode, const void *data, size_t len, uint8_t *out,
                          size_t cap, wick_prepared *p)
{
    if (pmd == NULL || out == NULL || p == NULL || (data == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    if (opcode != WICK_OP_TEXT && opcode != WICK_OP_BINARY) {
        return WICK_ERR_ARG;
    }
    /* A fresh context for every prepared message: only then does the
     * frame mean the same to every peer. */
    if (pmd->priv_.deflater == NULL || pmd->priv_.role != WICK_ROLE_SERVER ||
        !pmd->priv_.deflate_reset || pmd->priv_.send_open) {
        return WICK_ERR_STATE;
    }
    size_t bound = wick__pmd_deflate_bound(len);
    size_t hmax = wick_frame_header_size(bound, false);
    if (cap < hmax || cap - hmax < bound) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    size_t n = 0;
    wick_err err = deflate_frame(pmd, (const uint8_t *)data, len, true, out + hmax, bound, &n);
    if (err != WICK_OK) {
        return err;
    }
    size_t hl = wick_frame_header_size(n, false);
    if (hl != hmax) {
        memmove(out + hl, out + hmax, n);
    }
    (void)wick__frame_put_header(out, (uint8_t)(0x80U | WICK_RSV1 | opcode), n, NULL);
    p->frame = out;
    p->len = hl + n;
    return WICK_OK;
}
