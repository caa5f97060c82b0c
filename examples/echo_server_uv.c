/*
 * echo_server_uv: the echo server of echo_server.c on libuv instead of
 * epoll, in one file, to show that wick (sans-I/O: bytes in, bytes out,
 * callbacks) drives any event loop. Same behaviour: it prints "listening
 * on PORT", echoes every message as one frame, answers GET / with a page,
 * accepts permessage-deflate, and on SIGINT/SIGTERM says 1001 to every
 * client and exits within two seconds. No TLS here (see examples/io/tls.c).
 *
 *   echo_server_uv [PORT] [--host ADDR]
 *
 * How it maps onto libuv: each read is fed to wick_conn_recv() from the
 * read callback (libuv reads into one shared buffer, handed out by
 * alloc_cb, after the bytes wick left last time); echoes and wick's own
 * output go out with uv_write(), each from a buffer of its own freed in
 * the write callback; while more than HIGH_WATER bytes are waiting in
 * libuv's write queue, reading stops (uv_read_stop) and the rest of the
 * input waits in a stash. Memory is freed in uv_close()'s callback, which
 * libuv runs on a later loop iteration: no callback can see a freed client.
 */
#include <wick.h>

#include <uv.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS_BUF_SIZE 8192u
#define RBUF_SIZE   (64u * 1024u)
#define OUT_SIZE    4096u
#define HIGH_WATER  (256u * 1024u)
#define HS_TIMEOUT  30000
#define CLOSE_WAIT  5000
#define MAX_MESSAGE (64u * 1024u * 1024u)

typedef struct client {
    uv_tcp_t tcp;
    uv_timer_t timer;
    bool ws, closing, shut;
    int handles; /* open libuv handles (tcp, timer) */
    size_t hs_len;
    wick_hs_request req;
    char hs[HS_BUF_SIZE];
    wick_conn conn;
    wick_pmd pmd;
    uint8_t *arena;
    uint8_t *stash;
    size_t stash_off, stash_len, carry_len;
    uint8_t carry[WICK_RECV_MIN];
    uint8_t out[OUT_SIZE];
    struct client *prev, *next;
} client;

typedef struct wreq {
    uv_write_t req;
    uint8_t data[];
} wreq;

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sigs[2];
static uv_timer_t stop_timer;
static client *clients;
static bool stopping;
static uint8_t rbuf[RBUF_SIZE + WICK_RECV_MIN];
static wick_pmd_config pmd_cfg;

static void drive(client *c);

static void *heap_alloc(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void heap_free(void *p, size_t n, void *ud)
{
    (void)n;
    (void)ud;
    free(p);
}

static const wick_allocator heap = {heap_alloc, heap_free, NULL};

static void after_close(uv_handle_t *h)
{
    client *c = h->data;
    if (--c->handles > 0) {
        return; /* the last of the two handles' close callbacks frees */
    }
    if (c->ws) {
        wick_conn_release(&c->conn);
    }
    wick_pmd_release(&c->pmd);
    free(c->arena);
    free(c->stash);
    free(c);
    if (stopping && clients == NULL) {
        uv_stop(loop); /* every client said goodbye */
    }
}

static void client_close(client *c)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    uv_close((uv_handle_t *)&c->tcp, after_close);
    uv_close((uv_handle_t *)&c->timer, after_close);
}

static void after_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    free(req);
}

static void on_timer(uv_timer_t *t)
{
    client_close(t->data);
}

static void on_written(uv_write_t *req, int status)
{
    client *c = req->data;
    free(req);
    if (status < 0) {
        client_close(c);
    } else if (!c->closing && c->ws &&
               uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        drive(c); /* reading may go on */
    }
}

/* Queues a copy of data[0..len) (or, with frame set, a server frame of it). */
static bool write_out(client *c, const void *data, size_t len, int frame_op)
{
    size_t cap = frame_op >= 0 ? len + 10 : len, n = len;
    wreq *w = malloc(sizeof(*w) + cap);
    if (w == NULL) {
        return false;
    }
    if (frame_op >= 0) {
        wick_frame_write((uint8_t)frame_op, true, 0, NULL, data, len, w->data, cap, &n);
    } else {
        memcpy(w->data, data, len);
    }
    w->req.data = c;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        return false;
    }
    return true;
}

/* Moves wick's output (pongs, close frames, compressed echoes) to libuv. */
static bool drain(client *c)
{
    size_t len = 0;
    const uint8_t *p;
    while ((p = wick_conn_out_peek(&c->conn, &len)) != NULL && len > 0) {
        if (!write_out(c, p, len, -1)) {
            return false;
        }
        wick_conn_out_consume(&c->conn, len);
    }
    return true;
}

static int on_message(wick_conn *wc, uint8_t op, const uint8_t *data, size_t len, void *user)
{
    client *c = user;
    if ((wick_conn_state(wc) & WICK_CLOSING) == 0) {
        if (!drain(c)) {
            return -1;
        }
        if (c->arena != NULL) { /* compressed: through the encoder */
            size_t off = 0;
            do {
                size_t acc = 0;
                wick_err e = wick_conn_send_some(wc, op, data + off, len - off, true, &acc);
                if (e != WICK_OK && e != WICK_ERR_WOULD_BLOCK) {
                    return -1;
                }
                off += e == WICK_OK ? acc : 0;
                op = e == WICK_OK ? (uint8_t)WICK_OP_CONT : op;
                if (!drain(c)) {
                    return -1;
                }
            } while (off < len);
        } else if (!write_out(c, data, len, op)) {
            return -1;
        }
    }
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > HIGH_WATER ? WICK_PAUSE : 0;
}

static const wick_callbacks callbacks = {.on_message = on_message};

/* Feeds in[0..len) and keeps what wick left (carry, or stash after a pause). */
static bool feed(client *c, uint8_t *in, size_t len)
{
    size_t used = 0;
    wick_err e = wick_conn_recv(&c->conn, in, len, &used);
    if (!drain(c)) {
        return false;
    }
    uint8_t *old = c->stash;
    c->stash = NULL;
    if (e == WICK_NEED_MORE && len - used <= sizeof(c->carry)) {
        memmove(c->carry, in + used, len - used);
        c->carry_len = len - used;
    } else if (used < len) {
        c->stash = malloc(len - used);
        if (c->stash == NULL) {
            free(old);
            return false;
        }
        memcpy(c->stash, in + used, len - used);
        c->stash_off = 0;
        c->stash_len = len - used;
    }
    free(old);
    return true;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    client *c = h->data;
    if (!c->ws) {
        *buf = uv_buf_init(c->hs + c->hs_len, (unsigned)(sizeof(c->hs) - c->hs_len));
        return;
    }
    memcpy(rbuf, c->carry, c->carry_len); /* in front of the new bytes */
    *buf = uv_buf_init((char *)rbuf + c->carry_len, RBUF_SIZE);
}

/* Feeds the stash, then reads again unless the output backs up; closes
 * when wick says the closing handshake is done (the server closes first). */
static void drive(client *c)
{
    while (c->stash != NULL &&
           uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= HIGH_WATER) {
        if (!feed(c, c->stash + c->stash_off, c->stash_len - c->stash_off)) {
            client_close(c);
            return;
        }
    }
    unsigned st = wick_conn_state(&c->conn);
    if ((st & WICK_SHOULD_CLOSE_TCP) != 0) {
        if (!c->shut) {
            c->shut = true;
            uv_shutdown_t *sh = malloc(sizeof(*sh));
            if (sh == NULL || uv_shutdown(sh, (uv_stream_t *)&c->tcp, after_shutdown) != 0) {
                free(sh);
                client_close(c);
                return;
            }
            uv_timer_start(&c->timer, on_timer, 2000, 0); /* linger for the FIN */
        }
        return; /* reading goes on, discarding, until EOF */
    }
    if (c->stash == NULL && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) <= HIGH_WATER) {
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
}

static const char index_html[] = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                                 "<title>wick echo server (libuv)</title></head>\n"
                                 "<body><h1>wick echo server (libuv)</h1></body></html>\n";

/* Answers a request that is not an upgrade, or a bad one, and closes. */
static void answer_and_close(client *c, wick_err e)
{
    char out[2048];
    size_t n = 0;
    bool get = c->req.method.len == 3 && memcmp(c->req.method.ptr, "GET", 3) == 0;
    bool root = c->req.target.len == 1 || (c->req.target.len > 1 && c->req.target.ptr[1] == '?');
    if (e != WICK_ERR_HS_NOT_UPGRADE) {
        wick_hs_server_reject(e, out, sizeof(out), &n);
    } else if (!get) {
        wick_http_response(405, NULL, "method not allowed\n", 19, NULL, 0, true, out, sizeof(out),
                           &n);
    } else if (root) {
        wick_http_response(200, "text/html; charset=utf-8", index_html, sizeof(index_html) - 1,
                           NULL, 0, true, out, sizeof(out), &n);
    } else {
        wick_http_response(404, NULL, "not found\n", 10, NULL, 0, true, out, sizeof(out), &n);
    }
    uv_shutdown_t *sh = malloc(sizeof(*sh));
    if (n == 0 || !write_out(c, out, n, -1) || sh == NULL ||
        uv_shutdown(sh, (uv_stream_t *)&c->tcp, after_shutdown) != 0) {
        free(sh);
        client_close(c);
        return;
    }
    c->shut = true;
    uv_timer_start(&c->timer, on_timer, 2000, 0);
}

/* The request is complete: answer 101 (with permessage-deflate when
 * offered) and start the WebSocket with the bytes that followed it. */
static void upgrade(client *c, size_t header_len)
{
    wick_pmd_params agreed = {0};
    char ext[2 * WICK_PMD_HEADER_MAX], out[2048];
    size_t ext_len = 0, n = 0;
    wick_hs_accept_opts opts = {{NULL, 0}, {NULL, 0}, NULL, 0};
    if (wick_pmd_accept(&pmd_cfg, c->req.extensions, c->req.num_extensions, &agreed, ext,
                        sizeof(ext), &ext_len) == WICK_OK &&
        ext_len > 0) {
        opts.extensions = (wick_str){ext, ext_len};
    }
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = c->out;
    cfg.out_cap = sizeof(c->out);
    cfg.allocator = &heap;
    cfg.max_message = MAX_MESSAGE;
    if (agreed.enabled) {
        size_t need = wick_pmd_arena_size(&pmd_cfg, &agreed, WICK_ROLE_SERVER);
        c->arena = malloc(need);
        if (c->arena == NULL ||
            wick_pmd_init(&c->pmd, &pmd_cfg, &agreed, WICK_ROLE_SERVER, c->arena, need) != 0) {
            client_close(c);
            return;
        }
        cfg.extension = wick_pmd_extension(&c->pmd);
    }
    if (wick_hs_server_accept(&c->req, &opts, out, sizeof(out), &n) != WICK_OK ||
        wick_conn_init(&c->conn, &cfg, &callbacks, c) != WICK_OK || !write_out(c, out, n, -1)) {
        client_close(c);
        return;
    }
    c->ws = true;
    uv_timer_stop(&c->timer);
    if (stopping) {
        wick_conn_close(&c->conn, WICK_CLOSE_GOING_AWAY, "server shutting down", 20);
    }
    if (!feed(c, (uint8_t *)c->hs + header_len, c->hs_len - header_len)) {
        client_close(c);
        return;
    }
    drive(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    client *c = s->data;
    if (n < 0) {
        client_close(c); /* EOF (the FIN we lingered for) or an error */
        return;
    }
    if (n == 0 || c->shut) {
        return; /* nothing, or input after our answer: discarded */
    }
    if (c->ws) {
        size_t len = c->carry_len + (size_t)n;
        c->carry_len = 0;
        if (!feed(c, rbuf, len)) {
            client_close(c);
            return;
        }
        drive(c);
        return;
    }
    c->hs_len += (size_t)n;
    size_t header_len = 0;
    wick_err e = wick_hs_server_parse(&c->req, c->hs, c->hs_len, &header_len);
    if (e == WICK_NEED_MORE && c->hs_len == sizeof(c->hs)) {
        e = WICK_ERR_HS_TOO_LARGE;
    }
    if (e == WICK_OK) {
        upgrade(c, header_len);
    } else if (e != WICK_NEED_MORE) {
        answer_and_close(c, e);
    }
}

static void on_connection(uv_stream_t *srv, int status)
{
    client *c = calloc(1, sizeof(*c));
    if (status < 0 || c == NULL) {
        free(c);
        return;
    }
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = clients;
    if (clients != NULL) {
        clients->prev = c;
    }
    clients = c;
    wick_hs_request_init(&c->req, NULL);
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
        client_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, on_timer, HS_TIMEOUT, 0);
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read);
}

static void on_stop_timer(uv_timer_t *t)
{
    (void)t;
    uv_stop(loop);
}

/* SIGINT/SIGTERM: stop listening, 1001 to every WebSocket client. */
static void on_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    if (stopping) {
        return;
    }
    stopping = true;
    uv_close((uv_handle_t *)&server, NULL);
    uv_timer_start(&stop_timer, on_stop_timer, 2000, 0);
    client *next;
    for (client *c = clients; c != NULL; c = next) {
        next = c->next;
        if (c->ws && !c->shut) {
            wick_conn_close(&c->conn, WICK_CLOSE_GOING_AWAY, "server shutting down", 20);
            uv_timer_start(&c->timer, on_timer, CLOSE_WAIT, 0);
            if (!drain(c)) {
                client_close(c);
            }
        } else if (!c->shut) {
            client_close(c);
        }
    }
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 8080;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (argv[i][0] != '-') {
            port = atoi(argv[i]);
        } else {
            fputs("usage: echo_server_uv [PORT] [--host ADDR]\n", stderr);
            return 2;
        }
    }
    wick_pmd_config_default(&pmd_cfg);
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
        fprintf(stderr, "echo_server_uv: bad address %s\n", host);
        return 2;
    }
    uv_tcp_init(loop, &server);
    int r = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (r == 0) {
        r = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
    }
    if (r != 0) {
        fprintf(stderr, "echo_server_uv: cannot listen on %s port %d: %s\n", host, port,
                uv_strerror(r));
        return 1;
    }
    struct sockaddr_storage bound;
    int blen = sizeof(bound);
    uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &blen);
    printf("listening on %d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);
    uv_timer_init(loop, &stop_timer);
    uv_signal_init(loop, &sigs[0]);
    uv_signal_init(loop, &sigs[1]);
    uv_signal_start(&sigs[0], on_signal, SIGINT);
    uv_signal_start(&sigs[1], on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    /* Stopped (or every handle gone): close what is left and let the
     * close callbacks free the clients. */
    while (clients != NULL) {
        client_close(clients);
    }
    uv_walk(loop, on_walk_close, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
