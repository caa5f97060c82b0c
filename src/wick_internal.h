/*
 * Included first by every file in src/. Brings in the public header and
 * the few internal helpers shared across modules. The core needs only
 * <stddef.h> <stdint.h> <stdbool.h> <string.h>.
 */
#ifndef WICK_INTERNAL_H
#define WICK_INTERNAL_H

#include "wick.h"

#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define wick__likely(x)   __builtin_expect(!!(x), 1)
#define wick__unlikely(x) __builtin_expect(!!(x), 0)
#else
#define wick__likely(x)   (x)
#define wick__unlikely(x) (x)
#endif

/* Internal invariants only; input bytes never reach an assert, they give
 * errors. Compiled out with NDEBUG or in the freestanding build. */
#if defined(WICK_DEBUG) && !defined(NDEBUG)
#define WICK_ASSERT(x)                                                                             \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)
#else
#define WICK_ASSERT(x) ((void)0)
#endif

/* Big-endian loads and stores through explicit shifts: no alignment or
 * aliasing assumptions (BearSSL br_dec16be style). */
static inline uint16_t wick__load_be16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | (unsigned)p[1]);
}

static inline uint64_t wick__load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static inline void wick__store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void wick__store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Writes a frame header for a checked (b0, len, mask) into out, which has
 * room for wick_frame_header_size(len, mask != NULL) bytes; returns that
 * size (src/wick_frame_write.c; also used by the engine's output side). */
size_t wick__frame_put_header(uint8_t *out, uint8_t b0, uint64_t len, const uint8_t *mask);

/* ASCII lower-casing without locale. */
static inline char wick__lower(char ch)
{
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch + ('a' - 'A')) : ch;
}

#endif /* WICK_INTERNAL_H */
