/*
 * trace: renders wick_conn callbacks as one line of text, so a failing
 * test prints a readable diff, plus a harness that drives a wick_conn
 * through the split driver (tests/support/split.h).
 *
 * Events, joined with " | ":
 *   begin text|binary            on_data with WICK_DATA_FIRST (a chunk with
 *                                another opcode than the first adds
 *                                !opcode-changed)
 *   data fin=0|1 "bytes"         on_data; consecutive chunks are merged (the
 *                                chunking depends on the input split), a
 *                                piece ends at fin or at the next other event
 *   message text|binary "bytes"  on_message
 *   ping "bytes"  pong "bytes"   on_ping / on_pong
 *   close 1000 "reason"          on_close
 *   error WICK_ERR_UTF8          on_error
 * Bytes print as ASCII when printable, else \xNN; long data prints as
 * <N bytes> once it exceeds TRACE_DATA_MAX (the data is still compared).
 *
 * The harness's result() is "<events> => <last recv status> || <output>",
 * where <output> is the engine's output frames in hex with the mask bit and
 * key removed and the payload unmasked ("-" when empty); a frame whose mask
 * bit does not match the role is flagged "!mask".
 */
#ifndef WICK_TEST_TRACE_H
#define WICK_TEST_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/split.h"
#include "wick.h"

#define TRACE_DATA_MAX 64

typedef struct trace trace;

struct trace {
    split_buf ev;  /* rendered events */
    uint8_t *dbuf; /* on_data bytes not yet rendered */
    size_t dlen, dcap;
    bool data_open;    /* data holds a piece (maybe empty) */
    uint8_t opcode;    /* opcode of the message being streamed */
    bool pause_all;    /* every callback (but on_error) returns WICK_PAUSE */
    unsigned fail_at;  /* callback number (1-based) that returns -1; 0: none */
    unsigned calls;    /* callbacks so far (on_error excluded) */
    unsigned errors;   /* on_error calls */
    uint64_t rng;      /* deterministic source for cb->random */
    bool random_fails; /* cb->random returns -1 */
    /* Optional: called at the end of every callback except on_error with
     * the event name; a non-zero result replaces the callback's result. */
    int (*hook)(trace *t, wick_conn *c, const char *event);
    void *hook_ctx;
};

/* Callbacks that render into the trace given as the user pointer (all
 * members set, including random). */
extern const wick_callbacks trace_callbacks;

void trace_reset(trace *t);
void trace_free(trace *t);
/* Appends a free-form item (e.g. "send -> WICK_OK"). */
void trace_note(trace *t, const char *text);
/* The events so far (flushes a pending data piece). */
const char *trace_str(trace *t);

/* Appends bytes the way the trace shows them: "text" or <N bytes hash>. */
void trace_quote(split_buf *b, const uint8_t *p, size_t n);
/* Renders out[0..len) (whole frames) as described above into b. */
void trace_render_out(split_buf *b, const uint8_t *out, size_t len, wick_role role);
/* Parses "81 05 48 65 'Hello' ..." (hex bytes and '...' ASCII runs) into
 * buf; returns the length, or (size_t)-1 when it does not fit or is bad. */
size_t trace_hex(const char *s, uint8_t *buf, size_t cap);
/* Masks every frame in buf[0..len) with key 37 fa 21 3d (RFC 6455 5.7) into
 * out, as a client would send it; returns the new length ((size_t)-1 when
 * it does not fit). Trailing bytes that are not a whole frame header are
 * copied unchanged. */
size_t trace_mask_frames(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* --- Harness: one wick_conn fed through split_run_all() --------------- */

#define HARNESS_OUT_CAP 4096

typedef struct harness {
    wick_conn conn;
    wick_conn_config cfg;     /* set before running; out_buf is filled in */
    const wick_callbacks *cb; /* NULL: trace_callbacks */
    trace tr;
    bool drain;       /* drain the output after every recv (default) */
    wick_err last;    /* last recv status */
    uint8_t *raw_out; /* drained output bytes */
    size_t raw_len, raw_cap;
    split_buf result;
    uint8_t out_buf[HARNESS_OUT_CAP];
} harness;

/* Sets defaults: server role config, out buffer, draining on. */
void harness_init(harness *h, wick_role role);
void harness_free(harness *h);
extern const split_ops harness_ops;

/* Runs every split of in[0..len) and compares with want (see split.h).
 * When pause is set, the run is repeated with every callback pausing.
 * Returns 0 when all runs agree with want. */
int harness_run(harness *h, const uint8_t *in, size_t len, const char *want, bool pause);

#endif /* WICK_TEST_TRACE_H */
