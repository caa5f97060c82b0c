/*
 * autobahn_client: the standard Autobahn|Testsuite test client, built on wick.
 *
 *   autobahn_client [--no-deflate] [--deflate-* ...] ws://HOST:PORT [AGENT]
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
 *
 * Every connection offers permessage-deflate (RFC 7692) unless
 * --no-deflate; the --deflate-* options (see usage()) shape the offer. An
 * answer the offer did not allow fails that case's handshake. With
 * AUTOBAHN_CLIENT_VERBOSE set, each connection that agreed compression
 * logs its parameters on stderr.
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
    wick_pmd_params agreed; /* permessage-deflate, as the server answered */
    wick_pmd pmd;           /* MUST outlive conn when it is its extension */
    uint8_t *arena;         /* pmd's memory (malloc'd per connection) */
} session;

/* permessage-deflate options, from the command line. */
static bool deflate_on = true;
static wick_pmd_config pmd_cfg;

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
    /* wick.h says 64 bytes hold any offer; the default one is 72
     * (reported), and 256 holds one with every parameter. */
    char offer[256];
    size_t len = 0;
    memset(&s->agreed, 0, sizeof(s->agreed));
    if (deflate_on) {
        wick_err oe = wick_pmd_offer(&pmd_cfg, offer, sizeof(offer), &len);
        if (oe != WICK_OK) {
            fprintf(stderr, "autobahn_client: permessage-deflate offer: %s\n", wick_err_name(oe));
            return -1;
        }
        opts.extensions = (wick_str){offer, len};
    }
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
        /* RFC 7692 7.1: an answer the offer did not allow fails it. */
        e = deflate_on ? wick_pmd_verify(&pmd_cfg, hs.extensions, hs.num_extensions, &s->agreed)
                       : WICK_OK;
        if (e != WICK_OK) {
            fprintf(stderr, "autobahn_client: handshake for %s: %s\n", target, wick_strerror(e));
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

/* Sets up permessage-deflate when the handshake agreed it. Returns 0, or
 * -1 (with a message). */
static int start_deflate(session *s, wick_conn_config *cfg)
{
    if (!s->agreed.enabled) {
        return 0;
    }
    const wick_pmd_params *p = &s->agreed;
    size_t need = wick_pmd_arena_size(&pmd_cfg, p, WICK_ROLE_CLIENT);
    s->arena = malloc(need > 0 ? need : 1);
    wick_err e = s->arena == NULL
                     ? WICK_ERR_NOMEM
                     : wick_pmd_init(&s->pmd, &pmd_cfg, p, WICK_ROLE_CLIENT, s->arena, need);
    if (e != WICK_OK) {
        fprintf(stderr, "autobahn_client: permessage-deflate: %s\n", wick_err_name(e));
        free(s->arena);
        s->arena = NULL;
        return -1;
    }
    cfg->extension = wick_pmd_extension(&s->pmd);
    if (getenv("AUTOBAHN_CLIENT_VERBOSE") != NULL) {
        fprintf(stderr,
                "autobahn_client: permessage-deflate: server_max_window_bits=%u "
                "client_max_window_bits=%u takeover server=%s client=%s, arena %zu bytes\n",
                (unsigned)p->server_max_window_bits, (unsigned)p->client_max_window_bits,
                p->server_no_context_takeover ? "no" : "yes",
                p->client_no_context_takeover ? "no" : "yes", need);
    }
    return 0;
}

/* Frees what start_deflate() set up (safe when it set up nothing). */
static void stop_deflate(session *s)
{
    wick_pmd_release(&s->pmd);
    memset(&s->pmd, 0, sizeof(s->pmd));
    free(s->arena);
    s->arena = NULL;
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
    if (start_deflate(s, &cfg) != 0) {
        close(s->fd);
        return -1;
    }
    wick_err e = wick_conn_init(&s->conn, &cfg, &callbacks, s);
    if (e != WICK_OK) {
        fprintf(stderr, "autobahn_client: wick_conn_init: %s\n", wick_err_name(e));
        stop_deflate(s);
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
    stop_deflate(s);
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

static void usage(void)
{
    fputs("usage: autobahn_client [--no-deflate] [--deflate-* ...] ws://HOST:PORT [AGENT]\n"
          "permessage-deflate (RFC 7692), offered unless --no-deflate:\n"
          "  --deflate-budget BYTES         memory per connection (default 65536)\n"
          "  --deflate-decompress-only      never compress what we send\n"
          "  --deflate-no-context-takeover  reset our compressor after each message\n"
          "  --deflate-peer-no-context-takeover  ask the server to reset its own\n"
          "  --deflate-min-size BYTES       send shorter messages uncompressed\n"
          "  --deflate-level N              compression level 1-9 (default 6)\n",
          stderr);
}

/* Parses a non-negative integer no larger than max into *out. Returns 0,
 * or -1 when invalid. */
static int parse_size(const char *str, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(str, &end, 10);
    if (end == str || *end != '\0' || str[0] == '-' || errno != 0 || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* Handles a --no-deflate / --deflate-* option at argv[*i] (consuming its
 * value). Returns 1 when handled, 0 when not such an option, -1 when its
 * value is missing or invalid. */
static int parse_deflate_opt(int argc, char **argv, int *i)
{
    static const char *const flags[] = {"--deflate-decompress-only",
                                        "--deflate-no-context-takeover",
                                        "--deflate-peer-no-context-takeover"};
    static const unsigned bits[] = {WICK_PMD_DECOMPRESS_ONLY, WICK_PMD_NO_CONTEXT_TAKEOVER,
                                    WICK_PMD_PEER_NO_CONTEXT_TAKEOVER};
    const char *a = argv[*i];
    if (strcmp(a, "--no-deflate") == 0) {
        deflate_on = false;
        return 1;
    }
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        if (strcmp(a, flags[k]) == 0) {
            pmd_cfg.flags |= bits[k];
            return 1;
        }
    }
    bool budget = strcmp(a, "--deflate-budget") == 0;
    bool min_size = strcmp(a, "--deflate-min-size") == 0;
    bool level = strcmp(a, "--deflate-level") == 0;
    if (!budget && !min_size && !level) {
        return 0;
    }
    unsigned long v = 0;
    if (*i + 1 >= argc || parse_size(argv[*i + 1], level ? 9UL : 1UL << 30, &v) != 0) {
        return -1;
    }
    ++*i;
    if (budget) {
        pmd_cfg.budget = (size_t)v;
    } else if (min_size) {
        pmd_cfg.min_size = (size_t)v;
    } else {
        pmd_cfg.level = (int)v;
    }
    return 1;
}

int main(int argc, char **argv)
{
    char host[256], port[16], target[512];
    const char *pos[2] = {NULL, NULL};
    int npos = 0;
    wick_pmd_config_default(&pmd_cfg);
    for (int i = 1; i < argc; i++) {
        int d = parse_deflate_opt(argc, argv, &i);
        if (d < 0 || (d == 0 && (argv[i][0] == '-' || npos == 2))) {
            usage();
            return 2;
        }
        if (d == 0) {
            pos[npos++] = argv[i];
        }
    }
    if (npos == 0 || parse_url(pos[0], host, sizeof(host), port, sizeof(port)) != 0) {
        usage();
        return 2;
    }
    const char *agent = pos[1] != NULL ? pos[1] : "wick";
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
