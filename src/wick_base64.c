/* Base64 (RFC 4648 section 4), padded, strict on decode: the handshake
 * only ever carries canonical encodings (RFC 6455 4.1 key, 4.2.2 accept),
 * so anything else is rejected rather than guessed at. */
#include "wick_internal.h"

/* The alphabet (RFC 4648 table 1): a table where speed counts, ranges
 * under -Os (smaller than the 64-byte table on firmware, where it is only
 * ever used on a few dozen bytes). */
static char b64_char(unsigned v)
{
#ifndef __OPTIMIZE_SIZE__
    static const char alphabet[64] = {
        'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
        'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f',
        'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
        'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '/'};
    return alphabet[v & 63U];
#else
    if (v < 26U) {
        return (char)('A' + v);
    }
    if (v < 52U) {
        return (char)('a' + (v - 26U));
    }
    if (v < 62U) {
        return (char)('0' + (v - 52U));
    }
    return (v == 62U) ? '+' : '/';
#endif
}

/* Value of one alphabet character, or -1. */
static int b64_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+') {
        return 62;
    }
    if (ch == '/') {
        return 63;
    }
    return -1;
}

wick_err wick_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    if ((in == NULL && len > 0) || out_len == NULL) {
        return WICK_ERR_ARG;
    }
    /* WICK_BASE64_LEN would overflow for len near SIZE_MAX. */
    if (len > (SIZE_MAX / 4U) * 3U - 2U) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    size_t need = WICK_BASE64_LEN(len);
    if (need > cap) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    if (len == 0) {
        *out_len = 0;
        return WICK_OK;
    }
    if (out == NULL) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    /* Each group of up to 3 bytes gives n + 1 characters (n bytes in the
     * group) and '=' up to 4. */
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t n = len - i;
        uint32_t v = (uint32_t)in[i] << 16;
        if (n > 1) {
            v |= (uint32_t)in[i + 1] << 8;
        }
        if (n > 2) {
            v |= in[i + 2];
        }
        for (unsigned j = 0; j < 4; j++) {
            out[o++] = (j <= n) ? b64_char((v >> (18U - 6U * j)) & 63U) : '=';
        }
    }
    *out_len = o;
    return WICK_OK;
}

wick_err wick_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if ((in == NULL && len > 0) || out_len == NULL || len % 4 != 0) {
        return WICK_ERR_ARG;
    }
    size_t pad = 0;
    if (len > 0 && in[len - 1] == '=') {
        pad = (in[len - 2] == '=') ? 2 : 1;
    }
    size_t need = len / 4 * 3 - pad;
    /* Pass 0 validates everything, pass 1 writes: nothing is written for
     * invalid input. Bits are collected 6 at a time and a byte goes out
     * whenever 8 are there. */
    size_t o = 0;
    for (unsigned pass = 0; pass < 2; pass++) {
        uint32_t acc = 0;
        unsigned bits = 0;
        o = 0;
        for (size_t i = 0; i < len - pad; i++) {
            int d = b64_value(in[i]);
            if (d < 0) {
                return WICK_ERR_ARG;
            }
            acc = (acc << 6) | (uint32_t)d;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (pass == 1) {
                    out[o] = (uint8_t)(acc >> bits);
                }
                o++;
            }
        }
        if (pass == 0) {
            /* RFC 4648 3.5: the bits left over by padding (the low 2 or 4
             * bits of the last character) must be zero for the encoding
             * to be canonical. */
            if ((acc & ((1U << bits) - 1U)) != 0) {
                return WICK_ERR_ARG;
            }
            if (need > cap || (out == NULL && need > 0)) {
                return WICK_ERR_BUFFER_TOO_SMALL;
            }
        }
    }
    *out_len = o;
    return WICK_OK;
}
