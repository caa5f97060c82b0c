/* Incremental frame parser (RFC 6455 5.2).
 *
 * A pull parser: every call returns at most one event. A header that
 * arrives whole in one buffer is decoded straight from it (the fast path);
 * one split across calls is gathered in the 14-byte scratch first. Payload
 * is unmasked in place in the caller's buffer, the key phase carried in the
 * struct, so chunks can be cut anywhere.
 *
 * The parser checks the rules that hold for a single frame: RSV bits,
 * opcode, control frame FIN and size (5.5), masking by role (5.1), the
 * 63-bit length limit and the caller's frame size limit. Message-level
 * rules are the connection engine's. */
#include "wick_internal.h"

/* Parser states (priv_.state). */
enum {
    FP_HEADER = 0,  /* gathering header bytes; priv_.have of priv_.need in scratch */
    FP_PAYLOAD = 1, /* header delivered; priv_.remaining payload bytes follow */
    FP_FAILED = 2   /* sticky error; priv_.remaining holds the negated wick_err */
};

#define FP_HDR_MIN 2U /* fin/rsv/opcode byte and mask/length byte */

void wick_frame_parser_init(wick_frame_parser *p, wick_role role, uint8_t rsv_allowed,
                            uint64_t max_frame)
{
    if (p == NULL) {
        return;
    }
    memset(p, 0, sizeof(*p));
    p->priv_.role = (uint8_t)role;
    p->priv_.rsv_allowed = (uint8_t)(rsv_allowed & (WICK_RSV1 | WICK_RSV2 | WICK_RSV3));
    p->priv_.max_frame = max_frame;
    p->priv_.need = FP_HDR_MIN;
    p->priv_.state = FP_HEADER;
}

static wick_err fp_fail(wick_frame_parser *p, wick_err e)
{
    p->priv_.state = FP_FAILED;
    p->priv_.remaining = (uint64_t)(-(int64_t)e);
    return e;
}

/* Checks what the first two header bytes alone decide and returns the full
 * header size through *need. */
static wick_err fp_check_lead(const wick_frame_parser *p, uint8_t b0, uint8_t b1, size_t *need)
{
    unsigned op = b0 & 0x0FU;
    unsigned len7 = b1 & 0x7FU;
    bool masked = (b1 & 0x80U) != 0;
    /* RFC 6455 5.2: RSV bits MUST be 0 unless an extension defines them. */
    if ((b0 & 0x70U & (unsigned)~p->priv_.rsv_allowed) != 0) {
        return WICK_ERR_PROTO_RSV;
    }
    /* RFC 6455 5.2: opcodes 3-7 and 11-15 are reserved. */
    if ((op >= 3 && op <= 7) || op >= 11) {
        return WICK_ERR_PROTO_OPCODE;
    }
    if (op >= 8) {
        /* RFC 6455 5.5: control frames MUST NOT be fragmented and MUST have a
         * payload of 125 bytes or less (so always a 7-bit length). */
        if ((b0 & 0x80U) == 0) {
            return WICK_ERR_PROTO_CONTROL_FRAGMENTED;
        }
        if (len7 > 125) {
            return WICK_ERR_PROTO_CONTROL_TOO_BIG;
        }
    }
    /* RFC 6455 5.1: a server MUST close on an unmasked frame; a client MUST
     * close on a masked one. */
    if (masked != (p->priv_.role == (uint8_t)WICK_ROLE_SERVER)) {
        return WICK_ERR_PROTO_MASK;
    }
    size_t n = FP_HDR_MIN;
    if (len7 == 126) {
        n += 2;
    } else if (len7 == 127) {
        n += 8;
    }
    if (masked) {
        n += 4;
    }
    *need = n;
    return WICK_OK;
}

/* Decodes a complete header at h (already checked by fp_check_lead) into
 * priv_.hdr and *out, and enters FP_PAYLOAD. The header is built in a
 * local and stored whole: reading back a struct just written field by
 * field would stall on store forwarding. */
static wick_err fp_decode(wick_frame_parser *p, const uint8_t *h, wick_frame_header *out)
{
    wick_frame_header hd;
    unsigned len7 = h[1] & 0x7FU;
    size_t at = FP_HDR_MIN;
    uint64_t plen = len7;
    /* RFC 6455 5.2 says a sender MUST use the minimal length encoding; like
     * most receivers we accept non-minimal ones (e.g. 5 as 126 + 0x0005),
     * since the length is unambiguous either way. */
    if (len7 == 126) {
        plen = wick__load_be16(h + at);
        at += 2;
    } else if (len7 == 127) {
        plen = wick__load_be64(h + at);
        at += 8;
        /* RFC 6455 5.2: the most significant bit MUST be 0. */
        if ((plen >> 63) != 0) {
            return WICK_ERR_PROTO_LENGTH;
        }
    }
    if (p->priv_.max_frame != 0 && plen > p->priv_.max_frame) {
        return WICK_ERR_FRAME_TOO_BIG;
    }
    hd.fin = (h[0] & 0x80U) != 0;
    hd.rsv = (uint8_t)(h[0] & 0x70U);
    hd.opcode = (uint8_t)(h[0] & 0x0FU);
    hd.masked = (h[1] & 0x80U) != 0;
    if (hd.masked) {
        memcpy(hd.mask, h + at, 4);
    } else {
        memset(hd.mask, 0, 4);
    }
    hd.payload_len = plen;
    p->priv_.hdr = hd;
    *out = hd;
    p->priv_.remaining = plen;
    p->priv_.offset = 0;
    p->priv_.mask_phase = 0;
    p->priv_.have = 0;
    p->priv_.need = FP_HDR_MIN;
    p->priv_.state = FP_PAYLOAD;
    return WICK_OK;
}

/* FP_HEADER: the fast path decodes from buf when the whole header is
 * there (not under -Os); otherwise bytes go through the scratch, at most two rounds (the
 * first two bytes, then the rest). Returns WICK_OK with *used set, and
 * *done when the header is complete. */
static wick_err fp_read_header(wick_frame_parser *p, const uint8_t *buf, size_t len, size_t *used,
                               bool *done, wick_frame_header *out)
{
    size_t need;
    wick_err e;
    *done = false;
#ifndef __OPTIMIZE_SIZE__
    /* Under -Os every header goes through the scratch (same results). */
    if (p->priv_.have == 0 && len >= FP_HDR_MIN) {
        e = fp_check_lead(p, buf[0], buf[1], &need);
        if (e != WICK_OK) {
            return e;
        }
        if (len >= need) {
            *used = need;
            *done = true;
            return fp_decode(p, buf, out);
        }
    }
#endif
    size_t pos = 0;
    for (;;) {
        size_t want = (size_t)p->priv_.need - p->priv_.have;
        size_t take = (len - pos < want) ? len - pos : want;
        memcpy(p->priv_.scratch + p->priv_.have, buf + pos, take);
        p->priv_.have = (uint8_t)(p->priv_.have + take);
        pos += take;
        *used = pos;
        if (p->priv_.have < p->priv_.need) {
            return WICK_OK;
        }
        if (p->priv_.need == FP_HDR_MIN) {
            e = fp_check_lead(p, p->priv_.scratch[0], p->priv_.scratch[1], &need);
            if (e != WICK_OK) {
                return e;
            }
            p->priv_.need = (uint8_t)need;
            if (need > FP_HDR_MIN) {
                continue;
            }
        }
        *done = true;
        return fp_decode(p, p->priv_.scratch, out);
    }
}

wick_err wick_frame_parser_feed(wick_frame_parser *p, uint8_t *buf, size_t len, size_t *consumed,
                                wick_frame_event *ev)
{
    if (p == NULL || consumed == NULL || ev == NULL || (buf == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    *consumed = 0;
    ev->type = WICK_FRAME_NONE;
    ev->data = NULL;
    ev->len = 0;
    ev->offset = 0;
    ev->frame_end = false;

    switch (p->priv_.state) {
    case FP_HEADER: {
        if (len == 0) {
            return WICK_OK;
        }
        size_t used = 0;
        bool done = false;
        wick_err e = fp_read_header(p, buf, len, &used, &done, &ev->header);
        if (e != WICK_OK) {
            return fp_fail(p, e);
        }
        *consumed = used;
        if (done) {
            ev->type = WICK_FRAME_HEADER;
        }
        return WICK_OK;
    }
    case FP_PAYLOAD: {
        uint64_t rem = p->priv_.remaining;
        if (rem != 0 && len == 0) {
            return WICK_OK;
        }
        /* A zero-length payload still yields one (empty) frame_end chunk. */
        size_t n = (rem < (uint64_t)len) ? (size_t)rem : len;
        if (n != 0 && p->priv_.hdr.masked) {
            size_t phase = p->priv_.mask_phase;
            wick_mask_apply(buf, n, p->priv_.hdr.mask, &phase);
            p->priv_.mask_phase = (uint8_t)phase;
        }
        ev->type = WICK_FRAME_DATA;
        ev->header = p->priv_.hdr;
        ev->data = buf;
        ev->len = n;
        ev->offset = p->priv_.offset;
        p->priv_.offset += n;
        p->priv_.remaining = rem - n;
        if (rem == n) {
            ev->frame_end = true;
            p->priv_.state = FP_HEADER;
        }
        *consumed = n;
        return WICK_OK;
    }
    case FP_FAILED:
        return (wick_err)(-(int64_t)p->priv_.remaining);
    default:
        return WICK_ERR_STATE;
    }
}
