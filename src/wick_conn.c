/* Connection engine, receive side: lifecycle, the frame decoder, message
 * rules (RFC 6455 5.4, 5.5, 5.6, 7, 8.1) and delivery.
 *
 * One decoder for every configuration. At a frame boundary the header is
 * read straight from the caller's input; an incomplete header, or an
 * incomplete control frame, is left unconsumed (WICK_NEED_MORE) for the
 * caller to pass again with more bytes, so the connection keeps no copy of
 * either. A data frame that is whole in the input and is a whole message
 * is unmasked in place and delivered at once, from the input (on_message
 * or one on_data call). Anything else (fragments, frames split across
 * calls, extension-encoded messages) streams through the payload state:
 * chunks are unmasked in place with the key phase carried over, then
 * validated, counted, and streamed or copied into reassembly storage. */
#include "wick_internal.h"

#include "wick_conn.h"
#include "wick_mask.h"

static const uint8_t empty_chunk[1] = {0};

/* WICK_NO_FAST_PATH leaves the receive loop's test for the common frame
 * out: step() alone gives the same results in less code (about 0.3 KB on
 * Cortex-M0+). It is the default when optimizing for size. */
#if defined(__OPTIMIZE_SIZE__) && !defined(WICK_FAST_PATH)
#define WICK_NO_FAST_PATH
#endif

/* Keeps rare paths out of the receive loop's registers, and the common
 * delivery in it. */
#if defined(__GNUC__) || defined(__clang__)
#define CONN_NOINLINE __attribute__((noinline))
#define CONN_INLINE   inline __attribute__((always_inline))
#else
#define CONN_NOINLINE
#define CONN_INLINE inline
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
    if (c->priv_.msg_owned && c->priv_.alloc != NULL) { /* owned implies an allocator */
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
}

/* The state members, back to a fresh OPEN connection: they are all zero
 * then (msg_opcode up to the configuration's cb), WICK_OK and U_ACCEPT
 * included. */
static void conn_clear(wick_conn *c)
{
    msg_drop(c);
    size_t at = offsetof(wick_conn, priv_.msg_opcode);
    memset((uint8_t *)c + at, 0, offsetof(wick_conn, priv_.cb) - at);
    c->priv_.msg = c->priv_.msg_buf;
    c->priv_.msg_cap = c->priv_.msg_buf_cap;
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
    if (cfg->extension != NULL &&
        (!WICK__EXTENSIONS || cfg->extension->decode == NULL ||
         (cfg->extension->encode == NULL) != (cfg->extension->encode_bound == NULL))) {
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
    c->priv_.max_frame = cfg->max_frame != 0 ? cfg->max_frame : UINT64_MAX;
    c->priv_.max_message = cfg->max_message != 0 ? cfg->max_message : UINT64_MAX;
    if (cb->on_message != NULL && cfg->allocator == NULL && cfg->msg_buf != NULL &&
        c->priv_.max_message > (uint64_t)cfg->msg_cap) {
        /* Whole messages that arrive in one piece need no copy, but the
         * same message split by TCP would not fit: the limit must not
         * depend on how the bytes arrived. */
        c->priv_.max_message = (uint64_t)cfg->msg_cap;
    }
    c->priv_.role = (uint8_t)cfg->role;
    c->priv_.flags = (uint8_t)cfg->flags;
    c->priv_.rsv_allowed =
        cfg->extension != NULL ? (uint8_t)(cfg->extension->rsv_mask & 0x70U) : 0U;
    c->priv_.reasm_cfg = cb->on_message != NULL && (cfg->msg_buf != NULL || cfg->allocator != NULL);
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
        /* A message in progress is no longer reassembled: the rest of it
         * streams through on_data. */
        c->priv_.reasm = false;
    }
}

/* RFC 6455 7.1.7 (Fail the WebSocket Connection): queue the close frame
 * once, report once, then ignore input. Returns err for convenience. */
static wick_err conn_fail(wick_conn *c, wick_err err)
{
    if (c->priv_.error != WICK_OK) {
        return c->priv_.error;
    }
    c->priv_.error = err;
    message_end(c);
    c->priv_.in_frame = false;
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
        c->priv_.cb->on_error(c, err, c->priv_.user);
        c->priv_.in_callback = was;
    }
    return err;
}

wick_err wick__conn_fail(wick_conn *c, wick_err err)
{
    return conn_fail(c, err);
}

/* Maps a callback's return value to OK, PAUSED or a failure. */
static wick_err cb_status(wick_conn *c, int rc)
{
    if (wick__likely(rc == 0)) {
        return WICK_OK;
    }
    return rc < 0 ? conn_fail(c, WICK_ERR_CALLBACK) : rc == WICK_PAUSE ? WICK_PAUSED : WICK_OK;
}

/* Streams a chunk of the current message to on_data. */
static wick_err deliver(wick_conn *c, const uint8_t *data, size_t len, bool fin)
{
    const wick_callbacks *cb = c->priv_.cb;
    if (cb->on_data == NULL) {
        return WICK_OK;
    }
    unsigned flags = (c->priv_.delivered ? 0U : (unsigned)WICK_DATA_FIRST) |
                     (fin ? (unsigned)WICK_DATA_FIN : 0U);
    c->priv_.delivered = true;
    bool was = c->priv_.in_callback;
    c->priv_.in_callback = true;
    int rc = cb->on_data(c, c->priv_.msg_opcode, len != 0 ? data : empty_chunk, len, flags,
                         c->priv_.user);
    c->priv_.in_callback = was;
    return cb_status(c, rc);
}

/* Gives the whole message to on_message and ends it. */
static wick_err deliver_message(wick_conn *c, const uint8_t *data, size_t len)
{
    c->priv_.in_callback = true;
    int rc = c->priv_.cb->on_message(c, c->priv_.msg_opcode, len != 0 ? data : empty_chunk, len,
                                     c->priv_.user);
    c->priv_.in_callback = false;
    message_end(c);
    return cb_status(c, rc);
}

/* Makes room for `need` bytes of message in the reassembly buffer: the
 * caller's msg_buf while it is big enough, else the allocator, growing
 * geometrically (capped at max_message) so a message costs O(log n)
 * allocations. */
static wick_err msg_reserve(wick_conn *c, uint64_t need64)
{
    if (need64 <= (uint64_t)c->priv_.msg_cap) {
        return WICK_OK;
    }
    const wick_allocator *a = c->priv_.alloc;
    if (a == NULL || need64 > (uint64_t)SIZE_MAX) {
        return WICK_ERR_TOO_BIG; /* msg_buf too small, nothing to grow with */
    }
    size_t need = (size_t)need64;
    size_t cap = c->priv_.msg_cap <= SIZE_MAX / 2 ? c->priv_.msg_cap * 2 : SIZE_MAX;
    if (cap < 64) {
        cap = 64;
    }
    if (cap < need) {
        cap = need;
    }
    if ((uint64_t)cap > c->priv_.max_message) {
        cap = (size_t)c->priv_.max_message; /* need <= max_message: checked first */
    }
    uint8_t *p = (uint8_t *)a->alloc(cap, a->ud);
    if (p == NULL) {
        return WICK_ERR_NOMEM;
    }
    size_t keep = c->priv_.msg_len;
    if (keep != 0) {
        memcpy(p, c->priv_.msg, keep);
    }
    msg_drop(c);
    c->priv_.msg = p;
    c->priv_.msg_cap = cap;
    c->priv_.msg_len = keep;
    c->priv_.msg_owned = true;
    return WICK_OK;
}

/* Applies the size limit to `more` upcoming message bytes (RFC 6455 10.4)
 * and, when they will be copied (`copy`), reserves room for them now:
 * before the payload arrives, so a frame fails fast and the buffer does not
 * grow per chunk. With WICK_CONF_OVERSIZE_STREAM an oversized message stops
 * being reassembled and streams through on_data from here on, starting
 * with what was gathered so far. May be run twice for the same header
 * (after a pause in that first on_data); the second run changes nothing. */
static wick_err msg_limit(wick_conn *c, uint64_t more, bool copy)
{
    if (c->priv_.oversize) {
        return WICK_OK;
    }
    wick_err err = WICK_OK;
    if (more > c->priv_.max_message - c->priv_.msg_total) {
        err = WICK_ERR_TOO_BIG;
    } else if (copy && c->priv_.reasm) {
        err = msg_reserve(c, (uint64_t)c->priv_.msg_len + more);
    }
    if (err == WICK_ERR_TOO_BIG && (c->priv_.flags & WICK_CONF_OVERSIZE_STREAM) != 0) {
        c->priv_.oversize = true;
        if (c->priv_.reasm) {
            c->priv_.reasm = false;
            if (c->priv_.msg_len != 0) {
                size_t n = c->priv_.msg_len;
                c->priv_.msg_len = 0;
                err = deliver(c, c->priv_.msg, n, false);
                msg_drop(c);
                return err;
            }
            msg_drop(c);
        }
        return WICK_OK;
    }
    return err == WICK_OK ? WICK_OK : conn_fail(c, err);
}

/* The current message goes through the extension's decoder. */
static bool ext_on(const wick_conn *c)
{
    return WICK__EXTENSIONS && c->priv_.ext_active;
}

static bool text_checked(const wick_conn *c)
{
    return c->priv_.msg_opcode == WICK_OP_TEXT && (c->priv_.flags & WICK_CONF_NO_UTF8_CHECK) == 0;
}

/* One piece of message payload (raw, or decoded by the extension): UTF-8
 * check, size limit, then copied into reassembly storage or streamed.
 * `last` ends the message (on_message, or on_data with FIN). `plain`: the
 * piece is known to be ASCII and the text so far ends on a character
 * boundary, so the UTF-8 check has nothing to do. */
static wick_err message_piece(wick_conn *c, const uint8_t *p, size_t n, bool last, bool plain)
{
    if (text_checked(c) && !plain) {
        size_t bad = 0;
        /* RFC 6455 8.1: fail as soon as an invalid byte is seen; a streaming
         * caller may get the valid prefix, the bad byte never. */
        if (wick_utf8_feed(&c->priv_.utf8, p, n, &bad) != WICK_OK) {
            if (bad != 0 && !c->priv_.reasm) {
                (void)deliver(c, p, bad, false);
            }
            return conn_fail(c, WICK_ERR_UTF8);
        }
        if (last && wick_utf8_finish(&c->priv_.utf8) != WICK_OK) {
            if (n != 0 && !c->priv_.reasm) {
                (void)deliver(c, p, n, false);
            }
            return conn_fail(c, WICK_ERR_UTF8);
        }
    }
    bool paused = false;
    if (ext_on(c)) {
        /* Decoded sizes are not in any header: count them as they come.
         * A pause in the on_data that hands over what was gathered before
         * the limit still lets this piece through first. */
        wick_err err = msg_limit(c, n, true);
        if (err == WICK_PAUSED) {
            paused = true;
        } else if (err != WICK_OK) {
            return err;
        }
    }
    c->priv_.msg_total += n;
    if (c->priv_.reasm) {
        if (n != 0 && p != c->priv_.msg + c->priv_.msg_len) { /* else unmasked into place */
            memcpy(c->priv_.msg + c->priv_.msg_len, p, n);
        }
        c->priv_.msg_len += n;
        return last ? deliver_message(c, c->priv_.msg, c->priv_.msg_len) : WICK_OK;
    }
    if (n == 0 && !last) {
        return paused ? WICK_PAUSED : WICK_OK;
    }
    wick_err err = deliver(c, p, n, last);
    if (last) {
        message_end(c);
    }
    return err == WICK_OK && paused ? WICK_PAUSED : err;
}

/* The end of an extension-decoded message, once decode() has ended it. */
static wick_err ext_end(wick_conn *c)
{
    if (text_checked(c) && wick_utf8_finish(&c->priv_.utf8) != WICK_OK) {
        return conn_fail(c, WICK_ERR_UTF8);
    }
    if (c->priv_.reasm) {
        return deliver_message(c, c->priv_.msg, c->priv_.msg_len);
    }
    wick_err err = deliver(c, empty_chunk, 0, true);
    message_end(c);
    return err;
}

/* The extension's emit(): decoded bytes enter the normal path. The piece
 * is taken whole; WICK_PAUSE back asks decode() to stop there. */
static int ext_emit(void *ctx, const uint8_t *data, size_t len)
{
    wick_conn *c = (wick_conn *)ctx;
    if (c->priv_.error != WICK_OK) {
        return (int)c->priv_.error;
    }
    if (len == 0) {
        return 0;
    }
    wick_err err = message_piece(c, data, len, false, false);
    if (err == WICK_PAUSED) {
        c->priv_.pause_req = true;
        return WICK_PAUSE;
    }
    return (int)err;
}

/* p[0..n) of the current frame (unmasked in place) through decode().
 * *back gets how many of its bytes go back to the caller. */
static wick_err ext_chunk(wick_conn *c, uint8_t *p, size_t n, bool last, size_t *back)
{
    const wick_extension *ext = c->priv_.ext;
    *back = 0;
    if (n == 0 && !last) {
        return WICK_OK;
    }
    size_t took = n;
    c->priv_.pause_req = false;
    c->priv_.in_callback = true;
    int rc = ext->decode(ext->state, p, n, last, &took, ext_emit, c);
    c->priv_.in_callback = false;
    if (c->priv_.error != WICK_OK) {
        return c->priv_.error;
    }
    if (rc < 0) {
        wick_err err = (wick_err)rc;
        return conn_fail(c, wick_err_close_code(err) != 0 ? err : WICK_ERR_EXTENSION);
    }
    if (rc == WICK_PAUSE) {
        /* The decoder stopped: the rest of the chunk goes back to the
         * caller as it came (masked again; a client's key is all zero)
         * and is read again. The frame stays open even with nothing left
         * of it, so that decode() is called once more (it may still hold
         * output, or the message's end) when wick_conn_recv() is. */
        size_t k = n - (took < n ? took : n);
        size_t ph = ((size_t)c->priv_.phase - k) & 3U;
        c->priv_.remaining += k;
        c->priv_.in_frame = true;
        c->priv_.phase = (uint8_t)ph;
        wick__mask_copy(p + n - k, p + n - k, k, c->priv_.key, ph);
        *back = k;
        return WICK_PAUSED;
    }
    wick_err err = last ? ext_end(c) : WICK_OK;
    /* A decoder that went on after emit asked for a pause: the pause takes
     * effect now, after the chunk. */
    return err == WICK_OK && c->priv_.pause_req ? WICK_PAUSED : err;
}

/* A whole control frame, unmasked in place (RFC 6455 5.5). */
static wick_err on_control(wick_conn *c, unsigned opcode, const uint8_t *p, size_t n)
{
    const wick_callbacks *cb = c->priv_.cb;
    int rc = 0;
    if (opcode == WICK_OP_CLOSE) {
        /* RFC 6455 5.5.1, 7.1.5, 7.4 */
        uint16_t code = WICK_CLOSE_NO_STATUS;
        if (n == 1) {
            return conn_fail(c, WICK_ERR_PROTO_CLOSE_PAYLOAD);
        }
        if (n >= 2) {
            code = wick__load_be16(p);
            if (!wick_close_code_valid(code)) {
                return conn_fail(c, WICK_ERR_PROTO_CLOSE_CODE);
            }
            if (!wick_utf8_valid(p + 2, n - 2)) { /* the reason is UTF-8 */
                return conn_fail(c, WICK_ERR_UTF8);
            }
        }
        /* A message cut short by the close is abandoned. */
        message_end(c);
        c->priv_.in_frame = false;
        c->priv_.recv_close = true;
        c->priv_.close_code = code;
        /* RFC 6455 5.5.1: echo the status code (the reserve always fits it). */
        if (!c->priv_.sent_close &&
            wick__out_close(c, code == WICK_CLOSE_NO_STATUS ? 0 : code, NULL, 0) != WICK_OK) {
            return conn_fail(c, WICK_ERR_RANDOM);
        }
        if (cb->on_close == NULL) {
            return WICK_OK;
        }
        c->priv_.in_callback = true;
        rc = cb->on_close(c, code, n >= 2 ? (const char *)p + 2 : "", n >= 2 ? n - 2 : 0,
                          c->priv_.user);
        c->priv_.in_callback = false;
        return cb_status(c, rc);
    }
    if (opcode == WICK_OP_PING) {
        /* RFC 6455 5.5.2: answer with the same payload (room was checked
         * before the frame was taken); nothing is sent after our close. */
        if ((c->priv_.flags & WICK_CONF_NO_AUTO_PONG) == 0 && !c->priv_.sent_close &&
            wick__out_pong(c, p, n) != WICK_OK) {
            return conn_fail(c, WICK_ERR_RANDOM);
        }
    }
    int (*fn)(wick_conn *, const uint8_t *, size_t, void *) =
        opcode == WICK_OP_PING ? cb->on_ping : cb->on_pong;
    if (fn == NULL) {
        return WICK_OK;
    }
    c->priv_.in_callback = true;
    rc = fn(c, n != 0 ? p : empty_chunk, n, c->priv_.user);
    c->priv_.in_callback = false;
    return cb_status(c, rc);
}

/* Unmasks the payload of a whole single-frame message in place. Returns
 * true when it is text found to be plain ASCII in the same pass (then the
 * UTF-8 check has nothing left to do); short ones take the plain unmask,
 * their UTF-8 check is cheap. */
static bool unmask_whole(const wick_conn *c, unsigned op, uint8_t *p, size_t n, const uint8_t *key)
{
#ifdef WICK__MASK_ASCII
    if (n >= 32 && op == WICK_OP_TEXT && (c->priv_.flags & WICK_CONF_NO_UTF8_CHECK) == 0) {
        return wick__mask_ascii(p, p, n, key, 0);
    }
#else
    (void)c;
    (void)op;
#endif
    wick_mask_apply(p, n, key, NULL);
    return false;
}

/* A whole single-frame text message that is not valid UTF-8: fail fast
 * (RFC 6455 8.1); a streaming caller gets the valid prefix first. */
static CONN_NOINLINE wick_err whole_bad_text(wick_conn *c, const uint8_t *p, size_t n)
{
    size_t bad = n; /* an incomplete last sequence: all of it is a valid prefix */
    c->priv_.msg_opcode = WICK_OP_TEXT;
    c->priv_.delivered = false;
    wick_utf8_init(&c->priv_.utf8);
    (void)wick_utf8_feed(&c->priv_.utf8, p, n, &bad);
    if (bad != 0 && !c->priv_.reasm_cfg) {
        (void)deliver(c, p, bad, false);
    }
    return conn_fail(c, WICK_ERR_UTF8);
}

/* A data message that is one frame, whole in the input, already unmasked
 * (`plain`: and found to be ASCII): checked and delivered in place.
 * Nothing of the connection's message state is touched. */
static CONN_INLINE wick_err whole_message(wick_conn *c, unsigned op, const uint8_t *p, size_t n,
                                          bool plain)
{
    if (n != 0 && op == WICK_OP_TEXT && (c->priv_.flags & WICK_CONF_NO_UTF8_CHECK) == 0 && !plain &&
        !wick_utf8_valid(p, n)) {
        return whole_bad_text(c, p, n);
    }
    const wick_callbacks *cb = c->priv_.cb;
    int rc = 0;
    c->priv_.in_callback = true;
    /* p points into the input, so it is not NULL even for an empty message. */
    if (c->priv_.reasm_cfg) {
        rc = cb->on_message(c, (uint8_t)op, p, n, c->priv_.user);
    } else if (cb->on_data != NULL) {
        rc = cb->on_data(c, (uint8_t)op, p, n, WICK_DATA_FIRST | WICK_DATA_FIN, c->priv_.user);
    }
    c->priv_.in_callback = false;
    return wick__likely(rc == 0) ? WICK_OK : cb_status(c, rc);
}

/* Opcodes 0-2 and 8-10 are defined (RFC 6455 5.2); one bit each. */
#define OPCODES_DEFINED 0x0707U

/* What the first two header bytes alone decide (RFC 6455 5.1, 5.2, 5.5):
 * WICK_OK or the error that fails the connection. */
static wick_err lead_check(unsigned b0, unsigned b1, unsigned rsv_allowed, unsigned mask_bit)
{
    unsigned op = b0 & 0x0FU;
    /* RSV bits only as an extension defines them. */
    if ((b0 & 0x70U & ~rsv_allowed) != 0) {
        return WICK_ERR_PROTO_RSV;
    }
    if (((OPCODES_DEFINED >> op) & 1U) == 0) {
        return WICK_ERR_PROTO_OPCODE;
    }
    if (op >= 8) {
        /* Control frames are not fragmented, carry at most 125 bytes (so
         * always a 7-bit length), and extensions give them no meaning for
         * the RSV bits (RFC 7692 6.1). */
        if ((b0 & 0x80U) == 0) {
            return WICK_ERR_PROTO_CONTROL_FRAGMENTED;
        }
        if ((b1 & 0x7FU) > 125) {
            return WICK_ERR_PROTO_CONTROL_TOO_BIG;
        }
        if ((b0 & 0x70U) != 0) {
            return WICK_ERR_PROTO_RSV;
        }
    }
    /* A server fails on an unmasked frame, a client on a masked one. */
    return (b1 & 0x80U) != mask_bit ? WICK_ERR_PROTO_MASK : WICK_OK;
}

/* One step of the general decoder at in[*pos..len): a piece of the
 * current data frame's payload, or one frame header (with the whole
 * control frame, or the whole message when it is one frame). Returns
 * WICK_OK after progress, WICK_NEED_MORE when the input ends first (or
 * after the peer's close), or the status to return (a pause, WICK_BLOCKED,
 * a failure). Kept out of line so the fast loop in decode() stays small. */
static CONN_NOINLINE wick_err step(wick_conn *c, uint8_t *in, size_t len, size_t *at)
{
    const unsigned mask_bit = c->priv_.role == (uint8_t)WICK_ROLE_SERVER ? 0x80U : 0U;
    const size_t key_len = mask_bit != 0 ? 4U : 0U;
    size_t pos = *at;
    wick_err err = WICK_NEED_MORE;

    do {
        if (c->priv_.recv_close) {
            break;
        }
        if (c->priv_.in_frame) {
            /* Payload of a data frame that is not handled whole. */
            uint64_t rem = c->priv_.remaining;
            size_t n = rem < (uint64_t)(len - pos) ? (size_t)rem : len - pos;
            if (n == 0 && rem != 0) {
                break;
            }
            uint8_t *p = in + pos;
            bool plain = false;
            if (mask_bit != 0 && n != 0) {
                unsigned ph = c->priv_.phase;
                /* Unmasked in place, or straight into the reassembly
                 * buffer (room was reserved at the header): one pass. */
                uint8_t *dst = c->priv_.reasm && !ext_on(c) ? c->priv_.msg + c->priv_.msg_len : p;
#ifdef WICK__MASK_ASCII
                if (text_checked(c) && !ext_on(c) && wick_utf8_finish(&c->priv_.utf8) == WICK_OK) {
                    /* At a character boundary: unmasked and found plain
                     * ASCII in the same pass. */
                    plain = wick__mask_ascii(dst, p, n, c->priv_.key, ph);
                } else
#endif
                {
                    wick__mask_copy(dst, p, n, c->priv_.key, ph);
                }
                p = dst;
                c->priv_.phase = (uint8_t)((ph + n) & 3U);
            }
            pos += n;
            c->priv_.remaining = rem - n;
            bool last = false;
            if (rem == n) {
                c->priv_.in_frame = false;
                last = c->priv_.frame_fin;
            }
            if (!ext_on(c)) {
                err = message_piece(c, p, n, last, plain);
                break;
            }
            size_t back = 0;
            err = ext_chunk(c, p, n, last, &back);
            pos -= back;
            break;
        }
        size_t avail = len - pos;
        if (avail < 2) {
            break;
        }
        const uint8_t *h = in + pos;
        unsigned b0 = h[0];
        unsigned b1 = h[1];
        unsigned op = b0 & 0x0FU;
        size_t plen = b1 & 0x7FU;
        wick_err bad = lead_check(b0, b1, c->priv_.rsv_allowed, mask_bit);
        if (wick__unlikely(bad != WICK_OK)) {
            return conn_fail(c, bad);
        }
        size_t hl = 2;
        uint64_t plen64 = plen;
        if (plen >= 126) {
            hl = plen == 126 ? 4U : 10U;
            if (avail < hl) {
                break;
            }
            /* RFC 6455 5.2 asks senders for the minimal length encoding;
             * like most receivers we accept a longer one, which is just
             * as unambiguous. */
            if (plen == 126) {
                plen64 = wick__load_be16(h + 2);
            } else {
                plen64 = wick__load_be64(h + 2);
                if ((plen64 >> 63) != 0) { /* RFC 6455 5.2: MSB must be 0 */
                    return conn_fail(c, WICK_ERR_PROTO_LENGTH);
                }
            }
        }
        if (avail < hl + key_len) {
            break;
        }
        const uint8_t *key = h + hl;
        uint8_t *payload = in + pos + hl + key_len;
        size_t body = avail - hl - key_len; /* payload bytes in this input */
        if (op >= 8) {
            if (body < plen) {
                break; /* the caller keeps the control frame for us */
            }
            if (op == WICK_OP_PING && (c->priv_.flags & WICK_CONF_NO_AUTO_PONG) == 0 &&
                !c->priv_.sent_close && !wick__out_pong_fits(c, plen)) {
                err = WICK_BLOCKED; /* the frame stays unconsumed, still masked */
                break;
            }
            if (key_len != 0) {
                wick_mask_apply(payload, plen, key, NULL);
            }
            pos += hl + key_len + plen;
            err = on_control(c, op, payload, plen);
            break;
        }
        if (wick__unlikely(plen64 > c->priv_.max_frame)) {
            return conn_fail(c, WICK_ERR_FRAME_TOO_BIG);
        }
        bool fin = (b0 & 0x80U) != 0;
        bool whole = plen64 <= (uint64_t)body;
        if (op == WICK_OP_CONT) {
            if (!c->priv_.in_message) {
                return conn_fail(c, WICK_ERR_PROTO_CONTINUATION);
            }
            if ((b0 & 0x70U) != 0) { /* RFC 7692 6.1: RSV1 on the first frame only */
                return conn_fail(c, WICK_ERR_PROTO_RSV);
            }
        } else {
            if (c->priv_.in_message) { /* RFC 6455 5.4: no interleaved messages */
                return conn_fail(c, WICK_ERR_PROTO_FRAGMENT);
            }
            if (fin && whole && (b0 & 0x70U) == 0 && plen64 <= c->priv_.max_message) {
                /* The common case: a whole message in one frame, here. */
                bool plain =
                    key_len != 0 && plen != 0 && unmask_whole(c, op, payload, (size_t)plen64, key);
                pos += hl + key_len + (size_t)plen64;
                err = whole_message(c, op, payload, (size_t)plen64, plain);
                break;
            }
            c->priv_.msg_opcode = (uint8_t)op;
            c->priv_.in_message = true;
            c->priv_.delivered = false;
            c->priv_.msg_total = 0;
            c->priv_.ext_active = (b0 & 0x70U) != 0; /* only allowed bits got here */
            c->priv_.reasm = c->priv_.reasm_cfg;
            wick_utf8_init(&c->priv_.utf8);
        }
        if (!ext_on(c)) {
            /* A header tells the frame's size: fail fast (RFC 6455 10.4). */
            err = msg_limit(c, plen64, true);
            if (err != WICK_OK) {
                break; /* a pause in msg_limit's on_data: the header is read again */
            }
        }
        pos += hl + key_len;
        c->priv_.in_frame = true;
        c->priv_.frame_fin = fin;
        c->priv_.remaining = plen64;
        c->priv_.phase = 0;
        memcpy(c->priv_.key, key_len != 0 ? key : empty_chunk, key_len);
        err = WICK_OK;
    } while (0);
    *at = pos;
    return err;
}

/* Decodes frames from in[0..len) until the input ends, a frame is
 * incomplete, a callback pauses, or the connection fails. The loop tests
 * for the common frame first: a whole unfragmented text or binary message
 * with a 7- or 16-bit length, masked as the role requires, no RSV bits,
 * while no other message is in progress. Those are unmasked and delivered right
 * here (same checks, same result as step() would give, which takes
 * everything else). */
static wick_err decode(wick_conn *c, uint8_t *in, size_t len, size_t *used)
{
#ifndef WICK_NO_FAST_PATH
    const unsigned mask_bit = c->priv_.role == (uint8_t)WICK_ROLE_SERVER ? 0x80U : 0U;
    const size_t key_len = mask_bit != 0 ? 4U : 0U;
    const uint64_t small_max =
        c->priv_.max_message < c->priv_.max_frame ? c->priv_.max_message : c->priv_.max_frame;
#endif
    size_t pos = 0;
    wick_err err;
#ifndef WICK_NO_FAST_PATH
    /* Only step() changes these (callbacks cannot recv or reset). */
    bool idle = !c->priv_.in_frame && !c->priv_.in_message && !c->priv_.recv_close;
#endif
    for (;;) {
#ifndef WICK_NO_FAST_PATH
        size_t avail = len - pos;
        if (idle && avail >= 2) {
            unsigned b0 = in[pos];
            unsigned l7 = in[pos + 1] ^ mask_bit; /* the 7-bit length if the mask bit is right */
            size_t n = l7;
            size_t hl = 2 + key_len;
            bool fast = (b0 - 0x81U) < 2U && l7 <= 126U;
            if (l7 == 126U) {
                fast = fast && avail >= 4;
                n = fast ? wick__load_be16(in + pos + 2) : 0U;
                hl += 2;
            }
            if (fast && n <= small_max && avail >= hl && avail - hl >= n) {
                uint8_t *p = in + pos + hl;
                bool plain = key_len != 0 && n != 0 && unmask_whole(c, b0 & 0x0FU, p, n, p - 4);
                pos += hl + n;
                err = whole_message(c, b0 & 0x0FU, p, n, plain);
                if (wick__likely(err == WICK_OK)) {
                    continue;
                }
                break;
            }
        }
#endif
        err = step(c, in, len, &pos);
        if (err != WICK_OK) {
            break;
        }
#ifndef WICK_NO_FAST_PATH
        idle = !c->priv_.in_frame && !c->priv_.in_message && !c->priv_.recv_close;
#endif
    }
    *used = pos;
    return err == WICK_NEED_MORE ? WICK_OK : err;
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
    wick_err err = WICK_OK;
    size_t pos = 0;
    if (len != 0 || c->priv_.in_frame) {
        /* A frame left open by a pause is resumed even with no input; a
         * length of 0 never reads `in` (which may be NULL). */
        err = decode(c, in != NULL ? in : c->priv_.key, len, &pos);
    }
    if (err == WICK_PAUSED || err == WICK_BLOCKED) {
        *consumed = pos;
        return err;
    }
    /* RFC 6455 5.5.1: after the peer's close, the rest is ignored; after a
     * failure, everything is. */
    if (err != WICK_OK || c->priv_.recv_close) {
        *consumed = len;
        return err;
    }
    *consumed = pos;
    return pos == len ? WICK_OK : WICK_NEED_MORE;
}
