/*
 * autobahn_client: the standard Autobahn|Testsuite test client, built on wick.
 *
 *   autobahn_client ws://HOST:PORT [AGENT]
 *
 * It asks the fuzzing server GET /getCaseCount (the answer is one text
 * message holding the count), then for each case N connects to
 * /runCase?case=N&agent=AGENT and echoes every text and binary message back
 * until the server closes, and finally connects to
 * /updateReports?agent=AGENT. AGENT defaults to "wick".
 *
 * One connection at a time, blocking sockets. The opening handshake uses
 * wick_hs_client_request()/wick_hs_client_verify(); after it a wick_conn in
 * the client role does the rest, with masks from getrandom() and whole
 * messages reassembled through the malloc allocator hook. Exits 0 when the
 * case count and the report update worked (the server grades the cases;
 * some of them answer the handshake wrongly on purpose), 1 otherwise.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "wick.h"

#define HS_BUF_SIZE  16384u
#define IO_BUF_SIZE  (256u * 1024u)
#define OUT_BUF_SIZE (256u * 1024u)
#define MAX_MESSAGE  (64u * 1024u * 1024u)
#define IDLE_MS      120000 /* no byte from the server for this long: give up */
#define CLOSE_MS     5000   /* after the closing handshake, waiting for the FIN */

enum mode {
    MODE_COUNT, /* /getCaseCount: keep the number */
    MODE_ECHO,  /* /runCase: echo everything */
    MODE_QUIET  /* /updateReports: only close */
};

typedef struct session {
    int fd;
    enum mode mode;
    long count;    /* MODE_COUNT: the number received, -1 before */
    bool io_error; /* writing to the socket failed */
    wick_conn conn;
} session;

static uint8_t io_buf[IO_BUF_SIZE];
static uint8_t out_buf[OUT_BUF_SIZE];

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

static int on_random(void *user, uint8_t *out, size_t n)
{
    (void)user;
    return fill_random(out, n);
}

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

/* Writes all of buf (blocking). Returns 0, or -1 on error. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends everything wick has queued. Returns 0, or -1 on a socket error. */
static int flush(session *s)
{
    for (;;) {
        size_t len = 0;
        const uint8_t *p = wick_conn_out_peek(&s->conn, &len);
        if (len == 0) {
            return 0;
        }
        if (write_all(s->fd, p, len) != 0) {
            s->io_error = true;
            return -1;
        }
        wick_conn_out_consume(&s->conn, len);
    }
}

/* Echoes one whole message, in as many frames as the output buffer needs,
 * draining it to the socket as it fills. */
static int echo(session *s, uint8_t opcode, const uint8_t *data, size_t len)
{
    uint8_t op = opcode;
    size_t off = 0;
    for (;;) {
        size_t accepted = 0;
        wick_err e = wick_conn_send_some(&s->conn, op, data + off, len - off, true, &accepted);
        if (e == WICK_ERR_WOULD_BLOCK) {
            if (flush(s) != 0) {
                return -1;
            }
            continue;
        }
        if (e == WICK_ERR_CLOSED) {
            return 0; /* the server closed first: nothing more to echo */
        }
        if (e != WICK_OK) {
            fprintf(stderr, "autobahn_client: send: %s\n", wick_err_name(e));
            return -1;
        }
        off += accepted;
        op = WICK_OP_CONT;
        if (off >= len) {
            return 0;
        }
        if (flush(s) != 0) {
            return -1;
        }
    }
}

static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    session *s = user;
    (void)c;
    if (s->mode == MODE_COUNT && opcode == WICK_OP_TEXT) {
        long v = 0;
        for (size_t i = 0; i < len && data[i] >= '0' && data[i] <= '9' && v < 1000000; i++) {
            v = v * 10 + (data[i] - '0');
        }
        s->count = v;
        return 0;
    }
    if (s->mode == MODE_ECHO) {
        return echo(s, opcode, data, len) == 0 ? 0 : -1;
    }
    return 0;
}

static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    (void)user;
    /* Expected in many cases: the server sends invalid frames on purpose. */
    if (getenv("AUTOBAHN_CLIENT_VERBOSE") != NULL) {
        fprintf(stderr, "autobahn_client: connection failed: %s\n", wick_err_name(err));
    }
}

static const wick_callbacks callbacks = {
    .on_message = on_message,
    .on_error = on_error,
    .random = on_random,
};

/* Opens a TCP connection to host:port. Returns the fd, or -1. */
static int dial(const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "autobahn_client: %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* Waits up to ms for input. Returns 1 (readable), 0 (timeout), -1. */
static int wait_readable(int fd, int ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    for (;;) {
        int n = poll(&pfd, 1, ms);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n < 0 ? -1 : (n > 0 ? 1 : 0);
    }
}

/* Reads into io_buf after its first `keep` bytes. Returns the byte count,
 * 0 at EOF, -1 on error or after ms without data. */
static ssize_t read_some(int fd, size_t keep, int ms)
{
    if (wait_readable(fd, ms) != 1) {
        return -1;
    }
    for (;;) {
        ssize_t n = recv(fd, io_buf + keep, sizeof(io_buf) - keep, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n;
    }
}

/* The opening handshake on s->fd. On success the bytes the server sent
 * after its header block are copied to io_buf and their count stored in
 * *extra. Returns 0, or -1. */
static int handshake(session *s, const char *hostport, const char *target, size_t *extra)
{
    static char buf[HS_BUF_SIZE];
    uint8_t nonce[16];
    if (fill_random(nonce, sizeof(nonce)) != 0) {
        perror("autobahn_client: getrandom");
        return -1;
    }
    wick_hs_client hs;
    wick_hs_client_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.target.ptr = target;
    opts.target.len = strlen(target);
    opts.host.ptr = hostport;
    opts.host.len = strlen(hostport);
    size_t len = 0;
    wick_err e = wick_hs_client_request(&hs, &opts, nonce, NULL, buf, sizeof(buf), &len);
    if (e != WICK_OK) {
        fprintf(stderr, "autobahn_client: request: %s\n", wick_err_name(e));
        return -1;
    }
    if (write_all(s->fd, (const uint8_t *)buf, len) != 0) {
        perror("autobahn_client: send");
        return -1;
    }
    len = 0;
    for (;;) {
        if (len == sizeof(buf)) {
            fprintf(stderr, "autobahn_client: response header too large\n");
            return -1;
        }
        if (wait_readable(s->fd, 10000) != 1) {
            fprintf(stderr, "autobahn_client: no handshake response\n");
            return -1;
        }
        ssize_t n = recv(s->fd, buf + len, sizeof(buf) - len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "autobahn_client: connection closed during the handshake\n");
            return -1;
        }
        len += (size_t)n;
        size_t used = 0;
        e = wick_hs_client_verify(&hs, buf, len, &used);
        if (e == WICK_NEED_MORE) {
            continue;
        }
        if (e != WICK_OK) {
            fprintf(stderr, "autobahn_client: handshake for %s: %s (status %d)\n", target,
                    wick_err_name(e), hs.status);
            return -1;
        }
        *extra = len - used;
        memcpy(io_buf, buf + used, *extra);
        return 0;
    }
}

/* After a failure wick asks us to close TCP: half-close, let the server's
 * answer drain briefly, then close (so no RST eats our close frame). */
static void linger_close(int fd)
{
    (void)shutdown(fd, SHUT_WR);
    for (int i = 0; i < 20; i++) {
        ssize_t n = read_some(fd, 0, 100);
        if (n <= 0) {
            break;
        }
    }
    close(fd);
}

/* One WebSocket connection to target, driven until the server closes it.
 * Returns 0 when the connection was established, -1 otherwise. */
static int run_session(session *s, const char *host, const char *port, const char *target)
{
    char hostport[300];
    (void)snprintf(hostport, sizeof(hostport), "%s:%s", host, port);
    s->fd = dial(host, port);
    if (s->fd < 0) {
        return -1;
    }
    size_t have = 0;
    if (handshake(s, hostport, target, &have) != 0) {
        close(s->fd);
        return -1;
    }
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
    cfg.out_buf = out_buf;
    cfg.out_cap = sizeof(out_buf);
    cfg.allocator = &allocator;
    cfg.max_message = MAX_MESSAGE;
    wick_err e = wick_conn_init(&s->conn, &cfg, &callbacks, s);
    if (e != WICK_OK) {
        fprintf(stderr, "autobahn_client: wick_conn_init: %s\n", wick_err_name(e));
        close(s->fd);
        return -1;
    }
    for (;;) {
        bool blocked = false;
        if (have > 0) {
            size_t used = 0;
            wick_err r = wick_conn_recv(&s->conn, io_buf, have, &used);
            /* Errors are sticky and already queued a close frame; the state
             * flags below say what to do next. Nothing pauses here. What
             * the engine leaves (an incomplete frame, or the rest while a
             * pong waits for output room) is fed again first. */
            blocked = r == WICK_BLOCKED;
            have = (r == WICK_NEED_MORE || blocked) ? have - used : 0;
            memmove(io_buf, io_buf + used, have);
        }
        if (flush(s) != 0) {
            break;
        }
        if (blocked) {
            continue; /* flush() drained the output: the pong fits now */
        }
        unsigned st = wick_conn_state(&s->conn);
        if (st & WICK_SHOULD_CLOSE_TCP) {
            linger_close(s->fd);
            s->fd = -1;
            break;
        }
        /* RFC 6455 7.1.1: the server closes TCP first; wait for it, for a
         * while, once the closing handshake is done. */
        ssize_t n = read_some(s->fd, have, (st & WICK_CLOSED) ? CLOSE_MS : IDLE_MS);
        if (n <= 0) {
            break;
        }
        have += (size_t)n;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    wick_conn_release(&s->conn);
    return 0;
}

/* Splits ws://HOST[:PORT][/...] into host and port. Returns 0, or -1. */
static int parse_url(const char *url, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *p = url;
    if (strncmp(p, "ws://", 5) != 0) {
        return -1;
    }
    p += 5;
    const char *end = p + strcspn(p, "/?");
    const char *colon = NULL;
    if (*p == '[') { /* [v6]:port */
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (rb == NULL) {
            return -1;
        }
        colon = (rb + 1 < end && rb[1] == ':') ? rb + 1 : NULL;
        size_t hl = (size_t)(rb - p - 1);
        if (hl == 0 || hl >= host_cap) {
            return -1;
        }
        memcpy(host, p + 1, hl);
        host[hl] = '\0';
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        const char *he = colon != NULL ? colon : end;
        size_t hl = (size_t)(he - p);
        if (hl == 0 || hl >= host_cap) {
            return -1;
        }
        memcpy(host, p, hl);
        host[hl] = '\0';
    }
    if (colon != NULL) {
        size_t pl = (size_t)(end - colon - 1);
        if (pl == 0 || pl >= port_cap) {
            return -1;
        }
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
    } else {
        (void)snprintf(port, port_cap, "80");
    }
    return 0;
}

int main(int argc, char **argv)
{
    char host[256], port[16], target[512];
    if (argc < 2 || argc > 3 || parse_url(argv[1], host, sizeof(host), port, sizeof(port)) != 0) {
        fputs("usage: autobahn_client ws://HOST:PORT [AGENT]\n", stderr);
        return 2;
    }
    const char *agent = argc == 3 ? argv[2] : "wick";
    session s;
    memset(&s, 0, sizeof(s));

    s.mode = MODE_COUNT;
    s.count = -1;
    if (run_session(&s, host, port, "/getCaseCount") != 0 || s.count < 0) {
        fprintf(stderr, "autobahn_client: could not get the case count\n");
        return 1;
    }
    printf("autobahn_client: %ld cases\n", s.count);
    fflush(stdout);

    /* A case whose handshake we refuse is not an error here: some cases
     * send a bad answer on purpose, and the server grades every case. */
    int refused = 0;
    for (long n = 1; n <= s.count; n++) {
        (void)snprintf(target, sizeof(target), "/runCase?case=%ld&agent=%s", n, agent);
        s.mode = MODE_ECHO;
        s.io_error = false;
        if (run_session(&s, host, port, target) != 0) {
            fprintf(stderr, "autobahn_client: case %ld: no connection\n", n);
            refused++;
        }
    }

    (void)snprintf(target, sizeof(target), "/updateReports?agent=%s", agent);
    s.mode = MODE_QUIET;
    if (run_session(&s, host, port, target) != 0) {
        fprintf(stderr, "autobahn_client: could not update the reports\n");
        return 1;
    }
    printf("autobahn_client: done (%d cases without a connection)\n", refused);
    return 0;
}
