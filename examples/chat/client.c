/*
 * Clients: the registry (every WebSocket client, and a hash by id), the
 * ws.c callbacks, timers, and each client's bounded output.
 *
 * Output policy (docs/chat.md, "Slow clients"): every message reaches a
 * client as a shared, already-encoded frame (struct frame), copied into
 * the connection's write queue (examples/io: allocated on demand, given
 * back when empty) while that holds at most cfg.out_cap bytes; beyond it
 * the frame is queued by reference in a ring of cfg.max_queue entries,
 * which refills the write queue as the socket drains. When the ring is
 * full too, the client is too slow: at the next flush it gets close 1008
 * "Too slow" and loses its queued messages, and its TCP connection is
 * dropped if it does not finish the closing handshake within
 * cfg.close_ms.
 *
 * A client whose connection closes, even in the middle of a broadcast
 * (a socket error on send), is only marked dead (ws_on_close): after each
 * batch of events (io_loop's on_batch) the dead leave their rooms and are
 * freed, and clients with a ping or a close to send are flushed, so rooms
 * and the registry never change under a loop walking them.
 */
#include "chat.h"
#include "limits.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ID_BUCKETS 8192u

static struct client *all_clients;
static struct client *by_id[ID_BUCKETS];
static uint64_t next_num = 1;
static struct client *dirty_head; /* to flush */
static struct client *dead_head;  /* closed, still in rooms and the registry */
static struct client *free_head;  /* closed and unlinked: free after the flush */

/* === Compression (permessage-deflate) === */

/* Negotiation with chat_deflate.cfg; each connection's own state adds
 * WICK_PMD_DECOMPRESS_ONLY under --deflate-shared (conn_flags: the answer
 * still says server_no_context_takeover). */
io_deflate chat_deflate;

/* --deflate-shared: one server-role compressor without context takeover,
 * used only by wick_pmd_prepare(), and the window it compresses with: a
 * connection takes its frames when it agreed server_no_context_takeover
 * and a server window at least this large. */
static wick_pmd shared_pmd;
static uint8_t *shared_arena;
static unsigned shared_bits;

bool deflate_setup(void)
{
    io_deflate_default(&chat_deflate);
    chat_deflate.enabled = cfg.deflate;
    wick_pmd_config *deflate_cfg = &chat_deflate.cfg;
    deflate_cfg->budget = cfg.deflate_budget;
    deflate_cfg->max_ratio = 1000; /* bomb guard besides --max-message */
    if (!cfg.deflate || !cfg.deflate_shared) {
        return true;
    }
    deflate_cfg->flags = WICK_PMD_NO_CONTEXT_TAKEOVER;
    /* The window the budget gives a browser's offer is the one to use. */
    static const char offer[] = "permessage-deflate; client_max_window_bits";
    wick_ext ext[1];
    size_t n = 0;
    wick_pmd_params agreed;
    char ans[WICK_PMD_HEADER_MAX];
    size_t ans_len = 0;
    if (wick_ext_parse(offer, sizeof offer - 1, ext, 1, &n) != WICK_OK ||
        wick_pmd_accept(deflate_cfg, ext, n, &agreed, ans, sizeof ans, &ans_len) != WICK_OK ||
        !agreed.enabled) {
        log_line(LOG_ERR, "deflate_shared", "error=\"budget too small for a compressor\"");
        return false;
    }
    shared_bits = agreed.server_max_window_bits;
    wick_pmd_config scfg = *deflate_cfg;
    scfg.budget = 1024 * 1024;
    size_t need = wick_pmd_arena_size(&scfg, &agreed, WICK_ROLE_SERVER);
    shared_arena = malloc(need);
    if (shared_arena == NULL || wick_pmd_init(&shared_pmd, &scfg, &agreed, WICK_ROLE_SERVER,
                                              shared_arena, need) != WICK_OK) {
        log_line(LOG_ERR, "deflate_shared", "error=\"cannot set up the shared compressor\"");
        return false;
    }
    /* Our own compressor per connection is never used: decompress only. */
    chat_deflate.conn_flags = WICK_PMD_DECOMPRESS_ONLY;
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

/* Sends one frame on c's stream: the shared compressed frame, a
 * compression of its own (context takeover), or the plain frame. */
static int send_frame(struct client *c, const struct frame *f)
{
    if (c->ws->dc.params.enabled) {
        if (c->deflate_shared && f->has_z) {
            return ws_send_prepared(c->ws, &f->zprep);
        }
        if (!c->deflate_shared) {
            return ws_send(c->ws, WICK_OP_TEXT, f->json, f->json_len);
        }
    }
    return ws_send_prepared(c->ws, &f->prep);
}

void frame_unref(struct frame *f)
{
    if (f != NULL && --f->refs == 0) {
        free(f);
    }
}

/* === Registry === */

/* --redis: client ids carry the node's number (cluster.c). */
void client_set_num_base(uint64_t base);
void client_set_num_base(uint64_t base)
{
    next_num = base + 1;
}

struct client *client_first(void)
{
    return all_clients;
}

struct client *client_new(ws_conn *ws)
{
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->ws = ws;
    ws->user = c;
    c->phase = PH_WS;
    c->num = next_num++;
    snprintf(c->id, sizeof c->id, "c%llu", (unsigned long long)c->num);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getpeername(ws->s->fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
        }
    }
    snprintf(c->addr, sizeof c->addr, "%s:%u", ip, port);
    c->next = all_clients;
    if (all_clients != NULL) {
        all_clients->prev = c;
    }
    all_clients = c;
    unsigned b = (unsigned)(c->num % ID_BUCKETS);
    c->hnext = by_id[b];
    by_id[b] = c;
    stats.clients++;
    stats.accepted++;
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

static void mark_dirty(struct client *c)
{
    if (!c->dirty && c->phase == PH_WS) {
        c->dirty = true;
        c->dnext = dirty_head;
        dirty_head = c;
    }
}

/* Closes the TCP connection now (ws.c calls on_close, below). */
static void client_kill(struct client *c, const char *why)
{
    if (c->phase == PH_WS) {
        c->why = why;
        io_close(c->ws->s);
    }
}

/* === Output === */

/* The write queue holds at most cfg.out_cap bytes before frames wait in
 * the ring (one message may go past it). */
static bool queue_full(const struct client *c)
{
    return io_queued(c->ws->s) > cfg.out_cap;
}

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
        mark_dirty(c);
        return;
    }
    f->refs++;
    c->q[(c->q_head + c->q_len) % cfg.max_queue] = f;
    c->q_len++;
}

void client_send(struct client *c, struct frame *f)
{
    if (c->phase != PH_WS || c->closing || c->drop_slow || f == NULL || !c->ws->open) {
        return;
    }
    if (c->q_len > 0 || queue_full(c)) {
        enqueue(c, f);
        return;
    }
    send_frame(c, f); /* a socket error closes c: it is only marked dead */
}

/* Moves frames from the ring to the write queue while it has room. */
static void refill(struct client *c)
{
    while (c->q_len > 0 && c->phase == PH_WS && !queue_full(c)) {
        struct frame *f = c->q[c->q_head];
        c->q_head = (c->q_head + 1) % cfg.max_queue;
        c->q_len--;
        send_frame(c, f);
        frame_unref(f);
    }
    if (c->q_len == 0) {
        free(c->q); /* an idle client keeps no ring */
        c->q = NULL;
        c->q_head = 0;
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
    room_leave_all(c, "disconnect");
    mark_dirty(c);
    ws_close(c->ws, code, reason); /* sends it, and waits cfg.close_ms at most */
}

static void flush(struct client *c)
{
    if (c->drop_slow && !c->closing) {
        log_line(LOG_INFO, "slow_client", "id=%s queued=%u", c->id, c->q_len);
        client_close(c, WICK_CLOSE_POLICY, "Too slow");
    }
    if (c->phase == PH_WS) {
        ws_flush(c->ws);
    }
}

/* After every batch (see the top of the file). */
static void on_batch(io_loop *loop)
{
    (void)loop;
    for (;;) {
        if (dead_head != NULL) {
            struct client *c = dead_head;
            dead_head = c->fnext;
            room_leave_all(c, "disconnect");
            drop_queue(c);
            unlink_client(c);
            c->fnext = free_head;
            free_head = c;
            continue;
        }
        if (dirty_head != NULL) {
            struct client *c = dirty_head;
            dirty_head = c->dnext;
            c->dirty = false;
            if (c->phase == PH_WS) {
                flush(c);
            }
            continue;
        }
        break;
    }
    while (free_head != NULL) {
        struct client *c = free_head;
        free_head = c->fnext;
        free(c->q);
        free(c);
    }
}

/* === Timers: heartbeat and the authentication deadline === */

static void tick(struct client *c, int64_t now)
{
    if (c->phase != PH_WS || !c->ws->open || c->closing) {
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
        wick_conn_ping(&c->ws->conn, "hb", 2);
        c->awaiting_pong = true;
        c->next_ping = now + cfg.ping_ms;
        mark_dirty(c);
    }
}

static void on_tick(io_loop *loop)
{
    struct client *next;
    for (struct client *c = all_clients; c != NULL; c = next) {
        next = c->next; /* c may die: it stays listed until on_batch */
        tick(c, loop->now);
    }
}

/* === ws.c's callbacks === */

static void ws_on_open(ws_conn *ws)
{
    struct client *c = ws->user;
    if (c == NULL) {
        return;
    }
    const io_deflate_conn *dc = &ws->dc;
    if (dc->params.enabled) {
        const wick_pmd_params *p = &dc->params;
        wick_pmd_info info = wick_pmd_get_info(&dc->pmd);
        c->deflate_shared = shared_arena != NULL && p->server_no_context_takeover &&
                            p->server_max_window_bits >= shared_bits;
        log_line(LOG_INFO, "deflate",
                 "id=%s server_max_window_bits=%u client_max_window_bits=%u "
                 "server_no_context_takeover=%d client_no_context_takeover=%d arena=%zu "
                 "inflate_bits=%u deflate_bits=%u mem_level=%u shared=%d",
                 c->id, p->server_max_window_bits, p->client_max_window_bits,
                 p->server_no_context_takeover, p->client_no_context_takeover, dc->arena_len,
                 (unsigned)info.inflate_bits, (unsigned)info.deflate_bits, (unsigned)info.mem_level,
                 c->deflate_shared);
    } else {
        log_line(LOG_INFO, "deflate", "id=%s off", c->id);
    }
    stats.ws_clients++;
    int64_t now = now_ms();
    c->next_ping = now + cfg.ping_ms;
    c->deadline = (cfg.secret_len > 0 && !c->authed) ? now + cfg.handshake_ms : 0;
    c->rate_start = now;
    log_line(LOG_INFO, "connect", "id=%s addr=%s user=%s", c->id, c->addr,
             c->name[0] ? c->name : "-");
    proto_connected(c);
    mark_dirty(c);
    if (c->bad_token) {
        log_line(LOG_INFO, "auth_failed", "id=%s source=handshake", c->id);
        client_close(c, WICK_CLOSE_POLICY, "Invalid token");
    }
}

static int ws_on_message(ws_conn *ws, uint8_t opcode, const uint8_t *data, size_t len)
{
    struct client *c = ws->user;
    if (c != NULL && c->phase == PH_WS && !c->closing) {
        proto_message(c, opcode, data, len);
    }
    return 0;
}

static int ws_on_pong(ws_conn *ws, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    struct client *c = ws->user;
    if (c != NULL) {
        c->awaiting_pong = false;
    }
    return 0;
}

static void ws_on_drained(ws_conn *ws)
{
    struct client *c = ws->user;
    if (c != NULL && c->q_len > 0) {
        refill(c);
    }
}

static void ws_on_stop(ws_conn *ws)
{
    struct client *c = ws->user;
    if (c != NULL && c->phase == PH_WS && !c->closing) {
        proto_shutdown_notice(c);
        client_close(c, WICK_CLOSE_GOING_AWAY, "Server shutting down");
    }
}

/* The connection is gone: the client is dead from now on; it leaves its
 * rooms and is freed after the batch (on_batch). */
static void ws_on_close(ws_conn *ws, bool clean)
{
    struct client *c = ws->user;
    if (c == NULL) {
        return;
    }
    ws->user = NULL;
    c->ws = NULL;
    if (ws->open) {
        stats.ws_clients--;
        uint16_t code = wick_conn_close_code(&ws->conn);
        wick_err err = wick_conn_error(&ws->conn);
        if (err != WICK_OK) {
            log_line(LOG_INFO, "ws_error", "id=%s error=%s close=%u", c->id, wick_err_name(err),
                     wick_err_close_code(err));
        } else if (code != 0) {
            log_line(LOG_INFO, "close_received", "id=%s code=%u", c->id, code);
        }
    }
    const char *why = c->why != NULL ? c->why : clean ? "closed" : "peer closed";
    log_line(LOG_INFO, "disconnect", "id=%s addr=%s reason=\"%s\"", c->id, c->addr, why);
    c->phase = PH_DEAD;
    stats.clients--;
    c->fnext = dead_head;
    dead_head = c;
}

const ws_callbacks chat_ws_callbacks = {
    .on_upgrade = http_upgrade,
    .on_http = http_request,
    .on_open = ws_on_open,
    .on_message = ws_on_message,
    .on_pong = ws_on_pong,
    .on_close = ws_on_close,
    .on_drained = ws_on_drained,
    .on_stop = ws_on_stop,
    .on_limit = limits_on_ws_limit,
};

bool chat_start(io_loop *loop)
{
    int64_t tick_ms = cfg.ping_ms / 10;
    tick_ms = tick_ms < 50 ? 50 : tick_ms > 500 ? 500 : tick_ms;
    io_loop_every(loop, tick_ms, on_tick);
    loop->on_batch = on_batch;
    return true;
}

void chat_cleanup(void)
{
    on_batch(NULL);
}
