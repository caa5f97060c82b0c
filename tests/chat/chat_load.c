/*
 * chat_load: load generator for the chat example (make bench-chat).
 *
 *   chat_load --port P[,P2...] [--clients N] [--room-size R] [--broadcasts B]
 *             [--server-pid PID[,PID2...]] [--deflate 0|1] [--churn ROUNDS]
 *
 * Several ports (chat nodes sharing rooms over Redis): client i connects
 * to the (i mod count)-th, so the room is spread over the nodes and the
 * sender (client 0) is on the first; RSS and CPU are summed over the
 * server pids.
 * Opens N WebSocket connections to 127.0.0.1:P with wick's client role
 * (one epoll loop, non-blocking sockets), at most 256 handshakes in flight.
 * The first R clients join room "bench", the others join rooms of 10
 * ("r0", "r1", ...). When every client has joined, it reads the server's
 * VmRSS (with --server-pid) and reports memory per connection; then
 * client 0 sends B chat messages to "bench", one at a time, and the time
 * from each send until each of the other R-1 members has it is recorded:
 * p50 / p99 / max over all deliveries, and the time until the last one.
 * With --deflate 1 every client offers permessage-deflate (as a browser
 * does: client_max_window_bits) and inflates what the server compresses;
 * the bytes received during the broadcasts are counted either way (bytes
 * on the wire per delivery). The broadcast texts are random word lines.
 * With --churn R, all N connect, join and close R times first, and the
 * server's RSS is printed after each round and once all are closed
 * (allocator fragmentation under churn).
 * Everything runs on this machine's loopback; the run is bounded by
 * timeouts and stops by itself.
 */
#include <wick.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_JOINED, ST_DEAD };

struct lc {
    int fd;
    int idx;
    int st;
    wick_conn conn;
    wick_hs_client *hs;
    char *resp;
    size_t resp_len;
    uint8_t out[2048];
    const char *room;
    uint8_t keep[WICK_RECV_MIN]; /* an incomplete frame the engine left */
    size_t keep_len;
    wick_pmd pmd; /* --deflate 1, when the server agreed */
    uint8_t *arena;
};

static struct lc *lcs;
static int n_clients = 1000;
static int room_size = 1000;
static int n_broadcasts = 50;
#define MAX_NODES 8
static int ports[MAX_NODES], n_ports;
static int pids[MAX_NODES], n_pids;
static int server_pid; /* the first of pids, 0: none */
static int ep;
static int joined_count, dead_count, open_count, inflight;
static int bcast_seq;      /* current broadcast number, 0: none */
static int bcast_received; /* receivers that got the current one */
static int64_t bcast_sent_ns;
static int64_t *lat_ns; /* every delivery latency */
static size_t lat_count, lat_cap;
static int64_t *last_ns; /* per broadcast: time until the last receiver */
static const wick_hs_client_opts *hs_opts;
static int errors_shown;
static int use_deflate;
static wick_pmd_config pmd_cfg;
static unsigned long long bcast_wire_bytes; /* received during the broadcasts */
static int64_t last_rx_ns;                  /* when anything last arrived */
static int deflate_agreed;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int rnd(void *user, uint8_t *out, size_t n)
{
    (void)user;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(rand() & 0xff);
    }
    return 0;
}

static void *al(size_t n, void *ud)
{
    (void)ud;
    return malloc(n);
}

static void fr(void *p, size_t n, void *ud)
{
    (void)n;
    (void)ud;
    free(p);
}

static const wick_allocator allocator = {al, fr, NULL};

static void kill_lc(struct lc *c, const char *why)
{
    if (c->st == ST_DEAD) {
        return;
    }
    if (dead_count < 5) {
        fprintf(stderr, "chat_load: client %d: %s\n", c->idx, why);
    }
    if (c->st == ST_CONNECTING || c->st == ST_HANDSHAKE) {
        inflight--;
    }
    c->st = ST_DEAD;
    dead_count++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->hs);
    c->hs = NULL;
    free(c->resp);
    c->resp = NULL;
}

static void flush_lc(struct lc *c)
{
    for (;;) {
        size_t len = 0;
        const uint8_t *p = wick_conn_out_peek(&c->conn, &len);
        if (len == 0) {
            return;
        }
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno == EAGAIN) {
                /* Rare with tiny messages; wait for room. */
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                return;
            }
            kill_lc(c, "send failed");
            return;
        }
        wick_conn_out_consume(&c->conn, (size_t)n);
    }
}

static void send_json(struct lc *c, const char *json)
{
    if (wick_conn_send(&c->conn, WICK_OP_TEXT, json, strlen(json), true) != WICK_OK) {
        kill_lc(c, "send_json");
        return;
    }
    flush_lc(c);
}

static void record(int64_t ns)
{
    if (lat_count == lat_cap) {
        lat_cap = lat_cap ? lat_cap * 2 : 4096;
        lat_ns = realloc(lat_ns, lat_cap * sizeof *lat_ns);
        if (lat_ns == NULL) {
            exit(1);
        }
    }
    lat_ns[lat_count++] = ns;
}

static int on_message(wick_conn *conn, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)conn;
    (void)opcode;
    struct lc *c = user;
    /* The server writes compact JSON with "id" then "type" first. */
    char head[80];
    size_t hl = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, data, hl);
    head[hl] = '\0';
    if (strstr(head, "\"type\":\"connected\"") != NULL) {
        char msg[160];
        snprintf(
            msg, sizeof msg,
            "{\"id\":\"j%d\",\"type\":\"join\",\"room\":\"%s\",\"payload\":{\"name\":\"u%d\"}}",
            c->idx, c->room, c->idx);
        send_json(c, msg);
    } else if (strstr(head, "\"type\":\"system\"") != NULL && c->st == ST_OPEN) {
        c->st = ST_JOINED;
        joined_count++;
    } else if (strstr(head, "\"type\":\"chat\"") != NULL && bcast_seq > 0) {
        int64_t t = now_ns() - bcast_sent_ns;
        record(t);
        bcast_received++;
        if (bcast_received == room_size - 1) {
            last_ns[bcast_seq - 1] = t;
        }
    } else if (strstr(head, "\"type\":\"error\"") != NULL && errors_shown++ < 5) {
        fprintf(stderr, "chat_load: client %d got: %.*s\n", c->idx, (int)(len > 200 ? 200 : len),
                (const char *)data);
    }
    return 0;
}

static const wick_callbacks callbacks = {
    .on_message = on_message,
    .random = rnd,
};

static void start_connect(struct lc *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)ports[c->idx % n_ports]);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->st = ST_CONNECTING;
    inflight++;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        kill_lc(c, "connect");
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void send_request(struct lc *c)
{
    uint8_t nonce[16];
    rnd(NULL, nonce, sizeof nonce);
    c->hs = malloc(sizeof *c->hs);
    c->resp = malloc(4096);
    char req[1024];
    size_t req_len = 0;
    if (c->hs == NULL || c->resp == NULL ||
        wick_hs_client_request(c->hs, hs_opts, nonce, NULL, req, sizeof req, &req_len) != WICK_OK ||
        send(c->fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
        kill_lc(c, "request");
        return;
    }
    c->resp_len = 0;
    c->st = ST_HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Feeds buf[0..len) (c->keep is already in front of it); keeps what the
 * engine leaves for the next read, and feeds again after a pong waited
 * for output room (the output is drained right away here). */
static void feed(struct lc *c, uint8_t *buf, size_t len)
{
    for (;;) {
        size_t consumed = 0;
        wick_err e = wick_conn_recv(&c->conn, buf, len, &consumed);
        if (e == WICK_BLOCKED) {
            flush_lc(c);
            buf += consumed;
            len -= consumed;
            continue;
        }
        c->keep_len = 0;
        if (e == WICK_NEED_MORE) {
            c->keep_len = len - consumed;
            memcpy(c->keep, buf + consumed, c->keep_len);
        } else if (e != WICK_OK) {
            kill_lc(c, wick_err_name(e));
            return;
        }
        flush_lc(c);
        return;
    }
}

static void on_readable(struct lc *c)
{
    static uint8_t buf[WICK_RECV_MIN + 256 * 1024];
    for (;;) {
        size_t keep = c->st == ST_OPEN ? c->keep_len : 0;
        memcpy(buf, c->keep, keep);
        ssize_t n = recv(c->fd, buf + keep, sizeof buf - keep, 0);
        if (n < 0) {
            if (errno != EAGAIN) {
                kill_lc(c, "recv");
            }
            return;
        }
        if (n == 0) {
            kill_lc(c, "closed by server");
            return;
        }
        if (c->st == ST_HANDSHAKE) {
            size_t take = (size_t)n < 4096 - c->resp_len ? (size_t)n : 4096 - c->resp_len;
            memcpy(c->resp + c->resp_len, buf, take);
            c->resp_len += take;
            size_t used = 0;
            wick_err e = wick_hs_client_verify(c->hs, c->resp, c->resp_len, &used);
            if (e == WICK_NEED_MORE) {
                continue;
            }
            if (e != WICK_OK) {
                kill_lc(c, wick_err_name(e));
                return;
            }
            wick_conn_config cfg;
            wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
            cfg.out_buf = c->out;
            cfg.out_cap = sizeof c->out;
            cfg.allocator = &allocator;
            wick_pmd_params agreed;
            if (use_deflate) {
                if (wick_pmd_verify(&pmd_cfg, c->hs->extensions, c->hs->num_extensions, &agreed) !=
                    WICK_OK) {
                    kill_lc(c, "deflate answer");
                    return;
                }
                if (agreed.enabled) {
                    size_t need = wick_pmd_arena_size(&pmd_cfg, &agreed, WICK_ROLE_CLIENT);
                    c->arena = malloc(need);
                    if (c->arena == NULL ||
                        wick_pmd_init(&c->pmd, &pmd_cfg, &agreed, WICK_ROLE_CLIENT, c->arena,
                                      need) != WICK_OK) {
                        kill_lc(c, "deflate init");
                        return;
                    }
                    cfg.extension = wick_pmd_extension(&c->pmd);
                    deflate_agreed++;
                }
            }
            if (wick_conn_init(&c->conn, &cfg, &callbacks, c) != WICK_OK) {
                kill_lc(c, "init");
                return;
            }
            c->st = ST_OPEN;
            open_count++;
            inflight--;
            size_t rest = c->resp_len - used;
            uint8_t tmp[4096];
            memcpy(tmp, c->resp + used, rest);
            free(c->hs);
            c->hs = NULL;
            free(c->resp);
            c->resp = NULL;
            if (rest > 0) {
                feed(c, tmp, rest);
            }
            continue;
        }
        if (bcast_seq > 0) {
            bcast_wire_bytes += (unsigned long long)n;
        }
        last_rx_ns = now_ns();
        feed(c, buf, keep + (size_t)n);
        if (c->st == ST_DEAD) {
            return;
        }
    }
}

static void poll_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    for (int i = 0; i < n; i++) {
        struct lc *c = evs[i].data.ptr;
        if (c->st == ST_DEAD) {
            continue;
        }
        if (c->st == ST_CONNECTING) {
            int err = 0;
            socklen_t sl = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
            if (err != 0) {
                kill_lc(c, strerror(err));
                continue;
            }
            send_request(c);
            continue;
        }
        if (evs[i].events & EPOLLOUT) {
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            flush_lc(c);
        }
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
            on_readable(c);
        }
    }
}

static long rss_kb(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    fclose(f);
    return kb;
}

/* The server's user + system CPU time in ms (from /proc/PID/stat). */
static double cpu_ms(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1.0;
    }
    char line[1024];
    double ms = -1.0;
    if (fgets(line, sizeof line, f) != NULL) {
        const char *p = strrchr(line, ')'); /* the command name may hold spaces */
        unsigned long ut = 0;
        unsigned long st = 0;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2) {
            ms = (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
        }
    }
    fclose(f);
    return ms;
}

static int n_churn; /* --churn */

/* Connects and joins every client, at most 256 handshakes in flight. */
static void connect_all(void)
{
    int next = 0;
    int64_t deadline = now_ns() + 120 * (int64_t)1000000000;
    while (joined_count + dead_count < n_clients && now_ns() < deadline) {
        while (next < n_clients && inflight < 256) {
            start_connect(&lcs[next++]);
        }
        poll_once(10);
    }
}

/* Closes every client (TCP only, as a dropped browser tab would) and lets
 * the server notice for a second. */
static void close_all(void)
{
    for (int i = 0; i < n_clients; i++) {
        struct lc *c = &lcs[i];
        if (c->st != ST_DEAD) {
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
        }
        wick_conn_release(&c->conn);
        free(c->hs);
        free(c->resp);
        free(c->arena);
        const char *room = c->room;
        memset(c, 0, sizeof *c);
        c->idx = i;
        c->room = room;
    }
    joined_count = dead_count = open_count = inflight = 0;
    int64_t settle = now_ns() + 1000000000;
    while (now_ns() < settle) {
        poll_once(50);
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *v, size_t n, double p)
{
    if (n == 0) {
        return 0.0;
    }
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

/* "A,B,C" into out[MAX_NODES]; returns how many, 0 on error. */
static int parse_list(const char *s, int *out)
{
    int n = 0;
    while (*s != '\0' && n < MAX_NODES) {
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 4194304 || (*end != ',' && *end != '\0')) {
            return 0;
        }
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
    return *s == '\0' ? n : 0;
}

static long rss_all(void)
{
    long sum = 0;
    for (int i = 0; i < n_pids; i++) {
        long v = rss_kb(pids[i]);
        if (v < 0) {
            return -1;
        }
        sum += v;
    }
    return sum;
}

static double cpu_all(void)
{
    double sum = 0.0;
    for (int i = 0; i < n_pids; i++) {
        double v = cpu_ms(pids[i]);
        if (v < 0.0) {
            return -1.0;
        }
        sum += v;
    }
    return sum;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        int v = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--port") == 0) {
            n_ports = parse_list(argv[i + 1], ports);
        } else if (strcmp(argv[i], "--clients") == 0) {
            n_clients = v;
        } else if (strcmp(argv[i], "--room-size") == 0) {
            room_size = v;
        } else if (strcmp(argv[i], "--broadcasts") == 0) {
            n_broadcasts = v;
        } else if (strcmp(argv[i], "--server-pid") == 0) {
            n_pids = parse_list(argv[i + 1], pids);
            server_pid = n_pids > 0 ? pids[0] : 0;
        } else if (strcmp(argv[i], "--deflate") == 0) {
            use_deflate = v;
        } else if (strcmp(argv[i], "--churn") == 0) {
            n_churn = v;
        } else {
            fprintf(stderr, "chat_load: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (n_ports <= 0 || n_clients < 2 || room_size < 2 || room_size > n_clients) {
        fputs("usage: chat_load --port P [--clients N] [--room-size R] [--broadcasts B] "
              "[--server-pid PID]\n",
              stderr);
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)n_clients + 64) {
            fprintf(stderr, "chat_load: RLIMIT_NOFILE %llu is too low for %d clients\n",
                    (unsigned long long)rl.rlim_cur, n_clients);
            return 1;
        }
    }
    static char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", ports[0]);
    static wick_hs_client_opts opts;
    opts.target.ptr = "/chat";
    opts.target.len = 5;
    opts.host.ptr = host;
    opts.host.len = strlen(host);
    static char offer[128];
    if (use_deflate) {
        /* Like a browser: we inflate; our own few messages go plain. */
        wick_pmd_config_default(&pmd_cfg);
        pmd_cfg.flags = WICK_PMD_DECOMPRESS_ONLY;
        size_t offer_len = 0;
        if (wick_pmd_offer(&pmd_cfg, offer, sizeof offer, &offer_len) != WICK_OK) {
            fputs("chat_load: no permessage-deflate in this build of wick\n", stderr);
            return 1;
        }
        opts.extensions.ptr = offer;
        opts.extensions.len = offer_len;
    }
    hs_opts = &opts;
    srand(12345);
    ep = epoll_create1(EPOLL_CLOEXEC);
    lcs = calloc((size_t)n_clients, sizeof *lcs);
    last_ns = calloc((size_t)n_broadcasts + 1, sizeof *last_ns);
    static char rooms_buf[16 * 20000];
    if (lcs == NULL || last_ns == NULL) {
        return 1;
    }
    long rss0 = server_pid ? rss_all() : -1;
    int64_t t0 = now_ns();
    for (int i = 0; i < n_clients; i++) {
        lcs[i].idx = i;
        char *r = rooms_buf + (size_t)(i % 20000) * 16;
        if (i < room_size) {
            snprintf(r, 16, "bench");
        } else {
            snprintf(r, 16, "r%d", (i - room_size) / 10);
        }
        lcs[i].room = r;
    }
    /* --churn R: R rounds of connect-all, join, close-all first, with the
     * server's RSS after each (memory after churn, issue 15). */
    for (int round = 0; round <= n_churn; round++) {
        if (round > 0) {
            close_all();
        }
        t0 = now_ns();
        connect_all();
        if (n_churn > 0 && server_pid) {
            int64_t settle = now_ns() + 500000000;
            while (now_ns() < settle) {
                poll_once(50);
            }
            printf("churn round %d: %d joined, server RSS %ld KiB\n", round, joined_count,
                   rss_all());
        }
    }
    if (n_churn > 0 && server_pid) {
        close_all();
        printf("churn: server RSS %ld KiB with no clients after %d rounds (idle at start %ld)\n",
               rss_all(), n_churn, rss0);
        t0 = now_ns();
        connect_all();
    }
    double setup_s = (double)(now_ns() - t0) / 1e9;
    /* Let the server settle (the joins broadcast user_joined to the room;
     * over Redis every join also sends the joiner a snapshot of the
     * members): at least 1 s, then until nothing arrived for 0.5 s (30 s
     * at most). */
    int64_t settle = now_ns() + 1000000000, cap = now_ns() + 30 * (int64_t)1000000000;
    while (now_ns() < cap && (now_ns() < settle || now_ns() - last_rx_ns < 500000000)) {
        poll_once(50);
    }
    long rss1 = server_pid ? rss_all() : -1;
    printf("connections: %d open, %d joined, %d failed, in %.2f s\n", open_count, joined_count,
           dead_count, setup_s);
    if (use_deflate) {
        printf("permessage-deflate agreed on %d of %d connections\n", deflate_agreed, n_clients);
    }
    if (rss0 > 0 && rss1 > 0) {
        printf("server RSS: %ld KiB idle, %ld KiB with %d clients: %.1f KiB per connection\n", rss0,
               rss1, joined_count, (double)(rss1 - rss0) / (joined_count ? joined_count : 1));
    }
    /* Broadcasts: client 0 talks to the room, one message at a time. */
    int done = 0;
    double cpu0 = server_pid ? cpu_all() : -1.0;
    for (int b = 1; b <= n_broadcasts && lcs[0].st == ST_JOINED; b++) {
        bcast_seq = b;
        bcast_received = 0;
        last_ns[b - 1] = -1;
        /* A chat line: 4-19 words drawn at random (no line repeats, as
         * in a real room; context takeover still finds the words). */
        static const char *const words[] = {
            "the",     "deploy",  "is",      "done",    "and",    "tests",  "pass",   "on",
            "main",    "can",     "you",     "review",  "my",     "change", "today",  "thanks",
            "lunch",   "at",      "noon",    "meeting", "moved",  "to",     "friday", "please",
            "check",   "graphs",  "latency", "looks",   "fine",   "server", "room",   "message",
            "weekend", "release", "notes",   "ready",   "ticket", "closed", "yes",    "no"};
        char text[200];
        int tl = 0;
        int nw = 4 + rand() % 16;
        for (int w = 0; w < nw; w++) {
            tl += snprintf(text + tl, sizeof text - (size_t)tl, "%s%s", w ? " " : "",
                           words[rand() % 40]);
        }
        char msg[300];
        snprintf(msg, sizeof msg,
                 "{\"id\":\"b%d\",\"type\":\"chat\",\"room\":\"bench\",\"payload\":{\"text\":"
                 "\"%s\"}}",
                 b, text);
        bcast_sent_ns = now_ns();
        send_json(&lcs[0], msg);
        int64_t until = bcast_sent_ns + 5 * (int64_t)1000000000;
        while (bcast_received < room_size - 1 - dead_count && now_ns() < until) {
            poll_once(5);
        }
        done++;
        int64_t gap = now_ns() + 20000000; /* 20 ms between broadcasts */
        while (now_ns() < gap) {
            poll_once(5);
        }
    }
    bcast_seq = 0;
    double cpu1 = server_pid ? cpu_all() : -1.0;
    qsort(lat_ns, lat_count, sizeof *lat_ns, cmp64);
    int64_t *lasts = calloc((size_t)done + 1, sizeof *lasts);
    size_t nl = 0;
    for (int b = 0; b < done; b++) {
        if (last_ns[b] >= 0) {
            lasts[nl++] = last_ns[b];
        }
    }
    qsort(lasts, nl, sizeof *lasts, cmp64);
    printf("broadcasts: %d to a room of %d; deliveries %zu of %ld expected\n", done, room_size,
           lat_count, (long)done * (room_size - 1));
    printf("delivery latency: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", pct(lat_ns, lat_count, 0.5),
           pct(lat_ns, lat_count, 0.99), lat_count ? (double)lat_ns[lat_count - 1] / 1e6 : 0.0);
    printf("whole-room latency (last receiver): p50 %.3f ms, p99 %.3f ms\n", pct(lasts, nl, 0.5),
           pct(lasts, nl, 0.99));
    /* Throughput: deliveries over the time the broadcasts took (each from
     * its send to its last receiver; the idle gaps between them left out). */
    int64_t busy = 0;
    for (size_t b = 0; b < nl; b++) {
        busy += lasts[b];
    }
    if (busy > 0) {
        printf("throughput: %.0f deliveries/s while broadcasting (%d node%s)\n",
               (double)lat_count * 1e9 / (double)busy, n_ports, n_ports > 1 ? "s" : "");
    }
    if (lat_count > 0) {
        printf("wire: %llu bytes received during the broadcasts, %.1f per delivery\n",
               bcast_wire_bytes, (double)bcast_wire_bytes / (double)lat_count);
    }
    if (cpu0 >= 0.0 && cpu1 >= 0.0 && done > 0) {
        printf("server CPU during the broadcasts: %.0f ms for %d, %.2f ms per broadcast "
               "(%.1f us per delivery; 20 ms idle gaps included)\n",
               cpu1 - cpu0, done, (cpu1 - cpu0) / done,
               (cpu1 - cpu0) * 1000.0 / ((double)done * (room_size - 1)));
    }
    for (int i = 0; i < n_clients; i++) {
        if (lcs[i].st != ST_DEAD) {
            close(lcs[i].fd);
        }
    }
    free(lasts);
    free(lcs);
    free(last_ns);
    free(lat_ns);
    return (dead_count == 0 && lat_count == (size_t)done * (size_t)(room_size - 1)) ? 0 : 1;
}
