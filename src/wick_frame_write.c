/* Frame serializer (RFC 6455 5.2): a header alone, or a whole frame.
 *
 * The writer encodes what it is given: it does not enforce the protocol
 * rules the parser checks (control frame size, reserved opcodes), so tests
 * and tools can produce any frame. It always uses the minimal length
 * encoding, as RFC 6455 5.2 requires of senders. */
#include "wick_internal.h"

size_t wick_frame_header_size(uint64_t len, bool masked)
{
    size_t n = 2;
    if (len > 0xFFFFU) {
        n += 8;
    } else if (len > 125) {
        n += 2;
    }
    return masked ? n + 4 : n;
}

wick_err wick_frame_header_write(const wick_frame_header *h, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    if (h == NULL || out_len == NULL || (out == NULL && cap != 0)) {
        return WICK_ERR_ARG;
    }
    if (h->opcode > 0x0F || (h->rsv & (uint8_t) ~(WICK_RSV1 | WICK_RSV2 | WICK_RSV3)) != 0 ||
        (h->payload_len >> 63) != 0) {
        return WICK_ERR_ARG;
    }
    uint64_t len = h->payload_len;
    size_t n = wick_frame_header_size(len, h->masked);
    if (cap < n) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    out[0] = (uint8_t)((h->fin ? 0x80U : 0U) | h->rsv | h->opcode);
    uint8_t mbit = h->masked ? 0x80U : 0U;
    size_t at = 2;
    if (len > 0xFFFFU) {
        out[1] = (uint8_t)(mbit | 127U);
        wick__store_be64(out + 2, len);
        at += 8;
    } else if (len > 125) {
        out[1] = (uint8_t)(mbit | 126U);
        wick__store_be16(out + 2, (uint16_t)len);
        at += 2;
    } else {
        out[1] = (uint8_t)(mbit | (uint8_t)len);
    }
    if (h->masked) {
        memcpy(out + at, h->mask, 4);
    }
    *out_len = n;
    return WICK_OK;
}

wick_err wick_frame_write(uint8_t opcode, bool fin, uint8_t rsv, const uint8_t *mask,
                          const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    if (payload == NULL && len != 0) {
        return WICK_ERR_ARG;
    }
    wick_frame_header h;
    memset(&h, 0, sizeof(h));
    h.fin = fin;
    h.rsv = rsv;
    h.opcode = opcode;
    h.masked = mask != NULL;
    if (mask != NULL) {
        memcpy(h.mask, mask, 4);
    }
    h.payload_len = (uint64_t)len;
    size_t hn = 0;
    wick_err e = wick_frame_header_write(&h, out, cap, &hn);
    if (e != WICK_OK) {
        return e;
    }
    if (len > cap - hn) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    if (len != 0) {
        /* memmove: the caller may have placed the payload at out + hn. */
        memmove(out + hn, payload, len);
        if (mask != NULL) {
            wick_mask_apply(out + hn, len, mask, NULL);
        }
    }
    *out_len = hn + len;
    return WICK_OK;
}
