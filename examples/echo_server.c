/*
 * echo_server: a WebSocket echo server on top of wick, in one process,
 * with epoll and non-blocking sockets.
 *
 *   echo_server [PORT] [--host ADDR] [--timeout SECS] [--idle SECS] [-v]
 *               [--no-deflate] [--deflate-* ...]
 *
 * PORT defaults to 8080; 0 picks an ephemeral port. The server listens on
 * 127.0.0.1 unless --host says otherwise, and prints "listening on PORT"
 * as its first line on stdout. Every text and binary message is echoed
 * back unchanged; pings are answered by the engine (auto-pong). A plain
 * HTTP GET of "/" gets a small HTML page, any other path a 404.
 *
 * Life of a connection:
 *   PH_HTTP    the request is accumulated in an 8 KiB buffer and parsed
 *              with wick_hs_server_parse() (deadline: --timeout, 30 s);
 *   PH_WS      after the 101 answer, a wick_conn (server role) runs the
 *              WebSocket; the bytes that followed the header block are its
 *              first input;
 *   PH_LINGER  after a plain HTTP answer or when wick says the TCP
 *              connection should close: our side is shut down for writing
 *              and input is discarded until the peer's FIN (or a short
 *              deadline), so an unread byte never turns our close into a
 *              reset that could destroy the last bytes we sent.
 *
 * The echo path (what makes it fast): the server has one receive buffer
 * and one echo buffer, shared by every connection (one connection is
 * handled at a time, so they stay hot in the cache, like uWebSockets'
 * shared receive and cork buffers). A readable socket gets one recv() into
 * the receive buffer, the bytes go to wick_conn_recv(), whole messages come
 * back to on_message() as views into that buffer (unmasked in place, no
 * copy, no allocation), each echo is written once into the echo buffer
 * (frame header + payload), and one send() returns them all. wick's own
 * output buffer carries what the engine writes (pongs, close frames) and
 * the echoes that cannot take the fast path (see on_message()); it is sent
 * after the echo bytes, which keeps the order of the stream: the engine
 * writes a close frame only after the last message it delivered, and once
 * it has queued a pong the echoes that follow go after it (on_ping()). epoll interest is only
 * changed when it changes, and the clock is read once per loop iteration.
 *
 * Memory stays bounded: what the socket did not take of a send() of the
 * echo buffer is kept per connection (spill, at most one buffer), and
 * reading stops until it has gone out; input left over by wick (an
 * incomplete frame header or control frame, at most WICK_RECV_MIN bytes)
 * is kept in a small per-connection array; after a pause or WICK_BLOCKED
 * the rest of the input is kept (stash) and fed again before reading more.
 * An echo that does not fit in wick's 64 KiB output buffer is kept as one
 * pending message that is pumped out with wick_conn_send_some() as the
 * socket drains, and reading stops (the callback returns WICK_PAUSE) until
 * it has all gone out.
 *
 * permessage-deflate (RFC 7692) is accepted when a client offers it
 * (--no-deflate: declined). A connection that agreed it gets an arena of
 * wick_pmd_arena_size() bytes, malloc'd at the upgrade and freed at close,
 * and echoes through wick_conn_send_some() (the encoder compresses into
 * wick's output buffer), never through the fast path below: the echo
 * buffer and the in-place frames carry plain payloads only.
 *
 * SIGINT/SIGTERM: every WebSocket client gets a close frame with 1001
 * (going away), the server waits up to two seconds for them to finish,
 * then exits with status 0.
 */
#include <wick.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HS_BUF_SIZE   8192u          /* the request header block */
#define HTTP_OUT_SIZE 2048u          /* our HTTP answer (101, 200, 4xx) */
#define OUT_BUF_SIZE  (64u * 1024u)  /* wick's output buffer, per connection */
#define RECV_BUF_SIZE (128u * 1024u) /* one recv() worth of frames (shared) */
#define ECHO_BUF_SIZE (128u * 1024u) /* their echoes, sent with one send() (shared) */
#define ECHO_HDR_MAX  10u            /* largest server frame header (RFC 6455 5.2) */
#define ECHO_IOV_MAX  64             /* pieces of one sendmsg() */
#define ZERO_COPY_MIN 1024u          /* echoes from this size are sent from the input */
#define MAX_MESSAGE   (64u * 1024u * 1024u)
#define CLOSE_WAIT_MS 5000 /* closing handshake, then linger */
#define LINGER_MS     2000 /* waiting for the peer's FIN */
#define SHUTDOWN_MS   2000 /* draining clients on SIGINT/SIGTERM */
#define MAX_EVENTS    256

/* Where a connection is in its life (see the top of the file). */
enum phase {
    PH_HTTP,   /* reading the opening handshake */
    PH_WS,     /* WebSocket open or closing */
    PH_LINGER, /* write side shut down; waiting for the peer's FIN */
    PH_CLOSED  /* socket closed; freed at the end of the loop iteration */
};

/* One client connection. What every message touches comes first, packed
 * in a few cache lines (with hundreds of connections each event starts
 * with cache misses on its client); the big buffers come last. */
typedef struct client {
    int fd;
    enum phase phase;
    unsigned events; /* epoll interest currently registered */
    bool conn_ready; /* wick_conn_init() succeeded */
    bool direct;     /* on_message may echo into the shared echo buffer */
    bool deflate;    /* permessage-deflate agreed: pmd and arena are set up */
    uint8_t pend_op; /* TEXT/BINARY before its first byte, then CONT */
    struct server *srv;
    size_t http_len, http_off; /* our HTTP answer, written before any WebSocket byte */
    size_t carry_len;          /* bytes in carry */
    uint8_t *stash;            /* input not yet fed after a pause or WICK_BLOCKED */
    uint8_t *spill;            /* echo bytes the socket did not take (sent before wick's output) */
    uint8_t *pend;             /* the rest of a message being echoed */
    int64_t deadline;          /* CLOCK_MONOTONIC ms; 0: none */
    size_t stash_off, stash_len;
    size_t spill_off, spill_len;
    size_t pend_off, pend_len;
    struct client *prev, *next; /* the server's list of clients */

    /* PH_WS */
    wick_conn conn;
    wick_pmd pmd;                 /* when deflate: MUST outlive conn (it is its extension) */
    uint8_t *arena;               /* pmd's memory, wick_pmd_arena_size() bytes */
    wick_pmd_params pmd_params;   /* what wick_pmd_accept() agreed */
    uint8_t carry[WICK_RECV_MIN]; /* an incomplete frame header or control frame */

    /* PH_HTTP */
    size_t hs_len;
    wick_hs_request req;
    char hs_buf[HS_BUF_SIZE];
    char http_out[HTTP_OUT_SIZE];

    uint8_t out[OUT_BUF_SIZE]; /* wick's output buffer */
} client;

/* Process-wide state, passed around explicitly. */
typedef struct server {
    int ep;          /* epoll instance */
    int lfd;         /* listening socket, -1 once closed */
    int sfd;         /* signalfd for SIGINT and SIGTERM */
    client *clients; /* every open connection */
    client *dead;    /* closed during this loop iteration, freed after it */
    size_t num_clients;
    int64_t hs_timeout_ms; /* opening handshake deadline */
    int64_t idle_ms;       /* WebSocket idle deadline; 0: none */
    int64_t next_sweep;    /* earliest deadline of any client; 0: none */
    int64_t now;           /* CLOCK_MONOTONIC ms, read once per loop iteration */
    bool stopping;         /* SIGINT/SIGTERM seen */
    bool verbose;
    bool deflate;            /* accept permessage-deflate offers */
    wick_pmd_config pmd_cfg; /* budget, flags, level, min size, ratio */
    uint8_t *recv_buf;       /* RECV_BUF_SIZE: the input of the connection being handled */
    uint8_t *echo_buf;       /* ECHO_BUF_SIZE: its small echoes */
    size_t echo_len;
    struct iovec iov[ECHO_IOV_MAX]; /* the echoes of the input being fed, in order */
    int niov;
    uint8_t *in; /* the input being fed (see on_message()) */
    size_t in_len;
    bool io_error; /* a send() failed while feeding */
} server;

/* epoll tags for the two non-client descriptors (their addresses are used). */
static const char listen_tag = 'L';
static const char signal_tag = 'S';

static void client_close(client *cl);
static void client_drive(client *cl);

/* === Small utilities === */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void vlog(const server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs one line to stderr when -v was given. */
static void vlog(const server *srv, const char *fmt, ...)
{
    if (!srv->verbose) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("echo_server: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Sets a client's deadline `ms` from now (0: none) and makes sure the
 * main loop wakes up for it. */
static void set_deadline(client *cl, int64_t ms)
{
    cl->deadline = ms > 0 ? cl->srv->now + ms : 0;
    server *srv = cl->srv;
    if (cl->deadline != 0 && (srv->next_sweep == 0 || cl->deadline < srv->next_sweep)) {
        srv->next_sweep = cl->deadline;
    }
}

/* Registers (or updates) the epoll interest of a client. */
static void set_events(client *cl, unsigned events)
{
    if (events == cl->events) {
        return;
    }
    struct epoll_event ev = {.events = events, .data.ptr = cl};
    if (epoll_ctl(cl->srv->ep, EPOLL_CTL_MOD, cl->fd, &ev) == 0) {
        cl->events = events;
    }
}

/* The reassembly allocator hook: plain malloc/free. */
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

static const wick_allocator heap_allocator = {hook_alloc, hook_free, NULL};

/* True for the errno values of a non-blocking call that would block. */
static bool would_block(int err)
{
#if EWOULDBLOCK != EAGAIN
    if (err == EWOULDBLOCK) {
        return true;
    }
#endif
    return err == EAGAIN;
}

/* === Writing === */

/* Writes as much of buf[0..len) as the socket takes. Returns the number of
 * bytes written (possibly 0 when it would block), or -1 on a socket error. */
static ssize_t write_some(int fd, const void *buf, size_t len)
{
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            return n;
        }
        if (errno == EINTR) {
            continue;
        }
        return would_block(errno) ? 0 : -1;
    }
}

/* Drops the unsent echo bytes. */
static void spill_free(client *cl)
{
    free(cl->spill);
    cl->spill = NULL;
    cl->spill_off = cl->spill_len = 0;
}

/* Flushes our HTTP answer, then the spilled echo bytes, then wick's output
 * window, in that order (see the top of the file). Returns 1 when
 * everything went out, 0 when the socket is full, -1 on a socket error. */
static int flush_output(client *cl)
{
    while (cl->http_off < cl->http_len) {
        ssize_t n = write_some(cl->fd, cl->http_out + cl->http_off, cl->http_len - cl->http_off);
        if (n <= 0) {
            return (int)n;
        }
        cl->http_off += (size_t)n;
    }
    if (!cl->conn_ready) {
        return 1;
    }
    while (cl->spill != NULL) {
        ssize_t n = write_some(cl->fd, cl->spill + cl->spill_off, cl->spill_len - cl->spill_off);
        if (n <= 0) {
            return (int)n;
        }
        cl->spill_off += (size_t)n;
        if (cl->spill_off == cl->spill_len) {
            spill_free(cl);
        }
    }
    for (;;) {
        size_t len = 0;
        const uint8_t *p = wick_conn_out_peek(&cl->conn, &len);
        if (len == 0) {
            return 1;
        }
        ssize_t n = write_some(cl->fd, p, len);
        if (n <= 0) {
            return (int)n;
        }
        wick_conn_out_consume(&cl->conn, (size_t)n);
    }
}

/* Sends the echoes gathered in srv->iov (pieces of the echo buffer and of
 * the input) with one send() or sendmsg(); keeps what the socket did not
 * take in the client's spill and then turns the fast path off, so later
 * echoes queue behind it in wick's output. Returns 0, or -1 on a socket
 * error or when memory runs out. */
static int flush_echo(client *cl)
{
    server *srv = cl->srv;
    int niov = srv->niov;
    srv->niov = 0;
    srv->echo_len = 0;
    if (niov == 0) {
        return 0;
    }
    struct iovec *iov = srv->iov;
    ssize_t n;
    do {
        if (niov == 1) {
            n = send(cl->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
        } else {
            struct msghdr mh;
            memset(&mh, 0, sizeof(mh));
            mh.msg_iov = iov;
            mh.msg_iovlen = (size_t)niov;
            n = sendmsg(cl->fd, &mh, MSG_NOSIGNAL);
        }
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (!would_block(errno)) {
            return -1;
        }
        n = 0;
    }
    size_t sent = (size_t)n;
    int i = 0;
    while (i < niov && sent >= iov[i].iov_len) {
        sent -= iov[i].iov_len;
        i++;
    }
    if (i == niov) {
        return 0;
    }
    /* The socket is full: keep the rest (the spill is empty here, since
     * the fast path is only taken with an empty spill). */
    size_t rest = 0;
    for (int j = i; j < niov; j++) {
        rest += iov[j].iov_len;
    }
    rest -= sent;
    cl->direct = false;
    cl->spill = malloc(rest);
    if (cl->spill == NULL) {
        return -1;
    }
    cl->spill_off = 0;
    cl->spill_len = rest;
    size_t at = 0;
    for (int j = i; j < niov; j++) {
        size_t skip = j == i ? sent : 0;
        memcpy(cl->spill + at, (const uint8_t *)iov[j].iov_base + skip, iov[j].iov_len - skip);
        at += iov[j].iov_len - skip;
    }
    return 0;
}

/* Shuts our side down and waits for the peer's FIN (see PH_LINGER). */
static void start_linger(client *cl)
{
    shutdown(cl->fd, SHUT_WR);
    cl->phase = PH_LINGER;
    set_deadline(cl, LINGER_MS);
    set_events(cl, EPOLLIN);
}

/* === Echoing === */

/* Drops the pending outgoing message. */
static void pending_free(client *cl)
{
    free(cl->pend);
    cl->pend = NULL;
    cl->pend_off = cl->pend_len = 0;
}

/* Queues the next part of the pending message into wick's output buffer.
 * Returns true when something was queued or the message went away (done,
 * or the connection is closing), false when the output buffer is full. */
static bool pending_pump(client *cl)
{
    size_t accepted = 0;
    wick_err e = wick_conn_send_some(&cl->conn, cl->pend_op, cl->pend + cl->pend_off,
                                     cl->pend_len - cl->pend_off, true, &accepted);
    if (e == WICK_ERR_WOULD_BLOCK) {
        return false;
    }
    if (e != WICK_OK) {
        /* WICK_ERR_CLOSED: a close frame went out (shutdown, or the peer
         * failed); the rest of the message is not wanted any more. */
        pending_free(cl);
        return true;
    }
    cl->pend_off += accepted;
    cl->pend_op = WICK_OP_CONT;
    if (cl->pend_off == cl->pend_len) {
        pending_free(cl);
    }
    return true;
}

/* Where the message at `data` lies in the input being fed, or NULL when it
 * is not there (wick delivers a message that came as one frame inside one
 * wick_conn_recv() input in place; a reassembled one from its own storage)
 * or when the bytes of its frame header before it are not in the input. */
static uint8_t *in_input(const server *srv, const uint8_t *data, size_t len)
{
    uintptr_t lo = (uintptr_t)srv->in;
    uintptr_t d = (uintptr_t)data;
    if (d < lo + ECHO_HDR_MAX || d - lo > srv->in_len || len > srv->in_len - (d - lo)) {
        return NULL;
    }
    return srv->in + (d - lo);
}

/* Appends an echo to srv->iov: large ones in place (see on_message()),
 * small ones copied into the echo buffer. Returns false when there is no
 * room left (flush first). */
static bool echo_add(server *srv, uint8_t opcode, const uint8_t *data, size_t len)
{
    uint8_t *p = len >= ZERO_COPY_MIN ? in_input(srv, data, len) : NULL;
    struct iovec *last = srv->niov > 0 ? &srv->iov[srv->niov - 1] : NULL;
    size_t n = 0;
    if (p != NULL) {
        /* A server frame header (RFC 6455 5.2: unmasked, FIN). */
        wick_frame_header h = {true, 0, opcode, false, {0, 0, 0, 0}, len};
        uint8_t hdr[ECHO_HDR_MAX];
        if (srv->niov == ECHO_IOV_MAX ||
            wick_frame_header_write(&h, hdr, sizeof hdr, &n) != WICK_OK) {
            return false;
        }
        memcpy(p - n, hdr, n);
        srv->iov[srv->niov].iov_base = p - n;
        srv->iov[srv->niov].iov_len = n + len;
        srv->niov++;
        return true;
    }
    uint8_t *q = srv->echo_buf + srv->echo_len;
    bool extend = last != NULL && (uint8_t *)last->iov_base + last->iov_len == q;
    if ((!extend && srv->niov == ECHO_IOV_MAX) ||
        wick_frame_write(opcode, true, 0, NULL, data, len, q, ECHO_BUF_SIZE - srv->echo_len, &n) !=
            WICK_OK) {
        return false; /* no room left */
    }
    srv->echo_len += n;
    if (extend) {
        last->iov_len += n;
    } else {
        srv->iov[srv->niov].iov_base = q;
        srv->iov[srv->niov].iov_len = n;
        srv->niov++;
    }
    return true;
}

/* wick callback: a whole message arrived; echo it.
 *
 * Fast path, while cl->direct: the echo is added to srv->iov, which
 * flush_echo() sends after wick_conn_recv() returns (or earlier when
 * srv->iov is full). A small echo is copied into the shared echo buffer. A
 * large one that wick delivered in place in the input is not copied at
 * all: its frame header is written over the end of the client's frame
 * header in front of the payload (bytes wick has consumed; the server's
 * header is always at least the 4 bytes of the masking key shorter), and
 * the frame is sent from there. cl->direct is set for a wick_conn_recv()
 * call only when nothing else is waiting to be sent (HTTP answer, spill,
 * wick's output) and no close frame was sent or received (after ours,
 * nothing may be sent; after the peer's, the engine delivers nothing
 * more), so the echo bytes come first in the stream.
 *
 * Otherwise (and for the rest of the call once the fast path is left, to
 * keep the order) the echo goes through wick's output buffer: what fits
 * now is queued directly; the rest is copied aside and reading pauses
 * until it has been sent. */
static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    client *cl = user;
    if (cl->direct) {
        server *srv = cl->srv;
        if (echo_add(srv, opcode, data, len)) {
            return 0;
        }
        if (flush_echo(cl) != 0) {
            srv->io_error = true;
            return -1;
        }
        if (cl->direct && echo_add(srv, opcode, data, len)) {
            return 0;
        }
        cl->direct = false;
    }
    size_t accepted = 0;
    wick_err e = wick_conn_send_some(c, opcode, data, len, true, &accepted);
    if (e == WICK_ERR_CLOSED) {
        return 0; /* we are closing: nothing more may be sent */
    }
    if (e == WICK_OK && accepted == len) {
        return 0;
    }
    if (e != WICK_OK && e != WICK_ERR_WOULD_BLOCK) {
        return -1;
    }
    if (e != WICK_OK) {
        accepted = 0;
    }
    cl->pend_len = len - accepted;
    cl->pend = malloc(cl->pend_len > 0 ? cl->pend_len : 1); /* an empty message too */
    if (cl->pend == NULL) {
        cl->pend_len = 0;
        return -1; /* the engine fails the connection with 1011 */
    }
    memcpy(cl->pend, data + accepted, cl->pend_len);
    cl->pend_off = 0;
    cl->pend_op = accepted > 0 ? (uint8_t)WICK_OP_CONT : opcode;
    return WICK_PAUSE;
}

/* wick callback: a ping arrived and the engine queued its pong in wick's
 * output buffer. Echoes of later messages go there too, after the pong, so
 * the answers leave in the order of the requests (the Autobahn catalogue,
 * case 5.19, expects that). */
static int on_ping(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    (void)data;
    (void)len;
    client *cl = user;
    cl->direct = false;
    return 0;
}

/* wick callback: the connection failed (protocol error, invalid UTF-8...);
 * the close frame is already queued. */
static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    client *cl = user;
    vlog(cl->srv, "fd %d: %s (%s)", cl->fd, wick_err_name(err), wick_strerror(err));
}

static const wick_callbacks echo_callbacks = {
    .on_message = on_message,
    .on_ping = on_ping,
    .on_error = on_error,
};

/* Feeds in[0..len) to wick and sends the echoes (see on_message()). Sets
 * *consumed and *status to wick's status: it stops early when a callback
 * paused or the output is full (WICK_BLOCKED), and leaves an incomplete
 * frame header or control frame unconsumed (WICK_NEED_MORE). Returns 0, or
 * -1 when the echoes could not be sent (close the socket). */
static int feed(client *cl, uint8_t *in, size_t len, size_t *consumed, wick_err *status)
{
    server *srv = cl->srv;
    *consumed = 0;
    cl->direct = !cl->deflate && cl->spill == NULL && cl->http_off == cl->http_len &&
                 wick_conn_out_pending(&cl->conn) == 0 &&
                 (wick_conn_state(&cl->conn) & WICK_CLOSING) == 0;
    srv->niov = 0;
    srv->echo_len = 0;
    srv->in = in;
    srv->in_len = len;
    srv->io_error = false;
    *status = wick_conn_recv(&cl->conn, in, len, consumed);
    cl->direct = false;
    srv->in = NULL;
    srv->in_len = 0;
    if (flush_echo(cl) != 0 || srv->io_error) {
        return -1;
    }
    return 0;
}

/* Keeps the input wick left unconsumed, in[0..len): an incomplete frame
 * header or control frame (WICK_NEED_MORE, at most WICK_RECV_MIN bytes) in
 * carry, to go in front of the next read; the rest after a pause or
 * WICK_BLOCKED in stash, fed again before reading more. Returns false when
 * memory runs out. */
static bool keep_input(client *cl, wick_err e, const uint8_t *in, size_t len)
{
    if (len == 0) {
        return true;
    }
    if (e == WICK_NEED_MORE && len <= sizeof(cl->carry)) {
        memmove(cl->carry, in, len);
        cl->carry_len = len;
        return true;
    }
    uint8_t *p = malloc(len);
    if (p == NULL) {
        return false;
    }
    memcpy(p, in, len);
    cl->stash = p;
    cl->stash_off = 0;
    cl->stash_len = len;
    return true;
}

/* Feeds the stash. Returns wick's status in *status; returns 0, or -1
 * when the connection must be closed. */
static int feed_stash(client *cl, wick_err *status)
{
    uint8_t *p = cl->stash + cl->stash_off;
    size_t len = cl->stash_len - cl->stash_off;
    size_t used = 0;
    if (feed(cl, p, len, &used, status) != 0) {
        return -1;
    }
    if (*status == WICK_PAUSED || *status == WICK_BLOCKED) {
        cl->stash_off += used;
        return 0;
    }
    uint8_t *old = cl->stash;
    cl->stash = NULL;
    cl->stash_off = cl->stash_len = 0;
    bool ok = keep_input(cl, *status, p + used, len - used);
    free(old);
    return ok ? 0 : -1;
}

/* Reads what the socket has into the shared receive buffer, after the
 * carried bytes, and feeds it to wick. Returns 1 when bytes arrived, 0
 * when none are available, -1 on EOF, a socket error or a failure to keep
 * leftover input. */
static int read_and_feed(client *cl)
{
    uint8_t *buf = cl->srv->recv_buf;
    size_t keep = cl->carry_len;
    memcpy(buf, cl->carry, keep);
    ssize_t n;
    do {
        n = recv(cl->fd, buf + keep, RECV_BUF_SIZE - keep, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        return -1;
    }
    if (n < 0) {
        return would_block(errno) ? 0 : -1;
    }
    cl->carry_len = 0;
    size_t len = keep + (size_t)n;
    size_t used = 0;
    wick_err e = WICK_OK;
    if (feed(cl, buf, len, &used, &e) != 0) {
        return -1;
    }
    /* WICK_OK, or a sticky error (the close frame is queued, any further
     * input is ignored): everything is used. */
    if (!keep_input(cl, e, buf + used, len - used)) {
        return -1;
    }
    return 1;
}

/* True when the connection may take more input now: nothing waiting (to
 * send, or to be fed) and the engine still reads. */
static bool can_read(const client *cl, unsigned st)
{
    return cl->pend == NULL && cl->spill == NULL && cl->stash == NULL && (st & WICK_WANT_READ) != 0;
}

/* Moves a WebSocket connection forward as far as it can without blocking:
 * flush output, pump the pending message, feed stashed input; then
 * closes, or registers the events to wait for. */
static void client_drive(client *cl)
{
    for (;;) {
        int r = flush_output(cl);
        if (r < 0) {
            client_close(cl);
            return;
        }
        if (cl->spill != NULL) {
            break; /* the socket is full: EPOLLOUT brings us back */
        }
        if (cl->pend != NULL) {
            if (!pending_pump(cl)) {
                break; /* output buffer full and the socket too: wait */
            }
            continue;
        }
        if (cl->stash != NULL) {
            wick_err e = WICK_OK;
            if (feed_stash(cl, &e) != 0) {
                client_close(cl);
                return;
            }
            if (e == WICK_BLOCKED) {
                break; /* a pong waits for room: EPOLLOUT brings us back */
            }
            continue;
        }
        break;
    }
    unsigned st = wick_conn_state(&cl->conn);
    if ((st & WICK_SHOULD_CLOSE_TCP) != 0 && cl->spill == NULL) {
        /* RFC 6455 7.1.1: the server closes the TCP connection first. */
        start_linger(cl);
        return;
    }
    unsigned events = 0;
    if (can_read(cl, st)) {
        events |= EPOLLIN;
    }
    if ((st & WICK_WANT_WRITE) != 0 || cl->spill != NULL || cl->http_off < cl->http_len) {
        events |= EPOLLOUT;
    }
    set_events(cl, events);
}

/* === The opening handshake === */

static const char index_html[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>wick echo server</title></head>\n"
    "<body><h1>wick echo server</h1>\n"
    "<p>This is the wick WebSocket echo server. Connect with a WebSocket client\n"
    "to any path on this host and port: every text and binary message is sent\n"
    "back unchanged.</p></body></html>\n";

/* Answers a well-formed request that is not an upgrade: GET / gets the
 * page, other paths 404, other methods 405. */
static void serve_plain_http(client *cl)
{
    const wick_hs_request *r = &cl->req;
    wick_str path = r->target;
    for (size_t i = 0; i < path.len; i++) {
        if (path.ptr[i] == '?') {
            path.len = i;
            break;
        }
    }
    bool is_get = r->method.len == 3 && memcmp(r->method.ptr, "GET", 3) == 0;
    bool is_root = path.len == 1 && path.ptr[0] == '/';
    static const wick_header allow = {{"Allow", 5}, {"GET", 3}};
    wick_err e;
    if (!is_get) {
        e = wick_http_response(405, NULL, "method not allowed\n", 19, &allow, 1, true, cl->http_out,
                               sizeof(cl->http_out), &cl->http_len);
    } else if (is_root) {
        e = wick_http_response(200, "text/html; charset=utf-8", index_html, sizeof(index_html) - 1,
                               NULL, 0, true, cl->http_out, sizeof(cl->http_out), &cl->http_len);
    } else {
        e = wick_http_response(404, NULL, "not found\n", 10, NULL, 0, true, cl->http_out,
                               sizeof(cl->http_out), &cl->http_len);
    }
    if (e != WICK_OK) {
        cl->http_len = 0;
    }
}

/* Logs the agreed permessage-deflate parameters (one line, with -v). */
static void log_deflate(const client *cl, size_t arena_len)
{
    const wick_pmd_params *p = &cl->pmd_params;
    vlog(cl->srv,
         "fd %d: permessage-deflate: server_max_window_bits=%u client_max_window_bits=%u "
         "takeover server=%s client=%s, arena %zu bytes",
         cl->fd, (unsigned)p->server_max_window_bits, (unsigned)p->client_max_window_bits,
         p->server_no_context_takeover ? "no" : "yes", p->client_no_context_takeover ? "no" : "yes",
         arena_len);
}

/* Sets up permessage-deflate for a connection that agreed it: the arena
 * is sized for the agreed windows (at most the budget), so a client that
 * asks for small windows costs less. Returns false when out of memory. */
static bool start_deflate(client *cl, wick_conn_config *cfg)
{
    const wick_pmd_config *pc = &cl->srv->pmd_cfg;
    size_t need = wick_pmd_arena_size(pc, &cl->pmd_params, WICK_ROLE_SERVER);
    cl->arena = malloc(need > 0 ? need : 1);
    if (cl->arena == NULL || wick_pmd_init(&cl->pmd, pc, &cl->pmd_params, WICK_ROLE_SERVER,
                                           cl->arena, need) != WICK_OK) {
        free(cl->arena);
        cl->arena = NULL;
        return false;
    }
    cl->deflate = true;
    cfg->extension = wick_pmd_extension(&cl->pmd);
    log_deflate(cl, need);
    return true;
}

/* Switches an accepted connection to the WebSocket phase: sets up the
 * engine and hands it the bytes that followed the header block. */
static bool start_websocket(client *cl, size_t header_len)
{
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = cl->out;
    cfg.out_cap = sizeof(cl->out);
    cfg.allocator = &heap_allocator;
    cfg.max_message = MAX_MESSAGE;
    if (cl->pmd_params.enabled && !start_deflate(cl, &cfg)) {
        return false;
    }
    if (wick_conn_init(&cl->conn, &cfg, &echo_callbacks, cl) != WICK_OK) {
        return false;
    }
    cl->conn_ready = true;
    cl->phase = PH_WS;
    set_deadline(cl, cl->srv->idle_ms);
    /* The client may have sent its first frames together with the request:
     * they must not be lost. They are fed from the stash by client_drive(),
     * after the 101 has gone out. */
    if (!keep_input(cl, WICK_PAUSED, (const uint8_t *)cl->hs_buf + header_len,
                    cl->hs_len - header_len)) {
        return false;
    }
    if (cl->srv->stopping) {
        wick_conn_close(&cl->conn, WICK_CLOSE_GOING_AWAY, "server shutting down", 20);
    }
    return true;
}

/* Answers the client's permessage-deflate offers (if any, and unless
 * --no-deflate): *answer gets the Sec-WebSocket-Extensions value, empty
 * when every offer is declined, and cl->pmd_params what was agreed. */
static wick_err accept_deflate(client *cl, char *buf, size_t cap, wick_str *answer)
{
    memset(&cl->pmd_params, 0, sizeof(cl->pmd_params));
    *answer = (wick_str){NULL, 0};
    if (!cl->srv->deflate || cl->req.num_extensions == 0) {
        return WICK_OK;
    }
    size_t len = 0;
    wick_err e = wick_pmd_accept(&cl->srv->pmd_cfg, cl->req.extensions, cl->req.num_extensions,
                                 &cl->pmd_params, buf, cap, &len);
    if (e == WICK_OK && len > 0) {
        *answer = (wick_str){buf, len};
    }
    return e;
}

/* Parses what has arrived of the request and answers it once complete. */
static void handle_request(client *cl)
{
    size_t header_len = 0;
    wick_err e = wick_hs_server_parse(&cl->req, cl->hs_buf, cl->hs_len, &header_len);
    if (e == WICK_NEED_MORE && cl->hs_len == sizeof(cl->hs_buf)) {
        /* The buffer is full and the header block still goes on: 431. */
        e = WICK_ERR_HS_TOO_LARGE;
    }
    if (e == WICK_NEED_MORE) {
        return;
    }
    if (e == WICK_OK) {
        wick_hs_accept_opts opts = {{NULL, 0}, {NULL, 0}, NULL, 0};
        /* wick.h says 64 bytes hold any answer, but one with every
         * parameter is 128 (reported); 256 holds it with room to spare. */
        char ext[256];
        e = accept_deflate(cl, ext, sizeof(ext), &opts.extensions);
        if (e == WICK_OK) {
            e = wick_hs_server_accept(&cl->req, &opts, cl->http_out, sizeof(cl->http_out),
                                      &cl->http_len);
        }
        if (e == WICK_OK && start_websocket(cl, header_len)) {
            vlog(cl->srv, "fd %d: upgraded (%.*s)", cl->fd, (int)cl->req.target.len,
                 cl->req.target.ptr);
            client_drive(cl);
            return;
        }
        e = WICK_ERR_HS_MALFORMED;
    }
    if (e == WICK_ERR_HS_NOT_UPGRADE) {
        serve_plain_http(cl);
    } else {
        vlog(cl->srv, "fd %d: handshake failed: %s", cl->fd, wick_err_name(e));
        if (wick_hs_server_reject(e, cl->http_out, sizeof(cl->http_out), &cl->http_len) !=
            WICK_OK) {
            cl->http_len = 0;
        }
    }
    /* Send the answer, then close (the answer says "Connection: close"). */
    int r = flush_output(cl);
    if (r < 0) {
        client_close(cl);
    } else if (r == 1) {
        start_linger(cl);
    } else {
        set_events(cl, EPOLLOUT);
    }
}

/* Socket readable or writable during PH_HTTP. */
static void on_http_event(client *cl, unsigned events)
{
    if (cl->http_len > 0) {
        /* Our answer to a request that is not a WebSocket is going out. */
        int r = flush_output(cl);
        if (r < 0) {
            client_close(cl);
        } else if (r == 1) {
            start_linger(cl);
        }
        return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) {
        return;
    }
    /* handle_request() answers 431 once the buffer is full, so there is
     * always room here. */
    ssize_t n = recv(cl->fd, cl->hs_buf + cl->hs_len, sizeof(cl->hs_buf) - cl->hs_len, 0);
    if (n < 0 && (would_block(errno) || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        client_close(cl);
        return;
    }
    cl->hs_len += (size_t)n;
    handle_request(cl);
}

/* === Connection events === */

/* Socket readable or writable during PH_WS. */
static void on_ws_event(client *cl, unsigned events)
{
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 &&
        can_read(cl, wick_conn_state(&cl->conn))) {
        int r = read_and_feed(cl);
        if (r < 0) {
            /* Peer EOF or error: whatever the engine wanted to say is moot. */
            client_close(cl);
            return;
        }
        if (r > 0 && cl->srv->idle_ms > 0) {
            set_deadline(cl, cl->srv->idle_ms);
        }
    } else if ((events & EPOLLERR) != 0) {
        client_close(cl);
        return;
    }
    client_drive(cl);
}

/* Socket readable during PH_LINGER: discard until EOF. */
static void on_linger_event(client *cl)
{
    uint8_t sink[4096];
    for (;;) {
        ssize_t n = recv(cl->fd, sink, sizeof(sink), 0);
        if (n > 0) {
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && would_block(errno)) {
            return;
        }
        client_close(cl);
        return;
    }
}

static void on_client_event(client *cl, unsigned events)
{
    switch (cl->phase) {
    case PH_HTTP:
        on_http_event(cl, events);
        break;
    case PH_WS:
        on_ws_event(cl, events);
        break;
    case PH_LINGER:
        on_linger_event(cl);
        break;
    case PH_CLOSED:
        break; /* closed earlier in this loop iteration: a stale event */
    default:
        client_close(cl);
        break;
    }
}

/* A client's deadline passed. */
static void on_client_timeout(client *cl)
{
    if (cl->phase == PH_WS && (wick_conn_state(&cl->conn) & WICK_CLOSING) == 0) {
        /* Idle: start the closing handshake and give it a while. */
        vlog(cl->srv, "fd %d: idle timeout", cl->fd);
        pending_free(cl);
        wick_conn_close(&cl->conn, WICK_CLOSE_GOING_AWAY, "idle timeout", 12);
        set_deadline(cl, CLOSE_WAIT_MS);
        client_drive(cl);
        return;
    }
    vlog(cl->srv, "fd %d: timeout", cl->fd);
    client_close(cl);
}

/* Closes a client's socket and unlinks it. The memory is freed at the end
 * of the loop iteration (free_dead()): later events of the same
 * epoll_wait() batch may still point at it. */
static void client_close(client *cl)
{
    server *srv = cl->srv;
    if (cl->phase == PH_CLOSED) {
        return;
    }
    vlog(srv, "fd %d: closed", cl->fd);
    close(cl->fd); /* also removes it from the epoll set */
    cl->fd = -1;
    cl->phase = PH_CLOSED;
    if (cl->conn_ready) {
        wick_conn_release(&cl->conn);
    }
    if (cl->deflate) {
        wick_pmd_release(&cl->pmd);
        cl->deflate = false;
    }
    free(cl->arena);
    cl->arena = NULL;
    pending_free(cl);
    spill_free(cl);
    free(cl->stash);
    cl->stash = NULL;
    if (cl->prev != NULL) {
        cl->prev->next = cl->next;
    } else {
        srv->clients = cl->next;
    }
    if (cl->next != NULL) {
        cl->next->prev = cl->prev;
    }
    srv->num_clients--;
    cl->prev = NULL;
    cl->next = srv->dead;
    srv->dead = cl;
}

/* Frees the clients closed during this loop iteration. */
static void free_dead(server *srv)
{
    while (srv->dead != NULL) {
        client *cl = srv->dead;
        srv->dead = cl->next;
        free(cl);
    }
}

/* === The server === */

/* Accepts every pending connection. */
static void accept_clients(server *srv)
{
    for (;;) {
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            return; /* EAGAIN, or out of descriptors: try again later */
        }
        client *cl = calloc(1, sizeof(*cl));
        if (cl == NULL) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        cl->fd = fd;
        cl->srv = srv;
        cl->phase = PH_HTTP;
        cl->events = EPOLLIN;
        wick_hs_request_init(&cl->req, NULL);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cl};
        if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(cl);
            continue;
        }
        cl->next = srv->clients;
        if (cl->next != NULL) {
            cl->next->prev = cl;
        }
        srv->clients = cl;
        srv->num_clients++;
        set_deadline(cl, srv->hs_timeout_ms);
        vlog(srv, "fd %d: accepted", fd);
    }
}

/* Fires the deadlines that passed and computes the next one. */
static void sweep_deadlines(server *srv)
{
    int64_t now = srv->now;
    if (srv->next_sweep == 0 || now < srv->next_sweep) {
        return;
    }
    srv->next_sweep = 0;
    client *next;
    for (client *cl = srv->clients; cl != NULL; cl = next) {
        next = cl->next;
        if (cl->deadline != 0 && cl->deadline <= now) {
            cl->deadline = 0;
            on_client_timeout(cl); /* may free cl, or set a new deadline */
        }
    }
    for (client *cl = srv->clients; cl != NULL; cl = cl->next) {
        if (cl->deadline != 0 && (srv->next_sweep == 0 || cl->deadline < srv->next_sweep)) {
            srv->next_sweep = cl->deadline;
        }
    }
}

/* SIGINT/SIGTERM: stop accepting, say goodbye (1001) to every client. */
static void begin_shutdown(server *srv)
{
    struct signalfd_siginfo si;
    while (read(srv->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
    }
    if (srv->stopping) {
        return;
    }
    srv->stopping = true;
    vlog(srv, "shutting down, %zu clients", srv->num_clients);
    close(srv->lfd);
    srv->lfd = -1;
    client *next;
    for (client *cl = srv->clients; cl != NULL; cl = next) {
        next = cl->next;
        if (cl->phase == PH_WS) {
            pending_free(cl);
            wick_conn_close(&cl->conn, WICK_CLOSE_GOING_AWAY, "server shutting down", 20);
            client_drive(cl); /* may free cl */
        } else if (cl->phase == PH_HTTP && cl->http_len == 0) {
            client_close(cl);
        }
    }
}

/* Milliseconds epoll_wait may sleep: until the next deadline, or forever. */
static int wait_timeout(const server *srv, int64_t stop_at)
{
    int64_t until = srv->next_sweep;
    if (stop_at != 0 && (until == 0 || stop_at < until)) {
        until = stop_at;
    }
    if (until == 0) {
        return -1;
    }
    int64_t ms = until - srv->now;
    if (ms < 0) {
        ms = 0;
    }
    return ms > 60000 ? 60000 : (int)ms;
}

/* The event loop. Returns when stopping and every client is gone (or the
 * shutdown grace period is over). */
static void run(server *srv)
{
    struct epoll_event events[MAX_EVENTS];
    int64_t stop_at = 0;
    while (!srv->stopping || srv->num_clients > 0) {
        int n = epoll_wait(srv->ep, events, MAX_EVENTS, wait_timeout(srv, stop_at));
        if (n < 0 && errno != EINTR) {
            perror("echo_server: epoll_wait");
            return;
        }
        srv->now = now_ms(); /* the one clock read of this iteration */
        for (int i = 0; i < n; i++) {
            const void *tag = events[i].data.ptr;
            if (tag == &listen_tag) {
                accept_clients(srv);
            } else if (tag == &signal_tag) {
                begin_shutdown(srv);
                if (stop_at == 0) {
                    stop_at = srv->now + SHUTDOWN_MS;
                }
            } else {
                on_client_event(events[i].data.ptr, events[i].events);
            }
        }
        sweep_deadlines(srv);
        free_dead(srv);
        if (stop_at != 0 && srv->now >= stop_at) {
            return;
        }
    }
}

/* Opens the listening socket on host:port and prints the bound port.
 * Returns the descriptor, or -1 (with a message). */
static int listen_on(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "echo_server: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "echo_server: cannot listen on %s port %s: %s\n", host, port,
                strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char serv[NI_MAXSERV] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof(serv), NI_NUMERICSERV);
    }
    printf("listening on %s\n", serv);
    fflush(stdout);
    return fd;
}

/* Blocks SIGINT/SIGTERM and returns a signalfd that reports them. */
static int signal_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void usage(void)
{
    fputs("usage: echo_server [PORT] [--host ADDR] [--timeout SECS] [--idle SECS] [-v]\n"
          "  PORT          TCP port (default 8080; 0: pick one)\n"
          "  --host ADDR   address to listen on (default 127.0.0.1)\n"
          "  --timeout S   opening handshake timeout in seconds (default 30)\n"
          "  --idle S      close WebSocket connections idle for S seconds (default: never)\n"
          "  -v            log connection events to stderr\n"
          "permessage-deflate (RFC 7692), accepted when offered unless --no-deflate:\n"
          "  --no-deflate                   decline every offer\n"
          "  --deflate-budget BYTES         memory per connection (default 65536)\n"
          "  --deflate-decompress-only      never compress what we send\n"
          "  --deflate-no-context-takeover  reset our compressor after each message\n"
          "  --deflate-peer-no-context-takeover  ask the client to reset its own\n"
          "  --deflate-min-size BYTES       send shorter messages uncompressed (default 0)\n"
          "  --deflate-level N              compression level 1-9 (default 6)\n"
          "  --deflate-max-ratio N          fail (1009) a message inflating over N times\n"
          "                                 its compressed size (default 0: off)\n",
          stderr);
}

/* Parses a non-negative integer no larger than max; returns false when
 * invalid. */
static bool parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end != '\0' || s[0] == '-' || errno != 0 || v > max) {
        return false;
    }
    *out = v;
    return true;
}

/* Handles a --no-deflate / --deflate-* option at argv[*i] (consuming its
 * value). Returns 1 when handled, 0 when not a deflate option, -1 when its
 * value is missing or invalid. */
static int parse_deflate_opt(server *srv, int argc, char **argv, int *i)
{
    static const char *const flags[] = {"--deflate-decompress-only",
                                        "--deflate-no-context-takeover",
                                        "--deflate-peer-no-context-takeover"};
    static const unsigned bits[] = {WICK_PMD_DECOMPRESS_ONLY, WICK_PMD_NO_CONTEXT_TAKEOVER,
                                    WICK_PMD_PEER_NO_CONTEXT_TAKEOVER};
    const char *a = argv[*i];
    wick_pmd_config *pc = &srv->pmd_cfg;
    if (strcmp(a, "--no-deflate") == 0) {
        srv->deflate = false;
        return 1;
    }
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        if (strcmp(a, flags[k]) == 0) {
            pc->flags |= bits[k];
            return 1;
        }
    }
    static const char *const valued[] = {"--deflate-budget", "--deflate-min-size",
                                         "--deflate-level", "--deflate-max-ratio"};
    static const unsigned long long max[] = {1ULL << 30, 1ULL << 40, 9, 1U << 30};
    for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
        if (strcmp(a, valued[k]) != 0) {
            continue;
        }
        unsigned long long v = 0;
        if (*i + 1 >= argc || !parse_size(argv[*i + 1], max[k], &v)) {
            return -1;
        }
        ++*i;
        switch (k) {
        case 0:
            pc->budget = (size_t)v;
            break;
        case 1:
            pc->min_size = (size_t)v;
            break;
        case 2:
            pc->level = (int)v;
            break;
        default:
            pc->max_ratio = (uint32_t)v;
            break;
        }
        return 1;
    }
    return 0;
}

/* Parses a non-negative number of seconds; returns -1 when invalid. */
static int64_t parse_seconds(const char *s)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 86400 * 365) {
        return -1;
    }
    return (int64_t)v * 1000;
}

int main(int argc, char **argv)
{
    server srv = {.ep = -1, .lfd = -1, .sfd = -1, .hs_timeout_ms = 30000, .deflate = true};
    wick_pmd_config_default(&srv.pmd_cfg);
    const char *host = "127.0.0.1";
    const char *port = "8080";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int d = parse_deflate_opt(&srv, argc, argv, &i);
        if (d != 0) {
            if (d < 0) {
                usage();
                return 2;
            }
            continue;
        }
        if (strcmp(a, "--host") == 0 && i + 1 < argc) {
            host = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            srv.hs_timeout_ms = parse_seconds(argv[++i]);
        } else if (strcmp(a, "--idle") == 0 && i + 1 < argc) {
            srv.idle_ms = parse_seconds(argv[++i]);
        } else if (strcmp(a, "-v") == 0) {
            srv.verbose = true;
        } else if (a[0] != '-' && a[0] != '\0') {
            port = a;
        } else {
            usage();
            return 2;
        }
        if (srv.hs_timeout_ms < 0 || srv.idle_ms < 0) {
            usage();
            return 2;
        }
    }
    srv.sfd = signal_fd();
    srv.ep = epoll_create1(EPOLL_CLOEXEC);
    if (srv.sfd < 0 || srv.ep < 0) {
        perror("echo_server: setup");
        return 1;
    }
    srv.lfd = listen_on(host, port);
    if (srv.lfd < 0) {
        return 1;
    }
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)&listen_tag};
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)&signal_tag};
    if (epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.lfd, &lev) != 0 ||
        epoll_ctl(srv.ep, EPOLL_CTL_ADD, srv.sfd, &sev) != 0) {
        perror("echo_server: epoll_ctl");
        return 1;
    }
    srv.recv_buf = malloc(RECV_BUF_SIZE);
    srv.echo_buf = malloc(ECHO_BUF_SIZE);
    if (srv.recv_buf == NULL || srv.echo_buf == NULL) {
        perror("echo_server: malloc");
        return 1;
    }
    srv.now = now_ms();
    run(&srv);
    while (srv.clients != NULL) {
        client_close(srv.clients);
    }
    free_dead(&srv);
    free(srv.recv_buf);
    free(srv.echo_buf);
    close(srv.ep);
    close(srv.sfd);
    return 0;
}
