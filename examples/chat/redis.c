/*
 * A hiredis async adapter for examples/io: each redisAsyncContext gets an
 * io_watch on its socket. hiredis asks for read/write interest through
 * the ev hooks; the loop calls back when the socket is ready and we hand
 * the event to redisAsyncHandleRead/Write, which do the I/O and run the
 * reply callbacks. hiredis 0.14 has no timer hook: connect and command
 * timeouts are the caller's (cluster.c's heartbeat notices a dead link).
 */
#include "redis.h"

#include <hiredis/async.h>
#include <stdlib.h>

struct adapter {
    io_watch w;
    redisAsyncContext *ac;
    int64_t retired_at; /* loop->now when hiredis let go of it */
    struct adapter *next;
};

static void on_ready(io_watch *w, unsigned ready)
{
    struct adapter *a = w->user;
    /* Write first: a pending non-blocking connect completes on
     * writability, and a read handler may free the context (the
     * disconnect path calls cleanup, which clears w->fd). */
    if ((ready & IO_WATCH_WRITE) && w->fd >= 0) {
        redisAsyncHandleWrite(a->ac);
    }
    if ((ready & IO_WATCH_READ) && w->fd >= 0) {
        redisAsyncHandleRead(a->ac);
    }
}

static void add_read(void *p)
{
    struct adapter *a = p;
    io_watch_set(&a->w, true, a->w.want_write);
}

static void del_read(void *p)
{
    struct adapter *a = p;
    io_watch_set(&a->w, false, a->w.want_write);
}

static void add_write(void *p)
{
    struct adapter *a = p;
    io_watch_set(&a->w, a->w.want_read, true);
}

static void del_write(void *p)
{
    struct adapter *a = p;
    io_watch_set(&a->w, a->w.want_read, false);
}

/* hiredis is freeing the context (it closes the socket itself). The
 * adapter is not freed here: an event for it may still be waiting in
 * this batch (io_watch's lifetime rule), so it goes on a list, and is
 * freed by an attach in a later iteration of the loop (or by
 * redis_release at exit). */
static struct adapter *retired;

static void cleanup(void *p)
{
    struct adapter *a = p;
    a->retired_at = a->w.loop->now;
    io_watch_del(&a->w);
    a->ac = NULL;
    a->next = retired;
    retired = a;
}

void redis_release(const io_loop *loop)
{
    for (struct adapter **pp = &retired; *pp != NULL;) {
        struct adapter *a = *pp;
        if (loop == NULL || a->retired_at < loop->now) {
            *pp = a->next;
            free(a);
        } else {
            pp = &a->next;
        }
    }
}

bool redis_attach(redisAsyncContext *ac, io_loop *loop)
{
    redis_release(loop);
    struct adapter *a = calloc(1, sizeof *a);
    if (a == NULL || !io_watch_add(loop, &a->w, ac->c.fd, on_ready, a)) {
        free(a);
        return false;
    }
    a->ac = ac;
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return true;
}
