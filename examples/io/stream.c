/*
 * A stream: one non-blocking socket, plain or TLS, with a write queue.
 *
 * io_write() tries the socket first and queues only what it did not take,
 * so the queue costs nothing while the peer keeps up; it is allocated on
 * demand, grows under backpressure, and is freed as soon as it empties
 * (memory per idle connection stays small). A corked stream gathers its
 * writes in the loop's cork buffer instead (cork.c). The owner watches
 * io_queued() and stops producing above a limit of its own (ws.c does).
 *
 * Lingering close: after our last bytes, shutdown(SHUT_WR) and read until
 * the peer's FIN (or IO_LINGER_MS), so that unread input never turns our
 * close into a reset that destroys the last bytes we sent.
 */
#include "io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define WQ_MIN 4096u

bool io_would_block(int err)
{
#if EWOULDBLOCK != EAGAIN
    if (err == EWOULDBLOCK) {
        return true;
    }
#endif
    return err == EAGAIN;
}

/* rd_empty: a plain read that took fewer bytes than asked emptied the
 * socket, so the owner can wait for the (level-triggered) loop instead of
 * reading again only to be told EAGAIN: one system call less per batch.
 * Not for TLS: OpenSSL returns one record at a time and may hold more. */
ssize_t io_read(io_stream *s, void *buf, size_t cap)
{
    s->rd_empty = false;
    if (s->ssl != NULL) {
        return io_tls_read(s, buf, cap);
    }
    for (;;) {
        ssize_t n = s->pipe ? read(s->fd, buf, cap) : recv(s->fd, buf, cap, 0);
        if (n > 0) {
            s->rd_empty = (size_t)n < cap;
            return n;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return n < 0 && io_would_block(errno) ? 0 : -1;
    }
}

/* One write to the socket: bytes taken, 0 when it would block, -1 on error. */
static ssize_t write_some(io_stream *s, const void *buf, size_t len)
{
    if (s->ssl != NULL) {
        return io_tls_write(s, buf, len);
    }
    for (;;) {
        ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0) {
            return n;
        }
        if (errno != EINTR) {
            return io_would_block(errno) ? 0 : -1;
        }
    }
}

size_t io_queued(const io_stream *s)
{
    return s->wq_len + (s->loop->cork_owner == s ? s->loop->cork_len : 0);
}

/* Room for len more bytes at the queue's end. */
static uint8_t *wq_room(io_stream *s, size_t len)
{
    if (s->wq_off > 0 && s->wq_off + s->wq_len + len > s->wq_cap) {
        memmove(s->wq, s->wq + s->wq_off, s->wq_len);
        s->wq_off = 0;
    }
    size_t need = s->wq_off + s->wq_len + len;
    if (need > s->wq_cap) {
        size_t cap = s->wq_cap < WQ_MIN ? WQ_MIN : s->wq_cap;
        while (cap < need) {
            cap *= 2;
        }
        uint8_t *p = realloc(s->wq, cap);
        if (p == NULL) {
            return NULL;
        }
        s->wq = p;
        s->wq_cap = cap;
    }
    return s->wq + s->wq_off + s->wq_len;
}

uint8_t *io_reserve(io_stream *s, size_t len)
{
    uint8_t *p = io_cork_room(s, len);
    if (p == NULL) {
        /* What s gathered goes first: then this has the whole cork
         * buffer, or goes into the queue behind what the socket left. */
        if (!io_cork_flush(s)) {
            io_close(s);
            return NULL;
        }
        p = io_cork_room(s, len);
    }
    if (p != NULL) {
        return p;
    }
    s->resv_cork = false;
    return wq_room(s, len);
}

void io_commit(io_stream *s, size_t len)
{
    if (s->resv_cork) {
        s->loop->cork_len += len;
    } else {
        s->wq_len += len;
    }
}

static size_t vec_total(const io_vec *v, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += v[i].len;
    }
    return total;
}

/* Copies the pieces' bytes after the first `skip` to dst; returns how many. */
static size_t vec_copy(uint8_t *dst, const io_vec *v, size_t n, size_t skip)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = skip < v[i].len ? skip : v[i].len;
        skip -= k;
        if (v[i].len > k) {
            memcpy(dst + done, (const uint8_t *)v[i].base + k, v[i].len - k);
            done += v[i].len - k;
        }
    }
    return done;
}

bool io_queue(io_stream *s, const io_vec *v, size_t n, size_t skip)
{
    size_t total = vec_total(v, n);
    if (skip >= total) {
        return true;
    }
    uint8_t *q = wq_room(s, total - skip);
    if (q == NULL) {
        return false;
    }
    s->wq_len += vec_copy(q, v, n, skip);
    io_update(s);
    return true;
}

/* Sends what is queued. Returns false on a socket error. */
bool io_flush(io_stream *s)
{
    if (!io_cork_flush(s)) {
        return false;
    }
    while (s->wq_len > 0) {
        /* TLS: OpenSSL wants a retried write to have the same bytes; the
         * queue's head only moves past them once they were taken, so it
         * does (at another address maybe: see tls.c). */
        ssize_t n = write_some(s, s->wq + s->wq_off, s->wq_len);
        if (n < 0) {
            return false;
        }
        if (n == 0) {
            io_update(s);
            return true;
        }
        s->wq_off += (size_t)n;
        s->wq_len -= (size_t)n;
    }
    /* Empty: give the memory back (an idle connection keeps none). */
    free(s->wq);
    s->wq = NULL;
    s->wq_off = s->wq_cap = 0;
    io_update(s);
    return true;
}

bool io_writev(io_stream *s, const io_vec *v, size_t n)
{
    if (s->state == IO_DEAD || s->state == IO_LINGER || n > IO_VEC_MAX) {
        return false;
    }
    size_t total = vec_total(v, n);
    uint8_t *p = io_cork_room(s, total);
    if (p != NULL) {
        io_commit(s, vec_copy(p, v, n, 0));
        return true;
    }
    /* Nothing waits (or only what s gathered): to the socket now. */
    bool now = s->wq_len == 0 && s->state == IO_OPEN && !s->tls_wr &&
               (!s->cork || s->loop->cork_owner == s);
    if (now && s->ssl == NULL) {
        return io_cork_send(s, v, n);
    }
    size_t skip = 0;
    if (now && n == 1) {
        ssize_t k = write_some(s, v[0].base, v[0].len);
        if (k < 0) {
            return false;
        }
        skip = (size_t)k;
    }
    /* TLS in pieces goes out as one buffer (one record, not one per piece). */
    return io_queue(s, v, n, skip) && (!now || n == 1 || io_flush(s));
}

bool io_write(io_stream *s, const void *data, size_t len)
{
    io_vec v = {data, len};
    return io_writev(s, &v, 1);
}

/* Linger: once the queue is empty, shut our side and discard input. */
static void linger_step(io_stream *s)
{
    if (!io_flush(s)) {
        io_close(s);
        return;
    }
    if (s->wq_len > 0) {
        return;
    }
    if (s->ssl != NULL) {
        io_tls_shutdown(s); /* close_notify, best effort */
    }
    shutdown(s->fd, SHUT_WR);
    uint8_t sink[4096];
    for (;;) {
        ssize_t n = recv(s->fd, sink, sizeof(sink), 0);
        if (n > 0 || (n < 0 && errno == EINTR)) {
            continue;
        }
        if (n < 0 && io_would_block(errno)) {
            io_update(s);
            return;
        }
        io_close(s); /* the peer's FIN (or an error) */
        return;
    }
}

void io_linger(io_stream *s)
{
    if (s->state != IO_OPEN) {
        if (s->state != IO_LINGER) {
            io_close(s);
        }
        return;
    }
    s->state = IO_LINGER;
    s->reading = false;
    io_set_deadline(s, IO_LINGER_MS);
    if (s->cb->on_close != NULL) {
        s->cb->on_close(s); /* the owner is done with it */
    }
    linger_step(s);
}

void io_close(io_stream *s)
{
    if (s->state == IO_DEAD) {
        return;
    }
    bool told = s->state == IO_LINGER;
    io_log(s->loop, "fd %d: closed", s->fd);
    s->state = IO_DEAD;
    s->loop->live--;
    s->loop->dead++;
    io_peer_release(s);
    io_tls_free(s);
    close(s->fd); /* also takes it out of the epoll set */
    s->fd = -1;
    io_cork_release(s);
    free(s->wq);
    s->wq = NULL;
    s->wq_len = s->wq_off = s->wq_cap = 0;
    if (!told && s->cb->on_close != NULL) {
        s->cb->on_close(s);
    }
}

/* The TLS handshake made progress (or the connect finished, for plain). */
static void handshake_step(io_stream *s)
{
    int r = io_tls_handshake(s);
    if (r < 0) {
        io_close(s);
        return;
    }
    if (r > 0) {
        s->state = IO_OPEN;
        if (s->cb->on_open != NULL) {
            s->cb->on_open(s);
        }
    }
    io_update(s);
}

void io_stream_event(io_stream *s, unsigned events)
{
    switch (s->state) {
    case IO_CONNECTING: {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            fprintf(stderr, "%s: connect: %s\n", s->loop->name, strerror(err ? err : errno));
            io_close(s);
            return;
        }
        s->state = s->ssl != NULL ? IO_HANDSHAKE : IO_OPEN;
        if (s->ssl != NULL) {
            handshake_step(s);
        } else if (s->cb->on_open != NULL) {
            s->cb->on_open(s);
        }
        io_update(s);
        return;
    }
    case IO_HANDSHAKE:
        handshake_step(s);
        return;
    case IO_LINGER:
        linger_step(s);
        return;
    case IO_OPEN:
        break;
    case IO_DEAD:
    default:
        return; /* closed earlier in this batch: a stale event */
    }
    /* TLS: a read that needed the socket writable (or a write that needed
     * it readable) is retried on the other readiness. */
    bool retry_read = s->tls_wr && (events & EPOLLOUT) != 0;
    if ((events & EPOLLOUT) != 0 || (s->tls_rd && (events & EPOLLIN) != 0)) {
        bool had = s->wq_len > 0;
        if (!io_flush(s)) {
            io_close(s);
            return;
        }
        if (had && s->wq_len == 0 && s->cb->on_drained != NULL) {
            s->cb->on_drained(s);
        }
    }
    if (s->state == IO_OPEN && (retry_read || (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0)) {
        if (s->reading || retry_read) {
            if (s->cb->on_readable != NULL) {
                s->cb->on_readable(s);
            }
        } else if ((events & EPOLLERR) != 0) {
            io_close(s);
        }
    }
}
