/*
 * split: feed one input to an incremental consumer under every chunking and
 * check that every run gives the same result (house style 3.10).
 *
 * Chunkings, in this order:
 *   1. the whole input in one call (the reference run);
 *   2. two chunks, split at every point 1..len-1 (for inputs longer than
 *      opts.max_points, every point in the first and last opts.max_points/2
 *      bytes plus evenly spaced points in between);
 *   3. one byte per call;
 *   4. opts.random_runs random chunkings from opts.seed (chunk sizes mix
 *      1..8 bytes and 1..len bytes).
 *
 * Each chunk is copied into its own heap block of exactly the chunk's size,
 * so ASan/valgrind catch a read or write past the end of the chunk the
 * consumer was given; what the consumer writes (e.g. unmasking in place) is
 * copied back into the run's working copy of the input. The caller's `in`
 * is never modified.
 *
 * Cost: about (max_points + random_runs + 2) runs over the input, and a
 * consumer that keeps pausing gets the rest of its chunk copied again on
 * every re-offer. For inputs of many KiB pass opts with a small max_points
 * (e.g. 64-128) and few random runs, and keep traces short (hash large
 * payloads rather than printing them).
 *
 * How to use it:
 *
 *   struct my { wick_frame_parser p; split_buf trace; };
 *   static void my_begin(void *ctx) { reset parser; split_buf_reset(&m->trace); }
 *   static int my_feed(void *ctx, uint8_t *buf, size_t len, size_t *consumed)
 *   {   ... call the consumer, append what happened to m->trace ...
 *       *consumed = bytes the consumer took;
 *       return SPLIT_OK;        // or SPLIT_NEED_MORE / SPLIT_STOP / SPLIT_FAIL
 *   }
 *   static void my_end(void *ctx, size_t leftover) { e.g. append finish() result }
 *   static const char *my_result(void *ctx) { return m->trace.str; }
 *   static const split_ops ops = {my_begin, my_feed, my_end, my_result};
 *
 *   assert_int_equal(split_run_all(&ops, &m, in, len, "expected trace", NULL), 0);
 *
 * Return values of feed():
 *   SPLIT_OK        keep going. When *consumed < len (e.g. wick_conn_recv()
 *                   returned WICK_PAUSED), the unconsumed rest is offered
 *                   again at once, alone, before the next chunk. Returning
 *                   SPLIT_OK with *consumed == 0 more than SPLIT_MAX_STALLS
 *                   times in a row fails the run (no progress).
 *   SPLIT_NEED_MORE the consumer wants the rest again together with more
 *                   input (picohttpparser style): the unconsumed rest is kept
 *                   and offered prefixed to the next chunk. At the end of the
 *                   input, end() gets the number of bytes left over.
 *   SPLIT_STOP      end this run now (e.g. a sticky error was recorded in
 *                   the trace); the rest of the input is not offered.
 *   SPLIT_FAIL      (negative) abort everything: split_run_all returns -1.
 *
 * end() (may be NULL) runs once after the last chunk, with the number of
 * bytes never consumed (0 unless NEED_MORE/STOP left some). result() must
 * return a NUL-terminated string describing the run; every run must give
 * the same string as the whole-input run, and as `want` when want is not
 * NULL. On a mismatch split_run_all prints the chunking and both strings to
 * stderr and returns -1; it returns 0 when all runs agree.
 */
#ifndef WICK_TEST_SPLIT_H
#define WICK_TEST_SPLIT_H

#include <stddef.h>
#include <stdint.h>

enum {
    SPLIT_OK = 0,
    SPLIT_NEED_MORE = 1,
    SPLIT_STOP = 2,
    SPLIT_FAIL = -1
};

#define SPLIT_MAX_STALLS 64

typedef struct split_ops {
    void (*begin)(void *ctx);
    int (*feed)(void *ctx, uint8_t *buf, size_t len, size_t *consumed);
    void (*end)(void *ctx, size_t leftover);
    const char *(*result)(void *ctx);
} split_ops;

typedef struct split_opts {
    size_t max_points;    /* 0: default 1024 */
    unsigned random_runs; /* 0: default 32 */
    uint64_t seed;        /* 0: default fixed seed */
} split_opts;

/* Runs every chunking of in[0..len) (see above). opts may be NULL. */
int split_run_all(const split_ops *ops, void *ctx, const uint8_t *in, size_t len,
                  const char *want, const split_opts *opts);

/* Runs one chunking given as an array of chunk sizes (summing to len);
 * stores result() in a malloc'd string at *out (caller frees). Returns 0,
 * or -1 when feed() failed or stalled. Useful to reproduce one failing run. */
int split_run_sizes(const split_ops *ops, void *ctx, const uint8_t *in, size_t len,
                    const size_t *sizes, size_t nsizes, char **out);

/* A deterministic generator (xorshift64*) for tests: never use rand(). */
uint64_t split_rng_next(uint64_t *state);
/* Uniform-ish value in [0, n) (n > 0). */
size_t split_rng_below(uint64_t *state, size_t n);

/* A growable string for traces. Zero-initialize, then use. */
typedef struct split_buf {
    char *str; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
} split_buf;

void split_buf_reset(split_buf *b);
void split_buf_free(split_buf *b);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void split_buf_printf(split_buf *b, const char *fmt, ...);
/* Appends bytes as printable text: ASCII printable as is, others as \xNN. */
void split_buf_bytes(split_buf *b, const uint8_t *p, size_t n);
/* The string, "" when nothing was appended yet. */
const char *split_buf_str(const split_buf *b);

#endif /* WICK_TEST_SPLIT_H */
