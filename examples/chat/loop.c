/*
 * The event loop: one epoll instance (level-triggered) for the listening
 * socket, a signalfd for SIGINT/SIGTERM and every client socket.
 *
 * Each turn: wait (at most until the next timer tick), read what is
 * readable and feed it to the HTTP parser or the client's wick_conn, then
 * flush every client that got output this turn (the "dirty" list; so a
 * client receiving ten broadcasts in one turn is written once), then free
 * clients that died this turn (late, because the same turn's event array
 * may still point at them). Timers are a periodic sweep over all clients
 * (handshake/auth/close deadlines and the heartbeat), every
 * ping_interval/10 ms clamped to 50..500 ms.
 */
#include "chat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS  256
#define SHUTDOWN_MS 2000

static int ep = -1;
static int lfd = -1;
static int sfd = -1;
static int spare_fd = -1;
static struct client *dirty_head;
static struct client *free_head;
static const char listen_tag = 'L';
static const char signal_tag = 'S';
static uint8_t rbuf_all[CHAT_RECV_HEAD + 64 * 1024];
static uint8_t *const rbuf = rbuf_all + CHAT_RECV_HEAD; /* reads land here */
#define RBUF_SIZE (sizeof rbuf_all - CHAT_RECV_HEAD)

void loop_want_write(struct client *c, bool on)
{
    if (c->epollout == on || c->fd < 0) {
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == 0) {
        c->epollout = on;
    }
}

void loop_mark_dirty(struct client *c)
{
    if (!c->dirty && c->phase != PH_DEAD) {
        c->dirty = true;
        c->dnext = dirty_head;
        dirty_head = c;
    }
}

void loop_forget(struct client *c)
{
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    }
    /* A client on the dirty list is moved to the free list when the flush
     * reaches it; otherwise it goes there now. */
    if (!c->dirty) {
        c->dnext = free_head;
        free_head = c;
    }
}

int loop_listen(void)
{
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("socket");
        return -1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg.port);
    if (inet_pton(AF_INET, cfg.host, &sa.sin_addr) != 1) {
        fprintf(stderr, "chat_server: --host must be an IPv4 address: %s\n", cfg.host);
        return -1;
    }
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4096) != 0) {
        fprintf(stderr, "chat_server: cannot listen on %s:%d: %s\n", cfg.host, cfg.port,
                strerror(errno));
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    printf("listening on %u\n", ntohs(sa.sin_port));
    fflush(stdout);
    return 0;
}

static void do_accept(void)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of descriptors: accept and drop one with the spare,
                 * so the listening socket does not stay readable forever. */
                log_line(LOG_ERR, "accept_failed", "error=\"%s\"", strerror(errno));
                if (spare_fd >= 0) {
                    close(spare_fd);
                    int tmp = accept(lfd, NULL, NULL);
                    if (tmp >= 0) {
                        close(tmp);
                    }
                    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                }
            }
            return;
        }
        char addr[64];
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
        snprintf(addr, sizeof addr, "%s:%u", ip, ntohs(sa.sin_port));
        if (stats.clients >= cfg.max_clients) {
            log_line(LOG_ERR, "reject", "addr=%s reason=\"too many clients\"", addr);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct client *c = client_new(fd, addr);
        if (c == NULL) {
            close(fd);
            continue;
        }
        stats.accepted++;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            client_kill(c, "epoll");
        }
        log_line(LOG_DEBUG, "accept", "id=%s addr=%s", c->id, addr);
    }
}

static void do_read(struct client *c)
{
    for (int i = 0; i < 4 && c->phase != PH_DEAD; i++) {
        ssize_t n = recv(c->fd, rbuf, RBUF_SIZE, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) { /* == EWOULDBLOCK on Linux */
                client_kill(c, "read error");
            }
            return;
        }
        if (n == 0) {
            client_kill(c, c->phase == PH_LINGER ? "closed" : "peer closed");
            return;
        }
        switch (c->phase) {
        case PH_HTTP:
            http_on_readable(c, rbuf, (size_t)n);
            break;
        case PH_WS:
            client_on_readable(c, rbuf, (size_t)n);
            break;
        case PH_HTTP_SEND:
        case PH_LINGER:
        case PH_DEAD:
        default:
            break; /* discarded */
        }
        if ((size_t)n < RBUF_SIZE) {
            return;
        }
    }
}

static void flush_dirty(void)
{
    while (dirty_head != NULL) {
        struct client *c = dirty_head;
        dirty_head = c->dnext;
        c->dirty = false;
        if (c->phase == PH_DEAD) {
            c->dnext = free_head;
            free_head = c;
            continue;
        }
        client_flush(c);
        if (c->phase == PH_DEAD && !c->dirty) {
            /* client_kill() inside the flush: loop_forget saw it not dirty
             * and already put it on the free list. */
            continue;
        }
    }
}

static void free_dead(void)
{
    while (free_head != NULL) {
        struct client *c = free_head;
        free_head = c->dnext;
        client_free(c);
    }
}

static void begin_shutdown(void)
{
    log_line(LOG_INFO, "shutdown", "clients=%u", stats.clients);
    epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL);
    close(lfd);
    lfd = -1;
    struct client *next;
    for (struct client *c = client_first(); c != NULL; c = next) {
        next = c->next;
        if (c->phase == PH_WS && !c->closing) {
            proto_shutdown_notice(c);
            client_close(c, WICK_CLOSE_GOING_AWAY, "Server shutting down");
        } else if (c->phase != PH_WS) {
            client_kill(c, "shutdown");
        }
    }
}

int loop_run(void)
{
    ep = epoll_create1(EPOLL_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)&listen_tag};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.ptr = (void *)(uintptr_t)&signal_tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

    int64_t tick_ms = cfg.ping_ms / 10;
    tick_ms = tick_ms < 50 ? 50 : tick_ms > 500 ? 500 : tick_ms;
    int64_t next_tick = now_ms() + tick_ms;
    int64_t stop_at = 0;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int64_t now = now_ms();
        int timeout = next_tick > now ? (int)(next_tick - now) : 0;
        int n = epoll_wait(ep, events, MAX_EVENTS, timeout);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &listen_tag) {
                do_accept();
                continue;
            }
            if (p == &signal_tag) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                    log_line(LOG_INFO, "signal", "signo=%u", si.ssi_signo);
                }
                if (stop_at == 0) {
                    begin_shutdown();
                    stop_at = now_ms() + SHUTDOWN_MS;
                }
                continue;
            }
            struct client *c = p;
            if (c->phase == PH_DEAD) {
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                do_read(c);
            }
            if (c->phase != PH_DEAD && (events[i].events & EPOLLOUT)) {
                loop_mark_dirty(c);
            }
        }
        now = now_ms();
        if (now >= next_tick) {
            next_tick = now + tick_ms;
            struct client *next;
            for (struct client *c = client_first(); c != NULL; c = next) {
                next = c->next;
                client_tick(c, now);
            }
        }
        flush_dirty();
        free_dead();
        if (stop_at != 0 && (client_first() == NULL || now >= stop_at)) {
            struct client *next;
            for (struct client *c = client_first(); c != NULL; c = next) {
                next = c->next;
                client_kill(c, "shutdown");
            }
            flush_dirty();
            free_dead();
            log_line(LOG_INFO, "stopped", "accepted=%llu messages=%llu", stats.accepted,
                     stats.messages);
            return 0;
        }
    }
}
