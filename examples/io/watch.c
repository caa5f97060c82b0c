/*
 * fd watches: any descriptor on the loop with read/write interest and one
 * callback, for code that does its own I/O on a socket (a client library
 * such as hiredis, which reads and writes itself and only needs to be told
 * when it can) or on a timerfd.
 *
 * loop.c tells a watch from a stream by the low bit of the epoll tag:
 * streams are malloc'd and watches are aligned structs, so both pointers
 * are even; a watch is registered as its address + 1.
 *
 * Lifetime: an event for a watch may still be waiting later in the batch
 * that removed it. io_watch_del() sets fd to -1 so that event is dropped;
 * the io_watch's memory must stay valid until the batch ends (keep it in
 * static storage or in an owner freed by on_free / after io_loop_run).
 */
#include "io.h"

#include <sys/epoll.h>

static uint32_t interest(const io_watch *w)
{
    return (w->want_read ? EPOLLIN : 0u) | (w->want_write ? EPOLLOUT : 0u);
}

bool io_watch_add(io_loop *loop, io_watch *w, int fd, io_watch_fn fn, void *user)
{
    w->loop = loop;
    w->fd = fd;
    w->fn = fn;
    w->user = user;
    w->want_read = w->want_write = false;
    struct epoll_event ev = {.events = 0, .data.u64 = (uint64_t)(uintptr_t)w + 1};
    if (epoll_ctl(loop->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        w->fd = -1;
        return false;
    }
    return true;
}

void io_watch_set(io_watch *w, bool read, bool write)
{
    if (w->fd < 0 || (w->want_read == read && w->want_write == write)) {
        return;
    }
    w->want_read = read;
    w->want_write = write;
    struct epoll_event ev = {.events = interest(w), .data.u64 = (uint64_t)(uintptr_t)w + 1};
    epoll_ctl(w->loop->ep, EPOLL_CTL_MOD, w->fd, &ev);
}

void io_watch_del(io_watch *w)
{
    if (w->fd >= 0) {
        epoll_ctl(w->loop->ep, EPOLL_CTL_DEL, w->fd, NULL);
        w->fd = -1; /* the caller closes the descriptor (or its library does) */
    }
    w->want_read = w->want_write = false;
}

bool io_watch_tagged(const void *tag)
{
    return ((uintptr_t)tag & 1u) != 0;
}

void io_watch_event(const void *tag, unsigned events)
{
    io_watch *w = (io_watch *)((uintptr_t)tag - 1);
    if (w->fd < 0) {
        return; /* removed earlier in this batch */
    }
    /* Errors and hang-ups go to the reader, which sees them as a failed
     * read (as a stream does); a watch without read interest gets them as
     * writable, so a pending connect() finds out. */
    unsigned ev = events & (EPOLLIN | EPOLLOUT);
    if (events & (EPOLLERR | EPOLLHUP)) {
        ev |= w->want_read ? EPOLLIN : EPOLLOUT;
    }
    w->fn(w, (ev & EPOLLIN ? IO_WATCH_READ : 0u) | (ev & EPOLLOUT ? IO_WATCH_WRITE : 0u));
}
