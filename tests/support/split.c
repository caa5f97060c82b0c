/* Feed-every-split driver for incremental consumers; see split.h. */
#include "support/split.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "split: out of memory\n");
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

uint64_t split_rng_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Du;
}

size_t split_rng_below(uint64_t *state, size_t n)
{
    return (size_t)(split_rng_next(state) % (uint64_t)n);
}

void split_buf_reset(split_buf *b)
{
    b->len = 0;
    if (b->str != NULL) {
        b->str[0] = '\0';
    }
}

void split_buf_free(split_buf *b)
{
    free(b->str);
    b->str = NULL;
    b->len = 0;
    b->cap = 0;
}

static void buf_reserve(split_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        cap *= 2;
    }
    char *n = realloc(b->str, cap);
    if (n == NULL) {
        fprintf(stderr, "split: out of memory\n");
        abort();
    }
    b->str = n;
    b->cap = cap;
}

void split_buf_printf(split_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    buf_reserve(b, (size_t)n);
    if ((size_t)n < sizeof(tmp)) {
        memcpy(b->str + b->len, tmp, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->str + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void split_buf_bytes(split_buf *b, const uint8_t *p, size_t n)
{
    buf_reserve(b, n * 4);
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"') {
            b->str[b->len++] = (char)p[i];
        } else {
            b->len += (size_t)snprintf(b->str + b->len, 5, "\\x%02x", p[i]);
        }
    }
    b->str[b->len] = '\0';
}

const char *split_buf_str(const split_buf *b)
{
    return b->str != NULL ? b->str : "";
}

/* Offers work[*pos..avail) to feed() until it is used up, the consumer
 * asks for more, or stops. Returns SPLIT_OK, SPLIT_NEED_MORE, SPLIT_STOP or
 * SPLIT_FAIL. */
static int offer(const split_ops *ops, void *ctx, uint8_t *work, size_t *pos, size_t avail)
{
    unsigned stalls = 0;
    for (;;) {
        size_t n = avail - *pos;
        uint8_t *chunk = xmalloc(n);
        memcpy(chunk, work + *pos, n);
        size_t consumed = 0;
        int rc = ops->feed(ctx, chunk, n, &consumed);
        memcpy(work + *pos, chunk, n);
        free(chunk);
        if (rc < 0) {
            return SPLIT_FAIL;
        }
        if (consumed > n) {
            fprintf(stderr, "split: feed consumed %zu of %zu bytes\n", consumed, n);
            return SPLIT_FAIL;
        }
        *pos += consumed;
        if (rc == SPLIT_STOP || rc == SPLIT_NEED_MORE) {
            return rc;
        }
        if (rc != SPLIT_OK) {
            fprintf(stderr, "split: feed returned unknown status %d\n", rc);
            return SPLIT_FAIL;
        }
        if (*pos == avail) {
            return SPLIT_OK;
        }
        if (consumed == 0 && ++stalls > SPLIT_MAX_STALLS) {
            fprintf(stderr, "split: no progress after %u calls at offset %zu\n", stalls, *pos);
            return SPLIT_FAIL;
        }
        if (consumed != 0) {
            stalls = 0;
        }
    }
}

int split_run_sizes(const split_ops *ops, void *ctx, const uint8_t *in, size_t len,
                    const size_t *sizes, size_t nsizes, char **out)
{
    uint8_t *work = xmalloc(len);
    if (len != 0) {
        memcpy(work, in, len);
    }
    ops->begin(ctx);
    size_t pos = 0;
    size_t avail = 0;
    int rc = SPLIT_OK;
    for (size_t i = 0; i < nsizes; i++) {
        if (sizes[i] > len - avail) {
            fprintf(stderr, "split: chunk sizes exceed the input length\n");
            rc = SPLIT_FAIL;
            break;
        }
        avail += sizes[i];
        rc = offer(ops, ctx, work, &pos, avail);
        if (rc == SPLIT_FAIL || rc == SPLIT_STOP) {
            break;
        }
    }
    free(work);
    *out = NULL;
    if (rc == SPLIT_FAIL) {
        return -1;
    }
    if (ops->end != NULL) {
        ops->end(ctx, len - pos);
    }
    *out = xstrdup(ops->result(ctx));
    return 0;
}

static void describe(char *d, size_t cap, const size_t *sizes, size_t nsizes)
{
    size_t used = (size_t)snprintf(d, cap, "%zu chunks:", nsizes);
    for (size_t i = 0; i < nsizes && used + 24 < cap; i++) {
        used += (size_t)snprintf(d + used, cap - used, " %zu", sizes[i]);
        if (i == 15 && nsizes > 17) {
            snprintf(d + used, cap - used, " ...");
            break;
        }
    }
}

/* Runs one chunking and compares with ref (and want). */
static int check(const split_ops *ops, void *ctx, const uint8_t *in, size_t len,
                 const size_t *sizes, size_t nsizes, const char *ref)
{
    char *got = NULL;
    char desc[256];
    int rc = split_run_sizes(ops, ctx, in, len, sizes, nsizes, &got);
    if (rc != 0 || strcmp(got, ref) != 0) {
        describe(desc, sizeof(desc), sizes, nsizes);
        fprintf(stderr, "split: run differs (%s)\n  want: %s\n  got:  %s\n", desc, ref,
                got != NULL ? got : "(feed failed)");
        free(got);
        return -1;
    }
    free(got);
    return 0;
}

static int check_points(const split_ops *ops, void *ctx, const uint8_t *in, size_t len,
                        size_t max_points, const char *ref)
{
    if (len < 2) {
        return 0;
    }
    size_t half = max_points / 2 ? max_points / 2 : 1;
    size_t step = 1;
    if (len - 1 > max_points) {
        step = (len - 1) / half;
    }
    for (size_t k = 1; k < len; k++) {
        int edge = (len - 1 <= max_points) || k <= half || k >= len - half;
        if (!edge && (k % step) != 0) {
            continue;
        }
        size_t sizes[2] = {k, len - k};
        if (check(ops, ctx, in, len, sizes, 2, ref) != 0) {
            return -1;
        }
    }
    return 0;
}

int split_run_all(const split_ops *ops, void *ctx, const uint8_t *in, size_t len,
                  const char *want, const split_opts *opts)
{
    size_t max_points = (opts != NULL && opts->max_points) ? opts->max_points : 1024;
    unsigned runs = (opts != NULL && opts->random_runs) ? opts->random_runs : 32;
    uint64_t rng = (opts != NULL && opts->seed) ? opts->seed : 0x5EED5EED1234ABCDu;

    char *ref = NULL;
    size_t whole = len;
    if (split_run_sizes(ops, ctx, in, len, &whole, 1, &ref) != 0) {
        fprintf(stderr, "split: whole-input run failed\n");
        return -1;
    }
    int rc = 0;
    if (want != NULL && strcmp(ref, want) != 0) {
        fprintf(stderr, "split: whole-input run\n  want: %s\n  got:  %s\n", want, ref);
        rc = -1;
    }
    if (rc == 0) {
        rc = check_points(ops, ctx, in, len, max_points, ref);
    }
    size_t *sizes = xmalloc(len * sizeof(size_t));
    if (rc == 0 && len > 1) {
        for (size_t i = 0; i < len; i++) {
            sizes[i] = 1;
        }
        rc = check(ops, ctx, in, len, sizes, len, ref);
    }
    for (unsigned r = 0; rc == 0 && r < runs && len > 1; r++) {
        size_t n = 0;
        size_t left = len;
        size_t cap = (r % 2 == 0) ? 8 : len;
        while (left > 0) {
            size_t s = 1 + split_rng_below(&rng, cap < left ? cap : left);
            sizes[n++] = s;
            left -= s;
        }
        rc = check(ops, ctx, in, len, sizes, n, ref);
    }
    free(sizes);
    free(ref);
    return rc;
}
