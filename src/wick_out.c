/* Connection engine, output side: the output window, data/ping/pong/close
 * frames, prepared frames; then the state flags and accessors. The only
 * buffering is the caller's out_buf, whose last WICK_OUT_RESERVE bytes of
 * free space are kept for the close frame. */
#include "wick_internal.h"

#include "wick_conn.h"
#include "wick_mask.h"

static size_t out_used(const wick_conn *c)
{
    return c->priv_.out_tail - c->priv_.out_head;
}

/* Returns where n contiguous bytes can be written, or NULL when the free
 * space is too small. Compacts only when the tail has no room but the
 * buffer as a whole has (no memmove per frame). */
static uint8_t *out_room(wick_conn *c, size_t n)
{
    if (c->priv_.out_cap - c->priv_.out_tail >= n) {
        return c->priv_.out + c->priv_.out_tail;
    }
    size_t used = out_used(c);
    if (c->priv_.out_cap - used < n) {
        return NULL;
    }
    if (used != 0) {
        memmove(c->priv_.out, c->priv_.out + c->priv_.out_head, used);
    }
    c->priv_.out_head = 0;
    c->priv_.out_tail = used;
    return c->priv_.out + used;
}

/* Encodes one frame into dst (room for at least hsize + len bytes),
 * masked with a fresh key for a client (RFC 6455 5.3). Sets *out_len. */
static wick_err encode(wick_conn *c, uint8_t *dst, uint8_t opcode, bool fin, const uint8_t *payload,
                       size_t len, size_t *out_len)
{
    uint8_t key[4];
    bool masked = c->priv_.role == WICK_ROLE_CLIENT;
    if (masked && c->priv_.cb->random(c->priv_.user, key, sizeof(key)) != 0) {
        return WICK_ERR_RANDOM;
    }
    size_t hl = wick__frame_put_header(dst, (uint8_t)((fin ? 0x80U : 0U) | opcode), len,
                                       masked ? key : NULL);
    if (len != 0) {
        if (masked) {
            wick__mask_copy(dst + hl, payload, len, key, 0); /* copy and mask in one pass */
        } else {
            memcpy(dst + hl, payload, len);
        }
    }
    *out_len = hl + len;
    return WICK_OK;
}

/* Size of a frame of this role with `len` payload bytes; 0 on overflow. */
static size_t frame_size(const wick_conn *c, size_t len)
{
    size_t hs = wick_frame_header_size(len, c->priv_.role == WICK_ROLE_CLIENT);
    return len <= SIZE_MAX - hs ? hs + len : 0;
}

/* Output space that data frames, pings and pongs may use: all but the
 * close reserve, so a close frame (RFC 6455 5.5.1), ours or the engine's
 * answer or failure, always fits. */
static size_t out_free(const wick_conn *c)
{
    size_t busy = out_used(c) + WICK_OUT_RESERVE;
    return busy < c->priv_.out_cap ? c->priv_.out_cap - busy : 0;
}

/* Queues a frame in the output buffer, keeping `reserve` bytes free after
 * it (WICK_OUT_RESERVE for every frame but the close frame). Returns
 * WICK_OK, WICK_ERR_BUFFER_TOO_SMALL, WICK_ERR_WOULD_BLOCK or
 * WICK_ERR_RANDOM. */
static wick_err put_frame(wick_conn *c, uint8_t opcode, bool fin, const uint8_t *payload,
                          size_t len, size_t reserve)
{
    size_t total = frame_size(c, len);
    size_t cap = c->priv_.out_cap - reserve; /* out_cap >= WICK_OUT_MIN > reserve */
    if (total == 0 || total > cap) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t *dst = out_used(c) <= cap - total ? out_room(c, total) : NULL;
    if (dst == NULL) {
        return WICK_ERR_WOULD_BLOCK;
    }
    size_t n = 0;
    wick_err err = encode(c, dst, opcode, fin, payload, len, &n);
    if (err == WICK_OK) {
        c->priv_.out_tail += n;
    }
    return err;
}

bool wick__out_pong_fits(const wick_conn *c, size_t len)
{
    return frame_size(c, len) <= out_free(c);
}

wick_err wick__out_pong(wick_conn *c, const uint8_t *payload, size_t len)
{
    return put_frame(c, WICK_OP_PONG, true, payload, len, WICK_OUT_RESERVE);
}

wick_err wick__out_close(wick_conn *c, uint16_t code, const uint8_t *reason, size_t len)
{
    uint8_t payload[125];
    size_t n = 0;
    if (code != 0) {
        wick__store_be16(payload, code);
        n = 2;
        if (len != 0) {
            memcpy(payload + 2, reason, len);
            n += len;
        }
    }
    wick_err err = put_frame(c, WICK_OP_CLOSE, true, payload, n, 0);
    if (err == WICK_OK) {
        c->priv_.sent_close = true; /* RFC 6455 5.5.1: no data after this */
    }
    return err;
}

/* Payload bytes one frame could carry in `room` bytes. */
static size_t payload_room(size_t room, bool masked)
{
    size_t m = masked ? 4U : 0U;
    if (room < 2 + m) {
        return 0;
    }
    size_t p = room - 2 - m;
    if (p <= 125) {
        return p;
    }
    p = room - 4 - m;
    if (p <= 125) {
        return 125;
    }
    if (p <= 0xFFFF) {
        return p;
    }
    p = room - 10 - m;
    return p > 0xFFFF ? p : 0xFFFF;
}

size_t wick_conn_send_space(const wick_conn *c)
{
    if (c == NULL || c->priv_.sent_close || c->priv_.error != WICK_OK) {
        return 0;
    }
    return payload_room(out_free(c), c->priv_.role == WICK_ROLE_CLIENT);
}

/* Shared checks of the data-frame senders; strips WICK_SEND_PLAIN from
 * *opcode and decides whether the frame goes through the extension's
 * encoder (the first frame decides for the whole message). */
/* The current message goes through the extension's encoder (never in a
 * WICK_NO_EXTENSIONS build: the constant lets the compiler drop that path). */
static bool encoded(const wick_conn *c)
{
    return WICK__EXTENSIONS && c->priv_.out_encoded;
}

static wick_err data_check(wick_conn *c, uint8_t *opcode, const void *data, size_t len)
{
    if (c == NULL || (data == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    bool plain = (*opcode & WICK_SEND_PLAIN) != 0;
    uint8_t op = (uint8_t)(*opcode & ~WICK_SEND_PLAIN);
    if (op != WICK_OP_TEXT && op != WICK_OP_BINARY && (op != WICK_OP_CONT || plain)) {
        return WICK_ERR_ARG;
    }
    if (c->priv_.sent_close || c->priv_.error != WICK_OK) {
        return WICK_ERR_CLOSED;
    }
    /* RFC 6455 5.4: one message at a time, continued by CONT frames. */
    if ((op == WICK_OP_CONT) != c->priv_.out_in_message) {
        return WICK_ERR_STATE;
    }
    if (op != WICK_OP_CONT) {
        c->priv_.out_encoded =
            WICK__EXTENSIONS && !plain && c->priv_.ext != NULL && c->priv_.ext->encode != NULL;
    }
    *opcode = op;
    return WICK_OK;
}

/* Bytes an encoded frame of `len` input bytes may take: header + bound. */
static size_t encoded_size(const wick_conn *c, size_t len, size_t *bound)
{
    *bound = c->priv_.ext->encode_bound(c->priv_.ext->state, len);
    size_t hs = wick_frame_header_size(*bound, c->priv_.role == WICK_ROLE_CLIENT);
    return *bound >= len && *bound <= SIZE_MAX - hs ? hs + *bound : 0;
}

/* Queues one data frame through the extension's encoder (e.g. RFC 7692
 * compression): room for encode_bound() is taken first, the payload is
 * encoded after the largest header it could need, then the header goes
 * in front (the payload moved down when the real one is shorter) and a
 * client masks in place. Returns as put_frame(), or WICK_DONE when the
 * encoder wants the message sent as it is (first frame only). An encoder
 * failure fails the connection: its state no longer matches the peer's. */
static wick_err put_encoded(wick_conn *c, uint8_t opcode, bool fin, const uint8_t *data, size_t len)
{
    const wick_extension *x = c->priv_.ext;
    bool masked = c->priv_.role == WICK_ROLE_CLIENT;
    bool first = opcode != WICK_OP_CONT;
    size_t bound = 0;
    size_t total = encoded_size(c, len, &bound);
    size_t cap = c->priv_.out_cap - WICK_OUT_RESERVE;
    if (total == 0 || total > cap) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t *dst = out_used(c) <= cap - total ? out_room(c, total) : NULL;
    if (dst == NULL) {
        return WICK_ERR_WOULD_BLOCK;
    }
    uint8_t key[4];
    if (masked && c->priv_.cb->random(c->priv_.user, key, sizeof(key)) != 0) {
        return WICK_ERR_RANDOM; /* before encoding: nothing changed yet */
    }
    size_t hmax = total - bound;
    size_t n = 0;
    int rc = x->encode(x->state, data, len, first, fin, dst + hmax, bound, &n);
    if (rc == 1 && first) {
        return WICK_DONE;
    }
    if (rc != 0 || n > bound) {
        wick_err err =
            rc < 0 && wick_err_close_code((wick_err)rc) != 0 ? (wick_err)rc : WICK_ERR_EXTENSION;
        return wick__conn_fail(c, err);
    }
    size_t hl = wick_frame_header_size(n, masked);
    if (hl != hmax && n != 0) {
        memmove(dst + hl, dst + hmax, n);
    }
    uint8_t b0 = (uint8_t)((fin ? 0x80U : 0U) | (first ? x->rsv_mask : 0U) | opcode);
    (void)wick__frame_put_header(dst, b0, n, masked ? key : NULL);
    if (masked && n != 0) {
        wick__mask_copy(dst + hl, dst + hl, n, key, 0);
    }
    c->priv_.out_tail += hl + n;
    return WICK_OK;
}

wick_err wick_conn_send(wick_conn *c, uint8_t opcode, const void *data, size_t len, bool fin)
{
    wick_err err = data_check(c, &opcode, data, len);
    if (err == WICK_OK && encoded(c)) {
        err = put_encoded(c, opcode, fin, (const uint8_t *)data, len);
        if (err == WICK_DONE) {
            c->priv_.out_encoded = false; /* sent as it is, below */
            err = WICK_OK;
        }
    }
    if (err == WICK_OK && !encoded(c)) {
        err = put_frame(c, opcode, fin, (const uint8_t *)data, len, WICK_OUT_RESERVE);
    }
    if (err == WICK_OK) {
        c->priv_.out_in_message = !fin;
    }
    return err;
}

/* The most input bytes (up to len) whose encoded frame fits in room;
 * *fits is false when not even an empty one does. A binary search: the
 * bound is the encoder's, so nothing is assumed of its shape but that it
 * does not shrink as the input grows. */
static size_t encoded_fit(const wick_conn *c, size_t len, size_t room, bool *fits)
{
    size_t bound = 0;
    size_t need = encoded_size(c, 0, &bound);
    *fits = need != 0 && need <= room;
    if (!*fits) {
        return 0;
    }
    size_t lo = 0; /* fits */
    size_t hi = len;
    need = encoded_size(c, hi, &bound);
    if (need != 0 && need <= room) {
        return len;
    }
    while (hi - lo > 1) { /* lo fits, hi does not */
        size_t mid = lo + (hi - lo) / 2;
        need = encoded_size(c, mid, &bound);
        if (need != 0 && need <= room) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

wick_err wick_conn_send_some(wick_conn *c, uint8_t opcode, const void *data, size_t len, bool fin,
                             size_t *accepted)
{
    if (accepted == NULL) {
        return WICK_ERR_ARG;
    }
    *accepted = 0;
    wick_err err = data_check(c, &opcode, data, len);
    if (err != WICK_OK) {
        return err;
    }
    size_t room = out_free(c);
    bool masked = c->priv_.role == WICK_ROLE_CLIENT;
    size_t n = 0;
    if (encoded(c)) {
        bool fits = false;
        n = encoded_fit(c, len, room, &fits);
        if (!fits || (n == 0 && len != 0)) {
            return WICK_ERR_WOULD_BLOCK;
        }
        bool last = fin && n == len;
        err = put_encoded(c, opcode, last, (const uint8_t *)data, n);
        if (err == WICK_DONE) {
            c->priv_.out_encoded = false; /* sent as it is, below */
        } else {
            if (err == WICK_OK) {
                c->priv_.out_in_message = !last;
                *accepted = n;
            }
            return err;
        }
    }
    if (room < frame_size(c, 0)) {
        return WICK_ERR_WOULD_BLOCK;
    }
    n = payload_room(room, masked);
    if (n > len) {
        n = len;
    }
    if (n == 0 && len != 0) {
        return WICK_ERR_WOULD_BLOCK;
    }
    bool last = fin && n == len;
    err = put_frame(c, opcode, last, (const uint8_t *)data, n, WICK_OUT_RESERVE);
    if (err == WICK_OK) {
        c->priv_.out_in_message = !last;
        *accepted = n;
    }
    return err;
}

wick_err wick_conn_ping(wick_conn *c, const void *data, size_t len)
{
    if (c == NULL || (data == NULL && len != 0) || len > 125) {
        return WICK_ERR_ARG;
    }
    if (c->priv_.sent_close || c->priv_.error != WICK_OK) {
        return WICK_ERR_CLOSED;
    }
    return put_frame(c, WICK_OP_PING, true, (const uint8_t *)data, len, WICK_OUT_RESERVE);
}

wick_err wick_conn_close(wick_conn *c, uint16_t code, const char *reason, size_t len)
{
    if (c == NULL || (reason == NULL && len != 0) || len > 123) {
        return WICK_ERR_ARG;
    }
    if (code == 0 ? len != 0 : !wick_close_code_valid(code)) {
        return WICK_ERR_ARG;
    }
    if (len != 0 && !wick_utf8_valid((const uint8_t *)reason, len)) {
        return WICK_ERR_ARG; /* RFC 6455 5.5.1: the reason is UTF-8 */
    }
    if (c->priv_.sent_close || c->priv_.error != WICK_OK) {
        return WICK_ERR_CLOSED;
    }
    return wick__out_close(c, code, (const uint8_t *)reason, len);
}

wick_err wick_prepare(uint8_t opcode, const void *data, size_t len, uint8_t *out, size_t cap,
                      wick_prepared *p)
{
    if (p == NULL || out == NULL || (data == NULL && len != 0)) {
        return WICK_ERR_ARG;
    }
    if (opcode != WICK_OP_TEXT && opcode != WICK_OP_BINARY) {
        return WICK_ERR_ARG;
    }
    size_t n = 0;
    wick_err err =
        wick_frame_write(opcode, true, 0, NULL, (const uint8_t *)data, len, out, cap, &n);
    if (err == WICK_OK) {
        p->frame = out;
        p->len = n;
    }
    return err;
}

wick_err wick_conn_send_prepared(wick_conn *c, const wick_prepared *p)
{
    if (c == NULL || p == NULL || (p->frame == NULL && p->len != 0)) {
        return WICK_ERR_ARG;
    }
    /* RFC 6455 5.1: a client masks every frame; prepared frames are not. */
    if (c->priv_.role == WICK_ROLE_CLIENT) {
        return WICK_ERR_STATE;
    }
    if (c->priv_.sent_close || c->priv_.error != WICK_OK) {
        return WICK_ERR_CLOSED;
    }
    if (c->priv_.out_in_message) {
        return WICK_ERR_STATE;
    }
    /* A compressed prepared frame (wick_pmd_prepare) only where the
     * extension was agreed: RSV bits are otherwise a protocol error. */
    if (p->len != 0 && (p->frame[0] & 0x70U & ~(unsigned)c->priv_.rsv_allowed) != 0) {
        return WICK_ERR_STATE;
    }
    if (p->len > c->priv_.out_cap - WICK_OUT_RESERVE) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    uint8_t *dst = p->len <= out_free(c) ? out_room(c, p->len) : NULL;
    if (dst == NULL) {
        return WICK_ERR_WOULD_BLOCK;
    }
    if (p->len != 0) {
        memcpy(dst, p->frame, p->len);
    }
    c->priv_.out_tail += p->len;
    return WICK_OK;
}

const uint8_t *wick_conn_out_peek(const wick_conn *c, size_t *len)
{
    size_t n = c != NULL ? out_used(c) : 0;
    if (len != NULL) {
        *len = n;
    }
    return n != 0 ? c->priv_.out + c->priv_.out_head : NULL;
}

void wick_conn_out_consume(wick_conn *c, size_t n)
{
    if (c == NULL) {
        return;
    }
    size_t used = out_used(c);
    c->priv_.out_head += n < used ? n : used;
    if (c->priv_.out_head == c->priv_.out_tail) {
        c->priv_.out_head = 0;
        c->priv_.out_tail = 0;
    }
}

size_t wick_conn_out_pending(const wick_conn *c)
{
    return c != NULL ? out_used(c) : 0;
}

/* --- State and accessors ------------------------------------------------ */

unsigned wick_conn_state(const wick_conn *c)
{
    if (c == NULL) {
        return 0;
    }
    unsigned s = 0;
    bool failed = c->priv_.error != WICK_OK;
    bool done = c->priv_.sent_close && c->priv_.recv_close;
    bool drained = wick_conn_out_pending(c) == 0;
    if (!failed && !c->priv_.recv_close) {
        s |= WICK_WANT_READ;
    }
    if (!drained) {
        s |= WICK_WANT_WRITE;
    }
    if (failed || c->priv_.sent_close || c->priv_.recv_close) {
        s |= WICK_CLOSING;
    }
    if (failed || done) {
        s |= WICK_CLOSED;
    }
    /* RFC 6455 7.1.1: the server closes TCP first; a client waits for it
     * unless the connection failed. */
    if (drained && (failed || (done && c->priv_.role == WICK_ROLE_SERVER))) {
        s |= WICK_SHOULD_CLOSE_TCP;
    }
    return s;
}

uint16_t wick_conn_close_code(const wick_conn *c)
{
    return c != NULL ? c->priv_.close_code : 0;
}

wick_err wick_conn_error(const wick_conn *c)
{
    return c != NULL ? c->priv_.error : WICK_ERR_ARG;
}

wick_role wick_conn_role(const wick_conn *c)
{
    return c != NULL ? (wick_role)c->priv_.role : WICK_ROLE_SERVER;
}

void *wick_conn_user(const wick_conn *c)
{
    return c != NULL ? c->priv_.user : NULL;
}
