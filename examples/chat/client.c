/*
 * Clients: the registry (every connection, and a hash by id), the glue
 * between a socket and its wick_conn, and each client's bounded output.
 *
 * Output policy (docs/chat.md, "Slow clients"): every message reaches a
 * client as a shared, already-encoded frame (struct frame). It goes
 * straight into the engine's output buffer (cfg.out_cap bytes) with
 * wick_conn_send_prepared(); when that buffer is full the frame is queued
 * (a reference, not a copy) in a ring of cfg.max_queue entries, which
 * refills the engine as the socket drains. When the ring is full too, the
 * client is too slow: at the next flush it gets close 1008 "Too slow" and
 * loses its queued messages, and its TCP connection is dropped if it does
 * not finish the closing handshake within cfg.close_ms.
 */
#include "chat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ID_BUCKETS 8192u

static struct client *all_clients;
static struct client *by_id[ID_BUCKETS];
static uint64_t next_num = 1;

/* === Compression (permessage-deflate) === */

wick_pmd_config deflate_cfg;
/* What each connection's wick_pmd is set up with: deflate_cfg, plus
 * WICK_PMD_DECOMPRESS_ONLY under --deflate-shared (the answer still says
 * server_no_context_takeover: negotiation uses deflate_cfg). */
static wick_pmd_config conn_cfg;

/* --deflate-shared: one server-role compressor without context takeover,
 * used only by wick_pmd_prepare(), and the window it compresses with: a
 * connection takes its frames when it agreed server_no_context_takeover
 * and a server window at least this large. */
static wick_pmd shared_pmd;
static uint8_t *shared_arena;
static unsigned shared_bits;

bool deflate_setup(void)
{
    wick_pmd_config_default(&deflate_cfg);
    deflate_cfg.budget = cfg.deflate_budget;
    deflate_cfg.max_ratio = 1000; /* bomb guard besides --max-message */
    conn_cfg = deflate_cfg;
    if (!cfg.deflate || !cfg.deflate_shared) {
        return true;
    }
    deflate_cfg.flags = WICK_PMD_NO_CONTEXT_TAKEOVER;
    /* The window the budget gives a browser's offer is the one to use. */
    static const char offer[] = "permessage-deflate; client_max_window_bits";
    wick_ext ext[1];
    size_t n = 0;
    wick_pmd_params agreed;
    char ans[WICK_PMD_HEADER_MAX];
    size_t ans_len = 0;
    if (wick_ext_parse(offer, sizeof offer - 1, ext, 1, &n) != WICK_OK ||
        wick_pmd_accept(&deflate_cfg, ext, n, &agreed, ans, sizeof ans, &ans_len) != WICK_OK ||
        !agreed.enabled) {
        log_line(LOG_ERR, "deflate_shared", "error=\"budget too small for a compressor\"");
        return false;
    }
    shared_bits = agreed.server_max_window_bits;
    wick_pmd_config scfg = deflate_cfg;
    scfg.budget = 1024 * 1024;
    size_t need = wick_pmd_arena_size(&scfg, &agreed, WICK_ROLE_SERVER);
    shared_arena = malloc(need);
    if (shared_arena == NULL || wick_pmd_init(&shared_pmd, &scfg, &agreed, WICK_ROLE_SERVER,
                                              shared_arena, need) != WICK_OK) {
        log_line(LOG_ERR, "deflate_shared", "error=\"cannot set up the shared compressor\"");
        return false;
    }
    /* Our own compressor per connection is never used: decompress only. */
    conn_cfg = deflate_cfg;
    conn_cfg.flags |= WICK_PMD_DECOMPRESS_ONLY;
    return true;
}

/* === Frames === */

struct frame *frame_new(const char *json, size_t len)
{
    size_t cap = len + 10; /* largest server frame header */
    /* Compressed: wick_pmd_prepare() wants room for the compressor's
     * bound (the extension hook's encode_bound) plus a frame header. */
    size_t zcap = 0;
    if (shared_arena != NULL) {
        const wick_extension *x = wick_pmd_extension(&shared_pmd);
        zcap = x->encode_bound(x->state, len) + 14;
    }
    struct frame *f = malloc(sizeof *f + cap + len + zcap);
    if (f == NULL) {
        return NULL;
    }
    f->refs = 1;
    if (wick_prepare(WICK_OP_TEXT, json, len, f->data, cap, &f->prep) != WICK_OK) {
        free(f);
        return NULL;
    }
    memcpy(f->data + cap, json, len);
    f->json = (const char *)(f->data + cap);
    f->json_len = len;
    f->has_z = zcap > 0 && wick_pmd_prepare(&shared_pmd, WICK_OP_TEXT, json, len,
                                            f->data + cap + len, zcap, &f->zprep) == WICK_OK;
    return f;
}

/* Queues one frame on c's engine: the shared compressed frame, a
 * compression of its own (context takeover), or the plain frame. */
static wick_err send_frame(struct client *c, const struct frame *f)
{
    if (c->deflate.enabled) {
        if (c->deflate_shared && f->has_z) {
            return wick_conn_send_prepared(&c->conn, &f->zprep);
        }
        if (!c->deflate_shared) {
            return wick_conn_send(&c->conn, WICK_OP_TEXT, f->json, f->json_len, true);
        }
    }
    return wick_conn_send_prepared(&c->conn, &f->prep);
}

void frame_unref(struct frame *f)
{
    if (f != NULL && --f->refs == 0) {
        free(f);
    }
}

/* === Registry === */

struct client *client_first(void)
{
    return all_clients;
}

struct client *client_new(int fd, const char *addr)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->fd = fd;
    c->phase = PH_HTTP;
    c->num = next_num++;
    snprintf(c->id, sizeof c->id, "c%llu", (unsigned long long)c->num);
    snprintf(c->addr, sizeof c->addr, "%s", addr);
    c->deadline = now_ms() + cfg.handshake_ms;
    c->next = all_clients;
    if (all_clients != NULL) {
        all_clients->prev = c;
    }
    all_clients = c;
    unsigned b = (unsigned)(c->num % ID_BUCKETS);
    c->hnext = by_id[b];
    by_id[b] = c;
    stats.clients++;
    return c;
}

struct client *client_find_id(const char *id)
{
    if (id[0] != 'c' || id[1] < '1' || id[1] > '9') {
        return NULL;
    }
    unsigned long long n = 0;
    for (const char *p = id + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || n > 100000000000000ull) {
            return NULL;
        }
        n = n * 10 + (unsigned)(*p - '0');
    }
    for (struct client *c = by_id[n % ID_BUCKETS]; c != NULL; c = c->hnext) {
        if (c->num == n) {
            return c->phase == PH_WS ? c : NULL;
        }
    }
    return NULL;
}

static void unlink_client(struct client *c)
{
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else if (all_clients == c) {
        all_clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    c->next = c->prev = NULL;
    for (struct client **pp = &by_id[c->num % ID_BUCKETS]; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    }
}

static void drop_queue(struct client *c)
{
    while (c->q_len > 0) {
        frame_unref(c->q[c->q_head]);
        c->q_head = (c->q_head + 1) % cfg.max_queue;
        c->q_len--;
    }
}

void client_free(struct client *c)
{
    drop_queue(c);
    free(c->q);
    if (c->out != NULL) {
        wick_conn_release(&c->conn);
        wick_pmd_release(&c->pmd);
        free(c->out);
    }
    free(c->req);
    free(c->hs);
    free(c->raw);
    free(c->carry);
    free(c);
}

void client_kill(struct client *c, const char *why)
{
    if (c->phase == PH_DEAD) {
        return;
    }
    room_leave_all(c, "disconnect");
    if (c->phase == PH_WS) {
        stats.ws_clients--;
    }
    log_line(LOG_INFO, "disconnect", "id=%s addr=%s reason=\"%s\"", c->id, c->addr, why);
    c->phase = PH_DEAD;
    loop_forget(c);
    close(c->fd);
    c->fd = -1;
    unlink_client(c);
    stats.clients--;
}

void client_linger(struct client *c)
{
    room_leave_all(c, "disconnect");
    if (c->phase == PH_WS) {
        stats.ws_clients--;
    }
    c->phase = PH_LINGER;
    shutdown(c->fd, SHUT_WR);
    loop_want_write(c, false);
    c->deadline = now_ms() + 2000;
}

/* === The engine === */

static void *hook_alloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void hook_free(void *p, size_t n, void *ud)
{
    (void)n;
    (void)ud;
    free(p);
}

static const wick_allocator allocator = {hook_alloc, hook_free, NULL};

static int on_message(wick_conn *conn, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)conn;
    struct client *c = user;
    if (!c->closing) {
        proto_message(c, opcode, data, len);
    }
    return 0;
}

static int on_pong(wick_conn *conn, const uint8_t *data, size_t len, void *user)
{
    (void)conn;
    (void)data;
    (void)len;
    struct client *c = user;
    c->awaiting_pong = false;
    return 0;
}

static int on_close(wick_conn *conn, uint16_t code, const char *reason, size_t len, void *user)
{
    (void)conn;
    struct client *c = user;
    char q[256];
    log_line(LOG_INFO, "close_received", "id=%s code=%u reason=\"%s\"", c->id, code,
             log_quote(reason, len, q, sizeof q));
    room_leave_all(c, "disconnect");
    drop_queue(c);
    c->closing = true;
    c->deadline = now_ms() + cfg.close_ms;
    return 0;
}

static void on_error(wick_conn *conn, wick_err err, void *user)
{
    (void)conn;
    struct client *c = user;
    log_line(LOG_INFO, "ws_error", "id=%s error=%s close=%u", c->id, wick_err_name(err),
             wick_err_close_code(err));
    room_leave_all(c, "disconnect");
    drop_queue(c);
    c->closing = true;
    c->deadline = now_ms() + cfg.close_ms;
}

static const wick_callbacks callbacks = {
    .on_message = on_message,
    .on_pong = on_pong,
    .on_close = on_close,
    .on_error = on_error,
};

bool client_start_ws(struct client *c, const uint8_t *rest, size_t rest_len)
{
    /* The deflate arena comes with the output buffer, in one block. */
    size_t arena =
        c->deflate.enabled ? wick_pmd_arena_size(&conn_cfg, &c->deflate, WICK_ROLE_SERVER) : 0;
    c->out = malloc(cfg.out_cap + arena);
    if (c->out == NULL) {
        return false;
    }
    wick_conn_config cc;
    wick_conn_config_default(&cc, WICK_ROLE_SERVER);
    cc.out_buf = c->out;
    cc.out_cap = cfg.out_cap;
    cc.allocator = &allocator;
    cc.max_message = cfg.max_message;
    if (c->deflate.enabled) {
        if (arena == 0 || wick_pmd_init(&c->pmd, &conn_cfg, &c->deflate, WICK_ROLE_SERVER,
                                        c->out + cfg.out_cap, arena) != WICK_OK) {
            free(c->out);
            c->out = NULL;
            return false;
        }
        cc.extension = wick_pmd_extension(&c->pmd);
        c->deflate_shared = shared_arena != NULL && c->deflate.server_no_context_takeover &&
                            c->deflate.server_max_window_bits >= shared_bits;
        log_line(LOG_INFO, "deflate",
                 "id=%s server_max_window_bits=%u client_max_window_bits=%u "
                 "server_no_context_takeover=%d client_no_context_takeover=%d arena=%zu "
                 "shared=%d",
                 c->id, c->deflate.server_max_window_bits, c->deflate.client_max_window_bits,
                 c->deflate.server_no_context_takeover, c->deflate.client_no_context_takeover,
                 arena, c->deflate_shared);
    } else {
        log_line(LOG_INFO, "deflate", "id=%s off", c->id);
    }
    if (wick_conn_init(&c->conn, &cc, &callbacks, c) != WICK_OK) {
        wick_pmd_release(&c->pmd);
        free(c->out);
        c->out = NULL;
        return false;
    }
    c->phase = PH_WS;
    stats.ws_clients++;
    int64_t now = now_ms();
    c->next_ping = now + cfg.ping_ms;
    c->deadline = (cfg.secret_len > 0 && !c->authed) ? now + cfg.handshake_ms : 0;
    c->rate_start = now;
    log_line(LOG_INFO, "connect", "id=%s addr=%s user=%s", c->id, c->addr,
             c->name[0] ? c->name : "-");
    proto_connected(c);
    if (rest_len > 0) {
        uint8_t *copy = malloc(CHAT_RECV_HEAD + rest_len);
        if (copy == NULL) {
            return false;
        }
        memcpy(copy + CHAT_RECV_HEAD, rest, rest_len);
        client_on_readable(c, copy + CHAT_RECV_HEAD, rest_len);
        free(copy);
    }
    loop_mark_dirty(c);
    return true;
}

/* Feeds in[0..len) to the engine and keeps what it leaves (see part and
 * carry in chat.h). in may be c->carry itself. */
static void feed(struct client *c, uint8_t *in, size_t len)
{
    size_t consumed = 0;
    wick_err e = wick_conn_recv(&c->conn, in, len, &consumed);
    size_t rest = len - consumed;
    if (e == WICK_NEED_MORE) {
        memcpy(c->part, in + consumed, rest); /* rest <= WICK_RECV_MIN */
        c->part_len = rest;
    }
    if (e == WICK_BLOCKED) {
        if (in != c->carry) {
            uint8_t *p = realloc(c->carry, rest);
            if (p == NULL) {
                client_kill(c, "out of memory");
                return;
            }
            c->carry = p;
        }
        memmove(c->carry, in + consumed, rest);
        c->carry_len = rest;
    } else {
        c->carry_len = 0;
    }
    if (e != WICK_OK && e != WICK_NEED_MORE && e != WICK_BLOCKED && e != WICK_PAUSED) {
        c->closing = true;
        if (c->deadline == 0) {
            c->deadline = now_ms() + cfg.close_ms;
        }
    }
    loop_mark_dirty(c);
}

void client_on_readable(struct client *c, uint8_t *buf, size_t len)
{
    if (c->carry_len == 0) {
        /* An incomplete frame kept from the last read goes back in front
         * of this one, into the room the caller leaves there. */
        memcpy(buf - c->part_len, c->part, c->part_len);
        size_t n = c->part_len + len;
        c->part_len = 0;
        feed(c, buf - (n - len), n);
        return;
    }
    /* A pong is waiting for output room: the input queues behind it. A
     * peer that keeps sending pings while never reading our pongs is cut
     * off. */
    if (c->carry_len + len > CHAT_MAX_CARRY) {
        client_kill(c, "input backlog");
        return;
    }
    uint8_t *p = realloc(c->carry, c->carry_len + len);
    if (p == NULL) {
        client_kill(c, "out of memory");
        return;
    }
    memcpy(p + c->carry_len, buf, len);
    c->carry = p;
    feed(c, p, c->carry_len + len);
}

/* === Output === */

static void enqueue(struct client *c, struct frame *f)
{
    if (c->q == NULL) {
        c->q = calloc(cfg.max_queue, sizeof *c->q);
    }
    if (c->q == NULL || c->q_len >= cfg.max_queue) {
        if (!c->drop_slow) {
            c->drop_slow = true;
            stats.dropped_slow++;
        }
        loop_mark_dirty(c);
        return;
    }
    f->refs++;
    c->q[(c->q_head + c->q_len) % cfg.max_queue] = f;
    c->q_len++;
}

void client_send(struct client *c, struct frame *f)
{
    if (c->phase != PH_WS || c->closing || c->drop_slow || f == NULL) {
        return;
    }
    if (c->q_len > 0) {
        enqueue(c, f);
        return;
    }
    wick_err e = send_frame(c, f);
    if (e == WICK_OK) {
        loop_mark_dirty(c);
    } else if (e == WICK_ERR_WOULD_BLOCK) {
        enqueue(c, f);
    } else {
        log_line(LOG_DEBUG, "send_failed", "id=%s error=%s", c->id, wick_err_name(e));
    }
}

void client_close(struct client *c, uint16_t code, const char *reason)
{
    if (c->phase != PH_WS || c->closing) {
        return;
    }
    log_line(LOG_INFO, "close_sent", "id=%s code=%u reason=\"%s\"", c->id, code, reason);
    c->closing = true;
    drop_queue(c);
    wick_conn_close(&c->conn, code, reason, strlen(reason));
    room_leave_all(c, "disconnect");
    c->deadline = now_ms() + cfg.close_ms;
    loop_mark_dirty(c);
}

/* Writes raw bytes; returns 1 when all went out, 0 on EAGAIN, -1 on error. */
static int write_raw(struct client *c)
{
    while (c->raw_off < c->raw_len) {
        ssize_t n = send(c->fd, c->raw + c->raw_off, c->raw_len - c->raw_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return (errno == EAGAIN) ? 0 : -1;
        }
        c->raw_off += (size_t)n;
    }
    free(c->raw);
    c->raw = NULL;
    c->raw_len = c->raw_off = 0;
    return 1;
}

/* Moves queued frames into the engine while they fit; true if any moved. */
static bool refill(struct client *c)
{
    bool moved = false;
    while (c->q_len > 0) {
        struct frame *f = c->q[c->q_head];
        wick_err e = send_frame(c, f);
        if (e == WICK_ERR_WOULD_BLOCK) {
            break;
        }
        c->q_head = (c->q_head + 1) % cfg.max_queue;
        c->q_len--;
        frame_unref(f);
        moved = true;
    }
    return moved;
}

void client_flush(struct client *c)
{
    if (c->phase == PH_DEAD || c->phase == PH_LINGER) {
        return;
    }
    if (c->drop_slow && !c->closing) {
        log_line(LOG_INFO, "slow_client", "id=%s queued=%u", c->id, c->q_len);
        client_close(c, WICK_CLOSE_POLICY, "Too slow");
    }
    if (c->raw != NULL) {
        int r = write_raw(c);
        if (r < 0) {
            client_kill(c, "write error");
            return;
        }
        if (r == 0) {
            loop_want_write(c, true);
            return;
        }
    }
    if (c->phase == PH_HTTP_SEND) {
        client_linger(c);
        return;
    }
    if (c->phase != PH_WS) {
        loop_want_write(c, false);
        return;
    }
    for (;;) {
        size_t len = 0;
        const uint8_t *p = wick_conn_out_peek(&c->conn, &len);
        if (len > 0) {
            ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == EAGAIN) {
                    loop_want_write(c, true);
                    return;
                }
                client_kill(c, "write error");
                return;
            }
            wick_conn_out_consume(&c->conn, (size_t)n);
            continue;
        }
        if (c->carry_len > 0) {
            feed(c, c->carry, c->carry_len); /* output drained: the pong fits now */
            if (c->phase != PH_WS) {
                return;
            }
            continue;
        }
        if (c->q_len > 0 && refill(c)) {
            continue;
        }
        break;
    }
    loop_want_write(c, false);
    if (wick_conn_state(&c->conn) & WICK_SHOULD_CLOSE_TCP) {
        log_line(LOG_DEBUG, "tcp_close", "id=%s", c->id);
        client_linger(c);
    }
}

void client_tick(struct client *c, int64_t now)
{
    switch (c->phase) {
    case PH_HTTP:
    case PH_HTTP_SEND:
        if (c->deadline != 0 && now >= c->deadline) {
            client_kill(c, "handshake timeout");
        }
        return;
    case PH_LINGER:
        if (now >= c->deadline) {
            client_kill(c, "closed");
        }
        return;
    case PH_WS:
        break;
    case PH_DEAD:
    default:
        return;
    }
    if (c->closing) {
        if (now >= c->deadline) {
            client_kill(c, "close timeout");
        }
        return;
    }
    if (c->deadline != 0 && now >= c->deadline) {
        /* Auth mode: connected but never authenticated. */
        client_close(c, WICK_CLOSE_POLICY, "Authentication timeout");
        return;
    }
    if (now >= c->next_ping) {
        if (c->awaiting_pong) {
            stats.dropped_ping++;
            client_kill(c, "ping timeout");
            return;
        }
        wick_conn_ping(&c->conn, "hb", 2);
        c->awaiting_pong = true;
        c->next_ping = now + cfg.ping_ms;
        loop_mark_dirty(c);
    }
}
