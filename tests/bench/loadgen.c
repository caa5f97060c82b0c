/* End-to-end load generator (issue 7): N WebSocket client connections to
 * 127.0.0.1:PORT over epoll, PING-PONG mode: each connection keeps exactly
 * one message in flight, sends the next as soon as the echo of the last
 * has fully arrived, and records that round trip. Messages are binary,
 * masked (client role), SIZE bytes. Prints messages/s and p50/p99 RTT.
 *
 * usage: loadgen PORT SIZE [CONNS=64] [SECONDS=5] [WARMUP_SECONDS=1] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define HIST_US   200000 /* 1 us buckets up to 200 ms */

typedef struct lconn {
    int fd;
    bool upgraded;
    uint8_t *in;
    size_t in_len, in_cap;
    size_t want; /* bytes of the echoed frame expected */
    uint8_t *out;
    size_t out_len, out_off;
    double sent_at;
} lconn;

static uint32_t hist[HIST_US + 1];
static uint64_t nsamples;
static double t_measure;

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

static size_t frame_build(uint8_t *out, const uint8_t *p, size_t n, uint32_t seed)
{
    size_t h = 0;
    out[h++] = 0x82;
    if (n < 126) {
        out[h++] = (uint8_t)(0x80 | n);
    } else if (n < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) {
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
        }
    }
    uint8_t key[4] = {(uint8_t)seed, (uint8_t)(seed >> 8), (uint8_t)(seed >> 16),
                      (uint8_t)(seed >> 24)};
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < n; i++) {
        out[h + i] = p[i] ^ key[i & 3];
    }
    return h + n;
}

static size_t server_frame_len(size_t n)
{
    return n + (n < 126 ? 2 : n < 65536 ? 4 : 10);
}

static void flush_out(lconn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) {
                return;
            }
            die("send");
        }
        c->out_off += (size_t)w;
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: loadgen PORT SIZE [CONNS] [SECONDS] [WARMUP]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    size_t size = (size_t)atol(argv[2]);
    int nconn = argc > 3 ? atoi(argv[3]) : 64;
    double secs = argc > 4 ? atof(argv[4]) : 5.0;
    double warm = argc > 5 ? atof(argv[5]) : 1.0;
    if (nconn < 1 || nconn > MAX_CONNS) {
        nconn = 64;
    }
    uint8_t *payload = malloc(size + 1);
    for (size_t i = 0; i < size; i++) {
        payload[i] = (uint8_t)(i * 131 + 7);
    }
    int ep = epoll_create1(0);
    lconn *cs = calloc((size_t)nconn, sizeof *cs);
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    for (int i = 0; i < nconn; i++) {
        lconn *c = &cs[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
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
        if (send(c->fd, req, sizeof req - 1, 0) != (ssize_t)(sizeof req - 1)) {
            die("send handshake");
        }
        c->in_cap = server_frame_len(size) + 4096;
        c->in = malloc(c->in_cap);
        c->out = malloc(size + 14);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            die("epoll_ctl");
        }
    }
    double start = now();
    t_measure = start + warm;
    double end = t_measure + secs;
    struct epoll_event evs[64];
    uint32_t seed = 0x12345678u;
    for (;;) {
        double t = now();
        if (t >= end) {
            break;
        }
        int n = epoll_wait(ep, evs, 64, 100);
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
                if (c->out_off == c->out_len) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[k].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (!(evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                continue;
            }
            ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) {
                    continue;
                }
                fprintf(stderr, "loadgen: connection %u closed by server\n", evs[k].data.u32);
                return 1;
            }
            c->in_len += (size_t)r;
            bool send_next = false;
            if (!c->upgraded) {
                uint8_t *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
                if (e == NULL) {
                    continue;
                }
                if (memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
                    fprintf(stderr, "loadgen: handshake refused\n");
                    return 1;
                }
                size_t used = (size_t)(e + 4 - c->in);
                memmove(c->in, c->in + used, c->in_len - used);
                c->in_len -= used;
                c->upgraded = true;
                c->want = server_frame_len(size);
                send_next = true;
            } else if (c->in_len >= c->want) {
                if (c->in[0] != 0x82 || c->in_len != c->want ||
                    memcmp(c->in + c->want - size, payload, size) != 0) {
                    fprintf(stderr, "loadgen: bad echo\n");
                    return 1;
                }
                double rtt = now() - c->sent_at;
                if (c->sent_at >= t_measure) {
                    size_t us = (size_t)(rtt * 1e6);
                    hist[us > HIST_US ? HIST_US : us]++;
                    nsamples++;
                }
                c->in_len = 0;
                send_next = true;
            }
            if (send_next) {
                c->out_len = frame_build(c->out, payload, size, seed);
                seed = seed * 1664525u + 1013904223u;
                c->out_off = 0;
                c->sent_at = now();
                flush_out(c);
                if (c->out_off < c->out_len) {
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,
                                             .data.u32 = evs[k].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
        }
    }
    double measured = end - t_measure;
    uint64_t acc = 0, p50 = 0, p99 = 0;
    bool h50 = false;
    for (size_t us = 0; us <= HIST_US; us++) {
        acc += hist[us];
        if (!h50 && acc * 2 >= nsamples) {
            p50 = us;
            h50 = true;
        }
        if (acc * 100 >= nsamples * 99) {
            p99 = us;
            break;
        }
    }
    printf("msgs/s %.0f p50_us %llu p99_us %llu samples %llu conns %d size %zu mode ping-pong\n",
           (double)nsamples / measured, (unsigned long long)p50, (unsigned long long)p99,
           (unsigned long long)nsamples, nconn, size);
    for (int i = 0; i < nconn; i++) {
        close(cs[i].fd);
        free(cs[i].in);
        free(cs[i].out);
    }
    free(cs);
    free(payload);
    return 0;
}
