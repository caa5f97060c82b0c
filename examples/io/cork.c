/*
 * The cork buffer: one per loop, shared by its streams, so that the
 * answers to one read leave with one system call and cost no allocation.
 *
 * While a stream is corked (ws.c: while wick_conn_recv() runs over one
 * read), what it writes is gathered here instead of in its write queue,
 * which would be allocated for the batch and freed after it (malloc, and
 * for a 64 KiB echo brk() and fresh pages, every time). io_uncork() then
 * sends the gathered bytes and a tail the owner still holds (ws.c: wick's
 * own output window, sent from where it is, not copied) with one
 * writev(). Only what the socket did not take is copied into the write
 * queue. So while the peer keeps up an outgoing byte is copied once, into
 * a buffer that stays hot in the cache, and the queue is never allocated.
 *
 * A write that does not fit in what is left of the buffer goes out at
 * once, after what was gathered, with one writev() and no copy of its own
 * (large echoes take this way; so a batch is one system call per
 * IO_CORK_SIZE of output). The buffer belongs to one corked stream at a
 * time: a stream corked while another has it (a batch inside a batch)
 * writes through its write queue, as do TLS streams (OpenSSL takes one
 * buffer per SSL_write(), and the queue already keeps a blocked write's
 * bytes for its retry, see tls.c). Gathering stops while the stream has
 * queued bytes: they go first. So the gathered bytes are always the last
 * of the stream's output, and the queue is empty whenever there are some.
 */
#include "io.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

void io_cork(io_stream *s)
{
    io_loop *loop = s->loop;
    s->cork = true;
    if (loop->cork_owner == NULL && s->ssl == NULL && loop->cork != NULL) {
        loop->cork_owner = s;
        loop->cork_len = 0;
    }
}

uint8_t *io_cork_room(io_stream *s, size_t len)
{
    io_loop *loop = s->loop;
    if (!s->cork || loop->cork_owner != s || s->wq_len > 0 || len > IO_CORK_SIZE - loop->cork_len) {
        return NULL;
    }
    s->resv_cork = true; /* for io_commit() */
    return loop->cork + loop->cork_len;
}

/* The gathered bytes (when s has any) and then v[0..n), with one
 * sendmsg() (writev() with MSG_NOSIGNAL); the rest into the queue. */
bool io_cork_send(io_stream *s, const io_vec *v, size_t n)
{
    io_loop *loop = s->loop;
    io_vec all[IO_VEC_MAX + 1];
    struct iovec iov[IO_VEC_MAX + 1];
    size_t k = 0, total = 0;
    if (n > IO_VEC_MAX) {
        return false;
    }
    if (loop->cork_owner == s && loop->cork_len > 0) {
        all[k++] = (io_vec){loop->cork, loop->cork_len};
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].len > 0) {
            all[k++] = v[i];
        }
    }
    for (size_t i = 0; i < k; i++) {
        /* sendmsg() only reads the bytes: dropping const is safe. */
        iov[i].iov_base = (void *)(uintptr_t)all[i].base;
        iov[i].iov_len = all[i].len;
        total += all[i].len;
    }
    if (total == 0) {
        return true;
    }
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = iov;
    mh.msg_iovlen = k;
    ssize_t r;
    do {
        /* One piece (the common batch): send(), which spares the kernel
         * copying in a msghdr and an iovec (measurable in ping-pong). */
        r = k == 1 ? send(s->fd, all[0].base, all[0].len, MSG_NOSIGNAL)
                   : sendmsg(s->fd, &mh, MSG_NOSIGNAL);
    } while (r < 0 && errno == EINTR);
    /* Emptied only now, after the send: io_queue() below must not gather,
     * and reads the buffer's bytes before anything can be written over them. */
    if (loop->cork_owner == s) {
        loop->cork_len = 0;
    }
    if (r < 0 && !io_would_block(errno)) {
        return false;
    }
    size_t sent = r > 0 ? (size_t)r : 0;
    return sent == total || io_queue(s, all, k, sent);
}

bool io_cork_flush(io_stream *s)
{
    if (s->loop->cork_owner != s || s->loop->cork_len == 0) {
        return true;
    }
    return io_cork_send(s, NULL, 0);
}

void io_cork_release(io_stream *s)
{
    if (s->loop->cork_owner == s) {
        s->loop->cork_owner = NULL;
        s->loop->cork_len = 0;
    }
}

bool io_uncork(io_stream *s, const void *tail, size_t len)
{
    bool gathered = s->loop->cork_owner == s;
    s->cork = false;
    bool ok = true;
    if (s->state == IO_OPEN) {
        /* Not corked any more: io_writev() sends the gathered bytes and
         * the tail now, or queues the tail behind what waits. */
        io_vec v = {tail, len};
        ok = io_writev(s, &v, len > 0 ? 1 : 0);
        if (ok && (!gathered || s->wq_len > 0)) {
            ok = io_flush(s); /* (some of) the batch went to the queue */
        }
    }
    io_cork_release(s);
    io_update(s);
    return ok;
}
