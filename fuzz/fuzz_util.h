/*
 * Shared helpers for the fuzz targets (fuzz/fuzz_*.c): an input reader that
 * takes decisions from the front of the fuzz input, a small deterministic
 * generator, a byte-at-a-time reference UTF-8 decoder, AddressSanitizer
 * poisoning helpers, and the failure macro.
 *
 * Everything is static inline so each target includes only what it uses
 * without unused-function warnings. Test code: stdio/stdlib are fine here.
 */
#ifndef WICK_FUZZ_UTIL_H
#define WICK_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fails the run with a message; libFuzzer and replay.c both report the
 * abort() with the input that caused it. */
#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* --- AddressSanitizer: poison the unused tail of a buffer so a read past
 * the length the parser was given is reported, even inside one block. */
#if defined(__SANITIZE_ADDRESS__)
#define FZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_ASAN 1
#endif
#endif

#ifdef FZ_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define FZ_POISON(p, n)   __asan_poison_memory_region((p), (n))
#define FZ_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define FZ_POISON(p, n)   ((void)(p), (void)(n))
#define FZ_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* malloc that never returns NULL (n == 0 gives a 1-byte block). */
static inline void *fz_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* A copy of data[0..n) in a block of exactly n bytes. */
static inline uint8_t *fz_dup(const uint8_t *data, size_t n)
{
    uint8_t *p = fz_alloc(n);
    if (n) {
        memcpy(p, data, n);
    }
    return p;
}

/* --- Input reader: decisions come from the front; exhausted input reads
 * as zeros so every input is a valid script. */
typedef struct fz_in {
    const uint8_t *p;
    size_t n;
} fz_in;

static inline uint8_t fz_u8(fz_in *in)
{
    if (in->n == 0) {
        return 0;
    }
    in->n--;
    return *in->p++;
}

static inline uint16_t fz_u16(fz_in *in)
{
    uint16_t hi = fz_u8(in);
    return (uint16_t)((hi << 8) | fz_u8(in));
}

static inline uint32_t fz_u32(fz_in *in)
{
    uint32_t v = fz_u16(in);
    return (v << 16) | fz_u16(in);
}

/* Takes up to `want` bytes; returns how many and points *out at them. */
static inline size_t fz_take(fz_in *in, size_t want, const uint8_t **out)
{
    size_t n = want < in->n ? want : in->n;
    *out = in->p;
    in->p += n;
    in->n -= n;
    return n;
}

/* --- Deterministic generator (xorshift64*), seeded from input bytes. */
static inline uint64_t fz_rng(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Du;
}

/* A chunk size in 1..max, biased to small sizes (every split matters). */
static inline size_t fz_chunk(uint64_t *s, size_t max)
{
    uint64_t r = fz_rng(s);
    size_t lim;
    switch (r & 3u) {
    case 0:
        lim = 1;
        break;
    case 1:
        lim = 8;
        break;
    case 2:
        lim = 64;
        break;
    default:
        lim = max;
        break;
    }
    if (lim > max) {
        lim = max;
    }
    if (lim == 0) {
        return 1;
    }
    return 1 + (size_t)((r >> 8) % lim);
}

/* --- Reference UTF-8 decoder (RFC 3629 section 4, one byte at a time).
 * Written independently of src/wick_utf8.c: it keeps how many
 * continuation bytes are still due and the range the next one must be in. */
typedef struct fz_utf8 {
    uint8_t need; /* continuation bytes still due */
    uint8_t lo;   /* allowed range of the next continuation byte */
    uint8_t hi;
    bool failed;
} fz_utf8;

static inline void fz_utf8_init(fz_utf8 *u)
{
    u->need = 0;
    u->lo = 0x80;
    u->hi = 0xBF;
    u->failed = false;
}

/* Returns false when b cannot continue valid UTF-8 (and stays failed). */
static inline bool fz_utf8_step(fz_utf8 *u, uint8_t b)
{
    if (u->failed) {
        return false;
    }
    if (u->need > 0) {
        if (b < u->lo || b > u->hi) {
            u->failed = true;
            return false;
        }
        u->need--;
        u->lo = 0x80;
        u->hi = 0xBF;
        return true;
    }
    if (b < 0x80) {
        return true;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        u->need = 1;
    } else if (b == 0xE0) {
        u->need = 2;
        u->lo = 0xA0; /* no overlong 3-byte forms */
    } else if (b == 0xED) {
        u->need = 2;
        u->hi = 0x9F; /* no surrogates U+D800..U+DFFF */
    } else if (b >= 0xE1 && b <= 0xEF) {
        u->need = 2;
    } else if (b == 0xF0) {
        u->need = 3;
        u->lo = 0x90; /* no overlong 4-byte forms */
    } else if (b >= 0xF1 && b <= 0xF3) {
        u->need = 3;
    } else if (b == 0xF4) {
        u->need = 3;
        u->hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        u->failed = true;
        return false;
    }
    return true;
}

/* Offset of the first invalid byte of buf[0..len) fed after state u, or
 * len when every byte is acceptable. */
static inline size_t fz_utf8_scan(fz_utf8 *u, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!fz_utf8_step(u, buf[i])) {
            return i;
        }
    }
    return len;
}

static inline bool fz_utf8_complete(const fz_utf8 *u)
{
    return !u->failed && u->need == 0;
}

/* ASCII case-insensitive equality of two views. */
static inline bool fz_str_ieq(wick_str a, wick_str b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        unsigned char x = (unsigned char)a.ptr[i];
        unsigned char y = (unsigned char)b.ptr[i];
        if (x >= 'A' && x <= 'Z') {
            x = (unsigned char)(x + 32);
        }
        if (y >= 'A' && y <= 'Z') {
            y = (unsigned char)(y + 32);
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

/* True when view s is {NULL,0}-absent or lies inside base[0..len). */
static inline bool fz_view_in(wick_str s, const char *base, size_t len)
{
    if (s.ptr == NULL) {
        return s.len == 0;
    }
    return s.ptr >= base && s.len <= len && (size_t)(s.ptr - base) <= len - s.len;
}

#endif /* WICK_FUZZ_UTIL_H */
