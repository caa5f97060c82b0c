/* Connection engine, receive side: lifecycle, the frame-event state
 * machine, message rules (RFC 6455 5.4, 5.5, 5.6, 7, 8.1) and delivery. */
#include "wick_internal.h"

#include "wick_conn.h"
#include "wick_frame.h"

/* Deferred work of the message being finished, so a callback can pause
 * between the last on_data() and on_message(). */
enum {
    STEP_NONE = 0,   /* nothing deferred */
    STEP_FIN = 1,    /* deliver the final (empty) on_data, then STEP_MESSAGE */
    STEP_MESSAGE = 2 /* deliver on_message if reassembling, then end the message */
};

static const uint8_t empty_chunk[1] = {0};

/* Keeps the fast path's locals out of wick_conn_recv()'s stack frame
 * (sanitizer builds put redzones around each of them). */
#if defined(__GNUC__) || defined(__clang__)
#define CONN_NOINLINE __attribute__((noinline))
#else
#define CONN_NOINLINE
#endif

void wick_conn_config_default(wick_conn_config *cfg, wick_role role)
{
    if (cfg == NULL) {
        return;
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->role = role;
    cfg->max_message = (uint64_t)WICK_DEFAULT_MAX_MESSAGE;
}

/* Drops the reassembly buffer, giving back memory from the allocator. */
static void msg_drop(wick_conn *c)
{
    if (c->priv_.msg_owned && c->priv_.alloc != NULL && c->priv_.alloc->free != NULL) {
        c->priv_.alloc->free(c->priv_.msg, c->priv_.msg_cap, c->priv_.alloc->ud);
    }
    c->priv_.msg_owned = false;
    c->priv_.msg = c->priv_.msg_buf;
    c->priv_.msg_cap = c->priv_.msg_buf_cap;
    c->priv_.msg_len = 0;
}

static void message_end(wick_conn *c)
{
    msg_drop(c);
    c->priv_.in_message = false;
    c->priv_.ext_active = false;
    c->priv_.oversize = false;
    c->priv_.reasm = false;
    c->priv_.step = STEP_NONE;
}

/* Everything after the configuration, back to a fresh OPEN connection. */
static void conn_clear(wick_conn *c)
{
    uint8_t rsv = c->priv_.ext != NULL ? (uint8_t)(c->priv_.ext->rsv_mask & 0x70U) : 0U;

    message_end(c);
    c->priv_.out_head = 0;
    c->priv_.out_tail = 0;
    c->priv_.msg_total = 0;
    wick_frame_parser_init(&c->priv_.parser, (wick_role)c->priv_.role, rsv, c->priv_.max_frame);
    wick_utf8_init(&c->priv_.utf8);
    c->priv_.error = WICK_OK;
    c->priv_.close_code = 0;
    c->priv_.msg_opcode = 0;
    c->priv_.ctrl_len = 0;
    c->priv_.pend_len = 0;
    c->priv_.in_callback = false;
    c->priv_.out_in_message = false;
    c->priv_.sent_close = false;
    c->priv_.recv_close = false;
    c->priv_.pend_close = false;
    c->priv_.pause_req = false;
}

wick_err wick_conn_init(wick_conn *c, const wick_conn_config *cfg, const wick_callbacks *cb,
                        void *user)
{
    if (c == NULL || cfg == NULL || cb == NULL || cfg->out_buf == NULL) {
        return WICK_ERR_ARG;
    }
    if (cfg->role != WICK_ROLE_SERVER && cfg->role != WICK_ROLE_CLIENT) {
        return WICK_ERR_ARG;
    }
    if (cfg->role == WICK_ROLE_CLIENT && cb->random == NULL) {
        return WICK_ERR_ARG; /* RFC 6455 5.3: client frames need fresh masks */
    }
    if (cfg->msg_buf == NULL && cfg->msg_cap != 0) {
        return WICK_ERR_ARG;
    }
    if (cfg->allocator != NULL && (cfg->allocator->alloc == NULL || cfg->allocator->free == NULL)) {
        return WICK_ERR_ARG;
    }
    if (cfg->extension != NULL && cfg->extension->decode == NULL) {
        return WICK_ERR_ARG;
    }
    if (cfg->out_cap < WICK_OUT_MIN) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    memset(c, 0, sizeof(*c));
    c->priv_.cb = cb;
    c->priv_.user = user;
    c->priv_.alloc = cfg->allocator;
    c->priv_.ext = cfg->extension;
    c->priv_.out = cfg->out_buf;
    c->priv_.out_cap = cfg->out_cap;
    c->priv_.msg_buf = cfg->msg_buf;
    c->priv_.msg_buf_cap = cfg->msg_cap;
    c->priv_.max_frame = cfg->max_frame;
    c->priv_.max_message = cfg->max_message != 0 ? cfg->max_message : UINT64_MAX;
    c->priv_.role = (uint8_t)cfg->role;
    c->priv_.flags = (uint8_t)cfg->flags;
    conn_clear(c);
    return WICK_OK;
}

wick_err wick_conn_reset(wick_conn *c)
{
    if (c == NULL) {
        return WICK_ERR_ARG;
    }
    if (c->priv_.in_callback) {
        return WICK_ERR_STATE;
    }
    conn_clear(c);
    return WICK_OK;
}

void wick_conn_release(wick_conn *c)
{
    if (c != NULL) {
        msg_drop(c);
        /* A message in progress is no longer reassembled (it still
         * streams through on_data). */
        c->priv_.reasm = false;
    }
}

/* RFC 6455 7.1.7 (Fail the WebSocket Connection): queue the close frame
 * once, report once, then ignore input. Returns err for convenience. */
static wick_err conn_fail(wick_conn *c, wick_err err, const char *reason)
{
    if (c->priv_.error != WICK_OK) {
        return c->priv_.error;
    }
    c->priv_.error = err;
    message_end(c);
    if (!c->priv_.sent_close) {
        /* A failing random source leaves nothing to send: the caller just
         * closes TCP (the state says so once the output drains). */
        if (wick__out_close(c, wick_err_close_code(err), NULL, 0) != WICK_OK) {
            c->priv_.sent_close = true;
        }
    }
    if (c->priv_.cb->on_error != NULL) {
        bool was = c->priv_.in_callback;
        c->priv_.in_callback = true;
        c->priv_.cb->on_error(c, err, reason, c->priv_.user);
        c->priv_.in_callback = was;
    }
    return err;
}

/* Maps a callback's return value to OK, PAUSED or a failure. */
static wick_err cb_status(wick_conn *c, int rc)
{
    if (rc < 0) {
        return conn_fail(c, WICK_ERR_CALLBACK, "a callback returned an error");
    }
    return rc == WICK_PAUSE ? WICK_PAUSED : WICK_OK;
}

static wick_err deliver(wick_conn *c, const uint8_t *data, size_t len, bool fin)
{
    const wick_callbacks *cb = c->priv_.cb;
    if (cb->on_data == NULL) {
        return WICK_OK;
    }
    bool was = c->priv_.in_callback;
    c->priv_.in_callback = true;
    int rc = cb->on_data(c, data, len, fin, c->priv_.user);
    c->priv_.in_callback = was;
    return cb_status(c, rc);
}

/* Makes room for `need` bytes of message in the reassembly buffer: the
 * caller's msg_buf while it is big enough, else the allocator, growing
 * geometrically (capped at max_message) so a message costs O(log n)
 * allocations. */
static wick_err msg_reserve(wick_conn *c, size_t need)
{
    if (need <= c->priv_.msg_cap) {
        return WICK_OK;
    }
    const wick_allocator *a = c->priv_.alloc;
    if (a == NULL) {
        return WICK_ERR_TOO_BIG; /* msg_buf too small, nothing to grow with */
    }
    size_t cap = c->priv_.msg_cap <= SIZE_MAX / 2 ? c->priv_.msg_cap * 2 : SIZE_MAX;
    if (cap < 64) {
        cap = 64;
    }
    if (cap < need) {
        cap = need;
    }
    if ((uint64_t)cap > c->priv_.max_message && (uint64_t)need <= c->priv_.max_message) {
        cap = (size_t)c->priv_.max_message;
    }
    uint8_t *p = (uint8_t *)a->alloc(cap, a->ud);
    if (p == NULL) {
        return WICK_ERR_NOMEM;
    }
    if (c->priv_.msg_len != 0) {
        memcpy(p, c->priv_.msg, c->priv_.msg_len);
    }
    size_t keep = c->priv_.msg_len;
    msg_drop(c);
    c->priv_.msg = p;
    c->priv_.msg_cap = cap;
    c->priv_.msg_len = keep;
    c->priv_.msg_owned = true;
    return WICK_OK;
}

/* Applies the size limit to `more` upcoming message bytes (RFC 6455 10.4).
 * With WICK_CONF_OVERSIZE_STREAM an oversized message stops being
 * reassembled and keeps streaming through on_data. */
static wick_err msg_limit(wick_conn *c, uint64_t more)
{
    if (c->priv_.oversize) {
        return WICK_OK;
    }
    wick_err err = WICK_OK;
    if (more > c->priv_.max_message - c->priv_.msg_total) {
        err = WICK_ERR_TOO_BIG;
    } else if (c->priv_.reasm && !c->priv_.ext_active) {
        /* The header tells the frame's size: reserve now, before the
         * payload arrives (fail fast, and no growth per chunk). */
        if (more > SIZE_MAX - c->priv_.msg_len) {
            err = WICK_ERR_TOO_BIG;
        } else {
            err = msg_reserve(c, c->priv_.msg_len + (size_t)more);
        }
    }
    if (err == WICK_ERR_TOO_BIG && (c->priv_.flags & WICK_CONF_OVERSIZE_STREAM) != 0) {
        c->priv_.oversize = true;
        c->priv_.reasm = false;
        msg_drop(c);
        return WICK_OK;
    }
    if (err != WICK_OK) {
        return conn_fail(c, err,
                         err == WICK_ERR_NOMEM ? "cannot allocate the message buffer"
                                               : "message exceeds the size limit");
    }
    return WICK_OK;
}

static bool text_checked(const wick_conn *c)
{
    return c->priv_.msg_opcode == WICK_OP_TEXT && (c->priv_.flags & WICK_CONF_NO_UTF8_CHECK) == 0;
}

/* One piece of message payload (raw, or decoded by the extension): UTF-8
 * check, size limit, reassembly, then on_data. `last` ends the message. */
static wick_err message_piece(wick_conn *c, const uint8_t *p, size_t n, bool last)
{
    if (text_checked(c)) {
        size_t bad = 0;
        /* RFC 6455 8.1: fail as soon as an invalid byte is seen; the valid
         * prefix may be delivered, the bad byte never is. */
        if (wick_utf8_feed(&c->priv_.utf8, p, n, &bad) != WICK_OK) {
            if (bad != 0) {
                (void)deliver(c, p, bad, false);
            }
            return conn_fail(c, WICK_ERR_UTF8, "invalid UTF-8 in a text message");
        }
        if (last && wick_utf8_finish(&c->priv_.utf8) != WICK_OK) {
            if (n != 0) {
                (void)deliver(c, p, n, false);
            }
            return conn_fail(c, WICK_ERR_UTF8, "text message ends inside a UTF-8 sequence");
        }
    }
    if (c->priv_.ext_active) {
        wick_err err = msg_limit(c, n);
        if (err != WICK_OK) {
            return err;
        }
        if (c->priv_.reasm && !c->priv_.oversize) {
            err = msg_reserve(c, c->priv_.msg_len + n);
            if (err != WICK_OK) {
                return conn_fail(c, err, "cannot allocate the message buffer");
            }
        }
    }
    c->priv_.msg_total += n;
    if (c->priv_.reasm && !c->priv_.oversize && n != 0) {
        memcpy(c->priv_.msg + c->priv_.msg_len, p, n);
        c->priv_.msg_len += n;
    }
    return deliver(c, n != 0 ? p : empty_chunk, n, last);
}

/* Runs the deferred end-of-message work (see STEP_*). */
static wick_err run_steps(wick_conn *c)
{
    while (c->priv_.step != STEP_NONE) {
        if (c->priv_.step == STEP_FIN) {
            c->priv_.step = STEP_MESSAGE;
            if (text_checked(c) && wick_utf8_finish(&c->priv_.utf8) != WICK_OK) {
                return conn_fail(c, WICK_ERR_UTF8, "text message ends inside a UTF-8 sequence");
            }
            wick_err err = deliver(c, empty_chunk, 0, true);
            if (err != WICK_OK) {
                return err;
            }
            continue;
        }
        const wick_callbacks *cb = c->priv_.cb;
        int rc = 0;
        c->priv_.step = STEP_NONE;
        if (c->priv_.reasm && !c->priv_.oversize && cb->on_message != NULL) {
            c->priv_.in_callback = true;
            const uint8_t *data = c->priv_.msg != NULL ? c->priv_.msg : empty_chunk;
            rc = cb->on_message(c, c->priv_.msg_opcode, data, c->priv_.msg_len, c->priv_.user);
            c->priv_.in_callback = false;
        }
        message_end(c);
        return cb_status(c, rc);
    }
    return WICK_OK;
}

/* The extension's emit(): decoded bytes enter the normal path. A pause
 * asked for here takes effect when decode() returns. */
static int ext_emit(void *ctx, const uint8_t *data, size_t len)
{
    wick_conn *c = (wick_conn *)ctx;
    if (c->priv_.error != WICK_OK) {
        return (int)c->priv_.error;
    }
    if (len == 0) {
        return 0;
    }
    wick_err err = message_piece(c, data, len, false);
    if (err == WICK_PAUSED) {
        c->priv_.pause_req = true;
        return 0;
    }
    return (int)err;
}

static wick_err ext_chunk(wick_conn *c, const uint8_t *p, size_t n, bool last)
{
    const wick_extension *ext = c->priv_.ext;
    if (n == 0 && !last) {
        return WICK_OK;
    }
    c->priv_.pause_req = false;
    bool was = c->priv_.in_callback;
    c->priv_.in_callback = true;
    int rc = ext->decode(ext->state, p, n, last, ext_emit, c);
    c->priv_.in_callback = was;
    if (c->priv_.error != WICK_OK) {
        return c->priv_.error;
    }
    if (rc < 0) {
        wick_err err = (wick_err)rc;
        if (wick_err_close_code(err) == 0) {
            err = WICK_ERR_EXTENSION;
        }
        return conn_fail(c, err, "the extension failed to decode a message");
    }
    if (last) {
        c->priv_.step = STEP_FIN;
    }
    if (c->priv_.pause_req) {
        c->priv_.pause_req = false;
        return WICK_PAUSED;
    }
    return run_steps(c);
}

/* A frame header arrived: the message-level rules of RFC 6455 5.4. */
static wick_err on_header(wick_conn *c, const wick_frame_header *h)
{
    if (h->opcode >= 0x8) {
        /* RFC 6455 5.2 / RFC 7692 6.1: extensions give no meaning to RSV
         * bits on control frames. */
        if (h->rsv != 0) {
            return conn_fail(c, WICK_ERR_PROTO_RSV, "RSV bit set on a control frame");
        }
        c->priv_.ctrl_len = 0;
        return WICK_OK;
    }
    if (h->opcode == WICK_OP_CONT) {
        if (!c->priv_.in_message) {
            return conn_fail(c, WICK_ERR_PROTO_CONTINUATION,
                             "continuation frame with no message in progress");
        }
        if (h->rsv != 0) { /* RFC 7692 6.1: RSV1 only on the first frame */
            return conn_fail(c, WICK_ERR_PROTO_RSV, "RSV bit set on a continuation frame");
        }
        return c->priv_.ext_active ? WICK_OK : msg_limit(c, h->payload_len);
    }
    if (c->priv_.in_message) { /* RFC 6455 5.4: no interleaved messages */
        return conn_fail(c, WICK_ERR_PROTO_FRAGMENT,
                         "new data frame while a fragmented message is in progress");
    }
    const wick_callbacks *cb = c->priv_.cb;
    const wick_extension *ext = c->priv_.ext;
    c->priv_.in_message = true;
    c->priv_.msg_opcode = h->opcode;
    c->priv_.msg_total = 0;
    c->priv_.ext_active = ext != NULL && (h->rsv & ext->rsv_mask) != 0;
    c->priv_.reasm = cb->on_message != NULL && (c->priv_.msg_buf != NULL || c->priv_.alloc != NULL);
    wick_utf8_init(&c->priv_.utf8);
    if (!c->priv_.ext_active) {
        wick_err err = msg_limit(c, h->payload_len);
        if (err != WICK_OK) {
            return err;
        }
    }
    if (cb->on_message_begin == NULL) {
        return WICK_OK;
    }
    c->priv_.in_callback = true;
    int rc = cb->on_message_begin(c, h->opcode, c->priv_.user);
    c->priv_.in_callback = false;
    return cb_status(c, rc);
}

/* A whole close frame arrived (RFC 6455 5.5.1, 7.1.5, 7.4). */
static wick_err on_close_frame(wick_conn *c)
{
    const uint8_t *p = c->priv_.ctrl;
    size_t n = c->priv_.ctrl_len;
    uint16_t code = WICK_CLOSE_NO_STATUS;
    if (n == 1) {
        return conn_fail(c, WICK_ERR_PROTO_CLOSE_PAYLOAD, "close frame payload of 1 byte");
    }
    if (n >= 2) {
        code = wick__load_be16(p);
        if (!wick_close_code_valid(code)) {
            return conn_fail(c, WICK_ERR_PROTO_CLOSE_CODE, "close code not allowed on the wire");
        }
        if (!wick_utf8_valid(p + 2, n - 2)) { /* RFC 6455 5.5.1: reason is UTF-8 */
            return conn_fail(c, WICK_ERR_UTF8, "invalid UTF-8 in the close reason");
        }
    }
    /* A message cut short by the close is abandoned. */
    message_end(c);
    c->priv_.recv_close = true;
    c->priv_.close_code = code;
    if (!c->priv_.sent_close) {
        /* RFC 6455 5.5.1: echo the status code. */
        uint16_t echo = code == WICK_CLOSE_NO_STATUS ? 0 : code;
        if (wick__out_close(c, echo, NULL, 0) != WICK_OK) {
            return conn_fail(c, WICK_ERR_RANDOM, "the random source failed");
        }
    }
    const wick_callbacks *cb = c->priv_.cb;
    if (cb->on_close == NULL) {
        return WICK_OK;
    }
    c->priv_.in_callback = true;
    int rc =
        cb->on_close(c, code, n >= 2 ? (const char *)p + 2 : "", n >= 2 ? n - 2 : 0, c->priv_.user);
    c->priv_.in_callback = false;
    return cb_status(c, rc);
}

static wick_err on_control(wick_conn *c, uint8_t opcode)
{
    const wick_callbacks *cb = c->priv_.cb;
    int rc = 0;
    if (opcode == WICK_OP_CLOSE) {
        return on_close_frame(c);
    }
    if (opcode == WICK_OP_PING) {
        /* RFC 6455 5.5.2: answer with the same payload; nothing is sent
         * after our close frame. */
        if ((c->priv_.flags & WICK_CONF_NO_AUTO_PONG) == 0 && !c->priv_.sent_close &&
            wick__out_pong(c, c->priv_.ctrl, c->priv_.ctrl_len) != WICK_OK) {
            return conn_fail(c, WICK_ERR_RANDOM, "the random source failed");
        }
    }
    c->priv_.in_callback = true;
    if (opcode == WICK_OP_PING) {
        if (cb->on_ping != NULL) {
            rc = cb->on_ping(c, c->priv_.ctrl, c->priv_.ctrl_len, c->priv_.user);
        }
    } else if (opcode == WICK_OP_PONG && cb->on_pong != NULL) {
        rc = cb->on_pong(c, c->priv_.ctrl, c->priv_.ctrl_len, c->priv_.user);
    }
    c->priv_.in_callback = false;
    return cb_status(c, rc);
}

/* A payload chunk arrived. */
static wick_err on_chunk(wick_conn *c, const wick_frame_event *ev)
{
    if (ev->header.opcode >= 0x8) {
        /* RFC 6455 5.4: control payloads may be split across reads; they
         * are gathered (<= 125 bytes) and delivered whole. */
        if (ev->len > sizeof(c->priv_.ctrl) - c->priv_.ctrl_len) {
            return conn_fail(c, WICK_ERR_PROTO_CONTROL_TOO_BIG, "control frame payload too big");
        }
        if (ev->len != 0) {
            memcpy(c->priv_.ctrl + c->priv_.ctrl_len, ev->data, ev->len);
        }
        c->priv_.ctrl_len = (uint8_t)(c->priv_.ctrl_len + ev->len);
        return ev->frame_end ? on_control(c, ev->header.opcode) : WICK_OK;
    }
    bool last = ev->frame_end && ev->header.fin;
    if (c->priv_.ext_active) {
        return ext_chunk(c, ev->data, ev->len, last);
    }
    if (ev->len == 0 && !last) {
        return WICK_OK;
    }
    wick_err err = message_piece(c, ev->data, ev->len, last);
    if (last && (err == WICK_OK || err == WICK_PAUSED)) {
        c->priv_.step = STEP_MESSAGE;
        return err == WICK_OK ? run_steps(c) : err;
    }
    return err;
}

/* The leanest case of fast_frames(): no reassembly, so a message is one
 * UTF-8 check and one on_data() call. Leaves the connection exactly as
 * on_header(), message_piece() and run_steps() would. Returns false
 * (having changed nothing) when the text is not valid UTF-8. */
static bool lean_frame(wick_conn *c, uint8_t opcode, const uint8_t *p, size_t n, wick_err *err)
{
    *err = WICK_OK;
    /* n first: an empty message never branches on its opcode. */
    if (n != 0 && opcode == WICK_OP_TEXT && (c->priv_.flags & WICK_CONF_NO_UTF8_CHECK) == 0) {
        wick_utf8_init(&c->priv_.utf8);
        if (wick_utf8_feed(&c->priv_.utf8, p, n, NULL) != WICK_OK ||
            wick_utf8_finish(&c->priv_.utf8) != WICK_OK) {
            wick_utf8_init(&c->priv_.utf8);
            return false;
        }
    }
    const wick_callbacks *cb = c->priv_.cb;
    c->priv_.msg_opcode = opcode;
    c->priv_.msg_total = n;
    if (cb->on_data == NULL) {
        return true;
    }
    c->priv_.in_message = true;
    c->priv_.in_callback = true;
    int rc = cb->on_data(c, n != 0 ? p : empty_chunk, n, true, c->priv_.user);
    c->priv_.in_callback = false;
    if (rc == 0) {
        c->priv_.in_message = false;
        return true;
    }
    /* As after a pause in message_piece(): the end of the message is the
     * next call's first step. */
    c->priv_.step = STEP_MESSAGE;
    *err = cb_status(c, rc);
    return true;
}

/* One whole frame of fast_frames() through the same steps as parser
 * events: header rules, unmasking (unless done), UTF-8, limits,
 * reassembly, delivery, end of message. key is NULL for unmasked frames. */
static CONN_NOINLINE wick_err general_frame(wick_conn *c, uint8_t opcode, const uint8_t *key,
                                            uint8_t *payload, size_t plen, bool unmasked)
{
    wick_frame_header hd;
    hd.fin = true;
    hd.rsv = 0;
    hd.opcode = opcode;
    hd.masked = key != NULL;
    hd.payload_len = plen;
    memset(hd.mask, 0, sizeof(hd.mask));
    if (key != NULL) {
        memcpy(hd.mask, key, 4);
    }
    wick_err err = on_header(c, &hd);
    if (err != WICK_OK) {
        return err;
    }
    if (!unmasked) {
        wick_mask_apply(payload, plen, hd.mask, NULL);
    }
    err = message_piece(c, payload, plen, true);
    if (err != WICK_OK && err != WICK_PAUSED) {
        return err;
    }
    c->priv_.step = STEP_MESSAGE;
    return err == WICK_OK ? run_steps(c) : err;
}

/* Fast path for small frames: while the parser is idle, whole data frames
 * that are complete in the input (FIN set, no RSV bits, text or binary,
 * masked as the role requires, 7- or 16-bit length within the limits) are
 * decoded here and go through the same on_header / message_piece /
 * run_steps as the events of the parser would, without the per-event
 * copies. Anything else (control frames, fragments, split headers,
 * extensions, on_message_begin, which may pause between header and
 * payload) is left to the parser; the parser stays idle meanwhile, exactly
 * as if it had parsed these frames. Sets *used to the bytes of the frames
 * handled. */
static CONN_NOINLINE wick_err fast_frames(wick_conn *c, uint8_t *in, size_t len, size_t *used)
{
    const wick_callbacks *cb = c->priv_.cb;
    bool lean = cb->on_message == NULL || (c->priv_.msg_buf == NULL && c->priv_.alloc == NULL);
    bool server = c->priv_.role == (uint8_t)WICK_ROLE_SERVER;
    unsigned mask_bit = server ? 0x80U : 0U;
    size_t key_len = server ? 4U : 0U;
    uint64_t max_frame = c->priv_.max_frame != 0 ? c->priv_.max_frame : UINT64_MAX;
    uint64_t limit = max_frame < c->priv_.max_message ? max_frame : c->priv_.max_message;
    size_t pos = 0;
    wick_err err = WICK_OK;
    *used = 0;
    while (len - pos >= 2 + key_len) {
        const uint8_t *h = in + pos;
        unsigned b0 = h[0];
        unsigned b1 = h[1];
        if ((b0 != 0x81U && b0 != 0x82U) || (b1 & 0x80U) != mask_bit) {
            break;
        }
        size_t plen = b1 & 0x7FU;
        size_t hl = 2;
        if (plen == 126) {
            if (len - pos < 4 + key_len) {
                break;
            }
            plen = wick__load_be16(h + 2);
            hl = 4;
        } else if (plen == 127) {
            break;
        }
        if ((uint64_t)plen > limit || len - pos - hl - key_len < plen) {
            break;
        }
        uint8_t *payload = in + pos + hl + key_len;
        const uint8_t *key = h + hl; /* only read when server */
        uint8_t opcode = (uint8_t)(b0 & 0x0FU);
        bool unmasked = !server || plen == 0;
        pos += hl + key_len + plen;
        *used = pos;
        if (lean) {
            if (!unmasked) {
                wick_mask_apply(payload, plen, key, NULL);
                unmasked = true;
            }
            if (lean_frame(c, opcode, payload, plen, &err)) {
                if (err != WICK_OK) {
                    break;
                }
                continue;
            }
            /* Invalid UTF-8: the general route reports it exactly. */
        }
        err = general_frame(c, opcode, server ? key : NULL, payload, plen, unmasked);
        if (err != WICK_OK) {
            break;
        }
    }
    return err;
}

static bool fast_ok(const wick_conn *c)
{
    return c->priv_.ext == NULL && c->priv_.cb->on_message_begin == NULL &&
           c->priv_.step == STEP_NONE && !c->priv_.in_message &&
           wick__frame_parser_idle(&c->priv_.parser);
}

wick_err wick_conn_recv(wick_conn *c, uint8_t *in, size_t len, size_t *consumed)
{
    size_t ignored = 0;
    if (consumed == NULL) {
        consumed = &ignored;
    }
    *consumed = 0;
    if (c == NULL || (in == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    if (c->priv_.in_callback) {
        return WICK_ERR_STATE;
    }
    if (c->priv_.error != WICK_OK) {
        *consumed = len;
        return c->priv_.error;
    }
    wick_err err = run_steps(c);
    size_t pos = 0;
    /* Pull events until the parser has none; a zero-length payload gives
     * its DATA event after the header even with no input left. */
    while (err == WICK_OK && !c->priv_.recv_close) {
        wick_frame_event ev;
        size_t n = 0;
        if (pos < len && fast_ok(c)) {
            err = fast_frames(c, in + pos, len - pos, &n);
            pos += n;
            if (err != WICK_OK) {
                break;
            }
            n = 0;
        }
        err = wick_frame_parser_feed(&c->priv_.parser, in != NULL ? in + pos : in, len - pos, &n,
                                     &ev);
        pos += n;
        if (err != WICK_OK) {
            err = conn_fail(c, err, wick_strerror(err));
        } else if (ev.type == WICK_FRAME_HEADER) {
            err = on_header(c, &ev.header);
        } else if (ev.type == WICK_FRAME_DATA) {
            err = on_chunk(c, &ev);
        } else {
            break;
        }
    }
    if (err == WICK_PAUSED) {
        *consumed = pos;
        return err;
    }
    /* RFC 6455 5.5.1: after the peer's close, the rest is ignored. */
    *consumed = (err != WICK_OK || c->priv_.recv_close) ? len : pos;
    return err;
}
