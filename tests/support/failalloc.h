/*
 * failalloc: a wick_allocator for tests that counts allocations, checks
 * that free() gets back the size that was allocated, and can fail the Nth
 * allocation (nghttp2 failmalloc idea).
 */
#ifndef WICK_TEST_FAILALLOC_H
#define WICK_TEST_FAILALLOC_H

#include <stddef.h>

#include "wick.h"

typedef struct failalloc {
    wick_allocator a; /* pass &fa.a as cfg.allocator; a.ud points here */
    unsigned allocs;  /* successful allocations */
    unsigned frees;
    unsigned attempts;  /* allocation calls, failed ones included */
    unsigned fail_at;   /* attempt number (1-based) that fails; 0: none */
    unsigned bad_frees; /* free() with a size that does not match */
    size_t live;        /* bytes allocated and not freed */
    size_t peak;        /* largest `live` seen */
} failalloc;

/* Zeroes the counters and sets the hook up; fail_at as above. */
void failalloc_init(failalloc *f, unsigned fail_at);

#endif /* WICK_TEST_FAILALLOC_H */
