/*
 * echo_client: a small WebSocket client on top of wick.
 *
 *   echo_client [options] ws://HOST[:PORT][/PATH] [MESSAGE ...]
 *
 * Connects, performs the opening handshake, sends each MESSAGE as a text
 * message (or, with no MESSAGE, each line read from stdin), prints every
 * message that comes back on a line of its own, then closes with 1000 and
 * waits for the server's close frame and its FIN. Options:
 *
 *   --binary       send binary messages instead of text
 *   --fragment N   send each message as fragments of N bytes
 *   --ping         send a ping first and print "pong PAYLOAD" when the
 *                  pong comes back
 *   --timeout S    give up after S seconds without progress (default 30)
 *   --no-deflate   do not offer permessage-deflate (RFC 7692; offered by
 *                  default, see usage() for the --deflate-* options)
 *
 * When the server agrees permessage-deflate, one line on stderr says with
 * which parameters; an answer that breaks RFC 7692 7.1 fails the handshake.
 *
 * Exit status: 0 when every message came back and the closing handshake
 * completed, 1 otherwise, 2 for bad usage.
 *
 * The socket is non-blocking after the handshake and driven with poll():
 * sending and receiving go on together, so a server that echoes while we
 * are still sending never deadlocks against us.
 */
#include <wick.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HS_BUF_SIZE   8192u
#define OUT_BUF_SIZE  (64u * 1024u)
#define IN_BUF_SIZE   (64u * 1024u)
#define MAX_MESSAGE   (64u * 1024u * 1024u)
#define CLOSE_WAIT_MS 5000 /* after our close frame: wait for the server's FIN */

static const char ping_payload[] = "echo_client";

/* Command-line options. */
typedef struct options {
    const char *url;
    char **messages; /* NULL: read lines from stdin */
    int num_messages;
    bool binary;
    size_t fragment; /* 0: one frame per message */
    bool ping;
    int timeout_ms;
    bool deflate;            /* offer permessage-deflate */
    wick_pmd_config pmd_cfg; /* what to offer, and the memory budget */
} options;

/* A parsed ws:// URL. */
typedef struct ws_url {
    char host[256]; /* without brackets */
    char port[8];
    char host_hdr[272]; /* the Host header value */
    const char *target; /* request-target; "/" when the URL has no path */
    char target_buf[1024];
} ws_url;

/* The client's state once connected. */
typedef struct client {
    int fd;
    const options *opt;
    wick_conn conn;

    /* The message being sent. */
    const uint8_t *cur;
    size_t cur_len, cur_off;
    bool cur_active, cur_started;
    char *cur_owned; /* heap copy of a stdin line */
    int next_arg;    /* next messages[] index */

    /* stdin mode: bytes read, not yet split into lines. */
    char *line_buf;
    size_t line_len, line_cap;
    bool stdin_eof;

    unsigned long sent, received;
    bool pong_seen, close_sent, peer_eof, failed;
    bool in_blocked; /* the engine waits for output room to answer a ping */
    size_t in_keep;  /* in[0..in_keep) was left by the engine: feed it again */
    uint8_t out[OUT_BUF_SIZE];
    uint8_t in[IN_BUF_SIZE];
} client;

/* === Small utilities === */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* Fills out[0..n) with random bytes. Returns 0, or -1 on failure. */
static int fill_random(uint8_t *out, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(out, n, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        out += got;
        n -= (size_t)got;
    }
    return 0;
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

/* === URL and connection === */

/* Splits the authority part of a URL (HOST, HOST:PORT, [V6]:PORT) into
 * u->host, u->port and the Host header value. */
static bool parse_authority(const char *auth, size_t auth_len, ws_url *u)
{
    const char *host = auth;
    size_t host_len = auth_len;
    const char *port = NULL;
    size_t port_len = 0;
    bool v6 = auth_len > 0 && auth[0] == '[';
    if (v6) {
        const char *rb = memchr(auth, ']', auth_len);
        if (rb == NULL) {
            return false;
        }
        host = auth + 1;
        host_len = (size_t)(rb - host);
        size_t after = auth_len - (size_t)(rb + 1 - auth);
        if (after > 0) {
            if (rb[1] != ':') {
                return false;
            }
            port = rb + 2;
            port_len = after - 1;
        }
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon != NULL) {
            host_len = (size_t)(colon - auth);
            port = colon + 1;
            port_len = auth_len - host_len - 1;
        }
    }
    if (host_len == 0 || host_len >= sizeof(u->host) || port_len >= sizeof(u->port) ||
        (port != NULL && (port_len == 0 || strspn(port, "0123456789") < port_len))) {
        return false;
    }
    memcpy(u->host, host, host_len);
    u->host[host_len] = '\0';
    if (port != NULL) {
        memcpy(u->port, port, port_len);
        u->port[port_len] = '\0';
    } else {
        strcpy(u->port, "80");
    }
    /* RFC 6455 4.1: Host carries the port unless it is the default. */
    bool default_port = strcmp(u->port, "80") == 0;
    snprintf(u->host_hdr, sizeof(u->host_hdr), "%s%s%s%s%s", v6 ? "[" : "", u->host, v6 ? "]" : "",
             default_port ? "" : ":", default_port ? "" : u->port);
    return true;
}

/* Sets u->target from what follows the authority ("", "/path?q", "?q"). */
static bool parse_target(const char *rest, ws_url *u)
{
    size_t len = strcspn(rest, "#");
    if (len == 0) {
        u->target = "/";
        return true;
    }
    /* "ws://h?x" means the path "/" with the query "x". */
    size_t slash = rest[0] == '?' ? 1 : 0;
    if (slash + len + 1 > sizeof(u->target_buf)) {
        return false;
    }
    u->target_buf[0] = '/';
    memcpy(u->target_buf + slash, rest, len);
    u->target_buf[slash + len] = '\0';
    u->target = u->target_buf;
    return true;
}

/* Parses ws://HOST[:PORT][/PATH][?QUERY]. Returns false (with a message)
 * when the URL is not usable. */
static bool parse_url(const char *url, ws_url *u)
{
    if (strncasecmp(url, "ws://", 5) != 0) {
        fprintf(stderr, "echo_client: only ws:// URLs are supported: %s\n", url);
        return false;
    }
    const char *auth = url + 5;
    size_t auth_len = strcspn(auth, "/?#");
    if (!parse_authority(auth, auth_len, u) || !parse_target(auth + auth_len, u)) {
        fprintf(stderr, "echo_client: invalid URL: %s\n", url);
        return false;
    }
    return true;
}

/* Opens a TCP connection to host:port (blocking). Returns the socket or -1. */
static int tcp_connect(const ws_url *u)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "echo_client: %s: %s\n", u->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int err = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "echo_client: cannot connect to %s port %s: %s\n", u->host, u->port,
                strerror(err));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Writes all of buf[0..len) to a blocking socket. */
static bool write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            perror("echo_client: send");
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* Performs the opening handshake on a blocking socket. On success the
 * bytes the server sent after its header block (already frames) are
 * copied to extra[0..*extra_len). */
static bool handshake(int fd, const ws_url *u, const options *o, wick_pmd_params *agreed,
                      uint8_t *extra, size_t extra_cap, size_t *extra_len)
{
    uint8_t nonce[16];
    if (fill_random(nonce, sizeof(nonce)) != 0) {
        perror("echo_client: getrandom");
        return false;
    }
    wick_hs_client_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.target = (wick_str){u->target, strlen(u->target)};
    opts.host = (wick_str){u->host_hdr, strlen(u->host_hdr)};
    /* wick.h says 64 bytes hold any offer, but the default one is 72
     * (reported); 256 holds one with every parameter. */
    char offer[256];
    size_t offer_len = 0;
    memset(agreed, 0, sizeof(*agreed));
    if (o->deflate) {
        wick_err oe = wick_pmd_offer(&o->pmd_cfg, offer, sizeof(offer), &offer_len);
        if (oe != WICK_OK) {
            fprintf(stderr, "echo_client: permessage-deflate offer: %s\n", wick_strerror(oe));
            return false;
        }
        opts.extensions = (wick_str){offer, offer_len};
    }
    static wick_hs_client hs; /* static: the parsed response is a few KiB */
    char buf[HS_BUF_SIZE];
    size_t len = 0;
    wick_err e = wick_hs_client_request(&hs, &opts, nonce, NULL, buf, sizeof(buf), &len);
    if (e != WICK_OK) {
        fprintf(stderr, "echo_client: request: %s\n", wick_strerror(e));
        return false;
    }
    if (!write_all(fd, buf, len)) {
        return false;
    }
    len = 0;
    size_t header_len = 0;
    do {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "echo_client: connection closed during the handshake\n");
            return false;
        }
        len += (size_t)n;
        e = wick_hs_client_verify(&hs, buf, len, &header_len);
    } while (e == WICK_NEED_MORE && len < sizeof(buf));
    if (e == WICK_ERR_HS_STATUS) {
        fprintf(stderr, "echo_client: server answered %d %.*s\n", hs.status, (int)hs.reason.len,
                hs.reason.ptr);
        return false;
    }
    if (e != WICK_OK) {
        fprintf(stderr, "echo_client: handshake failed: %s\n", wick_strerror(e));
        return false;
    }
    if (offer_len > 0) {
        /* RFC 7692 7.1: a client fails the connection on an answer its
         * offer did not allow. */
        e = wick_pmd_verify(&o->pmd_cfg, hs.extensions, hs.num_extensions, agreed);
        if (e != WICK_OK) {
            fprintf(stderr, "echo_client: handshake failed: %s\n", wick_strerror(e));
            return false;
        }
    }
    *extra_len = len - header_len;
    if (*extra_len > extra_cap) {
        return false; /* cannot happen: both buffers are 8 KiB or more */
    }
    memcpy(extra, buf + header_len, *extra_len);
    return true;
}

/* === wick callbacks === */

static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    (void)opcode;
    client *cl = user;
    if (len > 0) { /* data may be NULL for an empty message */
        fwrite(data, 1, len, stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
    cl->received++;
    return 0;
}

static int on_pong(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    client *cl = user;
    printf("pong %.*s\n", (int)len, len > 0 ? (const char *)data : "");
    fflush(stdout);
    if (len == sizeof(ping_payload) - 1 && memcmp(data, ping_payload, len) == 0) {
        cl->pong_seen = true;
    }
    return 0;
}

static int on_close(wick_conn *c, uint16_t code, const char *reason, size_t len, void *user)
{
    (void)c;
    (void)user;
    if (code != WICK_CLOSE_NORMAL) {
        fprintf(stderr, "echo_client: server closed with %u %.*s\n", code, (int)len, reason);
    }
    return 0;
}

static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    client *cl = user;
    cl->failed = true;
    fprintf(stderr, "echo_client: connection failed: %s\n", wick_strerror(err));
}

/* Masks for our frames (RFC 6455 5.3): the caller supplies randomness. */
static int on_random(void *user, uint8_t *out, size_t n)
{
    (void)user;
    return fill_random(out, n);
}

static const wick_callbacks client_callbacks = {
    .on_message = on_message,
    .on_pong = on_pong,
    .on_close = on_close,
    .on_error = on_error,
    .random = on_random,
};

/* === Sending === */

/* Reads what stdin has into the line buffer (stdin mode). */
static void read_stdin(client *cl)
{
    if (cl->line_cap - cl->line_len < 4096) {
        size_t cap = cl->line_cap == 0 ? 8192 : cl->line_cap * 2;
        char *p = realloc(cl->line_buf, cap);
        if (p == NULL) {
            cl->stdin_eof = true;
            return;
        }
        cl->line_buf = p;
        cl->line_cap = cap;
    }
    ssize_t n = read(STDIN_FILENO, cl->line_buf + cl->line_len, cl->line_cap - cl->line_len);
    if (n > 0) {
        cl->line_len += (size_t)n;
    } else if (n == 0 || errno != EINTR) {
        cl->stdin_eof = true;
    }
}

/* Takes the next complete line from the line buffer (or the unterminated
 * last one at EOF) as the current message. Returns false when none. */
static bool next_line(client *cl)
{
    char *nl = cl->line_len > 0 ? memchr(cl->line_buf, '\n', cl->line_len) : NULL;
    size_t take;
    size_t len;
    if (nl != NULL) {
        len = (size_t)(nl - cl->line_buf);
        take = len + 1;
    } else if (cl->stdin_eof && cl->line_len > 0) {
        len = take = cl->line_len;
    } else {
        return false;
    }
    if (len > 0 && cl->line_buf[len - 1] == '\r') {
        len--;
    }
    cl->cur_owned = malloc(len + 1);
    if (cl->cur_owned == NULL) {
        return false;
    }
    memcpy(cl->cur_owned, cl->line_buf, len);
    memmove(cl->line_buf, cl->line_buf + take, cl->line_len - take);
    cl->line_len -= take;
    cl->cur = (const uint8_t *)cl->cur_owned;
    cl->cur_len = len;
    return true;
}

/* Makes the next message current, if there is one. */
static bool next_message(client *cl)
{
    const options *o = cl->opt;
    if (o->messages != NULL) {
        if (cl->next_arg >= o->num_messages) {
            return false;
        }
        const char *m = o->messages[cl->next_arg++];
        cl->cur = (const uint8_t *)m;
        cl->cur_len = strlen(m);
    } else if (!next_line(cl)) {
        return false;
    }
    cl->cur_off = 0;
    cl->cur_active = true;
    cl->cur_started = false;
    return true;
}

/* True when no message is left to send, now or later. */
static bool all_sent(const client *cl)
{
    if (cl->cur_active) {
        return false;
    }
    if (cl->opt->messages != NULL) {
        return cl->next_arg >= cl->opt->num_messages;
    }
    return cl->stdin_eof && cl->line_len == 0;
}

/* Queues the next frame of the current message. Returns 1 when something
 * was queued, 0 when the output buffer is full, -1 on error. */
static int send_step(client *cl)
{
    size_t chunk = cl->cur_len - cl->cur_off;
    if (cl->opt->fragment > 0 && chunk > cl->opt->fragment) {
        chunk = cl->opt->fragment;
    }
    bool fin = cl->cur_off + chunk == cl->cur_len;
    uint8_t op = cl->cur_started ? WICK_OP_CONT : (cl->opt->binary ? WICK_OP_BINARY : WICK_OP_TEXT);
    const uint8_t *p = cl->cur + cl->cur_off;
    size_t accepted = chunk;
    wick_err e = wick_conn_send(&cl->conn, op, p, chunk, fin);
    if (e == WICK_ERR_BUFFER_TOO_SMALL) {
        /* Larger than the whole output buffer: send it in pieces. */
        e = wick_conn_send_some(&cl->conn, op, p, chunk, fin, &accepted);
    }
    if (e == WICK_ERR_WOULD_BLOCK) {
        return 0;
    }
    if (e != WICK_OK) {
        fprintf(stderr, "echo_client: send: %s\n", wick_strerror(e));
        return -1;
    }
    cl->cur_off += accepted;
    cl->cur_started = true;
    if (cl->cur_off == cl->cur_len && (fin || chunk == 0)) {
        cl->cur_active = false;
        cl->sent++;
        free(cl->cur_owned);
        cl->cur_owned = NULL;
    }
    return 1;
}

/* Queues as many frames as fit; closes with 1000 once everything was sent
 * and has come back. Returns false on error. */
static bool queue_output(client *cl)
{
    if (cl->close_sent) {
        return true;
    }
    for (;;) {
        if (!cl->cur_active && !next_message(cl)) {
            break;
        }
        int r = send_step(cl);
        if (r < 0) {
            return false;
        }
        if (r == 0) {
            return true;
        }
    }
    if (all_sent(cl) && cl->received >= cl->sent && (!cl->opt->ping || cl->pong_seen)) {
        if (wick_conn_close(&cl->conn, WICK_CLOSE_NORMAL, NULL, 0) != WICK_OK) {
            return false;
        }
        cl->close_sent = true;
    }
    return true;
}

/* === The loop === */

/* Writes what the engine has queued, as far as the socket takes it.
 * Returns false on a socket error. */
static bool flush_output(client *cl)
{
    for (;;) {
        size_t len = 0;
        const uint8_t *p = wick_conn_out_peek(&cl->conn, &len);
        if (len == 0) {
            return true;
        }
        ssize_t n = send(cl->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (would_block(errno)) {
                return true;
            }
            perror("echo_client: send");
            return false;
        }
        wick_conn_out_consume(&cl->conn, (size_t)n);
    }
}

/* Feeds in[0..len) to the engine (nothing pauses in this client). What it
 * leaves (an incomplete frame, or the rest while a pong waits for output
 * room) moves to the front of in[] for the next call. */
static void feed(client *cl, size_t len)
{
    size_t used = 0;
    wick_err e = wick_conn_recv(&cl->conn, cl->in, len, &used);
    if (wick_err_is_error(e)) {
        cl->failed = true;
    }
    cl->in_blocked = e == WICK_BLOCKED;
    cl->in_keep = (e == WICK_NEED_MORE || e == WICK_BLOCKED) ? len - used : 0;
    memmove(cl->in, cl->in + used, cl->in_keep);
}

/* Reads from the socket and feeds the engine. Returns false on a socket
 * error; sets peer_eof on EOF. */
static bool read_socket(client *cl)
{
    ssize_t n = recv(cl->fd, cl->in + cl->in_keep, sizeof(cl->in) - cl->in_keep, 0);
    if (n < 0) {
        if (errno == EINTR || would_block(errno)) {
            return true;
        }
        perror("echo_client: recv");
        return false;
    }
    if (n == 0) {
        cl->peer_eof = true;
        return true;
    }
    feed(cl, cl->in_keep + (size_t)n);
    return true;
}

/* Runs the connection until the server closes it. Returns true when the
 * closing handshake completed. */
static bool run(client *cl)
{
    long long last_activity = now_ms();
    while (!cl->peer_eof) {
        if (!queue_output(cl) || !flush_output(cl)) {
            return false;
        }
        if (cl->in_blocked && wick_conn_out_pending(&cl->conn) == 0) {
            feed(cl, cl->in_keep); /* the output drained: the pong fits now */
            continue;
        }
        unsigned st = wick_conn_state(&cl->conn);
        if ((st & WICK_SHOULD_CLOSE_TCP) != 0) {
            return false; /* only after a failure, for a client */
        }
        struct pollfd pf[2] = {{.fd = cl->fd, .events = cl->in_blocked ? 0 : POLLIN}, {.fd = -1}};
        /* POLLOUT also while a message is unfinished: the output buffer was
         * full when it was queued, so wake up once there is room again. */
        if (wick_conn_out_pending(&cl->conn) > 0 || cl->cur_active) {
            pf[0].events |= POLLOUT;
        }
        /* Read stdin only when the line buffer has no complete line. */
        bool want_stdin = cl->opt->messages == NULL && !cl->stdin_eof && !cl->cur_active &&
                          (cl->line_len == 0 || memchr(cl->line_buf, '\n', cl->line_len) == NULL);
        if (want_stdin) {
            pf[1].fd = STDIN_FILENO;
            pf[1].events = POLLIN;
        }
        /* Waiting for the user to type has no deadline; waiting for the
         * server does. */
        bool waiting_for_server = !want_stdin || cl->received < cl->sent;
        int limit = cl->close_sent ? CLOSE_WAIT_MS : cl->opt->timeout_ms;
        long long left = last_activity + limit - now_ms();
        if (waiting_for_server && left <= 0) {
            fprintf(stderr, "echo_client: timed out\n");
            return false;
        }
        int n = poll(pf, 2, waiting_for_server ? (int)left : -1);
        if (n < 0 && errno != EINTR) {
            perror("echo_client: poll");
            return false;
        }
        if (n > 0) {
            last_activity = now_ms();
        }
        if (pf[1].fd >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            read_stdin(cl);
        }
        if ((pf[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !read_socket(cl)) {
            return false;
        }
    }
    if (cl->failed) {
        return false; /* on_error() said why */
    }
    if ((wick_conn_state(&cl->conn) & WICK_CLOSED) == 0) {
        fprintf(stderr, "echo_client: the server closed the connection without a closing "
                        "handshake\n");
        return false;
    }
    return true; /* closed by us or by the server, cleanly */
}

/* === main === */

static void usage(void)
{
    fputs("usage: echo_client [--binary] [--fragment N] [--ping] [--timeout S]\n"
          "                   [--no-deflate] [--deflate-* ...]\n"
          "                   ws://HOST[:PORT][/PATH] [MESSAGE ...]\n"
          "  sends each MESSAGE (or each line of stdin) and prints what comes back\n"
          "permessage-deflate (RFC 7692), offered unless --no-deflate:\n"
          "  --deflate-budget BYTES         memory for it (default 65536)\n"
          "  --deflate-decompress-only      never compress what we send\n"
          "  --deflate-no-context-takeover  reset our compressor after each message\n"
          "  --deflate-peer-no-context-takeover  ask the server to reset its own\n"
          "  --deflate-min-size BYTES       send shorter messages uncompressed\n"
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

/* Sets a valued --deflate-* option (k: its index in the table below). */
static void set_deflate_value(wick_pmd_config *pc, size_t k, unsigned long long v)
{
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
}

/* Handles a --no-deflate / --deflate-* option at argv[*i] (consuming its
 * value). Returns 1 when handled, 0 when not a deflate option, -1 when its
 * value is missing or invalid. */
static int parse_deflate_opt(options *o, int argc, char **argv, int *i)
{
    static const char *const flags[] = {"--deflate-decompress-only",
                                        "--deflate-no-context-takeover",
                                        "--deflate-peer-no-context-takeover"};
    static const unsigned bits[] = {WICK_PMD_DECOMPRESS_ONLY, WICK_PMD_NO_CONTEXT_TAKEOVER,
                                    WICK_PMD_PEER_NO_CONTEXT_TAKEOVER};
    static const char *const valued[] = {"--deflate-budget", "--deflate-min-size",
                                         "--deflate-level", "--deflate-max-ratio"};
    static const unsigned long long max[] = {1ULL << 30, 1ULL << 40, 9, 1U << 30};
    const char *a = argv[*i];
    if (strcmp(a, "--no-deflate") == 0) {
        o->deflate = false;
        return 1;
    }
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        if (strcmp(a, flags[k]) == 0) {
            o->pmd_cfg.flags |= bits[k];
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
        unsigned long long v = 0;
        if (strcmp(a, valued[k]) != 0) {
            continue;
        }
        if (*i + 1 >= argc || !parse_size(argv[*i + 1], max[k], &v)) {
            return -1;
        }
        ++*i;
        set_deflate_value(&o->pmd_cfg, k, v);
        return 1;
    }
    return 0;
}

/* Parses the command line. Options come before the first message (before
 * or after the URL); "--" ends them. Returns false on bad usage. */
static bool parse_args(int argc, char **argv, options *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        int d = parse_deflate_opt(o, argc, argv, &i);
        if (d != 0) {
            if (d < 0) {
                return false;
            }
            continue;
        }
        if (strcmp(a, "--binary") == 0) {
            o->binary = true;
        } else if (strcmp(a, "--ping") == 0) {
            o->ping = true;
        } else if ((strcmp(a, "--fragment") == 0 || strcmp(a, "--timeout") == 0) && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[i + 1], &end, 10);
            if (end == argv[i + 1] || *end != '\0' || v < 1 || v > 1000000000) {
                return false;
            }
            if (a[2] == 'f') {
                o->fragment = (size_t)v;
            } else {
                o->timeout_ms = (int)(v > 86400 ? 86400000 : v * 1000);
            }
            i++;
        } else if (a[0] == '-' && a[1] == '-') {
            return false;
        } else if (o->url == NULL) {
            o->url = a;
        } else {
            break; /* the first message: everything from here is a message */
        }
    }
    if (o->url == NULL && i < argc) {
        o->url = argv[i++];
    }
    if (o->url == NULL) {
        return false;
    }
    if (i < argc) {
        o->messages = argv + i;
        o->num_messages = argc - i;
    }
    return true;
}

/* Sets up permessage-deflate after the handshake agreed it: an arena of
 * exactly what the agreed windows need, and the engine's extension hook.
 * Returns false (with a message) when that fails. */
static bool start_deflate(const options *o, const wick_pmd_params *p, wick_pmd *pmd,
                          uint8_t **arena, wick_conn_config *cfg)
{
    size_t need = wick_pmd_arena_size(&o->pmd_cfg, p, WICK_ROLE_CLIENT);
    *arena = malloc(need > 0 ? need : 1);
    wick_err e = *arena == NULL
                     ? WICK_ERR_NOMEM
                     : wick_pmd_init(pmd, &o->pmd_cfg, p, WICK_ROLE_CLIENT, *arena, need);
    if (e != WICK_OK) {
        fprintf(stderr, "echo_client: permessage-deflate: %s\n", wick_strerror(e));
        return false;
    }
    cfg->extension = wick_pmd_extension(pmd);
    fprintf(stderr,
            "echo_client: permessage-deflate: server_max_window_bits=%u client_max_window_bits=%u "
            "takeover server=%s client=%s, arena %zu bytes\n",
            (unsigned)p->server_max_window_bits, (unsigned)p->client_max_window_bits,
            p->server_no_context_takeover ? "no" : "yes",
            p->client_no_context_takeover ? "no" : "yes", need);
    return true;
}

int main(int argc, char **argv)
{
    options opt = {.timeout_ms = 30000, .deflate = true};
    wick_pmd_config_default(&opt.pmd_cfg);
    if (!parse_args(argc, argv, &opt)) {
        usage();
        return 2;
    }
    ws_url url;
    if (!parse_url(opt.url, &url)) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int fd = tcp_connect(&url);
    if (fd < 0) {
        return 1;
    }
    static client cl; /* static: two 64 KiB buffers */
    cl.fd = fd;
    cl.opt = &opt;
    size_t extra = 0;
    wick_pmd_params agreed;
    static wick_pmd pmd; /* MUST outlive the connection: it is its extension */
    uint8_t *arena = NULL;
    if (!handshake(fd, &url, &opt, &agreed, cl.in, sizeof(cl.in), &extra)) {
        close(fd);
        return 1;
    }
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
    cfg.out_buf = cl.out;
    cfg.out_cap = sizeof(cl.out);
    cfg.allocator = &heap_allocator;
    cfg.max_message = MAX_MESSAGE;
    if (agreed.enabled && !start_deflate(&opt, &agreed, &pmd, &arena, &cfg)) {
        free(arena);
        close(fd);
        return 1;
    }
    wick_err e = wick_conn_init(&cl.conn, &cfg, &client_callbacks, &cl);
    if (e != WICK_OK) {
        fprintf(stderr, "echo_client: %s\n", wick_strerror(e));
        wick_pmd_release(&pmd);
        free(arena);
        close(fd);
        return 1;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (opt.ping) {
        e = wick_conn_ping(&cl.conn, ping_payload, sizeof(ping_payload) - 1);
    }
    if (e == WICK_OK && extra > 0) {
        feed(&cl, extra);
    }
    bool ok = e == WICK_OK && run(&cl);
    wick_conn_release(&cl.conn);
    wick_pmd_release(&pmd);
    free(arena);
    free(cl.cur_owned);
    free(cl.line_buf);
    close(fd);
    if (ok && cl.received < cl.sent) {
        fprintf(stderr, "echo_client: %lu of %lu messages came back\n", cl.received, cl.sent);
        ok = false;
    }
    return ok ? 0 : 1;
}
