/* End-to-end load generator (issues 7 and 10): CONNS WebSocket client
 * connections to 127.0.0.1:PORT over epoll, each keeping INFLIGHT binary
 * messages of SIZE bytes in flight (1: ping-pong; more: pipelined). When
 * the whole echo of a message has arrived, the next one is sent on that
 * connection, so the number in flight stays constant.
 *
 *   loadgen PORT SIZE [CONNS=64] [SECONDS=5] [WARMUP=1] [INFLIGHT=1] [SERVER_PID=0]
 *
 * Echoes are parsed as a stream of frames and may be split in any way:
 * any frame boundaries, a message fragmented into continuation frames,
 * pings and pongs in between (a ping is answered with a pong). Every
 * payload byte is compared with what was sent: each message is a
 * different window of a random pattern (chosen from the connection and
 * the message's sequence number), so a lost, repeated, reordered or
 * corrupted echo fails the run (exit status 1). Client frames are masked
 * with a fresh pseudo-random key each.
 *
 * The timed window starts WARMUP seconds after every connection has
 * completed its opening handshake and lasts SECONDS. Reported on one line
 * (key value pairs): echoes completed in the window per second, p50 and
 * p99 round trip (from the moment a message was queued for sending to the
 * moment the last byte of its echo was parsed; 1 us buckets), the load
 * generator's own CPU (getrusage user+sys over the window / wall time, so
 * a saturated generator shows as ~100%), and, with SERVER_PID, the
 * server's user and system CPU over the same window from
 * /proc/SERVER_PID/stat (clock ticks) as a percentage and per message,
 * its total run time over all its threads from /proc/PID/task/TID/schedstat
 * (nanoseconds; the per-message CPU figure to trust),
 * and for each CPU its busy and irq+softirq time from /proc/stat.
 *
 * Environment: LOADGEN_DEFLATE=1 offers permessage-deflate (RFC 7692, as
 * wick_pmd_offer() writes it), requires the server to agree, compresses
 * every message with a client-role wick_pmd (context takeover as agreed)
 * and inflates the echoes through it (RSV1), checking every byte as
 * above; LOADGEN_TEXT=1 makes the messages JSON-like text (chat records)
 * instead of random bytes, so they compress like real traffic. Also
 * reported: bytes on the wire per message each way in the timed window
 * (rx_bytes_per_msg, tx_bytes_per_msg; frame headers included), and with
 * SERVER_PID the server's VmRSS before the connections, once all are open
 * (srv_rss_idle_kb_per_conn: the growth per idle connection) and at the end
 * (srv_rss_kb_per_conn: per connection after traffic). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <wick.h>

#define MAX_CONNS    8192
#define MAX_INFLIGHT 1024
#define MAX_SIZE     (16u * 1024u * 1024u)
#define HIST_US      2000000 /* 1 us buckets up to 2 s */
#define PATTERN_LEN  65536u
#define RECV_BUF     (256u * 1024u)
#define HS_TIMEOUT   15.0 /* seconds for all opening handshakes */

typedef struct lconn {
    int fd;
    uint32_t id;
    bool upgraded;
    bool want_out; /* EPOLLOUT registered */
    char hs[2048]; /* the 101 response while it arrives */
    size_t hs_len;
    /* Frame parser. */
    uint8_t hdr[14]; /* a frame header while it arrives */
    size_t hdr_len;
    bool in_frame; /* a header was parsed; frame_left payload bytes follow */
    uint64_t frame_left;
    uint8_t frame_op;
    bool frame_fin;
    bool in_msg;    /* a data message has begun (more fragments may follow) */
    size_t msg_got; /* bytes of the current echo checked so far */
    uint8_t ctl[125];
    size_t ctl_len;
    /* Messages in flight: sequence numbers [seq_done, seq_sent). */
    uint64_t seq_sent, seq_done;
    double *sent_at; /* ring of INFLIGHT send times */
    /* Output. */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    /* permessage-deflate (LOADGEN_DEFLATE=1). */
    wick_pmd pmd;
    uint8_t *arena;
    bool z_msg;    /* the echo in progress is compressed (RSV1) */
    uint8_t *zbuf; /* one compressed message */
    size_t zcap;
} lconn;

static bool use_deflate, counting;
static wick_pmd_config pmd_cfg;
static unsigned long long rx_bytes, tx_bytes;

static uint32_t hist[HIST_US + 1];
static uint64_t nsamples;
static uint8_t *pattern;
static size_t msg_size;
static int inflight;
static uint64_t rng = 0x9E3779B97F4A7C15u;
static int ep;
static uint64_t pongs_dropped;
static double t_measure = 1e300, t_end; /* the timed window */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *m)
{
    perror(m);
    exit(1);
}

static void fail(const lconn *c, const char *what)
{
    fprintf(stderr, "loadgen: connection %u: %s (message %llu, byte %zu)\n", c->id, what,
            (unsigned long long)c->seq_done, c->msg_got);
    exit(1);
}

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Where in the pattern message `seq` of connection `id` starts. */
static size_t msg_offset(uint32_t id, uint64_t seq)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15u + seq * 0xC2B2AE3D27D4EB4Fu;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 32;
    return (size_t)(h % PATTERN_LEN);
}

/* Appends one masked client frame (FIN, opcode op) to c's output. Returns
 * false when it does not fit. */
static bool queue_frame(lconn *c, uint8_t op, const uint8_t *p, size_t n)
{
    size_t need = n + 14;
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    if (c->out_cap - c->out_len < need && c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_cap - c->out_len < need) {
        return false;
    }
    uint8_t *o = c->out + c->out_len;
    size_t h = 0;
    o[h++] = (uint8_t)(0x80 | op);
    if (n < 126) {
        o[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        o[h++] = 0x80 | 126;
        o[h++] = (uint8_t)(n >> 8);
        o[h++] = (uint8_t)n;
    } else {
        o[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) {
            o[h++] = (uint8_t)((uint64_t)n >> (8 * i));
        }
    }
    uint32_t key = (uint32_t)(next_rand() >> 16);
    memcpy(o + h, &key, 4);
    uint64_t k8 = (uint64_t)key | (uint64_t)key << 32;
    uint8_t kb[4];
    memcpy(kb, &key, 4);
    h += 4;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= k8;
        memcpy(o + h + i, &w, 8);
    }
    for (; i < n; i++) {
        o[h + i] = p[i] ^ kb[i & 3];
    }
    c->out_len += h + n;
    if (counting) {
        tx_bytes += h + n;
    }
    return true;
}

static void set_out_interest(lconn *c, bool want)
{
    if (want == c->want_out) {
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | (want ? (uint32_t)EPOLLOUT : 0u),
                             .data.u32 = c->id};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        die("epoll_ctl");
    }
    c->want_out = want;
}

static void flush_out(lconn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) {
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            fail(c, strerror(errno));
        }
        c->out_off += (size_t)w;
    }
    set_out_interest(c, c->out_off < c->out_len);
}

/* Queues the next message of c (sent at time t). */
static void send_msg(lconn *c, double t)
{
    const uint8_t *p = pattern + msg_offset(c->id, c->seq_sent);
    if (use_deflate) {
        /* One frame: the extension's encoder, then RSV1 (RFC 7692 6). */
        const wick_extension *x = wick_pmd_extension(&c->pmd);
        size_t zlen = 0;
        if (x->encode(x->state, p, msg_size, true, true, c->zbuf, c->zcap, &zlen) != 0 ||
            !queue_frame(c, 0x42, c->zbuf, zlen)) {
            fail(c, "compressing, or output buffer full");
        }
    } else if (!queue_frame(c, 0x2, p, msg_size)) {
        fail(c, "output buffer full");
    }
    c->sent_at[c->seq_sent % (uint64_t)inflight] = t;
    c->seq_sent++;
}

/* The echo of message seq_done is complete at time t. */
static void echo_done(lconn *c, double t)
{
    double rtt = t - c->sent_at[c->seq_done % (uint64_t)inflight];
    c->seq_done++;
    c->in_msg = false;
    c->msg_got = 0;
    if (t >= t_measure && t < t_end) {
        double us = rtt * 1e6;
        hist[us >= (double)HIST_US ? HIST_US : us < 0 ? 0 : (size_t)us]++;
        nsamples++;
    }
    if (t < t_end) {
        send_msg(c, t);
    }
}

/* A header is complete in c->hdr; returns its length, or 0 when more
 * bytes are needed. */
static size_t header_need(const lconn *c)
{
    if (c->hdr_len < 2) {
        return 2;
    }
    uint8_t l = c->hdr[1] & 0x7f;
    return l < 126 ? 2 : l == 126 ? 4 : 10;
}

static void header_parsed(lconn *c)
{
    uint8_t b0 = c->hdr[0], b1 = c->hdr[1];
    uint64_t len = b1 & 0x7f;
    if (len == 126) {
        len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
    } else if (len == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) {
            len = len << 8 | c->hdr[i];
        }
    }
    c->hdr_len = 0;
    if (b1 & 0x80) {
        fail(c, "masked frame from the server");
    }
    if ((b0 & 0x40) && use_deflate && (b0 & 0x0f) == 0x2) {
        c->z_msg = true; /* a compressed message (RSV1 on its first frame) */
        b0 &= (uint8_t)~0x40u;
    }
    if (b0 & 0x70) {
        fail(c, "RSV bit set");
    }
    c->frame_op = b0 & 0x0f;
    c->frame_fin = (b0 & 0x80) != 0;
    c->frame_left = len;
    c->in_frame = true;
    c->ctl_len = 0;
    switch (c->frame_op) {
    case 0x0:
        if (!c->in_msg) {
            fail(c, "continuation frame outside a message");
        }
        break;
    case 0x2:
        if (c->in_msg) {
            fail(c, "new message inside a fragmented one");
        }
        if (c->seq_done == c->seq_sent) {
            fail(c, "echo of a message never sent");
        }
        c->in_msg = true;
        break;
    case 0x8:
    case 0x9:
    case 0xA:
        if (!c->frame_fin || len > 125) {
            fail(c, "bad control frame");
        }
        break;
    case 0x1:
        fail(c, "text frame echoed for a binary message");
        break;
    default:
        fail(c, "unknown opcode");
        break;
    }
    if (c->frame_op <= 0x2 && !c->z_msg && c->msg_got + len > msg_size) {
        fail(c, "echo longer than the message");
    }
}

/* Inflated bytes of a compressed echo: compared with what was sent. */
static int check_inflated(void *ctx, const uint8_t *p, size_t k)
{
    lconn *c = ctx;
    if (c->msg_got + k > msg_size) {
        fail(c, "echo longer than the message");
    }
    if (memcmp(p, pattern + msg_offset(c->id, c->seq_done) + c->msg_got, k) != 0) {
        fail(c, "inflated echo differs from the message");
    }
    c->msg_got += k;
    return 0;
}

static void inflate_part(lconn *c, const uint8_t *p, size_t k, bool fin)
{
    static const uint8_t none[1];
    const wick_extension *x = wick_pmd_extension(&c->pmd);
    if (x->decode(x->state, k ? p : none, k, fin, check_inflated, c) != 0) {
        fail(c, "inflate failed");
    }
}

static void frame_done(lconn *c, double t)
{
    c->in_frame = false;
    switch (c->frame_op) {
    case 0x0:
    case 0x2:
        if (c->frame_fin) {
            if (c->z_msg) {
                inflate_part(c, NULL, 0, true);
                c->z_msg = false;
            }
            if (c->msg_got != msg_size) {
                fail(c, "echo shorter than the message");
            }
            echo_done(c, t);
        }
        break;
    case 0x8: {
        unsigned code = c->ctl_len >= 2 ? (unsigned)c->ctl[0] << 8 | c->ctl[1] : 0;
        fprintf(stderr, "loadgen: connection %u: server sent close %u %.*s\n", c->id, code,
                c->ctl_len > 2 ? (int)(c->ctl_len - 2) : 0, (const char *)c->ctl + 2);
        exit(1);
    }
    case 0x9:
        if (!queue_frame(c, 0xA, c->ctl, c->ctl_len)) {
            pongs_dropped++;
        }
        break;
    default:
        break; /* pong */
    }
}

/* Parses n received bytes of connection c (received at time t). */
static void feed(lconn *c, const uint8_t *p, size_t n, double t)
{
    while (n > 0) {
        if (!c->in_frame) {
            size_t need = header_need(c);
            while (c->hdr_len < need && n > 0) {
                c->hdr[c->hdr_len++] = *p++;
                n--;
                need = header_need(c);
            }
            if (c->hdr_len < need) {
                return;
            }
            header_parsed(c);
            if (c->frame_left == 0) {
                frame_done(c, t);
            }
            continue;
        }
        size_t k = c->frame_left < n ? (size_t)c->frame_left : n;
        if (c->frame_op <= 0x2 && c->z_msg) {
            inflate_part(c, p, k, false);
        } else if (c->frame_op <= 0x2) {
            const uint8_t *want = pattern + msg_offset(c->id, c->seq_done) + c->msg_got;
            if (memcmp(p, want, k) != 0) {
                size_t j = 0;
                while (p[j] == want[j]) {
                    j++;
                }
                c->msg_got += j;
                fail(c, "echo differs from the message");
            }
            c->msg_got += k;
        } else {
            memcpy(c->ctl + c->ctl_len, p, k);
            c->ctl_len += k;
        }
        p += k;
        n -= k;
        c->frame_left -= k;
        if (c->frame_left == 0) {
            frame_done(c, t);
        }
    }
}

/* Handles the opening handshake response; returns the number of bytes of
 * p that were not part of it (WebSocket frames), or -1 when incomplete. */
static long handshake(lconn *c, const uint8_t *p, size_t n)
{
    size_t room = sizeof c->hs - 1 - c->hs_len;
    size_t k = n < room ? n : room;
    memcpy(c->hs + c->hs_len, p, k);
    c->hs_len += k;
    c->hs[c->hs_len] = '\0';
    char *e = strstr(c->hs, "\r\n\r\n");
    if (e == NULL) {
        if (c->hs_len == sizeof c->hs - 1) {
            fail(c, "handshake response too long");
        }
        return -1;
    }
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0 ||
        strstr(c->hs, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == NULL) {
        fail(c, "handshake refused");
    }
    size_t used = (size_t)(e + 4 - c->hs) - (c->hs_len - k);
    if (use_deflate) {
        /* The answer (header names are case-insensitive). */
        wick_ext exts[WICK_MAX_EXTENSIONS];
        size_t next = 0;
        for (char *l = strstr(c->hs, "\r\n"); l != NULL && l < e; l = strstr(l + 2, "\r\n")) {
            static const char name[] = "sec-websocket-extensions:";
            if (strncasecmp(l + 2, name, sizeof name - 1) == 0) {
                const char *v = l + 2 + sizeof name - 1;
                const char *end = strstr(v, "\r\n");
                while (*v == ' ') {
                    v++;
                }
                if (wick_ext_parse(v, (size_t)(end - v), exts, WICK_MAX_EXTENSIONS, &next) !=
                    WICK_OK) {
                    fail(c, "bad Sec-WebSocket-Extensions");
                }
            }
        }
        wick_pmd_params agreed;
        if (wick_pmd_verify(&pmd_cfg, exts, next, &agreed) != WICK_OK || !agreed.enabled) {
            fail(c, "permessage-deflate not agreed");
        }
        size_t need = wick_pmd_arena_size(&pmd_cfg, &agreed, WICK_ROLE_CLIENT);
        c->arena = malloc(need);
        if (c->arena == NULL || wick_pmd_init(&c->pmd, &pmd_cfg, &agreed, WICK_ROLE_CLIENT,
                                              c->arena, need) != WICK_OK) {
            fail(c, "permessage-deflate set-up");
        }
        const wick_extension *x = wick_pmd_extension(&c->pmd);
        c->zcap = x->encode_bound(x->state, msg_size);
        c->zbuf = malloc(c->zcap);
        if (c->zbuf == NULL) {
            die("malloc");
        }
    }
    c->upgraded = true;
    return (long)(n - used);
}

#define MAX_CPUS 8

typedef struct cpu_snap {
    double lg_usr, lg_sys;               /* seconds */
    unsigned long long srv_usr, srv_sys; /* clock ticks */
    unsigned long long srv_ns;           /* run time of all its threads */
    bool srv_ok;
    /* /proc/stat per CPU (ticks): all, idle+iowait, softirq+irq. */
    unsigned long long cpu_all[MAX_CPUS], cpu_idle[MAX_CPUS], cpu_irq[MAX_CPUS];
    int ncpu;
} cpu_snap;

/* Reads the cpuN lines of /proc/stat: softirq time spent outside any
 * process context is in no process's utime/stime, so this shows whether
 * a CPU was saturated even when the processes on it look idle. */
static void read_cpu_stat(cpu_snap *s)
{
    FILE *f = fopen("/proc/stat", "r");
    s->ncpu = 0;
    if (f == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL && s->ncpu < MAX_CPUS) {
        unsigned long long v[8] = {0};
        int id;
        if (strncmp(line, "cpu", 3) != 0 || line[3] < '0' || line[3] > '9' ||
            sscanf(line + 3, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &id, &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7]) != 9 ||
            id != s->ncpu) {
            continue;
        }
        /* user nice system idle iowait irq softirq steal */
        s->cpu_all[id] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
        s->cpu_idle[id] = v[3] + v[4];
        s->cpu_irq[id] = v[5] + v[6];
        s->ncpu++;
    }
    fclose(f);
}

static bool read_proc_stat(int pid, unsigned long long *usr, unsigned long long *sys)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return false;
    }
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0) {
        return false;
    }
    buf[r] = '\0';
    const char *s = strrchr(buf, ')'); /* after the command name */
    if (s == NULL) {
        return false;
    }
    /* Fields 3.. follow; utime and stime are fields 14 and 15. */
    int field = 2;
    for (; *s != '\0' && field < 14; s++) {
        if (*s == ' ') {
            field++;
        }
    }
    return sscanf(s, "%llu %llu", usr, sys) == 2;
}

/* Sums the first field of /proc/PID/task/TID/schedstat (nanoseconds on a
 * CPU) over the threads of pid: precise, where utime/stime come in clock
 * ticks (10 ms). */
static unsigned long long read_sched_ns(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return 0;
    }
    unsigned long long sum = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        char p[128];
        snprintf(p, sizeof p, "/proc/%d/task/%.20s/schedstat", pid, e->d_name);
        FILE *f = fopen(p, "r");
        unsigned long long ns = 0;
        if (f != NULL) {
            if (fscanf(f, "%llu", &ns) == 1) {
                sum += ns;
            }
            fclose(f);
        }
    }
    closedir(d);
    return sum;
}

static void snap(cpu_snap *s, int server_pid)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    s->lg_usr = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    s->lg_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    s->srv_ok = server_pid > 0 && read_proc_stat(server_pid, &s->srv_usr, &s->srv_sys);
    s->srv_ns = s->srv_ok ? read_sched_ns(server_pid) : 0;
    read_cpu_stat(s);
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = atol(line + 6);
        }
    }
    fclose(f);
    return kb;
}

/* LOADGEN_TEXT=1: fills p[0..n) with chat-like JSON records. */
static void text_pattern(uint8_t *p, size_t n)
{
    static const char *const words[] = {
        "the",   "deploy", "is",      "done",    "and",   "tests",  "pass",   "on",
        "main",  "can",    "you",     "review",  "my",    "change", "today",  "thanks",
        "lunch", "at",     "noon",    "meeting", "moved", "to",     "friday", "please",
        "check", "graphs", "latency", "looks",   "fine",  "server", "room",   "message"};
    static const char *const users[] = {"alice", "bob", "carol", "dave", "erin", "frank"};
    size_t at = 0;
    unsigned seq = 0;
    while (at < n) {
        char rec[512];
        int len = snprintf(rec, sizeof rec,
                           "{\"type\":\"chat\",\"id\":\"m%u\",\"room\":\"lobby\",\"from\":\"c%u\","
                           "\"from_name\":\"%s\",\"ts\":%llu,\"payload\":{\"text\":\"",
                           seq, (unsigned)(next_rand() % 5000), users[next_rand() % 6],
                           1732867200000ull + seq * 1733ull);
        unsigned nw = 3 + (unsigned)(next_rand() % 12);
        for (unsigned w = 0; w < nw && len < 400; w++) {
            len += snprintf(rec + len, sizeof rec - (size_t)len, "%s%s", w ? " " : "",
                            words[next_rand() % 32]);
        }
        len += snprintf(rec + len, sizeof rec - (size_t)len, "\"}}\n");
        size_t k = (size_t)len < n - at ? (size_t)len : n - at;
        memcpy(p + at, rec, k);
        at += k;
        seq++;
    }
}

static uint64_t percentile(unsigned pct)
{
    uint64_t acc = 0;
    for (size_t us = 0; us <= HIST_US; us++) {
        acc += hist[us];
        if (acc * 100 >= nsamples * pct) {
            return us;
        }
    }
    return HIST_US;
}

static void raise_nofile(int nconn)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return;
    }
    rlim_t want = (rlim_t)nconn + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want) {
            fprintf(stderr, "loadgen: RLIMIT_NOFILE too low for %d connections\n", nconn);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: loadgen PORT SIZE [CONNS=64] [SECONDS=5] [WARMUP=1] [INFLIGHT=1] "
                        "[SERVER_PID=0]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long lsize = atol(argv[2]);
    int nconn = argc > 3 ? atoi(argv[3]) : 64;
    double secs = argc > 4 ? atof(argv[4]) : 5.0;
    double warm = argc > 5 ? atof(argv[5]) : 1.0;
    inflight = argc > 6 ? atoi(argv[6]) : 1;
    int server_pid = argc > 7 ? atoi(argv[7]) : 0;
    if (port < 1 || port > 65535 || lsize < 0 || (unsigned long)lsize > MAX_SIZE || nconn < 1 ||
        nconn > MAX_CONNS || !(secs > 0 && secs < 3600) || !(warm >= 0 && warm < 3600) ||
        inflight < 1 || inflight > MAX_INFLIGHT) {
        fprintf(stderr, "loadgen: argument out of range\n");
        return 2;
    }
    msg_size = (size_t)lsize;
    raise_nofile(nconn);

    pattern = malloc(PATTERN_LEN + msg_size + 8);
    if (pattern == NULL) {
        die("malloc");
    }
    const char *env = getenv("LOADGEN_TEXT");
    if (env != NULL && strcmp(env, "1") == 0) {
        text_pattern(pattern, PATTERN_LEN + msg_size + 8);
    } else {
        for (size_t i = 0; i < PATTERN_LEN + msg_size + 8; i++) {
            pattern[i] = (uint8_t)(next_rand() >> 32);
        }
    }
    env = getenv("LOADGEN_DEFLATE");
    use_deflate = env != NULL && strcmp(env, "1") == 0;
    long rss0 = server_pid > 0 ? rss_kb(server_pid) : -1;
    long rss_idle = -1;
    uint8_t *rbuf = malloc(RECV_BUF);
    ep = epoll_create1(0);
    lconn *cs = calloc((size_t)nconn, sizeof *cs);
    if (rbuf == NULL || ep < 0 || cs == NULL) {
        die("setup");
    }
    char req[512];
    char offer[WICK_PMD_HEADER_MAX];
    size_t offer_len = 0;
    wick_pmd_config_default(&pmd_cfg);
    if (use_deflate && wick_pmd_offer(&pmd_cfg, offer, sizeof offer, &offer_len) != WICK_OK) {
        fprintf(stderr, "loadgen: no permessage-deflate in this build of wick\n");
        return 1;
    }
    int req_n = snprintf(req, sizeof req,
                         "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n%s%.*s%s\r\n",
                         use_deflate ? "Sec-WebSocket-Extensions: " : "", (int)offer_len, offer,
                         use_deflate ? "\r\n" : "");
    size_t req_len = (size_t)req_n;
    for (int i = 0; i < nconn; i++) {
        lconn *c = &cs[i];
        c->id = (uint32_t)i;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0) {
            die("socket");
        }
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
            die("connect");
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (send(c->fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
            die("send handshake");
        }
        if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0) {
            die("fcntl");
        }
        /* Compressed messages may be a little larger than the plain ones. */
        c->out_cap = (size_t)inflight * (msg_size + msg_size / 64 + 64 + 14) + 1024;
        c->out = malloc(c->out_cap);
        c->sent_at = calloc((size_t)inflight, sizeof *c->sent_at);
        if (c->out == NULL || c->sent_at == NULL) {
            die("malloc");
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            die("epoll_ctl");
        }
    }

    /* Phase 0: opening handshakes; phase 1: warm-up; phase 2: timed. */
    int upgraded = 0, phase = 0;
    double t0 = now();
    t_end = t0 + HS_TIMEOUT;
    cpu_snap s0 = {0}, s1 = {0};
    struct epoll_event evs[256];
    for (;;) {
        double t = now();
        if (phase == 0 && upgraded == nconn) {
            phase = 1;
            rss_idle = server_pid > 0 ? rss_kb(server_pid) : -1; /* open, no traffic yet */
            t_measure = t + warm;
            t_end = t_measure + secs;
            for (int i = 0; i < nconn; i++) {
                for (int k = 0; k < inflight; k++) {
                    send_msg(&cs[i], t);
                }
                flush_out(&cs[i]);
            }
        }
        if (phase == 1 && t >= t_measure) {
            phase = 2;
            counting = true;
            snap(&s0, server_pid);
        }
        if (t >= t_end) {
            if (phase == 0) {
                fprintf(stderr, "loadgen: only %d of %d handshakes done in %.0f s\n", upgraded,
                        nconn, HS_TIMEOUT);
                return 1;
            }
            snap(&s1, server_pid);
            counting = false;
            break;
        }
        double next = phase == 1 ? t_measure : t_end;
        int timeout_ms = (int)((next - t) * 1000.0) + 1;
        int n = epoll_wait(ep, evs, (int)(sizeof evs / sizeof evs[0]), timeout_ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            lconn *c = &cs[evs[k].data.u32];
            if (evs[k].events & EPOLLOUT) {
                flush_out(c);
            }
            if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                continue;
            }
            ssize_t r = recv(c->fd, rbuf, RECV_BUF, 0);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
                    continue;
                }
                fail(c, r == 0 ? "connection closed by the server" : strerror(errno));
            }
            double tr = now();
            if (counting) {
                rx_bytes += (unsigned long long)r;
            }
            const uint8_t *p = rbuf;
            size_t len = (size_t)r;
            if (!c->upgraded) {
                long rest = handshake(c, p, len);
                if (rest < 0) {
                    continue;
                }
                upgraded++;
                p += len - (size_t)rest;
                len = (size_t)rest;
            }
            feed(c, p, len, tr);
            if (c->out_off < c->out_len && !c->want_out) {
                flush_out(c);
            }
        }
    }

    double wall = t_end - t_measure;
    double lg_busy = (s1.lg_usr - s0.lg_usr + s1.lg_sys - s0.lg_sys) / wall * 100.0;
    printf("msgs/s %.0f p50_us %llu p99_us %llu samples %llu conns %d size %zu inflight %d "
           "lg_busy_pct %.1f lg_usr_pct %.1f lg_sys_pct %.1f",
           (double)nsamples / wall, (unsigned long long)percentile(50),
           (unsigned long long)percentile(99), (unsigned long long)nsamples, nconn, msg_size,
           inflight, lg_busy, (s1.lg_usr - s0.lg_usr) / wall * 100.0,
           (s1.lg_sys - s0.lg_sys) / wall * 100.0);
    if (s0.srv_ok && s1.srv_ok) {
        double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
        double usr = (double)(s1.srv_usr - s0.srv_usr) * tick;
        double sys = (double)(s1.srv_sys - s0.srv_sys) * tick;
        double msgs = nsamples > 0 ? (double)nsamples : 1.0;
        double run = (double)(s1.srv_ns - s0.srv_ns) * 1e-9;
        printf(" srv_usr_pct %.1f srv_sys_pct %.1f srv_usr_ns_per_msg %.0f srv_sys_ns_per_msg %.0f"
               " srv_cpu_pct %.1f srv_cpu_ns_per_msg %.0f",
               usr / wall * 100.0, sys / wall * 100.0, usr / msgs * 1e9, sys / msgs * 1e9,
               run / wall * 100.0, run / msgs * 1e9);
    }
    for (int i = 0; i < s0.ncpu && i < s1.ncpu; i++) {
        double all = (double)(s1.cpu_all[i] - s0.cpu_all[i]);
        if (all > 0) {
            printf(" cpu%d_busy_pct %.1f cpu%d_irq_pct %.1f", i,
                   100.0 - (double)(s1.cpu_idle[i] - s0.cpu_idle[i]) / all * 100.0, i,
                   (double)(s1.cpu_irq[i] - s0.cpu_irq[i]) / all * 100.0);
        }
    }
    {
        double msgs = nsamples > 0 ? (double)nsamples : 1.0;
        printf(" deflate %d rx_bytes_per_msg %.1f tx_bytes_per_msg %.1f", use_deflate ? 1 : 0,
               (double)rx_bytes / msgs, (double)tx_bytes / msgs);
        long rss1 = server_pid > 0 ? rss_kb(server_pid) : -1;
        if (rss0 > 0 && rss1 > 0) {
            printf(" srv_rss0_kb %ld srv_rss_kb %ld srv_rss_kb_per_conn %.1f", rss0, rss1,
                   (double)(rss1 - rss0) / nconn);
            if (rss_idle > 0) {
                printf(" srv_rss_idle_kb_per_conn %.1f", (double)(rss_idle - rss0) / nconn);
            }
        }
    }
    if (pongs_dropped > 0) {
        printf(" pongs_dropped %llu", (unsigned long long)pongs_dropped);
    }
    printf("\n");
    for (int i = 0; i < nconn; i++) {
        close(cs[i].fd);
        free(cs[i].out);
        free(cs[i].sent_at);
        wick_pmd_release(&cs[i].pmd);
        free(cs[i].arena);
        free(cs[i].zbuf);
    }
    free(cs);
    free(rbuf);
    free(pattern);
    return 0;
}
