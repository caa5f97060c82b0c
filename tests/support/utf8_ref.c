/* Reference UTF-8 checker by code point; see utf8_ref.h. */
#include "support/utf8_ref.h"

/* Can a sequence of total length n whose first k bytes decode to the high
 * bits `hi` (the remaining n-k continuation bytes still unknown) end up a
 * valid scalar value? */
static bool can_be_valid(uint32_t hi, size_t n, size_t k)
{
    unsigned rest = (unsigned)(6 * (n - k));
    uint32_t lo = hi << rest;                      /* smallest completion */
    uint32_t top = lo | ((UINT32_C(1) << rest) - 1); /* largest completion */
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (top < min_for_len[n]) {
        return false; /* overlong whatever follows */
    }
    if (lo > 0x10FFFF) {
        return false; /* above the Unicode range */
    }
    if (lo >= 0xD800 && top <= 0xDFFF) {
        return false; /* a UTF-16 surrogate */
    }
    return true;
}

size_t utf8_ref_first_invalid(const uint8_t *buf, size_t len, bool *incomplete)
{
    size_t i = 0;
    if (incomplete != NULL) {
        *incomplete = false;
    }
    while (i < len) {
        uint8_t b = buf[i];
        size_t n;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 2;
            cp = b & 0x1Fu;
        } else if ((b & 0xF0) == 0xE0) {
            n = 3;
            cp = b & 0x0Fu;
        } else if ((b & 0xF8) == 0xF0) {
            n = 4;
            cp = b & 0x07u;
        } else {
            return i; /* continuation byte, or a 5/6-byte or 0xFE/0xFF lead */
        }
        if (!can_be_valid(cp, n, 1)) {
            return i; /* C0, C1, F5..F7: no valid sequence starts so */
        }
        for (size_t k = 1; k < n; k++) {
            if (i + k >= len) {
                if (incomplete != NULL) {
                    *incomplete = true;
                }
                return len;
            }
            uint8_t c = buf[i + k];
            if ((c & 0xC0) != 0x80) {
                return i + k;
            }
            cp = (cp << 6) | (c & 0x3Fu);
            if (!can_be_valid(cp, n, k + 1)) {
                return i + k;
            }
        }
        i += n;
    }
    return len;
}

size_t utf8_ref_encode(uint32_t cp, size_t force_len, uint8_t out[6])
{
    size_t n = 1;
    if (cp >= 0x4000000) {
        n = 6;
    } else if (cp >= 0x200000) {
        n = 5;
    } else if (cp >= 0x10000) {
        n = 4;
    } else if (cp >= 0x800) {
        n = 3;
    } else if (cp >= 0x80) {
        n = 2;
    }
    if (force_len > n && force_len <= 6) {
        n = force_len;
    }
    if (n == 1) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    for (size_t k = n - 1; k > 0; k--) {
        out[k] = (uint8_t)(0x80u | (cp & 0x3Fu));
        cp >>= 6;
    }
    static const uint8_t lead[7] = {0, 0, 0xC0, 0xE0, 0xF0, 0xF8, 0xFC};
    out[0] = (uint8_t)(lead[n] | cp);
    return n;
}
