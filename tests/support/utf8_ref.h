/*
 * utf8_ref: a deliberately simple, byte-at-a-time UTF-8 checker used as the
 * reference for wick_utf8 (differential tests, fuzz_utf8_diff).
 *
 * It works by code point (RFC 3629 section 3/4): it decodes as much of each
 * sequence as it has seen and asks whether some valid scalar value (not
 * overlong, not a surrogate, at most U+10FFFF) can still start that way,
 * rather than following a byte-range table like the library does.
 */
#ifndef WICK_TEST_UTF8_REF_H
#define WICK_TEST_UTF8_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns the offset of the first byte at which buf[0..len) stops being a
 * prefix of valid UTF-8, or len when every byte can be part of valid UTF-8.
 * When it returns len, *incomplete (may be NULL) says whether the input
 * ends inside a sequence. */
size_t utf8_ref_first_invalid(const uint8_t *buf, size_t len, bool *incomplete);

/* Writes the UTF-8 encoding of code point cp (any value up to 0x7FFFFFFF,
 * surrogates included, so tests can build invalid input too) using the
 * minimal length, or `force_len` bytes (overlong) when force_len is larger.
 * Returns the number of bytes written (1..6). */
size_t utf8_ref_encode(uint32_t cp, size_t force_len, uint8_t out[6]);

#endif /* WICK_TEST_UTF8_REF_H */
