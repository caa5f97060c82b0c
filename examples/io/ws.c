/*
 * A WebSocket on an io_stream (see ws.h).
 *
 * Handshake: the request (server) or response (client) is read into a
 * buffer that exists only until the connection is open (ws_hs, 8 KiB plus
 * the parsed fields), and parsed with wick_hs_server_parse() or verified
 * with wick_hs_client_verify(). Bytes that came after the header block are
 * the first WebSocket input.
 *
 * Input: one read into the loop's shared buffer, after the few bytes kept
 * from the previous read (carry: an incomplete frame header or control
 * frame, at most WICK_RECV_MIN); wick_conn_recv() delivers whole messages
 * as views into it. The stream is corked while feeding (cork.c), so the
 * answers to a whole read leave with one writev(): what was gathered in
 * the loop's cork buffer, then wick's own output window, sent from there.
 *
 * Output: ws_send() writes a message as one frame: a server's header and
 * payload are gathered (one copy) or, too large for the cork buffer, sent
 * at once from where they are; a client's frame is masked into the cork
 * buffer or the write queue (wick_frame_write()). wick's own output
 * (pongs, close frames) is moved to the stream first, so the stream keeps
 * the order in which things were produced. Compressed messages go through
 * wick_conn_send_some() and the extension's encoder instead: they stay in
 * wick's window until the batch ends or the window needs room.
 * Backpressure: while more than high_water bytes wait, on_message
 * pauses wick (the rest of the input is kept in the stash) and reading
 * stops until the queue has drained. So a connection holds at most
 * high_water plus one message plus one read of input, and an idle one only
 * this struct (the queue and the stash are freed when empty).
 *
 * Closing: the server closes TCP first when wick says so (lingering close,
 * io_linger()); a client waits for the server's FIN after the closing
 * handshake (WS_CLOSE_WAIT at most).
 */
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define HS_BUF_SIZE 8192u
#define HIGH_WATER  (256u * 1024u)
#define MAX_MESSAGE (64u * 1024u * 1024u)
#define ANSWER_SIZE 2048u

struct ws_hs {
    size_t len;
    io_url url; /* client: what the request names */
    wick_hs_request req;
    wick_hs_client client;
    wick_hs_client_opts opts;
    char offer[WICK_PMD_HEADER_MAX];
    char buf[HS_BUF_SIZE];
};

static void drive(ws_conn *c);
static const io_stream_cb stream_cb;

static size_t high_water(const ws_conn *c)
{
    return c->cfg->high_water > 0 ? c->cfg->high_water : HIGH_WATER;
}

/* === wick's callbacks === */

/* Sets the stream's deadline: the idle timeout, or sooner the end of the
 * time a held message has left (msg_deadline_ms). Not while closing: the
 * closing handshake has its own. */
static void arm(ws_conn *c)
{
    io_stream *s = c->s;
    if (!c->open || s->state != IO_OPEN ||
        (wick_conn_state(&c->conn) & (WICK_CLOSING | WICK_CLOSED)) != 0) {
        return;
    }
    int64_t ms = c->cfg->idle_ms;
    if (c->msg_since != 0 && c->cfg->msg_deadline_ms > 0) {
        int64_t left = c->msg_since + c->cfg->msg_deadline_ms - s->loop->now;
        left = left < 1 ? 1 : left;
        if (ms <= 0 || left < ms) {
            ms = left;
        }
    }
    io_set_deadline(s, ms);
}

/* wick's reassembly allocator (one per connection, ud = the ws_conn):
 * counts into cfg->reasm and refuses what would go over its cap. wick
 * fails a connection whose allocation fails with 1011 unless a close
 * frame went out already, so the refusal sends 1013 first (see
 * docs/chat.md "Memory pinning"). */
static void *reasm_alloc(size_t n, void *ud)
{
    ws_conn *c = ud;
    ws_budget *b = c->cfg->reasm;
    if (b != NULL && b->cap > 0 && (n > b->cap || b->used > b->cap - n)) {
        b->refused++;
        if (c->cfg->cb->on_limit != NULL) {
            c->cfg->cb->on_limit(c, WICK_CLOSE_TRY_LATER, "reassembly budget");
        }
        static const char why[] = "Server busy: try again later";
        wick_conn_close(&c->conn, WICK_CLOSE_TRY_LATER, why, sizeof(why) - 1);
        return NULL;
    }
    void *p = malloc(n);
    if (p == NULL) {
        return NULL;
    }
    if (b != NULL) {
        b->used += n;
        b->peak = b->used > b->peak ? b->used : b->peak;
    }
    if (c->held == 0) {
        c->msg_since = c->s->loop->now;
        arm(c);
    }
    c->held += n;
    return p;
}

static void reasm_free(void *p, size_t n, void *ud)
{
    ws_conn *c = ud;
    free(p);
    if (c->cfg->reasm != NULL) {
        c->cfg->reasm->used -= n;
    }
    c->held -= n;
    if (c->held == 0) {
        c->msg_since = 0;
        arm(c);
    }
}

static int on_message(wick_conn *wc, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)wc;
    ws_conn *c = user;
    const ws_callbacks *cb = c->cfg->cb;
    if (cb->on_message != NULL && cb->on_message(c, opcode, data, len) < 0) {
        return -1;
    }
    /* Stop feeding when the output backs up, or the stream went away. */
    if (c->s->state != IO_OPEN || io_queued(c->s) > high_water(c)) {
        return WICK_PAUSE;
    }
    return 0;
}

static int on_pong(wick_conn *wc, const uint8_t *data, size_t len, void *user)
{
    (void)wc;
    ws_conn *c = user;
    return c->cfg->cb->on_pong != NULL ? c->cfg->cb->on_pong(c, data, len) : 0;
}

static void on_error(wick_conn *wc, wick_err err, void *user)
{
    (void)wc;
    ws_conn *c = user;
    io_log(c->s->loop, "fd %d: %s (%s)", c->s->fd, wick_err_name(err), wick_strerror(err));
}

/* Client masks: getrandom() in batches (one system call per 64 masks). */
static int on_random(void *user, uint8_t *out, size_t n)
{
    (void)user;
    static uint8_t pool[256];
    static size_t left;
    while (n > 0) {
        if (left == 0) {
            if (getrandom(pool, sizeof(pool), 0) != (ssize_t)sizeof(pool)) {
                return -1;
            }
            left = sizeof(pool);
        }
        size_t k = n < left ? n : left;
        memcpy(out, pool + sizeof(pool) - left, k);
        left -= k;
        out += k;
        n -= k;
    }
    return 0;
}

static const wick_callbacks wick_cb = {
    .on_message = on_message, .on_pong = on_pong, .on_error = on_error, .random = on_random};

/* === Output === */

/* Moves wick's output to the stream. Returns false on a socket error. */
static bool drain(ws_conn *c)
{
    size_t len = 0;
    const uint8_t *p;
    while ((p = wick_conn_out_peek(&c->conn, &len)) != NULL && len > 0) {
        if (!io_write(c->s, p, len)) {
            return false;
        }
        wick_conn_out_consume(&c->conn, len);
    }
    return true;
}

int ws_send_part(ws_conn *c, uint8_t opcode, const void *data, size_t len, bool fin)
{
    if (!c->open || c->s->state != IO_OPEN) {
        return -1;
    }
    const uint8_t *p = data;
    size_t off = 0;
    for (;;) {
        size_t acc = 0;
        wick_err e = wick_conn_send_some(&c->conn, opcode, p + off, len - off, fin, &acc);
        if (e != WICK_OK && e != WICK_ERR_WOULD_BLOCK) {
            return -1;
        }
        if (e == WICK_OK) {
            opcode = WICK_OP_CONT;
            off += acc;
        }
        /* Corked, the frames wait in wick's window for the batch's one
         * send (uncork()) unless the rest of the message needs the room. */
        bool done = e == WICK_OK && off == len;
        if ((!c->s->cork || !done) && !drain(c)) {
            io_close(c->s);
            return -1;
        }
        if (done) {
            break;
        }
    }
    if (!c->s->cork && !io_flush(c->s)) {
        io_close(c->s);
        return -1;
    }
    return 0;
}

int ws_send(ws_conn *c, uint8_t opcode, const void *data, size_t len)
{
    if (!c->open || c->s->state != IO_OPEN || (wick_conn_state(&c->conn) & WICK_CLOSING) != 0) {
        return -1; /* after a close frame, nothing more may be sent */
    }
    if (c->dc.arena != NULL) {
        return ws_send_part(c, opcode, data, len, true); /* the encoder's way */
    }
    if (!drain(c)) {
        io_close(c->s);
        return -1;
    }
    io_stream *s = c->s;
    size_t cap = len + 14, n = 0;
    uint8_t *q = c->client ? NULL : io_cork_room(s, cap);
    if (q != NULL) {
        /* A server's frame, gathered: written once, header and payload. */
        if (wick_frame_write(opcode, true, 0, NULL, data, len, q, cap, &n) != WICK_OK) {
            return -1;
        }
        io_commit(s, n);
        return 0;
    }
    if (!c->client) {
        /* Too large to gather (or not corked): its header, and the
         * payload sent from where it is. */
        wick_frame_header h = {true, 0, opcode, false, {0, 0, 0, 0}, len};
        uint8_t hdr[14];
        if (wick_frame_header_write(&h, hdr, sizeof(hdr), &n) != WICK_OK) {
            return -1;
        }
        io_vec v[2] = {{hdr, n}, {data, len}};
        if (!io_writev(s, v, 2)) {
            io_close(s);
            return -1;
        }
        return 0;
    }
    /* A client masks the payload into the cork buffer (for this one
     * frame when not corked already) or the write queue. */
    uint8_t mask[4];
    if (on_random(NULL, mask, sizeof(mask)) != 0) {
        return -1;
    }
    bool own = !s->cork;
    if (own) {
        io_cork(s);
    }
    q = io_reserve(s, cap);
    bool ok =
        q != NULL && wick_frame_write(opcode, true, 0, mask, data, len, q, cap, &n) == WICK_OK;
    if (ok) {
        io_commit(s, n);
    }
    if (own && !io_uncork(s, NULL, 0)) {
        io_close(s);
        return -1;
    }
    return ok ? 0 : -1;
}

int ws_send_prepared(ws_conn *c, const wick_prepared *p)
{
    if (!c->open || c->client || c->s->state != IO_OPEN ||
        (wick_conn_state(&c->conn) & WICK_CLOSING) != 0) {
        return -1;
    }
    /* wick's pongs first (the order things were made in), then the frame:
     * straight to the socket when nothing waits, else queued. */
    if (!drain(c) || !io_write(c->s, p->frame, p->len)) {
        io_close(c->s);
        return -1;
    }
    return 0;
}

void ws_flush(ws_conn *c)
{
    io_stream *s = c->s;
    if (c->feeding || s->state != IO_OPEN) {
        return; /* drive() up the stack flushes */
    }
    if (!drain(c) || !io_flush(s)) {
        io_close(s);
        return;
    }
    if (c->stash != NULL || (wick_conn_state(&c->conn) & WICK_SHOULD_CLOSE_TCP) != 0) {
        drive(c); /* input to resume, or the TCP close to do */
    }
}

int ws_ping(ws_conn *c, const void *data, size_t len)
{
    if (!c->open || wick_conn_ping(&c->conn, data, len) != WICK_OK) {
        return -1;
    }
    drive(c);
    return 0;
}

void ws_close(ws_conn *c, uint16_t code, const char *reason)
{
    if (!c->open) {
        io_close(c->s);
        return;
    }
    wick_conn_close(&c->conn, code, reason, reason != NULL ? strlen(reason) : 0);
    io_set_deadline(c->s, c->cfg->close_ms > 0 ? c->cfg->close_ms : WS_CLOSE_WAIT);
    drive(c);
}

/* === Input === */

/* Keeps what wick left of in[0..len): carry or stash (see the top). */
static bool keep_input(ws_conn *c, wick_err e, const uint8_t *in, size_t len)
{
    if (len == 0) {
        return true;
    }
    if (e == WICK_NEED_MORE && len <= sizeof(c->carry)) {
        memmove(c->carry, in, len);
        c->carry_len = len;
        return true;
    }
    uint8_t *p = malloc(len);
    if (p == NULL) {
        return false;
    }
    memcpy(p, in, len);
    c->stash = p;
    c->stash_off = 0;
    c->stash_len = len;
    return true;
}

/* Ends a batch: what it gathered and wick's own output (pongs, close
 * frames, compressed echoes) with one writev(), wick's from its window. */
static bool uncork(ws_conn *c)
{
    size_t n = 0;
    const uint8_t *p = c->s->state == IO_OPEN ? wick_conn_out_peek(&c->conn, &n) : NULL;
    if (p == NULL) {
        n = 0;
    }
    if (!io_uncork(c->s, p, n)) {
        return false;
    }
    if (n > 0) {
        wick_conn_out_consume(&c->conn, n); /* sent, or copied into the queue */
    }
    return true;
}

/* Feeds in[0..len), corked. Returns wick's status, *used what it took. */
static wick_err feed(ws_conn *c, uint8_t *in, size_t len, size_t *used)
{
    io_cork(c->s);
    c->feeding = true;
    wick_err e = wick_conn_recv(&c->conn, in, len, used);
    c->feeding = false;
    if (!uncork(c)) {
        io_close(c->s);
    }
    return e;
}

static bool feed_stash(ws_conn *c)
{
    uint8_t *p = c->stash + c->stash_off;
    size_t len = c->stash_len - c->stash_off, used = 0;
    wick_err e = feed(c, p, len, &used);
    if (e == WICK_PAUSED || e == WICK_BLOCKED) {
        c->stash_off += used;
        return true;
    }
    uint8_t *old = c->stash;
    c->stash = NULL;
    bool ok = keep_input(c, e, p + used, len - used);
    free(old);
    return ok;
}

/* One read, fed to wick. 1: bytes came, 0: none now, -1: EOF or error. */
static int read_feed(ws_conn *c)
{
    io_loop *loop = c->s->loop;
    uint8_t *buf = loop->rbuf;
    memcpy(buf, c->carry, c->carry_len);
    ssize_t n = io_read(c->s, buf + c->carry_len, loop->rbuf_cap - c->carry_len);
    if (n <= 0) {
        return (int)n;
    }
    size_t len = c->carry_len + (size_t)n, used = 0;
    c->carry_len = 0;
    if (c->cfg->idle_ms > 0) {
        arm(c);
    }
    wick_err e = feed(c, buf, len, &used);
    return keep_input(c, e, buf + used, len - used) ? 1 : -1;
}

/* Moves the connection as far as it goes without blocking, then decides
 * what to wait for (see the top of the file). */
static void drive(ws_conn *c)
{
    io_stream *s = c->s;
    if (c->feeding) {
        return; /* called from a callback: the drive() up the stack goes on */
    }
    bool emptied = false; /* a read here left the socket empty (io_read) */
    for (;;) {
        if (s->state != IO_OPEN) {
            return;
        }
        if (!drain(c) || !io_flush(s)) {
            io_close(s);
            return;
        }
        if (io_queued(s) > high_water(c)) {
            break; /* on_drained brings us back */
        }
        if (c->stash != NULL) {
            if (!feed_stash(c)) {
                io_close(s);
                return;
            }
            continue;
        }
        unsigned st = wick_conn_state(&c->conn);
        if (((st & WICK_WANT_READ) == 0 && (st & WICK_CLOSED) == 0) || emptied) {
            break;
        }
        int r = read_feed(c);
        if (r < 0) {
            io_close(s); /* EOF: after a clean close that is the server's FIN */
            return;
        }
        if (r == 0) {
            break;
        }
        emptied = s->rd_empty;
    }
    unsigned st = wick_conn_state(&c->conn);
    if ((st & WICK_SHOULD_CLOSE_TCP) != 0) {
        /* RFC 6455 7.1.1: the server closes TCP first; a client only after
         * a failure. */
        io_linger(s);
        return;
    }
    if ((st & WICK_CLOSED) != 0 && c->client && s->deadline == 0) {
        io_set_deadline(s, WS_CLOSE_WAIT); /* waiting for the server's FIN */
    }
    s->reading = c->stash == NULL && io_queued(s) <= high_water(c) &&
                 (st & (WICK_WANT_READ | WICK_CLOSED)) != 0;
    io_update(s);
}

/* === Opening the WebSocket === */

/* The handshake is done: set up wick (and compression) and feed the bytes
 * that followed the header block. */
static bool ws_open(ws_conn *c, size_t header_len)
{
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, c->client ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER);
    cfg.out_buf = c->out;
    cfg.out_cap = sizeof(c->out);
    c->alloc = (wick_allocator){reasm_alloc, reasm_free, c};
    cfg.allocator = &c->alloc;
    cfg.max_message = c->cfg->max_message > 0 ? c->cfg->max_message : MAX_MESSAGE;
    if (c->dc.params.enabled) {
        wick_err e = io_deflate_start(c->cfg->deflate, &c->dc,
                                      c->client ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER, &cfg);
        if (e != WICK_OK) {
            fprintf(stderr, "%s: permessage-deflate: %s\n", c->s->loop->name, wick_strerror(e));
            return false;
        }
        char line[256];
        io_deflate_describe(&c->dc, line, sizeof(line));
        io_log(c->s->loop, "fd %d: %s", c->s->fd, line);
    }
    if (wick_conn_init(&c->conn, &cfg, &wick_cb, c) != WICK_OK) {
        return false;
    }
    c->open = true;
    ws_hs *hs = c->hs;
    bool ok =
        keep_input(c, WICK_PAUSED, (const uint8_t *)hs->buf + header_len, hs->len - header_len);
    c->hs = NULL;
    free(hs);
    io_set_deadline(c->s, c->cfg->idle_ms);
    if (!ok) {
        return false;
    }
    if (c->cfg->cb->on_open != NULL) {
        c->cfg->cb->on_open(c);
    }
    if (c->s->loop->stopping && !c->client) {
        wick_conn_close(&c->conn, WICK_CLOSE_GOING_AWAY, "server shutting down", 20);
    }
    return true;
}

void ws_http_answer(ws_conn *c, int status, const char *content_type, const void *body, size_t len)
{
    size_t cap = len + ANSWER_SIZE, n = 0;
    uint8_t *q = io_reserve(c->s, cap);
    if (q != NULL &&
        wick_http_response(status, content_type, body, len, c->cfg->http_headers,
                           c->cfg->num_http_headers, true, (char *)q, cap, &n) == WICK_OK) {
        io_commit(c->s, n);
    }
    io_linger(c->s);
}

/* Server: what has arrived of the request. */
static void server_request(ws_conn *c)
{
    ws_hs *hs = c->hs;
    size_t header_len = 0;
    wick_err e = wick_hs_server_parse(&hs->req, hs->buf, hs->len, &header_len);
    if (e == WICK_NEED_MORE && hs->len == sizeof(hs->buf)) {
        e = WICK_ERR_HS_TOO_LARGE; /* 431 */
    }
    if (e == WICK_NEED_MORE) {
        return;
    }
    const ws_callbacks *cb = c->cfg->cb;
    if (e == WICK_ERR_HS_NOT_UPGRADE) {
        if (cb->on_http != NULL) {
            cb->on_http(c, &hs->req);
        }
        if (c->s->state == IO_OPEN) {
            ws_http_answer(c, 404, NULL, "not found\n", 10);
        }
        return;
    }
    int status = 0;
    if (e == WICK_OK) {
        wick_hs_accept_opts opts = {{NULL, 0}, {NULL, 0}, NULL, 0};
        if (cb->on_upgrade != NULL) {
            status = cb->on_upgrade(c, &hs->req, &opts);
        }
        char ext[2 * WICK_PMD_HEADER_MAX];
        if (status == 0 && c->cfg->deflate != NULL) {
            e = io_deflate_accept(c->cfg->deflate, &hs->req, &c->dc, ext, sizeof(ext),
                                  &opts.extensions);
        }
        size_t n = 0;
        uint8_t *q = io_reserve(c->s, ANSWER_SIZE);
        if (status == 0 && e == WICK_OK && q != NULL &&
            wick_hs_server_accept(&hs->req, &opts, (char *)q, ANSWER_SIZE, &n) == WICK_OK) {
            io_commit(c->s, n);
            io_log(c->s->loop, "fd %d: upgraded (%.*s)", c->s->fd, (int)hs->req.target.len,
                   hs->req.target.ptr);
            if (ws_open(c, header_len)) {
                drive(c);
            } else {
                io_close(c->s);
            }
            return;
        }
        if (e == WICK_OK) {
            e = WICK_ERR_HS_MALFORMED;
        }
    }
    if (status != 0) {
        ws_http_answer(c, status, NULL, NULL, 0);
        return;
    }
    io_log(c->s->loop, "fd %d: handshake failed: %s", c->s->fd, wick_err_name(e));
    size_t n = 0;
    uint8_t *q = io_reserve(c->s, ANSWER_SIZE);
    if (q != NULL && wick_hs_server_reject(e, (char *)q, ANSWER_SIZE, &n) == WICK_OK) {
        io_commit(c->s, n);
    }
    io_linger(c->s);
}

/* Client: what has arrived of the response. */
static void client_response(ws_conn *c)
{
    ws_hs *hs = c->hs;
    size_t header_len = 0;
    wick_err e = wick_hs_client_verify(&hs->client, hs->buf, hs->len, &header_len);
    if (e == WICK_NEED_MORE && hs->len < sizeof(hs->buf)) {
        return;
    }
    if (e == WICK_OK && c->cfg->deflate != NULL) {
        e = io_deflate_verify(c->cfg->deflate, &hs->client, &c->dc);
    }
    if (e != WICK_OK) {
        if (e == WICK_ERR_HS_STATUS) {
            fprintf(stderr, "%s: the server answered %d %.*s\n", c->s->loop->name,
                    hs->client.status, (int)hs->client.reason.len, hs->client.reason.ptr);
        } else {
            fprintf(stderr, "%s: handshake failed: %s\n", c->s->loop->name, wick_strerror(e));
        }
        io_close(c->s);
        return;
    }
    if (ws_open(c, header_len)) {
        drive(c);
    } else {
        io_close(c->s);
    }
}

/* === The stream's callbacks === */

static void st_readable(io_stream *s)
{
    ws_conn *c = s->user;
    if (c->open) {
        drive(c);
        return;
    }
    ws_hs *hs = c->hs;
    if (hs->len == sizeof(hs->buf)) {
        io_close(s);
        return;
    }
    ssize_t n = io_read(s, hs->buf + hs->len, sizeof(hs->buf) - hs->len);
    if (n < 0) {
        io_close(s);
        return;
    }
    if (n == 0) {
        return;
    }
    hs->len += (size_t)n;
    if (c->client) {
        client_response(c);
    } else {
        server_request(c);
    }
}

/* Connected (TCP, and TLS when wss): a client sends its request; a TLS
 * server may already hold the request in OpenSSL's buffer. */
static void st_open(io_stream *s)
{
    ws_conn *c = s->user;
    if (!c->client) {
        st_readable(s);
        return;
    }
    ws_hs *hs = c->hs;
    uint8_t nonce[16];
    char req[HS_BUF_SIZE];
    size_t n = 0;
    hs->opts.target = (wick_str){hs->url.target, strlen(hs->url.target)};
    hs->opts.host = (wick_str){hs->url.host_hdr, strlen(hs->url.host_hdr)};
    wick_err e = WICK_OK;
    if (c->cfg->deflate != NULL) {
        e = io_deflate_offer(c->cfg->deflate, hs->offer, sizeof(hs->offer), &hs->opts.extensions);
    }
    if (e == WICK_OK && on_random(NULL, nonce, sizeof(nonce)) != 0) {
        e = WICK_ERR_RANDOM;
    }
    if (e == WICK_OK) {
        e = wick_hs_client_request(&hs->client, &hs->opts, nonce, NULL, req, sizeof(req), &n);
    }
    if (e != WICK_OK || !io_write(s, req, n)) {
        fprintf(stderr, "%s: request: %s\n", s->loop->name, wick_strerror(e));
        io_close(s);
        return;
    }
    s->reading = true;
    io_update(s);
}

static void st_drained(io_stream *s)
{
    ws_conn *c = s->user;
    if (c->open) {
        if (c->cfg->cb->on_drained != NULL) {
            c->cfg->cb->on_drained(c);
        }
        drive(c);
    }
}

static void st_timeout(io_stream *s)
{
    ws_conn *c = s->user;
    if (c->open && (wick_conn_state(&c->conn) & WICK_CLOSING) == 0 && c->msg_since != 0 &&
        c->cfg->msg_deadline_ms > 0 && s->loop->now >= c->msg_since + c->cfg->msg_deadline_ms) {
        /* RFC 6455 7.4.1: 1008, the client broke a policy (not the size:
         * the message fits max_message, it just never ends). */
        io_log(s->loop, "fd %d: message deadline", s->fd);
        if (c->cfg->reasm != NULL) {
            c->cfg->reasm->expired++;
        }
        if (c->cfg->cb->on_limit != NULL) {
            c->cfg->cb->on_limit(c, WICK_CLOSE_POLICY, "message deadline");
        }
        ws_close(c, WICK_CLOSE_POLICY, "Message not finished in time");
        return;
    }
    if (c->open && (wick_conn_state(&c->conn) & WICK_CLOSING) == 0) {
        io_log(s->loop, "fd %d: idle timeout", s->fd);
        ws_close(c, WICK_CLOSE_GOING_AWAY, "idle timeout");
        return;
    }
    io_log(s->loop, "fd %d: timeout", s->fd);
    io_close(s);
}

static void st_stop(io_stream *s)
{
    ws_conn *c = s->user;
    if (c->open) {
        if (c->cfg->cb->on_stop != NULL) {
            c->cfg->cb->on_stop(c);
        }
        if (s->state == IO_OPEN && (wick_conn_state(&c->conn) & WICK_CLOSING) == 0) {
            ws_close(c, WICK_CLOSE_GOING_AWAY, c->client ? "going away" : "server shutting down");
        }
    } else {
        io_close(s);
    }
}

static void st_close(io_stream *s)
{
    ws_conn *c = s->user;
    if (c == NULL || c->told) {
        return;
    }
    c->told = true;
    bool clean = c->open && (wick_conn_state(&c->conn) & WICK_CLOSED) != 0 &&
                 wick_conn_error(&c->conn) == WICK_OK;
    if (c->cfg->cb->on_close != NULL) {
        c->cfg->cb->on_close(c, clean);
    }
}

static void st_free(io_stream *s)
{
    ws_conn *c = s->user;
    if (c == NULL) {
        return;
    }
    if (c->open) {
        wick_conn_release(&c->conn);
    }
    io_deflate_stop(&c->dc);
    free(c->stash);
    free(c->hs);
    free(c);
}

static const io_stream_cb stream_cb = {.on_open = st_open,
                                       .on_readable = st_readable,
                                       .on_drained = st_drained,
                                       .on_timeout = st_timeout,
                                       .on_stop = st_stop,
                                       .on_close = st_close,
                                       .on_free = st_free};

static ws_conn *conn_new(io_stream *s, const ws_config *cfg, bool client)
{
    ws_conn *c = calloc(1, sizeof(*c));
    ws_hs *hs = calloc(1, sizeof(*hs));
    if (c == NULL || hs == NULL) {
        free(c);
        free(hs);
        return NULL;
    }
    c->s = s;
    c->cfg = cfg;
    c->client = client;
    c->hs = hs;
    wick_hs_request_init(&hs->req, NULL);
    return c;
}

static void on_accept(io_loop *loop, io_stream *s)
{
    ws_conn *c = conn_new(s, loop->accept_ud, false);
    if (c == NULL) {
        io_close(s);
        return;
    }
    s->user = c;
    s->reading = true;
    io_set_deadline(s, c->cfg->hs_timeout_ms); /* covers the TLS handshake too */
}

bool ws_listen(io_loop *loop, const char *host, const char *port, io_tls_ctx *tls,
               const ws_config *cfg)
{
    loop->accept_ud = cfg;
    return io_listen(loop, host, port, tls, &stream_cb, on_accept);
}

ws_conn *ws_connect(io_loop *loop, const io_url *u, io_tls_ctx *tls, const ws_config *cfg,
                    void *user)
{
    ws_conn *c = conn_new(NULL, cfg, true);
    if (c == NULL) {
        return NULL;
    }
    c->user = user;
    c->hs->url = *u;
    c->s = io_connect(loop, u, tls, &stream_cb, c);
    if (c->s == NULL) {
        free(c->hs);
        free(c);
        return NULL;
    }
    io_set_deadline(c->s, cfg->hs_timeout_ms);
    return c;
}
