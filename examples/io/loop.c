/*
 * The event loop: one epoll instance, level-triggered, with the listening
 * socket, a signalfd for SIGINT/SIGTERM and every stream in it. Deadlines
 * are one per stream, swept when the earliest one passes (O(streams), which
 * is fine at example scale and keeps the code short).
 *
 * Streams are freed only here, after a whole batch of events has been
 * handled (reap()): a callback may close any stream, including one whose
 * event is still waiting later in the same batch, and that event then
 * finds a dead stream instead of freed memory (the SIGTERM crash of
 * issue 14 cannot happen).
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

/* epoll tags of the two descriptors that are not streams. */
static const char listen_tag = 'L';
static const char signal_tag = 'S';

int64_t io_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void io_log(const io_loop *loop, const char *fmt, ...)
{
    if (!loop->verbose) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", loop->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool io_loop_init(io_loop *loop, const char *name)
{
    memset(loop, 0, sizeof(*loop));
    loop->name = name;
    loop->lfd = -1;
    loop->sfd = -1;
    loop->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    loop->ep = epoll_create1(EPOLL_CLOEXEC);
    loop->rbuf_cap = IO_RBUF_SIZE;
    loop->rbuf = malloc(loop->rbuf_cap);
    loop->cork = malloc(IO_CORK_SIZE);
    if (loop->ep < 0 || loop->rbuf == NULL || loop->cork == NULL ||
        sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        perror(name);
        return false;
    }
    loop->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)&signal_tag};
    if (loop->sfd < 0 || epoll_ctl(loop->ep, EPOLL_CTL_ADD, loop->sfd, &ev) != 0) {
        perror(name);
        return false;
    }
    loop->now = io_now_ms();
    return true;
}

/* Registers a listening socket made by net.c. */
bool io_loop_watch_listener(io_loop *loop, int fd)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(uintptr_t)&listen_tag};
    loop->lfd = fd;
    return epoll_ctl(loop->ep, EPOLL_CTL_ADD, fd, &ev) == 0;
}

/* A periodic callback, for timers an application keeps itself (the
 * chat server's heartbeat sweep). */
void io_loop_every(io_loop *loop, int64_t tick_ms, void (*on_tick)(io_loop *loop))
{
    loop->tick_ms = tick_ms;
    loop->on_tick = on_tick;
    loop->next_tick = loop->now + tick_ms;
}

io_stream *io_stream_new(io_loop *loop, int fd, const io_stream_cb *cb, void *user)
{
    io_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    s->loop = loop;
    s->fd = fd;
    s->cb = cb;
    s->user = user;
    s->state = IO_OPEN;
    struct epoll_event ev = {.events = 0, .data.ptr = s};
    if (epoll_ctl(loop->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free(s);
        return NULL;
    }
    s->next = loop->streams;
    loop->streams = s;
    loop->live++;
    return s;
}

void io_set_deadline(io_stream *s, int64_t ms)
{
    io_loop *loop = s->loop;
    s->deadline = ms > 0 ? loop->now + ms : 0;
    if (s->deadline != 0 && (loop->next_due == 0 || s->deadline < loop->next_due)) {
        loop->next_due = s->deadline;
    }
}

void io_update(io_stream *s)
{
    if (s->state == IO_DEAD) {
        return;
    }
    unsigned ev = 0;
    bool hs = s->state == IO_HANDSHAKE;
    if (s->tls_rd || s->state == IO_LINGER || (s->state == IO_OPEN && s->reading) ||
        (hs && !s->tls_wr)) {
        ev |= EPOLLIN;
    }
    if (s->tls_wr || s->state == IO_CONNECTING || s->wq_len > 0) {
        ev |= EPOLLOUT;
    }
    if (ev == s->events) {
        return;
    }
    struct epoll_event e = {.events = ev, .data.ptr = s};
    if (epoll_ctl(s->loop->ep, EPOLL_CTL_MOD, s->fd, &e) == 0) {
        s->events = ev;
    }
}

/* Fires the deadlines that passed and finds the next one. */
static void sweep(io_loop *loop)
{
    if (loop->next_due == 0 || loop->now < loop->next_due) {
        return;
    }
    loop->next_due = 0;
    for (io_stream *s = loop->streams; s != NULL; s = s->next) {
        if (s->state != IO_DEAD && s->deadline != 0 && s->deadline <= loop->now) {
            s->deadline = 0;
            if (s->state == IO_OPEN && s->cb->on_timeout != NULL) {
                s->cb->on_timeout(s); /* may set a new deadline, or close */
            } else {
                io_log(loop, "fd %d: timeout", s->fd);
                io_close(s);
            }
        }
    }
    for (io_stream *s = loop->streams; s != NULL; s = s->next) {
        if (s->state != IO_DEAD && s->deadline != 0 &&
            (loop->next_due == 0 || s->deadline < loop->next_due)) {
            loop->next_due = s->deadline;
        }
    }
}

/* Frees the streams closed since the last call (see the top of the file). */
static void reap(io_loop *loop)
{
    io_stream **pp = &loop->streams;
    while (loop->dead > 0 && *pp != NULL) { /* no walk over every stream when none died */
        io_stream *s = *pp;
        if (s->state != IO_DEAD) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        loop->dead--;
        if (s->cb->on_free != NULL) {
            s->cb->on_free(s);
        }
        free(s);
    }
}

void io_loop_stop(io_loop *loop)
{
    if (loop->stopping) {
        return;
    }
    loop->stopping = true;
    loop->stop_at = loop->now + IO_SHUTDOWN_MS;
    io_log(loop, "shutting down, %zu connections", loop->live);
    if (loop->lfd >= 0) {
        close(loop->lfd);
        loop->lfd = -1;
    }
    for (io_stream *s = loop->streams; s != NULL; s = s->next) {
        if (s->state == IO_DEAD) {
            continue;
        }
        if (s->state == IO_OPEN && s->cb->on_stop != NULL) {
            s->cb->on_stop(s); /* may close s, or any other stream: they stay listed */
        } else if (s->state != IO_LINGER) {
            io_close(s);
        }
    }
}

static int wait_ms(const io_loop *loop)
{
    int64_t until = loop->next_due;
    if (loop->on_tick != NULL && (until == 0 || loop->next_tick < until)) {
        until = loop->next_tick;
    }
    if (loop->stopping && (until == 0 || loop->stop_at < until)) {
        until = loop->stop_at;
    }
    if (until == 0) {
        return -1;
    }
    int64_t ms = until - loop->now;
    return ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

void io_loop_run(io_loop *loop)
{
    struct epoll_event events[MAX_EVENTS];
    while (!loop->quit && !(loop->stopping && loop->live == 0)) {
        int n = epoll_wait(loop->ep, events, MAX_EVENTS, wait_ms(loop));
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return;
        }
        loop->now = io_now_ms();
        for (int i = 0; i < n; i++) {
            const void *tag = events[i].data.ptr;
            if (tag == &listen_tag) {
                io_accept_all(loop);
            } else if (tag == &signal_tag) {
                struct signalfd_siginfo si;
                while (read(loop->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                }
                io_loop_stop(loop);
            } else if (io_watch_tagged(tag)) {
                io_watch_event(tag, events[i].events); /* watch.c */
            } else {
                io_stream_event(events[i].data.ptr, events[i].events);
            }
        }
        sweep(loop);
        if (loop->on_tick != NULL && loop->now >= loop->next_tick) {
            loop->next_tick = loop->now + loop->tick_ms;
            loop->on_tick(loop);
        }
        if (loop->on_batch != NULL) {
            loop->on_batch(loop);
        }
        reap(loop);
        if (loop->stopping && loop->now >= loop->stop_at) {
            break;
        }
    }
}

void io_loop_free(io_loop *loop)
{
    for (io_stream *s = loop->streams; s != NULL; s = s->next) {
        io_close(s);
    }
    reap(loop);
    if (loop->lfd >= 0) {
        close(loop->lfd);
    }
    close(loop->sfd);
    close(loop->ep);
    if (loop->spare_fd >= 0) {
        close(loop->spare_fd);
    }
    free(loop->rbuf);
    free(loop->cork);
    io_peer_free(loop);
}

bool io_parse_uint(const char *s, unsigned long long max, unsigned long long *out)
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

int64_t io_parse_seconds(const char *s)
{
    unsigned long long v = 0;
    return io_parse_uint(s, 86400ULL * 365, &v) ? (int64_t)v * 1000 : -1;
}
