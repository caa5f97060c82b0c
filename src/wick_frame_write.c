/* Frame serializer (RFC 6455 5.2): a header alone, or a whole frame.
 *
 * The writer encodes what it is given: it does not enforce the protocol
 * rules the parser checks (control frame size, reserved opcodes), so tests
 * and tools can produce any frame. It always uses the minimal length
 * encoding, as RFC 6455 5.2 requires of senders. */
#include "wick_internal.h"

#include "wick_mask.h"

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

size_t wick__frame_put_header(uint8_t *out, uint8_t b0, uint64_t len, const uint8_t *mask)
{
    uint8_t mbit = mask != NULL ? 0x80U : 0U;
    size_t at = 2;
    out[0] = b0;
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
    if (mask != NULL) {
        memcpy(out + at, mask, 4);
        at += 4;
    }
    return at;
}

static bool header_ok(uint8_t opcode, uint8_t rsv, uint64_t len)
{
    return opcode <= 0x0F && (rsv & (uint8_t) ~(WICK_RSV1 | WICK_RSV2 | WICK_RSV3)) == 0 &&
           (len >> 63) == 0;
}

wick_err wick_frame_header_write(const wick_frame_header *h, uint8_t *out, size_t cap,
                                 size_t *out_len)
{
    if (h == NULL || out_len == NULL || (out == NULL && cap != 0)) {
        return WICK_ERR_ARG;
    }
    if (!header_ok(h->opcode, h->rsv, h->payload_len)) {
        return WICK_ERR_ARG;
    }
    size_t n = wick_frame_header_size(h->payload_len, h->masked);
    if (cap < n) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t b0 = (uint8_t)((h->fin ? 0x80U : 0U) | h->rsv | h->opcode);
    *out_len = wick__frame_put_header(out, b0, h->payload_len, h->masked ? h->mask : NULL);
    return WICK_OK;
}

/* memmove() for len <= 32 without a library call: every load happens
 * before any store, so any overlap is fine. */
static void small_move(uint8_t *dst, const uint8_t *src, size_t len)
{
    if (len >= 8) {
        uint64_t a;
        uint64_t b;
        uint64_t c;
        uint64_t d;
        size_t h = len > 16 ? 8U : len - 8;
        memcpy(&a, src, 8);
        memcpy(&b, src + h, 8);
        memcpy(&c, src + len - 8 - h, 8);
        memcpy(&d, src + len - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + h, &b, 8);
        memcpy(dst + len - 8 - h, &c, 8);
        memcpy(dst + len - 8, &d, 8);
    } else if (len >= 4) {
        uint32_t a;
        uint32_t b;
        memcpy(&a, src, 4);
        memcpy(&b, src + len - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + len - 4, &b, 4);
    } else if (len != 0) {
        uint8_t a = src[0];
        uint8_t b = src[len / 2];
        uint8_t c = src[len - 1];
        dst[0] = a;
        dst[len / 2] = b;
        dst[len - 1] = c;
    }
}

wick_err wick_frame_write(uint8_t opcode, bool fin, uint8_t rsv, const uint8_t *mask,
                          const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                          size_t *out_len)
{
    if ((payload == NULL && len != 0) || out_len == NULL || (out == NULL && cap != 0)) {
        return WICK_ERR_ARG;
    }
    if (mask == NULL && len <= 125 && cap >= len + 2 && opcode <= 0x0F &&
        (rsv & (uint8_t) ~(WICK_RSV1 | WICK_RSV2 | WICK_RSV3)) == 0) {
        /* The common small unmasked frame: a 2-byte header. */
        if (len > 32) {
            memmove(out + 2, payload, len);
        } else if (len != 0) {
            small_move(out + 2, payload, len);
        }
        out[0] = (uint8_t)((fin ? 0x80U : 0U) | rsv | opcode);
        out[1] = (uint8_t)len;
        *out_len = len + 2;
        return WICK_OK;
    }
    if (!header_ok(opcode, rsv, (uint64_t)len)) {
        return WICK_ERR_ARG;
    }
    size_t hn = wick_frame_header_size((uint64_t)len, mask != NULL);
    if (cap < hn) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    if (len > cap - hn) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    /* Keep the key: mask may point into out[0..hn). */
    uint8_t key[4] = {0, 0, 0, 0};
    if (mask != NULL) {
        memcpy(key, mask, 4);
    }
    if (len != 0) {
        uintptr_t d = (uintptr_t)(out + hn);
        uintptr_t s = (uintptr_t)payload;
        if (mask != NULL && (s == d || s + len <= d || d + len <= s)) {
            /* In place or apart: copy and mask in one pass. */
            wick__mask_copy(out + hn, payload, len, key, 0);
        } else {
            /* memmove first: the payload may overlap the destination. */
            memmove(out + hn, payload, len);
            if (mask != NULL) {
                wick_mask_apply(out + hn, len, key, NULL);
            }
        }
    }
    (void)wick__frame_put_header(out, (uint8_t)((fin ? 0x80U : 0U) | rsv | opcode), (uint64_t)len,
                                 mask != NULL ? key : NULL);
    *out_len = hn + len;
    return WICK_OK;
}
