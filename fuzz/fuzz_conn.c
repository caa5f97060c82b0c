/*
 * fuzz_conn: the whole connection engine (wick_conn), in both roles, driven
 * by a script taken from the input.
 *
 * The engine under test ("eng") gets wire bytes from the input, either raw
 * or as frames built by the script, fed in input-chosen chunks (each in a
 * block of its exact size). Its callbacks check what they are given (text
 * is valid UTF-8, sizes within limits, one on_error, close codes allowed
 * on the wire, on_message equals the streamed chunks), and at
 * input-chosen moments return WICK_PAUSE (the rest is fed again later),
 * fail, or call send/ping/close/recv/reset from inside the callback.
 * The script also calls send, send_some, ping, close, send_prepared and
 * reset, and drains the output window in input-chosen pieces.
 *
 * Everything eng writes goes to a second engine of the other role ("peer"),
 * which must never fail: wick must never produce bytes wick rejects. The
 * close code the peer receives must be the one eng chose (wick_conn_close)
 * or the one its failure maps to (wick_err_close_code).
 *
 * Input layout: 12 configuration bytes, then operations, one byte each
 * followed by their arguments (see LLVMFuzzerTestOneInput and the op_*
 * functions):
 *   c[0]  bit 0 client role, 1 NO_UTF8_CHECK, 2 NO_AUTO_PONG,
 *         3 OVERSIZE_STREAM, 4 msg_buf, 5 allocator, 6 extension (RSV1),
 *         7 tiny limits (max_frame 100, max_message 300);
 *   c[1]  bits 0-1 out_cap, 2-3 msg_cap, 4-6 extension emit piece size,
 *         7 no on_message_begin callback (lets the engine's fast path run);
 *   c[2]  callback number that returns -1 (0: none);
 *   c[3..6]  pause bits, c[7..10] in-callback action bits (callback k uses
 *         bit k % 32);
 *   c[11] bits 0-3 allocation that fails, 4-7 random call that fails (x3).
 */
#include "fuzz_util.h"

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

#define ACC_MAX   (256u * 1024u)
#define MAX_OPS   512
#define MAX_SEND  (70u * 1024u)
#define IN_MAX    (1u << 20)

typedef struct side side;
typedef struct ctx ctx;

struct side {
    wick_conn c;
    ctx *x;
    bool is_peer;
    wick_conn_config cfg;
    uint8_t *out;
    uint8_t *msg;
    /* receive tracking */
    bool in_msg;
    uint8_t msg_op;
    fz_utf8 text;
    uint64_t msg_bytes;
    uint8_t *acc; /* on_data bytes of the current message */
    size_t acc_len;
    bool acc_over;
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
    bool no_begin;      /* eng has no on_message_begin callback */
    /* eng's outgoing message */
    bool out_msg;       /* a data message is in progress */
    uint8_t out_op;
    size_t text_pos;    /* position in pat */
    bool close_sent;    /* wick_conn_close() succeeded, or eng failed */
    int expect_code;    /* code the peer must receive (-1: any) */
    /* pending eng input (after a pause) */
    uint8_t *pend;
    size_t pend_len;
    uint64_t rng;
    /* allocator */
    size_t live, nalloc, alloc_fail_at;
    size_t rand_calls, rand_fail_at;
    /* extension */
    size_t ext_piece;
    /* Model of the data eng must deliver, valid while all its input came
     * from script-built frames: the payloads of the data frames in order. */
    bool model_ok;
    uint8_t *want;
    size_t want_head, want_len;
    /* Payloads of the pings eng received: each pong the peer gets must
     * echo one of them (RFC 6455 5.5.3). */
    uint8_t (*pings)[126];
    size_t npings;
};

#define WANT_MAX  (2u * IN_MAX)
#define PINGS_MAX 1024u

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

static int ext_decode(void *state, const uint8_t *in, size_t len, bool fin, wick_emit_fn emit,
                      void *emit_ctx)
{
    ctx *x = state;
    (void)fin;
    if (len > 0 && in[0] == 0xFE) {
        return -7; /* not a wick_err: becomes WICK_ERR_EXTENSION */
    }
    size_t off = 0;
    do {
        size_t n = len - off < x->ext_piece ? len - off : x->ext_piece;
        int rc = emit(emit_ctx, in + off, n);
        if (rc != 0) {
            FZ_CHECK(rc < 0);
            return rc;
        }
        off += n;
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
            /* WICK_ERR_RANDOM (client mask source failed) is not in the
             * header's list for wick_conn_close but is the only sane answer. */
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

static int cb_begin(wick_conn *c, uint8_t opcode, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c);
    FZ_CHECK(opcode == WICK_OP_TEXT || opcode == WICK_OP_BINARY);
    FZ_CHECK(!s->in_msg);
    s->in_msg = true;
    s->msg_op = opcode;
    s->msg_bytes = 0;
    fz_utf8_init(&s->text);
    s->acc_len = 0;
    s->acc_over = false;
    return decide(s);
}

static bool checks_text(const side *s)
{
    return s->msg_op == WICK_OP_TEXT && !(s->cfg.flags & WICK_CONF_NO_UTF8_CHECK);
}

static int cb_data(wick_conn *c, const uint8_t *data, size_t len, bool fin, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c);
    if (!s->in_msg && !s->is_peer && s->x->no_begin) {
        /* No on_message_begin (the engine's fast path may run): the
         * opcode is unknown until on_message. */
        s->in_msg = true;
        s->msg_op = 0;
        s->msg_bytes = 0;
        s->acc_len = 0;
        s->acc_over = false;
    }
    FZ_CHECK(s->in_msg);
    FZ_CHECK(len == 0 || data != NULL);
    if (checks_text(s)) {
        FZ_CHECK(fz_utf8_scan(&s->text, data, len) == len);
        if (fin) {
            FZ_CHECK(fz_utf8_complete(&s->text));
        }
    }
    ctx *x = s->x;
    if (!s->is_peer && x->model_ok && s->errors == 0) {
        /* The bytes are the next ones the built frames carried. */
        FZ_CHECK(len <= x->want_len - x->want_head);
        FZ_CHECK(len == 0 || memcmp(data, x->want + x->want_head, len) == 0);
        x->want_head += len;
    }
    s->msg_bytes += len;
    if (!(s->cfg.flags & WICK_CONF_OVERSIZE_STREAM)) {
        FZ_CHECK(s->msg_bytes <= s->cfg.max_message);
    }
    if (s->acc_len + len <= ACC_MAX) {
        if (len) {
            memcpy(s->acc + s->acc_len, data, len);
        }
        s->acc_len += len;
    } else {
        s->acc_over = true;
    }
    if (fin) {
        s->in_msg = false;
    }
    return decide(s);
}

static int cb_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    side *s = user;
    FZ_CHECK(c == &s->c);
    FZ_CHECK(s->msg != NULL || s->cfg.allocator != NULL);
    if (!s->is_peer && s->x->no_begin) {
        FZ_CHECK(opcode == WICK_OP_TEXT || opcode == WICK_OP_BINARY);
        s->msg_op = opcode;
    }
    FZ_CHECK(!s->in_msg && opcode == s->msg_op);
    FZ_CHECK(len <= s->cfg.max_message);
    if (s->msg != NULL && s->cfg.allocator == NULL) {
        FZ_CHECK(len <= s->cfg.msg_cap);
    }
    /* The whole message is what was streamed. */
    FZ_CHECK(s->acc_over || (len == s->acc_len && (len == 0 || memcmp(data, s->acc, len) == 0)));
    if (checks_text(s)) {
        FZ_CHECK(wick_utf8_valid(data, len));
    }
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
    return decide(s);
}

static void cb_error(wick_conn *c, wick_err err, const char *reason, void *user)
{
    side *s = user;
    (void)reason;
    FZ_CHECK(c == &s->c && err < 0);
    if (s->is_peer) {
        fprintf(stderr, "peer rejected bytes wick wrote: %s\n", wick_err_name(err));
        abort();
    }
    FZ_CHECK(s->errors++ == 0);
    s->err = err;
    ctx *x = s->x;
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

static const wick_callbacks cbs = {cb_begin, cb_data, cb_message, cb_ping,
                                   cb_pong,  cb_close, cb_error,  cb_random};
/* Without on_message_begin (and without an extension) the engine may take
 * its fast path for whole unfragmented data frames. */
static const wick_callbacks cbs_no_begin = {NULL,    cb_data,  cb_message, cb_ping,
                                            cb_pong, cb_close, cb_error,   cb_random};

/* --- feeding --------------------------------------------------------------- */

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
    size_t used = 0;
    wick_err e = wick_conn_recv(&x->peer.c, copy, n, &used);
    FZ_CHECK(e == WICK_OK && used == n);
    free(copy);
    /* The peer's own output (pongs, close replies) is dropped. */
    size_t pl = 0;
    wick_conn_out_peek(&x->peer.c, &pl);
    wick_conn_out_consume(&x->peer.c, pl);
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

/* Feeds the pending input to eng in chunks until it is used up, eng
 * pauses, or eng fails. */
static void feed(ctx *x)
{
    side *s = &x->eng;
    while (x->pend_len > 0) {
        size_t n = fz_chunk(&x->rng, x->pend_len);
        uint8_t *chunk = fz_dup(x->pend, n);
        size_t used = (size_t)-1;
        x->paused = false;
        x->failed_cb = false;
        unsigned errors_before = s->errors;
        wick_err e = wick_conn_recv(&s->c, chunk, n, &used);
        FZ_CHECK(used <= n);
        if (e == WICK_OK) {
            FZ_CHECK(used == n && !x->paused && !x->failed_cb);
        } else if (e == WICK_PAUSED) {
            FZ_CHECK(x->paused);
        } else {
            FZ_CHECK(e < 0 && e != WICK_ERR_STATE && e != WICK_ERR_ARG);
            FZ_CHECK(s->errors == 1 && s->err == e);
            if (x->failed_cb) {
                FZ_CHECK(e == WICK_ERR_CALLBACK || errors_before == 1);
            }
            /* Sticky. */
            size_t u2 = 0;
            FZ_CHECK(wick_conn_recv(&s->c, chunk, n, &u2) == e && u2 == n);
            FZ_CHECK(s->errors == 1);
        }
        /* What was not consumed is offered again: keep it first. */
        memmove(x->pend, x->pend + used, x->pend_len - used);
        x->pend_len -= used;
        free(chunk);
        check_state(x, s);
        if (e != WICK_OK) {
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
    x->model_ok = true;
    x->want_head = x->want_len = 0;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t c[12];
    for (int i = 0; i < 12; i++) {
        c[i] = fz_u8(&in);
    }
    static ctx xs; /* large: keep it off the stack */
    ctx *x = &xs;
    memset(x, 0, sizeof(*x));
    x->in = &in;
    x->fail_at = c[2];
    x->pause_bits = (uint32_t)c[3] | (uint32_t)c[4] << 8 | (uint32_t)c[5] << 16 |
                    (uint32_t)c[6] << 24;
    x->act_bits = (uint32_t)c[7] | (uint32_t)c[8] << 8 | (uint32_t)c[9] << 16 |
                  (uint32_t)c[10] << 24;
    x->alloc_fail_at = c[11] & 15;
    x->rand_fail_at = (size_t)(c[11] >> 4) * 3u;
    x->ext_piece = (size_t)((c[1] >> 4) & 7) * 3u + 1u;
    x->expect_code = -1;
    x->rng = ((uint64_t)c[1] << 8 | c[2]) + 1;
    /* Big scratch buffers are allocated once (speed); everything given to
     * wick is still copied into exact-size blocks. */
    static uint8_t *pend_buf, *acc_bufs[2], *want_buf;
    static uint8_t (*pings_buf)[126];
    if (pend_buf == NULL) {
        pend_buf = fz_alloc(IN_MAX);
        acc_bufs[0] = fz_alloc(ACC_MAX);
        acc_bufs[1] = fz_alloc(ACC_MAX);
        want_buf = fz_alloc(WANT_MAX);
        pings_buf = fz_alloc(PINGS_MAX * sizeof(*pings_buf));
    }
    x->pend = pend_buf;
    x->want = want_buf;
    x->pings = pings_buf;
    x->model_ok = true;
    x->eng.acc = acc_bufs[0];
    x->peer.acc = acc_bufs[1];

    wick_role role = (c[0] & 1) ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
    wick_role prole = role == WICK_ROLE_SERVER ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
    setup_side(x, &x->eng, role, c, false);
    setup_side(x, &x->peer, prole, c, true);
    wick_allocator alloc = {fz_a_alloc, fz_a_free, x};
    if (c[0] & 0x20) {
        x->eng.cfg.allocator = &alloc;
    }
    wick_extension ext = {WICK_RSV1, ext_decode, x};
    if (c[0] & 0x40) {
        x->eng.cfg.extension = &ext;
    }

    /* The library is the one this header describes. */
    FZ_CHECK(wick_version() == WICK_VERSION_NUM);

    /* Argument checks. */
    wick_conn tmp;
    wick_conn_config bad = x->eng.cfg;
    bad.out_cap = WICK_OUT_MIN - 1;
    FZ_CHECK(wick_conn_init(&tmp, &bad, &cbs, NULL) == WICK_ERR_BUFFER_TOO_SMALL);
    static const wick_callbacks no_random = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    if (role == WICK_ROLE_CLIENT) {
        FZ_CHECK(wick_conn_init(&tmp, &x->eng.cfg, &no_random, NULL) == WICK_ERR_ARG);
    }

    x->no_begin = (c[1] & 0x80) != 0;
    FZ_CHECK(wick_conn_init(&x->eng.c, &x->eng.cfg, x->no_begin ? &cbs_no_begin : &cbs,
                            &x->eng) == WICK_OK);
    FZ_CHECK(wick_conn_init(&x->peer.c, &x->peer.cfg, &cbs, &x->peer) == WICK_OK);
    check_state(x, &x->eng);
    FZ_CHECK(wick_conn_state(&x->eng.c) & WICK_WANT_READ);

    uint8_t prepared_buf[530];
    for (int nops = 0; in.n > 0 && nops < MAX_OPS; nops++) {
        uint8_t op = fz_u8(&in);
        switch (op % 12) {
        case 0: /* raw wire bytes */
        case 1: {
            size_t n = fz_u8(&in);
            if (n == 255) {
                n = fz_u16(&in);
            }
            const uint8_t *p;
            n = fz_take(&in, n, &p);
            if (n) {
                x->model_ok = false; /* raw bytes: no model */
            }
            push(x, p, n);
            feed(x);
            break;
        }
        case 2: /* built frames */
        case 3:
            op_frame(x);
            feed(x);
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
                feed(x); /* resume after a pause */
            }
            break;
        }
        check_state(x, &x->eng);
    }

    /* Finish: feed what is left without pausing, then drain. */
    x->no_pause = true;
    for (int i = 0; i < 64 && x->pend_len > 0; i++) {
        feed(x);
    }
    drain_all(x);
    check_state(x, &x->eng);
    check_state(x, &x->peer);
    if (x->eng.errors) {
        /* A failed connection wrote its close frame. */
        FZ_CHECK(x->close_sent);
    }
    if (x->model_ok && x->eng.errors == 0 && x->eng.closes == 0 && x->pend_len == 0) {
        /* Every data byte of the built frames was delivered. */
        FZ_CHECK(x->want_head == x->want_len);
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
