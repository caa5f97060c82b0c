/*
 * fuzz_conn: the whole connection engine (wick_conn), in both roles, driven
 * by a script taken from the input.
 *
 * The engine under test ("eng") gets wire bytes from the input, either raw
 * or as frames built by the script, fed in input-chosen chunks (each in a
 * block of its exact size, so ASan catches a read past it). The harness is
 * a careful caller: bytes left unconsumed on WICK_NEED_MORE are kept and
 * passed again in front of the next chunk; on WICK_BLOCKED the output is
 * drained to the peer before the rest is offered again; on WICK_PAUSED the
 * rest waits for a later feed operation.
 *
 * Checks on every wick_conn_recv() result:
 *   - WICK_OK: everything consumed, no callback paused or failed;
 *   - WICK_NEED_MORE: 1..131 bytes left, untouched, and they really are an
 *     incomplete frame header or an incomplete control frame (a whole data
 *     frame header, or a whole control frame, must have been taken);
 *   - WICK_BLOCKED: the bytes left are untouched and start with a whole
 *     ping, auto-pong is on, no close was sent, and the pong does not fit in
 *     the output (pending + WICK_OUT_RESERVE + pong frame > out_cap);
 *   - WICK_PAUSED exactly when a callback paused; the rest untouched;
 *   - errors: exactly one on_error with the same error, sticky.
 * Callback checks: WICK_DATA_FIRST exactly on the first chunk of each
 * message and WICK_DATA_FIN exactly on the last, the opcode constant
 * within a message; text is valid UTF-8 so far (and complete at FIN or in
 * on_message); sizes within the limits; on_data is never called for a
 * message delivered whole (on_message set and storage configured), except
 * for one over max_message under WICK_CONF_OVERSIZE_STREAM, which then
 * never reaches on_message; close codes allowed on the wire; recv/reset
 * refused inside callbacks.
 *
 * Differential check (every run without the extension hook): the bytes
 * eng consumed are, after each wick_conn_recv(), also fed to the public
 * frame parser (same role, no RSV bits, max_frame) followed by a small
 * model of the message rules written here: RFC 6455 5.4 fragmentation,
 * 5.5 control frames, 5.5.1 close payload/code/reason, 8.1 UTF-8 of text
 * with fail-fast (a streaming caller gets the valid prefix), max_frame and
 * max_message at the frame header (1009, or streaming under
 * OVERSIZE_STREAM), delivery whole or streamed, nothing after a close or
 * a failure. Both sides write an event log (message begin + opcode, data
 * bytes merged, message end, ping, pong, close code + reason, error) and
 * the two logs must be equal after every call, including the exact
 * wick_err of a failure. After an injected failure (callback returning -1,
 * allocator or random-source failure) the engine's log must be a prefix of
 * the model's, and comparing stops until the next reset.
 *
 * Everything eng writes goes to a second engine of the other role ("peer"),
 * which must never fail: wick must never produce bytes wick rejects. The
 * close code the peer receives must be the one eng chose (wick_conn_close)
 * or the one its failure maps to (wick_err_close_code). Every pong the peer
 * gets echoes a ping eng received, and their number is exactly the number
 * of pings eng received while auto-pong was on and no close was sent.
 *
 * Input layout: 12 configuration bytes, then operations, one byte each
 * followed by their arguments (see LLVMFuzzerTestOneInput and the op_*
 * functions):
 *   c[0]  bit 0 client role, 1 NO_UTF8_CHECK, 2 NO_AUTO_PONG,
 *         3 OVERSIZE_STREAM, 4 msg_buf, 5 allocator, 6 extension (RSV1),
 *         7 tiny limits (max_frame 100, max_message 300);
 *   c[1]  bits 0-1 out_cap, 2-3 msg_cap, 4-6 extension emit piece size
 *         (odd: a decoder that goes on after a pause, even: one that stops),
 *         7 whole-message delivery off (no on_message callback: everything
 *         streams through on_data even with storage configured);
 *   c[2]  callback number that returns -1 (0: none);
 *   c[3..6]  pause bits, c[7..10] in-callback action bits (callback k uses
 *         bit k % 32);
 *   c[11] bits 0-3 allocation that fails, 4-7 random call that fails (x3).
 * Operations (op % 12): 0 raw bytes fed in chunks, 1 raw bytes fed whole,
 * 2 a built frame fed in chunks, 3 a built frame fed whole, 4-5 send /
 * send_some, 6 ping, 7 close, 8-9 drain output to the peer, 10 prepared
 * frame, 11 reset (bit 7), feed what is pending in one call (bit 6), or
 * feed what is pending in chunks.
 */
#include "fuzz_util.h"

/* Build with -DFZ_TRACE to print every recv and callback (debugging). */
#ifdef FZ_TRACE
#define TRACE(...) fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...) ((void)0)
#endif

/* Text sent by eng comes from this cyclic valid UTF-8 pattern, so any
 * fragmentation of it is valid as a whole message: a, b, U+00E9, U+20AC,
 * U+1F600, space. */
static const uint8_t pat[12] = {'a',  'b',  0xC3, 0xA9, 0xE2, 0x82,
                                0xAC, 0xF0, 0x9F, 0x98, 0x80, ' '};
static bool pat_boundary(size_t pos)
{
    size_t m = pos % sizeof(pat);
    return m == 0 || m == 1 || m == 2 || m == 4 || m == 7 || m == 11;
}

#define MAX_OPS   512
#define MAX_SEND  (70u * 1024u)
#define IN_MAX    (1u << 20)
#define WANT_MAX  (2u * IN_MAX)
#define PINGS_MAX 1024u
#define PEER_KEEP 256u

/* --- event logs (differential check) -------------------------------------- */

enum { EV_BEGIN = 'B', EV_DATA = 'D', EV_END = 'E', EV_PING = 'P', EV_PONG = 'O', EV_CLOSE = 'C',
       EV_ERROR = 'X' };

typedef struct lrec {
    uint8_t type;
    uint8_t op;  /* EV_BEGIN: opcode */
    int32_t val; /* EV_CLOSE: code; EV_ERROR: wick_err */
    size_t off;  /* bytes (data, ping/pong payload, close reason) in the log's byte store */
    size_t len;
} lrec;

typedef struct elog {
    lrec *r;
    size_t n, cap;
    uint8_t *b;
    size_t nb, bcap;
    bool begin_due; /* a message began; its EV_BEGIN is written with its first byte or end */
    uint8_t begin_op;
} elog;

static void log_clear(elog *l)
{
    l->n = 0;
    l->nb = 0;
    l->begin_due = false;
}

static void log_bytes(elog *l, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (l->nb + n > l->bcap) {
        size_t cap = l->bcap ? l->bcap : 4096;
        while (cap < l->nb + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(l->b, cap);
        FZ_CHECK(q != NULL);
        l->b = q;
        l->bcap = cap;
    }
    memcpy(l->b + l->nb, p, n);
    l->nb += n;
}

static void log_rec(elog *l, uint8_t type, uint8_t op, int32_t val, const uint8_t *p, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        lrec *q = realloc(l->r, cap * sizeof(*q));
        FZ_CHECK(q != NULL);
        l->r = q;
        l->cap = cap;
    }
    lrec *r = &l->r[l->n++];
    r->type = type;
    r->op = op;
    r->val = val;
    r->off = l->nb;
    r->len = n;
    log_bytes(l, p, n);
}

/* A message starts; it shows in the log once it has a byte or ends, so
 * both sides agree whatever empty fragments it had. */
static void log_begin(elog *l, uint8_t op)
{
    l->begin_due = true;
    l->begin_op = op;
}

static void log_flush_begin(elog *l)
{
    if (l->begin_due) {
        l->begin_due = false;
        log_rec(l, EV_BEGIN, l->begin_op, 0, NULL, 0);
    }
}

/* Data bytes; consecutive ones merge, so the chunking does not matter. */
static void log_data(elog *l, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return;
    }
    log_flush_begin(l);
    if (l->n > 0 && l->r[l->n - 1].type == EV_DATA) {
        log_bytes(l, p, n);
        l->r[l->n - 1].len += n;
        return;
    }
    log_rec(l, EV_DATA, 0, 0, p, n);
}

static void log_end(elog *l)
{
    log_flush_begin(l);
    log_rec(l, EV_END, 0, 0, NULL, 0);
}

static bool rec_eq(const lrec *a, const lrec *b)
{
    return a->type == b->type && a->op == b->op && a->val == b->val && a->off == b->off &&
           a->len == b->len;
}

static void log_dump(const char *who, const elog *l)
{
    fprintf(stderr, "%s log (%zu events):", who, l->n);
    size_t from = l->n > 12 ? l->n - 12 : 0;
    for (size_t i = from; i < l->n; i++) {
        const lrec *r = &l->r[i];
        fprintf(stderr, " %c", r->type);
        if (r->type == EV_BEGIN) {
            fprintf(stderr, "%u", r->op);
        } else if (r->type == EV_CLOSE || r->type == EV_ERROR) {
            fprintf(stderr, "%d", (int)r->val);
        }
        if (r->len) {
            fprintf(stderr, "[%zu]", r->len);
        }
    }
    fprintf(stderr, "\n");
}

/* --- reference model of the receive side ---------------------------------- */

typedef struct model {
    wick_frame_parser fp;
    elog log;
    bool done;  /* close received or failed: input ignored */
    bool reasm; /* whole-message delivery */
    bool check_utf8;
    bool oversize_stream;
    uint64_t max_frame;   /* 0: none */
    uint64_t max_message; /* effective: UINT64_MAX when none */
    /* current frame */
    uint8_t op;
    bool fin;
    uint8_t ctl[125];
    size_t ctl_len;
    /* current message */
    bool in_msg;
    uint8_t msg_op;
    uint64_t total;
    bool streaming; /* bytes go to the log as they come (else gathered) */
    bool oversize;
    fz_utf8 u;
    uint8_t *buf;
    size_t len, cap;
} model;

/* RFC 6455 7.4 and the IANA registry, written here independently. */
static bool ref_close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static void model_fail(model *m, wick_err e)
{
    log_rec(&m->log, EV_ERROR, 0, (int32_t)e, NULL, 0);
    m->done = true;
}

static void model_gather(model *m, const uint8_t *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        while (cap < m->len + n) {
            cap *= 2;
        }
        uint8_t *q = realloc(m->buf, cap);
        FZ_CHECK(q != NULL);
        m->buf = q;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
}

static void model_header(model *m, const wick_frame_header *h)
{
    m->op = h->opcode;
    m->fin = h->fin;
    m->ctl_len = 0;
    if (h->opcode >= 8) {
        return;
    }
    uint64_t plen = h->payload_len;
    if (m->max_frame != 0 && plen > m->max_frame) {
        model_fail(m, WICK_ERR_FRAME_TOO_BIG);
        return;
    }
    if (h->opcode == WICK_OP_CONT) {
        if (!m->in_msg) { /* RFC 6455 5.4 */
            model_fail(m, WICK_ERR_PROTO_CONTINUATION);
            return;
        }
    } else {
        if (m->in_msg) { /* RFC 6455 5.4: no interleaved messages */
            model_fail(m, WICK_ERR_PROTO_FRAGMENT);
            return;
        }
        m->in_msg = true;
        m->msg_op = h->opcode;
        m->total = 0;
        m->len = 0;
        m->oversize = false;
        m->streaming = !m->reasm;
        fz_utf8_init(&m->u);
        if (m->streaming) {
            log_begin(&m->log, m->msg_op);
        }
    }
    /* RFC 6455 10.4: the size limit applies at the header. */
    if (!m->oversize && plen > m->max_message - m->total) {
        if (!m->oversize_stream) {
            model_fail(m, WICK_ERR_TOO_BIG);
            return;
        }
        m->oversize = true;
        if (!m->streaming) {
            /* What was gathered streams first, then the rest. */
            m->streaming = true;
            log_begin(&m->log, m->msg_op);
            log_data(&m->log, m->buf, m->len);
            m->len = 0;
        }
    }
}

static void model_control(model *m)
{
    const uint8_t *p = m->ctl;
    size_t n = m->ctl_len;
    if (m->op == WICK_OP_CLOSE) { /* RFC 6455 5.5.1 */
        unsigned code = 1005;
        if (n == 1) {
            model_fail(m, WICK_ERR_PROTO_CLOSE_PAYLOAD);
            return;
        }
        if (n >= 2) {
            code = (unsigned)p[0] << 8 | p[1];
            if (!ref_close_code_ok(code)) {
                model_fail(m, WICK_ERR_PROTO_CLOSE_CODE);
                return;
            }
            fz_utf8 u;
            fz_utf8_init(&u);
            if (fz_utf8_scan(&u, p + 2, n - 2) != n - 2 || !fz_utf8_complete(&u)) {
                model_fail(m, WICK_ERR_UTF8);
                return;
            }
        }
        log_rec(&m->log, EV_CLOSE, 0, (int32_t)code, n >= 2 ? p + 2 : NULL, n >= 2 ? n - 2 : 0);
        m->done = true; /* RFC 6455 5.5.1: nothing after the close */
        return;
    }
    log_rec(&m->log, m->op == WICK_OP_PING ? EV_PING : EV_PONG, 0, 0, p, n);
}

static void model_data(model *m, const uint8_t *p, size_t n, bool frame_end)
{
    if (m->op >= 8) {
        FZ_CHECK(m->ctl_len + n <= sizeof(m->ctl));
        if (n) {
            memcpy(m->ctl + m->ctl_len, p, n);
        }
        m->ctl_len += n;
        if (frame_end) {
            model_control(m);
        }
        return;
    }
    bool text = m->check_utf8 && m->msg_op == WICK_OP_TEXT;
    if (text) {
        size_t ok = fz_utf8_scan(&m->u, p, n);
        if (ok < n) { /* RFC 6455 8.1: fail fast; a streaming caller gets the valid prefix */
            if (m->streaming) {
                log_data(&m->log, p, ok);
            }
            model_fail(m, WICK_ERR_UTF8);
            return;
        }
    }
    m->total += n;
    if (m->streaming) {
        log_data(&m->log, p, n);
    } else {
        model_gather(m, p, n);
    }
    if (!frame_end || !m->fin) {
        return;
    }
    if (text && !fz_utf8_complete(&m->u)) {
        model_fail(m, WICK_ERR_UTF8);
        return;
    }
    if (!m->streaming) {
        log_begin(&m->log, m->msg_op);
        log_data(&m->log, m->buf, m->len);
    }
    log_end(&m->log);
    m->in_msg = false;
}

/* The same bytes eng consumed (as they were before eng unmasked them). */
static void model_feed(model *m, const uint8_t *in, size_t n)
{
    if (m->done || n == 0) {
        return;
    }
    uint8_t *buf = fz_dup(in, n); /* the parser unmasks in place */
    size_t pos = 0;
    while (!m->done) {
        size_t used = 0;
        wick_frame_event ev;
        wick_err e = wick_frame_parser_feed(&m->fp, buf + pos, n - pos, &used, &ev);
        if (e != WICK_OK) {
            model_fail(m, e);
            break;
        }
        FZ_CHECK(used <= n - pos);
        pos += used;
        if (ev.type == WICK_FRAME_NONE) {
            FZ_CHECK(pos == n);
            break;
        }
        if (ev.type == WICK_FRAME_HEADER) {
            model_header(m, &ev.header);
        } else {
            model_data(m, ev.data, ev.len, ev.frame_end);
        }
    }
    free(buf);
}

/* --- harness state ---------------------------------------------------------- */

typedef struct side side;
typedef struct ctx ctx;

struct side {
    wick_conn c;
    ctx *x;
    bool is_peer;
    bool whole;           /* whole-message delivery configured */
    uint64_t max_message; /* effective limit */
    wick_conn_config cfg;
    uint8_t *out;
    uint8_t *msg;
    /* receive tracking */
    bool in_msg;
    uint8_t msg_op;
    fz_utf8 text;
    uint64_t msg_bytes;
    unsigned errors;
    wick_err err;
    unsigned closes;
    uint16_t close_code;
};

struct ctx {
    side eng, peer;
    fz_in *in;
    /* configuration */
    uint32_t pause_bits, act_bits;
    uint32_t fail_at;   /* eng callback number that returns -1 (0: none) */
    uint32_t ncb;       /* eng callbacks so far */
    bool paused;        /* a callback asked to pause during this recv */
    bool failed_cb;     /* a callback returned -1 */
    bool no_pause;      /* final flush: never pause */
    /* eng's outgoing message */
    bool out_msg;       /* a data message is in progress */
    uint8_t out_op;
    size_t text_pos;    /* position in pat */
    bool close_sent;    /* wick_conn_close() succeeded, or eng failed */
    int expect_code;    /* code the peer must receive (-1: any) */
    /* pending eng input */
    uint8_t *pend;
    size_t pend_len;
    size_t carry;       /* leading pend bytes left by WICK_NEED_MORE */
    bool blocked;       /* WICK_BLOCKED: drain before offering again */
    bool call_again;    /* WICK_PAUSED: call recv again even with no bytes */
    /* peer input left by WICK_NEED_MORE */
    uint8_t peer_keep[PEER_KEEP];
    size_t peer_keep_len;
    uint64_t rng;
    /* allocator */
    size_t live, nalloc, alloc_fail_at;
    size_t rand_calls, rand_fail_at;
    /* extension */
    size_t ext_piece;
    bool ext_lazy; /* the decoder goes on after emit asked for a pause */
    /* Model of the data eng must deliver, valid while all its input came
     * from script-built frames: the payloads of the data frames in order. */
    bool model_ok;
    uint8_t *want;
    size_t want_head, want_len;
    /* Payloads of the pings eng received: each pong the peer gets must
     * echo one of them (RFC 6455 5.5.3), and count them. */
    uint8_t (*pings)[126];
    size_t npings;
    size_t pongs_due, pongs_seen;
    /* differential check */
    bool diff;          /* comparing eng's log with the model's */
    bool injected;      /* an injected failure happened in this recv */
    bool ahead;         /* eng's log may be ahead of the model's (see feed) */
    elog elog;          /* eng's events */
    model m;
    size_t ok_rec, ok_bytes; /* log prefix already compared */
};

static bool checks_text(const side *s)
{
    return s->msg_op == WICK_OP_TEXT && !(s->cfg.flags & WICK_CONF_NO_UTF8_CHECK);
}

static void want_push(ctx *x, const uint8_t *p, size_t n)
{
    if (!x->model_ok) {
        return;
    }
    if (x->want_head > 0) {
        memmove(x->want, x->want + x->want_head, x->want_len - x->want_head);
        x->want_len -= x->want_head;
        x->want_head = 0;
    }
    if (x->want_len + n > WANT_MAX) {
        x->model_ok = false;
        return;
    }
    memcpy(x->want + x->want_len, p, n);
    x->want_len += n;
}

static void want_take(ctx *x, const side *s, const uint8_t *data, size_t len)
{
    if (!s->is_peer && x->model_ok && s->errors == 0) {
        /* The bytes are the next ones the built frames carried. */
        FZ_CHECK(len <= x->want_len - x->want_head);
        FZ_CHECK(len == 0 || memcmp(data, x->want + x->want_head, len) == 0);
        x->want_head += len;
    }
}

static void model_reset(ctx *x)
{
    model *m = &x->m;
    const side *s = &x->eng;
    log_clear(&m->log);
    log_clear(&x->elog);
    x->ok_rec = x->ok_bytes = 0;
    x->diff = s->cfg.extension == NULL;
    uint64_t mf = s->cfg.max_frame;
    /* The engine applies max_frame to data frames only; the parser to every
     * frame. Control frames (<= 125 bytes) must reach the model. */
    wick_frame_parser_init(&m->fp, s->cfg.role, 0, mf != 0 && mf < 125 ? 125 : mf);
    m->done = false;
    m->reasm = s->whole;
    m->check_utf8 = !(s->cfg.flags & WICK_CONF_NO_UTF8_CHECK);
    m->oversize_stream = (s->cfg.flags & WICK_CONF_OVERSIZE_STREAM) != 0;
    m->max_frame = mf;
    m->max_message = s->max_message;
    m->in_msg = false;
    m->len = 0;
}

/* eng's log must equal the model's (records and bytes), checked from where
 * the last comparison left off. */
static void diff_check(ctx *x)
{
    const elog *a = &x->elog, *b = &x->m.log;
    bool same = a->n == b->n && a->nb == b->nb;
    for (size_t i = x->ok_rec; same && i < a->n; i++) {
        same = rec_eq(&a->r[i], &b->r[i]);
    }
    same = same && (a->nb == x->ok_bytes ||
                    memcmp(a->b + x->ok_bytes, b->b + x->ok_bytes, a->nb - x->ok_bytes) == 0);
    if (!same) {
        log_dump("engine", a);
        log_dump("model ", b);
    }
    FZ_CHECK(same);
    x->ok_rec = a->n ? a->n - 1 : 0;
    x->ok_bytes = a->nb;
}

/* After an injected failure: eng's events before its on_error are a
 * prefix of the model's (the last data record possibly shorter). */
static void diff_check_prefix(ctx *x)
{
    const elog *a = &x->elog, *b = &x->m.log;
    FZ_CHECK(a->n > 0 && a->r[a->n - 1].type == EV_ERROR);
    size_t k = a->n - 1;
    bool same = k <= b->n && a->nb <= b->nb;
    for (size_t i = 0; same && i < k; i++) {
        const lrec *ra = &a->r[i], *rb = &b->r[i];
        if (i + 1 == k && ra->type == EV_DATA) {
            same = rb->type == EV_DATA && ra->off == rb->off && ra->len <= rb->len;
        } else {
            same = rec_eq(ra, rb);
        }
    }
    same = same && (a->nb == 0 || memcmp(a->b, b->b, a->nb) == 0);
    if (!same) {
        log_dump("engine", a);
        log_dump("model ", b);
    }
    FZ_CHECK(same);
    x->diff = false;
}

/* --- allocator and randomness -------------------------------------------- */

static void *fz_a_alloc(size_t n, void *ud)
{
    ctx *x = ud;
    x->nalloc++;
    if (x->alloc_fail_at && x->nalloc == x->alloc_fail_at) {
        return NULL;
    }
    x->live += n;
    return fz_alloc(n);
}

static void fz_a_free(void *p, size_t n, void *ud)
{
    ctx *x = ud;
    FZ_CHECK(p != NULL && x->live >= n);
    x->live -= n;
    free(p);
}

static int cb_random(void *user, uint8_t *out, size_t n)
{
    side *s = user;
    ctx *x = s->x;
    if (!s->is_peer) {
        x->rand_calls++;
        if (x->rand_fail_at && x->rand_calls == x->rand_fail_at) {
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)fz_rng(&x->rng);
    }
    return 0;
}

/* --- extension: identity decoder emitting in pieces ----------------------- */

static int ext_decode(void *state, const uint8_t *in, size_t len, bool fin, size_t *used,
                      wick_emit_fn emit, void *emit_ctx)
{
    ctx *x = state;
    (void)fin;
    FZ_CHECK(*used == len);
    if (len > 0 && in[0] == 0xFE) {
        return -7; /* not a wick_err: becomes WICK_ERR_EXTENSION */
    }
    size_t off = 0;
    do {
        size_t n = len - off < x->ext_piece ? len - off : x->ext_piece;
        int rc = emit(emit_ctx, in + off, n);
        off += n;
        if (rc == WICK_PAUSE && !x->ext_lazy) {
            *used = off; /* the rest comes again after the pause */
            return rc;
        }
        if (rc != 0 && rc != WICK_PAUSE) {
            FZ_CHECK(rc < 0);
            return rc;
        }
    } while (off < len);
    return 0;
}

/* --- sending, with the tracking the checks need --------------------------- */

static void note_err_send(ctx *x, wick_err e)
{
    /* These are the only results a send may have. */
    FZ_CHECK(e == WICK_OK || e == WICK_ERR_WOULD_BLOCK || e == WICK_ERR_BUFFER_TOO_SMALL ||
             e == WICK_ERR_CLOSED || e == WICK_ERR_STATE || e == WICK_ERR_ARG ||
             e == WICK_ERR_RANDOM);
    if (x->close_sent) {
        FZ_CHECK(e != WICK_OK);
    }
}

/* Sends one data frame of `len` bytes; text comes from pat. */
static void do_send(ctx *x, uint8_t op, size_t len, bool fin, bool some, const uint8_t *bin)
{
    side *s = &x->eng;
    uint8_t msg_op = op == WICK_OP_CONT ? x->out_op : op;
    uint8_t *buf = fz_alloc(len + sizeof(pat));
    size_t pos = op == WICK_OP_CONT ? x->text_pos : 0;
    if (msg_op == WICK_OP_TEXT) {
        while (fin && !pat_boundary(pos + len)) {
            len++;
        }
        for (size_t i = 0; i < len; i++) {
            buf[i] = pat[(pos + i) % sizeof(pat)];
        }
    } else if (len) {
        for (size_t i = 0; i < len; i++) {
            buf[i] = bin ? bin[i % 16] : (uint8_t)i;
        }
    }
    bool state_ok = op == WICK_OP_CONT ? x->out_msg : !x->out_msg;
    size_t accepted = 0;
    wick_err e;
    if (some) {
        e = wick_conn_send_some(&s->c, op, buf, len, fin, &accepted);
    } else {
        e = wick_conn_send(&s->c, op, buf, len, fin);
        accepted = e == WICK_OK ? len : 0;
    }
    note_err_send(x, e);
    if (e == WICK_OK) {
        FZ_CHECK(state_ok);
        FZ_CHECK(accepted <= len && (accepted > 0 || len == 0));
        x->out_op = msg_op;
        x->text_pos = pos + accepted;
        x->out_msg = !(fin && accepted == len);
    } else if (e == WICK_ERR_STATE) {
        FZ_CHECK(!state_ok);
    }
    free(buf);
}

static void check_state(ctx *x, side *s)
{
    unsigned st = wick_conn_state(&s->c);
    size_t plen = 0;
    const uint8_t *p = wick_conn_out_peek(&s->c, &plen);
    size_t pending = wick_conn_out_pending(&s->c);
    FZ_CHECK(plen <= pending);
    FZ_CHECK(plen == 0 || p != NULL);
    FZ_CHECK(((st & WICK_WANT_WRITE) != 0) == (pending > 0));
    if (st & WICK_SHOULD_CLOSE_TCP) {
        FZ_CHECK(pending == 0);
    }
    if (st & WICK_CLOSED) {
        FZ_CHECK(st & WICK_CLOSING);
    }
    FZ_CHECK(wick_conn_error(&s->c) == (s->errors ? s->err : WICK_OK));
    FZ_CHECK(wick_conn_user(&s->c) == s);
    FZ_CHECK(wick_conn_role(&s->c) == s->cfg.role);
    (void)x;
}

/* --- callbacks ------------------------------------------------------------- */

/* What an eng callback returns: 0, WICK_PAUSE or -1 as configured; it may
 * also act on the connection from inside. */
static int decide(side *s)
{
    ctx *x = s->x;
    if (s->is_peer) {
        return 0;
    }
    uint32_t k = x->ncb++;
    FZ_CHECK(wick_conn_recv(&s->c, x->pend, 0, NULL) == WICK_ERR_STATE);
    if (x->act_bits & (1u << (k % 32))) {
        switch ((k / 32 + k) % 4) {
        case 0:
            do_send(x, x->out_msg ? WICK_OP_CONT : WICK_OP_BINARY, 3, true, false, NULL);
            break;
        case 1:
            note_err_send(x, wick_conn_ping(&s->c, "cb", 2));
            break;
        case 2: {
            wick_err e = wick_conn_close(&s->c, 1000, "cb", 2);
            FZ_CHECK(e == WICK_OK || e == WICK_ERR_CLOSED || e == WICK_ERR_RANDOM);
            if (e == WICK_OK) {
                FZ_CHECK(!x->close_sent);
                x->close_sent = true;
                if (x->expect_code < 0 && s->errors == 0) {
                    x->expect_code = 1000;
                }
            }
            break;
        }
        default:
            FZ_CHECK(wick_conn_reset(&s->c) == WICK_ERR_STATE);
            break;
        }
    }
    if (x->fail_at && k + 1 == x->fail_at) {
        x->failed_cb = true;
        return -1;
    }
    if (!x->no_pause && (x->pause_bits & (1u << (k % 32)))) {
        x->paused = true;
        return WICK_PAUSE;
    }
    return 0;
}

static void msg_start(side *s, uint8_t opcode)
{
    s->in_msg = true;
    s->msg_op = opcode;
    s->msg_bytes = 0;
    fz_utf8_init(&s->text);
}

static int cb_data(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, unsigned flags,
                   void *user)
{
    side *s = user;
    ctx *x = s->x;
    TRACE("%s on_data op %u len %zu flags %u:", s->is_peer ? "peer" : "eng", opcode, len, flags);
    for (size_t i = 0; i < len && i < 64; i++) {
        TRACE(" %02x", data[i]);
    }
    TRACE("\n");
    FZ_CHECK(c == &s->c);
    FZ_CHECK(opcode == WICK_OP_TEXT || opcode == WICK_OP_BINARY);
    FZ_CHECK((flags & ~(unsigned)(WICK_DATA_FIRST | WICK_DATA_FIN)) == 0);
    FZ_CHECK(len == 0 || data != NULL);
    if (flags & WICK_DATA_FIRST) {
        /* FIRST exactly on the first chunk: no message may be open. */
        FZ_CHECK(!s->in_msg);
        msg_start(s, opcode);
    } else {
        FZ_CHECK(s->in_msg && opcode == s->msg_op);
    }
    /* A message delivered whole never reaches on_data, unless it went over
     * max_message under OVERSIZE_STREAM. */
    if (s->whole) {
        FZ_CHECK(s->cfg.flags & WICK_CONF_OVERSIZE_STREAM);
    }
    if (checks_text(s)) {
        FZ_CHECK(fz_utf8_scan(&s->text, data, len) == len);
        if (flags & WICK_DATA_FIN) {
            FZ_CHECK(fz_utf8_complete(&s->text));
        }
    }
    want_take(x, s, data, len);
    s->msg_bytes += len;
    if (!(s->cfg.flags & WICK_CONF_OVERSIZE_STREAM)) {
        FZ_CHECK(s->msg_bytes <= s->max_message);
    }
    if (!s->is_peer) {
        if (flags & WICK_DATA_FIRST) {
            log_begin(&x->elog, opcode);
        }
        log_data(&x->elog, data, len);
        if (flags & WICK_DATA_FIN) {
            log_end(&x->elog);
        }
    }
    if (flags & WICK_DATA_FIN) {
        if (s->whole) {
            FZ_CHECK(s->msg_bytes > s->max_message);
        }
        s->in_msg = false;
    }
    return decide(s);
}

static int cb_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    side *s = user;
    ctx *x = s->x;
    TRACE("on_message op %u len %zu\n", opcode, len);
    FZ_CHECK(c == &s->c);
    FZ_CHECK(s->whole);
    FZ_CHECK(opcode == WICK_OP_TEXT || opcode == WICK_OP_BINARY);
    FZ_CHECK(data != NULL);
    FZ_CHECK(!s->in_msg);
    FZ_CHECK(len <= s->max_message);
    if (s->msg != NULL && s->cfg.allocator == NULL) {
        FZ_CHECK(len <= s->cfg.msg_cap);
    }
    s->msg_op = opcode;
    if (checks_text(s)) {
        FZ_CHECK(wick_utf8_valid(data, len));
        fz_utf8 u;
        fz_utf8_init(&u);
        FZ_CHECK(fz_utf8_scan(&u, data, len) == len && fz_utf8_complete(&u));
    }
    want_take(x, s, data, len);
    log_begin(&x->elog, opcode);
    log_data(&x->elog, data, len);
    log_end(&x->elog);
    return decide(s);
}

static int cb_ping(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c && len <= 125 && (len == 0 || data != NULL));
    ctx *x = s->x;
    if (!s->is_peer) {
        uint8_t *slot = x->pings[x->npings++ % PINGS_MAX];
        slot[0] = (uint8_t)len;
        if (len) {
            memcpy(slot + 1, data, len);
        }
        if (!(s->cfg.flags & WICK_CONF_NO_AUTO_PONG) && !x->close_sent) {
            x->pongs_due++; /* queued before this callback */
        }
        log_rec(&x->elog, EV_PING, 0, 0, data, len);
    }
    return decide(s);
}

static int cb_pong(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c && len <= 125 && (len == 0 || data != NULL));
    ctx *x = s->x;
    if (s->is_peer) {
        /* eng sends pongs only to answer pings, echoing their payload. */
        FZ_CHECK(!(x->eng.cfg.flags & WICK_CONF_NO_AUTO_PONG));
        bool found = x->npings > PINGS_MAX; /* ring overflowed: cannot tell */
        size_t n = x->npings < PINGS_MAX ? x->npings : PINGS_MAX;
        for (size_t i = 0; i < n && !found; i++) {
            found = x->pings[i][0] == len && (len == 0 || memcmp(x->pings[i] + 1, data, len) == 0);
        }
        FZ_CHECK(found);
        x->pongs_seen++;
    } else {
        log_rec(&x->elog, EV_PONG, 0, 0, data, len);
    }
    return decide(s);
}

static int cb_close(wick_conn *c, uint16_t code, const char *reason, size_t len, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c && len <= 123);
    FZ_CHECK(code == 1005 || wick_close_code_valid(code));
    FZ_CHECK(code != 1005 || len == 0);
    fz_utf8 u;
    fz_utf8_init(&u);
    FZ_CHECK(fz_utf8_scan(&u, (const uint8_t *)reason, len) == len && fz_utf8_complete(&u));
    FZ_CHECK(s->closes++ == 0);
    s->close_code = code;
    FZ_CHECK(wick_conn_close_code(c) == code);
    if (s->is_peer && s->x->expect_code >= 0) {
        if (code != (uint16_t)s->x->expect_code) {
            fprintf(stderr, "peer got close %u, expected %d\n", code, s->x->expect_code);
        }
        FZ_CHECK(code == (uint16_t)s->x->expect_code);
    }
    if (!s->is_peer) {
        log_rec(&s->x->elog, EV_CLOSE, 0, (int32_t)code, (const uint8_t *)reason, len);
    }
    return decide(s);
}

static void cb_error(wick_conn *c, wick_err err, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c && err < 0);
    if (s->is_peer) {
        fprintf(stderr, "peer rejected bytes wick wrote: %s\n", wick_err_name(err));
        abort();
    }
    FZ_CHECK(s->errors++ == 0);
    s->err = err;
    ctx *x = s->x;
    log_rec(&x->elog, EV_ERROR, 0, (int32_t)err, NULL, 0);
    if (err == WICK_ERR_CALLBACK || err == WICK_ERR_NOMEM || err == WICK_ERR_RANDOM ||
        err == WICK_ERR_EXTENSION) {
        x->injected = true;
    }
    if (err == WICK_ERR_CALLBACK) {
        FZ_CHECK(x->failed_cb);
    } else if (err == WICK_ERR_NOMEM) {
        FZ_CHECK(x->alloc_fail_at != 0 && x->nalloc >= x->alloc_fail_at);
    } else if (err == WICK_ERR_RANDOM) {
        FZ_CHECK(x->rand_fail_at != 0 && x->rand_calls >= x->rand_fail_at);
    }
    if (!x->close_sent) {
        x->close_sent = true;
        /* After a received close the reply (echoing it) is already queued:
         * a failure in on_close cannot send a second close frame. */
        if (x->expect_code < 0 && s->closes == 0) {
            x->expect_code = wick_err_close_code(err);
            FZ_CHECK(x->expect_code != 0);
        }
    }
}

static const wick_callbacks cbs = {cb_data, cb_message, cb_ping,  cb_pong,
                                   cb_close, cb_error,  cb_random};
/* Whole-message delivery off: everything streams through on_data. */
static const wick_callbacks cbs_stream = {cb_data, NULL,     cb_ping,  cb_pong,
                                          cb_close, cb_error, cb_random};

/* --- feeding --------------------------------------------------------------- */

/* Passes bytes eng wrote to the peer, keeping what it leaves for later. */
static void peer_recv(ctx *x, const uint8_t *p, size_t n)
{
    size_t total = x->peer_keep_len + n;
    uint8_t *blk = fz_alloc(total);
    memcpy(blk, x->peer_keep, x->peer_keep_len);
    memcpy(blk + x->peer_keep_len, p, n);
    size_t off = 0;
    x->peer_keep_len = 0;
    for (int guard = 0;; guard++) {
        FZ_CHECK(guard < 100000);
        size_t used = 0;
        wick_err e = wick_conn_recv(&x->peer.c, blk + off, total - off, &used);
        FZ_CHECK(used <= total - off);
        off += used;
        /* The peer's own output (pongs, close replies) is dropped. */
        size_t pl = 0;
        wick_conn_out_peek(&x->peer.c, &pl);
        wick_conn_out_consume(&x->peer.c, pl);
        if (e == WICK_OK) {
            FZ_CHECK(off == total);
            break;
        }
        if (e == WICK_NEED_MORE) {
            size_t left = total - off;
            FZ_CHECK(left > 0 && left <= WICK_RECV_MIN);
            memcpy(x->peer_keep, blk + off, left);
            x->peer_keep_len = left;
            break;
        }
        FZ_CHECK(e == WICK_BLOCKED && pl > 0); /* progress after draining */
    }
    free(blk);
}

/* Everything eng has written goes to the peer (up to `max` bytes). */
static void drain(ctx *x, size_t max)
{
    size_t len = 0;
    const uint8_t *p = wick_conn_out_peek(&x->eng.c, &len);
    size_t n = len < max ? len : max;
    if (n == 0) {
        return;
    }
    uint8_t *copy = fz_dup(p, n);
    wick_conn_out_consume(&x->eng.c, n);
    peer_recv(x, copy, n);
    free(copy);
}

static void drain_all(ctx *x)
{
    for (int i = 0; i < 64; i++) {
        size_t len = 0;
        wick_conn_out_peek(&x->eng.c, &len);
        if (len == 0) {
            break;
        }
        drain(x, len);
    }
}

/* Header size of a frame as eng receives it, or 0 when its first two bytes
 * break a rule the engine checks on them (it would have failed). */
static size_t lead_header_size(const ctx *x, uint8_t b0, uint8_t b1)
{
    unsigned op = b0 & 0x0Fu;
    bool server = x->eng.cfg.role == WICK_ROLE_SERVER;
    uint8_t rsv_ok = x->eng.cfg.extension ? WICK_RSV1 : 0;
    if ((b0 & 0x70u & ~(unsigned)rsv_ok) != 0 || (op >= 3 && op <= 7) || op >= 11) {
        return 0;
    }
    if (op >= 8 && ((b0 & 0x80u) == 0 || (b1 & 0x7Fu) > 125 || (b0 & 0x70u) != 0)) {
        return 0;
    }
    if (((b1 & 0x80u) != 0) != server) {
        return 0;
    }
    unsigned l7 = b1 & 0x7Fu;
    return 2u + (l7 == 126 ? 2u : l7 == 127 ? 8u : 0u) + (server ? 4u : 0u);
}

/* WICK_NEED_MORE: what is left must be an incomplete header or an
 * incomplete control frame, and nothing eng could have taken. */
static void check_need_more(const ctx *x, const uint8_t *p, size_t left)
{
    FZ_CHECK(left > 0 && left <= WICK_RECV_MIN);
    if (left < 2) {
        return;
    }
    size_t hl = lead_header_size(x, p[0], p[1]);
    FZ_CHECK(hl != 0);
    if (left < hl) {
        return;
    }
    FZ_CHECK((p[0] & 0x0Fu) >= 8);              /* a whole data header is taken */
    FZ_CHECK(left < hl + (size_t)(p[1] & 0x7Fu)); /* a whole control frame is taken */
}

/* WICK_BLOCKED: a whole ping waits for room for its pong. */
static void check_blocked(const ctx *x, const uint8_t *p, size_t left)
{
    const side *s = &x->eng;
    FZ_CHECK(left >= 2 && (p[0] & 0x0Fu) == WICK_OP_PING);
    size_t hl = lead_header_size(x, p[0], p[1]);
    size_t plen = p[1] & 0x7Fu;
    FZ_CHECK(hl != 0 && left >= hl + plen);
    FZ_CHECK(!(s->cfg.flags & WICK_CONF_NO_AUTO_PONG) && !x->close_sent);
    size_t pong = 2 + (s->cfg.role == WICK_ROLE_CLIENT ? 4u : 0u) + plen;
    FZ_CHECK(wick_conn_out_pending(&s->c) + WICK_OUT_RESERVE + pong > s->cfg.out_cap);
}

/* Feeds the pending input to eng in chunks (or in one call when `whole`)
 * until it is used up, only an incomplete frame is left, eng pauses or
 * blocks, or eng fails. */
static void feed(ctx *x, bool whole)
{
    side *s = &x->eng;
    if (x->blocked) {
        drain_all(x); /* the caller's part of WICK_BLOCKED */
        x->blocked = false;
    }
    for (int guard = 0;; guard++) {
        FZ_CHECK(guard < 4 * (int)IN_MAX);
        size_t n;
        if (x->pend_len > x->carry) {
            /* Kept bytes go first, then new ones. */
            n = whole ? x->pend_len : x->carry + fz_chunk(&x->rng, x->pend_len - x->carry);
        } else if (x->call_again) {
            n = x->pend_len;
        } else {
            break;
        }
        x->call_again = false;
        uint8_t *chunk = fz_dup(x->pend, n);
        size_t used = (size_t)-1;
        x->paused = false;
        x->failed_cb = false;
        x->injected = false;
        unsigned errors_before = s->errors;
        wick_err e = wick_conn_recv(&s->c, chunk, n, &used);
        TRACE("recv %zu bytes: %s, used %zu\n", n, wick_err_name(e), used);
        FZ_CHECK(used <= n);
        size_t left = n - used;
        x->carry = 0;
        if (e == WICK_OK) {
            FZ_CHECK(left == 0 && !x->paused && !x->failed_cb);
        } else if (e == WICK_NEED_MORE) {
            FZ_CHECK(!x->paused && !x->failed_cb && errors_before == s->errors);
            FZ_CHECK(memcmp(chunk + used, x->pend + used, left) == 0); /* untouched */
            check_need_more(x, x->pend + used, left);
            x->carry = left;
        } else if (e == WICK_BLOCKED) {
            FZ_CHECK(!x->failed_cb && errors_before == s->errors);
            FZ_CHECK(memcmp(chunk + used, x->pend + used, left) == 0);
            check_blocked(x, x->pend + used, left);
        } else if (e == WICK_PAUSED) {
            FZ_CHECK(x->paused);
            FZ_CHECK(memcmp(chunk + used, x->pend + used, left) == 0);
        } else {
            FZ_CHECK(e < 0 && e != WICK_ERR_STATE && e != WICK_ERR_ARG);
            FZ_CHECK(s->errors == 1 && s->err == e && left == 0);
            if (x->failed_cb) {
                FZ_CHECK(e == WICK_ERR_CALLBACK || errors_before == 1);
            }
            /* Sticky. */
            size_t u2 = 0;
            FZ_CHECK(wick_conn_recv(&s->c, chunk, n, &u2) == e && u2 == n);
            FZ_CHECK(s->errors == 1);
        }
        /* A pause in the on_data that streams what was gathered of an
         * oversized message leaves its frame header unconsumed (it is read
         * again): eng may be one event ahead until a call consumes bytes. */
        if (e == WICK_PAUSED) {
            x->ahead = true;
        } else if (used > 0 || e < 0) {
            x->ahead = false;
        }
        if (x->diff) {
            /* The model gets what eng consumed, as it was on the wire. */
            model_feed(&x->m, x->pend, used);
            if (e == WICK_ERR_PROTO_LENGTH && !x->m.done) {
                /* eng fails as soon as the 8-byte length is in, the parser
                 * once the whole header is: any masking key must make the
                 * parser fail the same way. */
                static const uint8_t key[4] = {0x5A, 0x5A, 0x5A, 0x5A};
                for (size_t i = 0; i < sizeof(key) && !x->m.done; i++) {
                    model_feed(&x->m, key + i, 1);
                }
            }
            if (x->injected) {
                diff_check_prefix(x);
            } else if (!x->ahead) {
                diff_check(x);
            }
        }
        /* What was not consumed is offered again: keep it first. */
        memmove(x->pend, x->pend + used, x->pend_len - used);
        x->pend_len -= used;
        free(chunk);
        check_state(x, s);
        if (e == WICK_PAUSED) {
            x->call_again = true; /* an extension's message end may be due */
        }
        if (e == WICK_BLOCKED) {
            x->blocked = true;
        }
        if (e != WICK_OK && e != WICK_NEED_MORE) {
            if (e < 0) {
                x->pend_len = 0;
            }
            return;
        }
    }
}

static void push(ctx *x, const uint8_t *p, size_t n)
{
    if (x->pend_len + n > IN_MAX) {
        n = IN_MAX - x->pend_len;
    }
    if (n) {
        memcpy(x->pend + x->pend_len, p, n);
    }
    x->pend_len += n;
}

/* Builds one frame from the script (valid-looking by default) and queues it
 * as eng input. */
static void op_frame(ctx *x)
{
    static const uint8_t ops[8] = {WICK_OP_CONT, WICK_OP_TEXT,  WICK_OP_BINARY, WICK_OP_CLOSE,
                                   WICK_OP_PING, WICK_OP_PONG, WICK_OP_TEXT,   3};
    uint8_t ctl = fz_u8(x->in);
    uint8_t op = ops[ctl & 7];
    bool fin = (op & 8) || (ctl & 8);
    uint8_t rsv = (ctl & 0x80) ? WICK_RSV1 : 0;
    uint8_t lsel = fz_u8(x->in);
    size_t len = lsel < 240 ? lsel % 126u : (size_t)fz_u16(x->in) * 4u;
    uint8_t *payload = fz_alloc(len + 2);
    const uint8_t *src;
    size_t got = fz_take(x->in, len, &src);
    if (ctl & 0x40) {
        /* Text from the valid pattern (any cut). */
        for (size_t i = 0; i < len; i++) {
            payload[i] = pat[i % sizeof(pat)];
        }
    } else {
        if (got) {
            memcpy(payload, src, got);
        }
        for (size_t i = got; i < len; i++) {
            payload[i] = (uint8_t)('a' + i % 26u);
        }
    }
    if (op == WICK_OP_CLOSE && (ctl & 0x30) && len >= 2) {
        static const uint16_t codes[4] = {1000, 1001, 4000, 1005};
        uint16_t code = codes[(ctl >> 4) & 3];
        payload[0] = (uint8_t)(code >> 8);
        payload[1] = (uint8_t)code;
    }
    uint8_t mask[4];
    const uint8_t *m = NULL;
    if (x->eng.cfg.role == WICK_ROLE_SERVER) {
        for (int i = 0; i < 4; i++) {
            mask[i] = fz_u8(x->in);
        }
        m = mask;
    }
    size_t cap = len + 14;
    uint8_t *wire = fz_alloc(cap);
    size_t wlen = 0;
    FZ_CHECK(wick_frame_write(op, fin, rsv, m, payload, len, wire, cap, &wlen) == WICK_OK);
    if (op <= WICK_OP_BINARY) {
        want_push(x, payload, len);
    }
    if (x->pend_len + wlen > IN_MAX) {
        x->model_ok = false; /* push() truncates */
    }
    push(x, wire, wlen);
    free(wire);
    free(payload);
}

static void op_close(ctx *x)
{
    static const uint16_t codes[8] = {1000, 1001, 0, 4999, 1005, 999, 2999, 1015};
    uint8_t sel = fz_u8(x->in);
    uint16_t code = codes[sel & 7];
    size_t rlen = (size_t)(sel >> 3) * 5u; /* 0..155 */
    const uint8_t *src;
    size_t got = fz_take(x->in, rlen, &src);
    char reason[160];
    for (size_t i = 0; i < rlen; i++) {
        reason[i] = i < got ? (char)src[i] : 'r';
    }
    fz_utf8 u;
    fz_utf8_init(&u);
    bool valid = fz_utf8_scan(&u, (const uint8_t *)reason, rlen) == rlen && fz_utf8_complete(&u);
    bool code_ok = code == 0 ? rlen == 0 : wick_close_code_valid(code);
    wick_err e = wick_conn_close(&x->eng.c, code, reason, rlen);
    FZ_CHECK(e == WICK_OK || e == WICK_ERR_ARG || e == WICK_ERR_CLOSED || e == WICK_ERR_RANDOM);
    if (e == WICK_ERR_RANDOM) {
        FZ_CHECK(x->eng.cfg.role == WICK_ROLE_CLIENT && x->rand_fail_at != 0);
    } else if (e == WICK_OK) {
        FZ_CHECK(!x->close_sent && valid && rlen <= 123 && code_ok);
        x->close_sent = true;
        if (x->expect_code < 0 && x->eng.errors == 0) {
            x->expect_code = code ? code : 1005;
        }
    } else if (e == WICK_ERR_ARG) {
        FZ_CHECK(!valid || rlen > 123 || !code_ok);
    } else {
        FZ_CHECK(x->close_sent || x->eng.closes > 0);
    }
}

static void op_reset(ctx *x)
{
    TRACE("reset\n");
    if (x->diff && !x->ahead) {
        diff_check(x);
    }
    FZ_CHECK(wick_conn_reset(&x->eng.c) == WICK_OK);
    FZ_CHECK(wick_conn_reset(&x->peer.c) == WICK_OK);
    FZ_CHECK(wick_conn_out_pending(&x->eng.c) == 0);
    for (int i = 0; i < 2; i++) {
        side *s = i ? &x->peer : &x->eng;
        s->in_msg = false;
        s->errors = 0;
        s->err = WICK_OK;
        s->closes = 0;
    }
    x->out_msg = false;
    x->close_sent = false;
    x->expect_code = -1;
    x->pend_len = 0;
    x->carry = 0;
    x->blocked = false;
    x->call_again = false;
    x->peer_keep_len = 0;
    x->model_ok = true;
    x->want_head = x->want_len = 0;
    x->pongs_due = x->pongs_seen = 0;
    model_reset(x);
}

static void setup_side(ctx *x, side *s, wick_role role, const uint8_t *c, bool peer)
{
    s->x = x;
    s->is_peer = peer;
    wick_conn_config_default(&s->cfg, role);
    static const size_t out_caps[4] = {WICK_OUT_MIN, 300, 1024, 70000};
    static const size_t msg_caps[4] = {16, 125, 1024, 70000};
    s->cfg.out_cap = peer ? 65536 : out_caps[c[1] & 3];
    s->out = fz_alloc(s->cfg.out_cap);
    s->cfg.out_buf = s->out;
    if (peer) {
        return;
    }
    unsigned flags = 0;
    if (c[0] & 2) {
        flags |= WICK_CONF_NO_UTF8_CHECK;
    }
    if (c[0] & 4) {
        flags |= WICK_CONF_NO_AUTO_PONG;
    }
    if (c[0] & 8) {
        flags |= WICK_CONF_OVERSIZE_STREAM;
    }
    s->cfg.flags = flags;
    if (c[0] & 0x10) {
        s->cfg.msg_cap = msg_caps[(c[1] >> 2) & 3];
        s->msg = fz_alloc(s->cfg.msg_cap);
        s->cfg.msg_buf = s->msg;
    }
    if (c[0] & 0x80) {
        s->cfg.max_frame = 100;
        s->cfg.max_message = 300;
    }
}

/* Whole-message delivery and the effective size limit, as the header
 * describes them: without an allocator max_message is at most msg_cap. */
static void side_limits(side *s, bool has_on_message)
{
    s->whole = has_on_message && (s->cfg.msg_buf != NULL || s->cfg.allocator != NULL);
    s->max_message = s->cfg.max_message != 0 ? s->cfg.max_message : UINT64_MAX;
    if (has_on_message && s->cfg.allocator == NULL && s->cfg.msg_buf != NULL &&
        s->max_message > s->cfg.msg_cap) {
        s->max_message = s->cfg.msg_cap;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t c[12];
    for (int i = 0; i < 12; i++) {
        c[i] = fz_u8(&in);
    }
    static ctx xs; /* large: keep it off the stack */
    ctx *x = &xs;
    /* Log storage is kept from run to run (speed). */
    elog keep_e = x->elog, keep_m = x->m.log;
    uint8_t *keep_mb = x->m.buf;
    size_t keep_mc = x->m.cap;
    memset(x, 0, sizeof(*x));
    x->elog = keep_e;
    x->m.log = keep_m;
    x->m.buf = keep_mb;
    x->m.cap = keep_mc;
    x->in = &in;
    x->fail_at = c[2];
    x->pause_bits = (uint32_t)c[3] | (uint32_t)c[4] << 8 | (uint32_t)c[5] << 16 |
                    (uint32_t)c[6] << 24;
    x->act_bits = (uint32_t)c[7] | (uint32_t)c[8] << 8 | (uint32_t)c[9] << 16 |
                  (uint32_t)c[10] << 24;
    x->alloc_fail_at = c[11] & 15;
    x->rand_fail_at = (size_t)(c[11] >> 4) * 3u;
    x->ext_piece = (size_t)((c[1] >> 4) & 7) * 3u + 1u;
    x->ext_lazy = (c[1] & 0x10) != 0;
    x->expect_code = -1;
    x->rng = ((uint64_t)c[1] << 8 | c[2]) + 1;
    /* Big scratch buffers are allocated once (speed); everything given to
     * wick is still copied into exact-size blocks. */
    static uint8_t *pend_buf, *want_buf;
    static uint8_t (*pings_buf)[126];
    if (pend_buf == NULL) {
        pend_buf = fz_alloc(IN_MAX);
        want_buf = fz_alloc(WANT_MAX);
        pings_buf = fz_alloc(PINGS_MAX * sizeof(*pings_buf));
    }
    x->pend = pend_buf;
    x->want = want_buf;
    x->pings = pings_buf;
    x->model_ok = true;

    wick_role role = (c[0] & 1) ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
    wick_role prole = role == WICK_ROLE_SERVER ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
    setup_side(x, &x->eng, role, c, false);
    setup_side(x, &x->peer, prole, c, true);
    wick_allocator alloc = {fz_a_alloc, fz_a_free, x};
    if (c[0] & 0x20) {
        x->eng.cfg.allocator = &alloc;
    }
    wick_extension ext = {WICK_RSV1, ext_decode, x, NULL, NULL};
    if (c[0] & 0x40) {
        x->eng.cfg.extension = &ext;
    }
    bool stream_only = (c[1] & 0x80) != 0;
    side_limits(&x->eng, !stream_only);
    side_limits(&x->peer, true);

    /* The library is the one this header describes. */
    FZ_CHECK(wick_version() == WICK_VERSION_NUM);

    /* Argument checks. */
    wick_conn tmp;
    wick_conn_config bad = x->eng.cfg;
    bad.out_cap = WICK_OUT_MIN - 1;
    FZ_CHECK(wick_conn_init(&tmp, &bad, &cbs, NULL) == WICK_ERR_BUFFER_TOO_SMALL);
    static const wick_callbacks no_random = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    if (role == WICK_ROLE_CLIENT) {
        FZ_CHECK(wick_conn_init(&tmp, &x->eng.cfg, &no_random, NULL) == WICK_ERR_ARG);
    }

    FZ_CHECK(wick_conn_init(&x->eng.c, &x->eng.cfg, stream_only ? &cbs_stream : &cbs, &x->eng) ==
             WICK_OK);
    FZ_CHECK(wick_conn_init(&x->peer.c, &x->peer.cfg, &cbs, &x->peer) == WICK_OK);
    check_state(x, &x->eng);
    FZ_CHECK(wick_conn_state(&x->eng.c) & WICK_WANT_READ);
    model_reset(x);

    uint8_t prepared_buf[530];
    for (int nops = 0; in.n > 0 && nops < MAX_OPS; nops++) {
        uint8_t op = fz_u8(&in);
        switch (op % 12) {
        case 0: /* raw wire bytes, fed in chunks (0) or whole (1) */
        case 1: {
            size_t n = fz_u8(&in);
            if (n == 255) {
                n = fz_u16(&in);
            }
            const uint8_t *p;
            n = fz_take(&in, n, &p);
            if (n) {
                x->model_ok = false; /* raw bytes: no data model (the differential one holds) */
            }
            push(x, p, n);
            feed(x, op % 12 == 1);
            break;
        }
        case 2: /* built frames, fed in chunks (2) or whole (3) */
        case 3:
            op_frame(x);
            feed(x, op % 12 == 3);
            break;
        case 4: /* send / send_some */
        case 5: {
            uint8_t a = fz_u8(&in);
            static const uint8_t sops[4] = {WICK_OP_TEXT, WICK_OP_BINARY, WICK_OP_CONT, 7};
            uint8_t sop = sops[a & 3];
            size_t len = (a & 0x10) ? (size_t)fz_u16(&in) % MAX_SEND : fz_u8(&in);
            if ((a & 0x60) == 0x60) {
                /* Exactly the advertised space must fit. */
                len = wick_conn_send_space(&x->eng.c);
                if (!x->out_msg && !x->close_sent && x->eng.errors == 0 && len > 0 &&
                    x->rand_fail_at == 0) {
                    do_send(x, WICK_OP_BINARY, len, true, false, NULL);
                    FZ_CHECK(!x->out_msg);
                    break;
                }
            }
            if (sop == 7) {
                FZ_CHECK(wick_conn_send(&x->eng.c, 7, "x", 1, true) == WICK_ERR_ARG ||
                         x->close_sent);
                break;
            }
            const uint8_t *bin;
            size_t got = fz_take(&in, 16, &bin);
            do_send(x, sop, len, (a & 4) != 0, (a & 8) != 0, got == 16 ? bin : NULL);
            break;
        }
        case 6: { /* ping */
            uint8_t a = fz_u8(&in);
            size_t len = a % 128u;
            uint8_t pl[127];
            memset(pl, 'p', sizeof(pl));
            wick_err e = wick_conn_ping(&x->eng.c, pl, len);
            note_err_send(x, e);
            if (len > 125) {
                FZ_CHECK(e == WICK_ERR_ARG || e == WICK_ERR_CLOSED);
            }
            break;
        }
        case 7:
            op_close(x);
            break;
        case 8: /* drain some output to the peer */
        case 9:
            drain(x, (size_t)fz_u8(&in) * 7u + 1u);
            break;
        case 10: { /* prepared frame */
            uint8_t a = fz_u8(&in);
            wick_prepared pr;
            size_t len = (size_t)a * 2u; /* up to 510: over the smallest out_cap */
            uint8_t body[512];
            memset(body, 'z', sizeof(body));
            if (wick_prepare(WICK_OP_BINARY, body, len, prepared_buf, sizeof(prepared_buf),
                             &pr) == WICK_OK) {
                wick_err e = wick_conn_send_prepared(&x->eng.c, &pr);
                note_err_send(x, e);
                if (role == WICK_ROLE_CLIENT) {
                    FZ_CHECK(e == WICK_ERR_STATE || e == WICK_ERR_CLOSED);
                } else if (e == WICK_OK) {
                    FZ_CHECK(!x->out_msg);
                }
            }
            break;
        }
        default:
            if (op & 0x80) {
                op_reset(x);
            } else {
                feed(x, (op & 0x40) != 0); /* resume after a pause or a block */
            }
            break;
        }
        check_state(x, &x->eng);
    }

    /* Finish: feed what is left without pausing, then drain. */
    x->no_pause = true;
    for (int i = 0; i < 64 && (x->pend_len > x->carry || x->call_again || x->blocked); i++) {
        feed(x, false);
    }
    drain_all(x);
    check_state(x, &x->eng);
    check_state(x, &x->peer);
    if (x->diff) {
        diff_check(x);
    }
    if (x->eng.errors) {
        /* A failed connection wrote its close frame. */
        FZ_CHECK(x->close_sent);
    }
    FZ_CHECK(x->pend_len == x->carry); /* only an incomplete frame is left */
    if (x->model_ok && !x->eng.whole && x->eng.errors == 0 && x->eng.closes == 0) {
        /* Every data byte of the built frames was delivered. */
        FZ_CHECK(x->want_head == x->want_len);
    }
    if (wick_conn_out_pending(&x->eng.c) == 0) {
        /* One pong for each ping answered, none other. */
        FZ_CHECK(x->pongs_seen == x->pongs_due);
    }

    wick_conn_release(&x->eng.c);
    wick_conn_release(&x->eng.c); /* idempotent */
    wick_conn_release(&x->peer.c);
    FZ_CHECK(x->live == 0);
    free(x->eng.out);
    free(x->eng.msg);
    free(x->peer.out);
    return 0;
}
