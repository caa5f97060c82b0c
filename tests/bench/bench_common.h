/* Shared helpers for the wick benchmarks (tests/bench/): a monotonic
 * clock, a seeded generator, statistics over repetitions, and a generator
 * of valid UTF-8 text in several scripts. Header-only; each bench program
 * includes it once. Not part of the library. */
#ifndef WICK_BENCH_COMMON_H
#define WICK_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_REPS 64

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: deterministic for a given seed. */
static inline uint64_t bench_rng(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_stat {
    double med, min, max;
} bench_stat;

static inline bench_stat bench_stats(const double *v, int n)
{
    double tmp[BENCH_MAX_REPS];
    memcpy(tmp, v, (size_t)n * sizeof(double));
    qsort(tmp, (size_t)n, sizeof(double), bench_cmp_double);
    bench_stat s;
    s.min = tmp[0];
    s.max = tmp[n - 1];
    s.med = (n % 2) ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2.0;
    return s;
}

/* Appends one code point as UTF-8; returns its length. */
static inline size_t bench_put_cp(uint8_t *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (uint8_t)(0xC0 | (cp >> 6));
        p[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (uint8_t)(0xE0 | (cp >> 12));
        p[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        p[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (uint8_t)(0xF0 | (cp >> 18));
    p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    p[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Text kinds for bench_text(). */
enum {
    TEXT_ASCII = 0, /* printable ASCII only */
    TEXT_MIXED = 1, /* ASCII, Latin-1, Greek, Cyrillic, CJK, a few emoji */
    TEXT_CJK = 2,   /* Latin text with accents plus CJK: 1-3 byte characters */
    TEXT_EMOJI = 3  /* mostly 4-byte emoji with spaces and ASCII */
};

static inline uint32_t bench_pick_cp(uint64_t *rng, int kind)
{
    uint64_t r = bench_rng(rng);
    unsigned k = (unsigned)(r % 100);
    uint32_t x = (uint32_t)(r >> 32);
    switch (kind) {
    case TEXT_ASCII:
        return 0x20 + x % 95;
    case TEXT_CJK:
        if (k < 35) {
            return 0x20 + x % 95;
        }
        if (k < 50) {
            return 0xC0 + x % 0x40; /* Latin-1 letters */
        }
        return 0x4E00 + x % 0x5000; /* CJK unified ideographs */
    case TEXT_EMOJI:
        if (k < 25) {
            return 0x20 + x % 95;
        }
        if (k < 30) {
            return 0x2600 + x % 0x100; /* misc symbols (3 bytes) */
        }
        return 0x1F300 + x % 0x300; /* emoji (4 bytes) */
    default:
        if (k < 50) {
            return 0x20 + x % 95;
        }
        if (k < 60) {
            return 0xA0 + x % 0x60;
        }
        if (k < 70) {
            return 0x391 + x % 0x30; /* Greek */
        }
        if (k < 80) {
            return 0x410 + x % 0x40; /* Cyrillic */
        }
        if (k < 95) {
            return 0x4E00 + x % 0x5000;
        }
        return 0x1F600 + x % 0x50;
    }
}

/* Fills p[0..n) with valid UTF-8 of the given kind (the tail is padded
 * with ASCII so the length is exact). */
static inline void bench_text(uint64_t *rng, int kind, uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t tmp[4];
        size_t k = bench_put_cp(tmp, bench_pick_cp(rng, kind));
        if (k > n - i) {
            while (i < n) {
                p[i++] = 'a';
            }
            break;
        }
        memcpy(p + i, tmp, k);
        i += k;
    }
}

/* Pins the process to one CPU when BENCH_CPU is set (taskset also works). */
static inline void bench_banner(const char *name)
{
    printf("# %s\n", name);
    fflush(stdout);
}

#endif
