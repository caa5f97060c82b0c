/* Private: the masking implementations of src/wick_mask.c, one by one, so
 * tests/test_mask.c can run every compiled path against the reference. */
#ifndef WICK_MASK_H
#define WICK_MASK_H

#include "wick_internal.h"

enum {
    WICK_MASK_PATH_BYTE = 0,   /* one byte at a time (the reference shape) */
    WICK_MASK_PATH_WORD = 1,   /* native word (8 or 4 bytes) per step, portable */
    WICK_MASK_PATH_SSE2 = 2,   /* x86 SSE2, 16 bytes per step */
    WICK_MASK_PATH_AVX2 = 3,   /* x86 AVX2, 32 bytes per step (runtime check) */
    WICK_MASK_PATH_NEON = 4,   /* ARM NEON, 16 bytes per step */
    WICK_MASK_PATH_WORD32 = 5, /* 4 bytes per step after aligning the
                                  destination: the word loop of 32-bit
                                  targets, compiled everywhere for tests */
    WICK_MASK_PATHS = 6
};

/* Applies the mask like wick_mask_apply() through one given path and
 * returns true, or returns false without touching anything when that path
 * is not compiled in or the CPU lacks it. */
bool wick__mask_apply_path(int path, uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase);

/* dst[0..len) = src[0..len) masked with key from key byte ph (0..3), in
 * one pass. dst and src must be equal or not overlap at all. */
void wick__mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t ph);

/* Where a fused pass is cheap (64-bit words with unaligned access: x86-64,
 * AArch64): dst[0..len) = src[0..len) masked with the key from byte ph
 * (dst == src, or apart), returning whether every masked byte is ASCII, so
 * a text payload is unmasked and found plain ASCII in one pass. */
#if SIZE_MAX > 0xFFFFFFFFU && (defined(__x86_64__) || defined(__aarch64__))
#define WICK__MASK_ASCII 1
bool wick__mask_ascii(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                      size_t ph);
#endif

/* wick__mask_copy() through one given path, as wick__mask_apply_path(). */
bool wick__mask_copy_path(int path, uint8_t *dst, const uint8_t *src, size_t len,
                          const uint8_t key[4]);

#endif
