/*
 * io: the small I/O layer the examples share (not part of wick: the
 * library stays sans-I/O; this is one way to drive it, to copy and adapt).
 *
 *   loop.c    epoll loop, per-stream deadlines, SIGINT/SIGTERM, deferred frees
 *   stream.c  non-blocking socket (+ optional TLS), write queue, lingering close
 *   cork.c    the loop's cork buffer: a batch's output gathered, one writev()
 *   tls.c     OpenSSL contexts and the non-blocking handshake
 *   net.c     listen, accept, non-blocking connect, ws:// and wss:// URLs
 *   peer.c    connections per peer address (io_loop.max_per_ip)
 *   watch.c   any other descriptor on the loop (fd watches: hiredis, timerfd)
 *   ws.c      a WebSocket on a stream: both opening handshakes, feeding
 *             wick_conn, one message one frame, backpressure, closing
 *   deflate.c permessage-deflate (RFC 7692): the --deflate-* options and
 *             the per-connection setup
 *
 * Ownership rule that makes use-after-free impossible by construction:
 * io_close() only marks a stream dead (and closes its socket); the stream
 * and its owner's state are freed by the loop after the current batch of
 * epoll events, so an event later in the same batch, or a caller up the
 * stack, still points at valid memory and sees a dead stream.
 */
#ifndef EXAMPLES_IO_H
#define EXAMPLES_IO_H

#include <wick.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sockaddr;

typedef struct ssl_ctx_st io_tls_ctx; /* OpenSSL's SSL_CTX */
typedef struct io_loop io_loop;
typedef struct io_stream io_stream;

/* What a stream tells its owner. Every member may be NULL. */
typedef struct io_stream_cb {
    void (*on_open)(io_stream *s);     /* connected, TLS handshake done */
    void (*on_readable)(io_stream *s); /* io_read() has something (or EOF) */
    void (*on_drained)(io_stream *s);  /* the write queue is empty again */
    void (*on_timeout)(io_stream *s);  /* the deadline passed */
    void (*on_stop)(io_stream *s);     /* the loop is stopping (SIGTERM) */
    void (*on_close)(io_stream *s);    /* closed; no more calls but on_free */
    void (*on_free)(io_stream *s);     /* after the batch: free the owner's state */
} io_stream_cb;

enum io_state {
    IO_CONNECTING, /* non-blocking connect() in progress */
    IO_HANDSHAKE,  /* TLS handshake in progress */
    IO_OPEN,
    IO_LINGER, /* our side shut down, discarding input until the peer's FIN */
    IO_DEAD    /* closed; freed after the current batch */
};

struct io_stream {
    io_loop *loop;
    const io_stream_cb *cb;
    void *user;
    int fd;
    enum io_state state;
    bool reading;    /* the owner wants on_readable */
    bool tls_rd;     /* TLS needs the socket readable to go on */
    bool tls_wr;     /* TLS needs the socket writable to go on */
    bool is_server;  /* accepted (TLS: server side) */
    bool cork;       /* io_cork()..io_uncork(): writes are gathered, sent once at the end */
    bool pipe;       /* not a socket (stdin): read() instead of recv() */
    bool resv_cork;  /* the last io_reserve() gave room in the cork buffer */
    bool rd_empty;   /* the last io_read() left the socket empty (see io_read) */
    void *ssl;       /* OpenSSL's SSL, or NULL for plain TCP */
    unsigned events; /* epoll interest registered */
    int64_t deadline;
    uint8_t peer_len;  /* accepted: the peer's address key (peer.c), 4 or 8 bytes */
    bool peer_counted; /* counted against max_per_ip */
    uint8_t peer[16];
    uint8_t *wq; /* write queue: bytes the socket did not take yet */
    size_t wq_off, wq_len, wq_cap;
    io_stream *next; /* the loop's list (dead ones too, until freed) */
};

struct io_loop {
    int ep, sfd, lfd;
    io_stream *streams;
    size_t live;      /* streams not dead */
    size_t dead;      /* dead streams not freed yet (reap()) */
    int64_t now;      /* CLOCK_MONOTONIC ms, read once per iteration */
    int64_t next_due; /* earliest deadline; 0: none */
    int64_t stop_at;  /* stopping: give up on the remaining streams then */
    bool stopping, quit, verbose;
    const char *name; /* log prefix */
    uint8_t *rbuf;    /* one receive buffer for every stream */
    size_t rbuf_cap;
    uint8_t *cork;         /* one cork buffer for every stream (cork.c), IO_CORK_SIZE */
    size_t cork_len;       /* bytes gathered in it by cork_owner */
    io_stream *cork_owner; /* the corked stream using it; NULL: free */
    io_tls_ctx *accept_tls;
    void (*on_accept)(io_loop *loop, io_stream *s);
    const io_stream_cb *accept_cb;
    const void *accept_ud; /* for on_accept (ws.c: the server's ws_config) */
    size_t max_live;       /* accept: close new connections beyond this many; 0: no limit */
    int spare_fd;          /* kept free to shed a connection when out of descriptors */
    /* accept: close new connections from an address (IPv4, IPv6 /64) that
     * has this many live ones; 0: no limit. Refused ones get
     * per_ip_reply (best effort, one send()) before the close. */
    size_t max_per_ip;
    const char *per_ip_reply;
    unsigned long long per_ip_refused;
    struct io_peer **peers; /* peer.c */
    uint64_t peer_seed;
    /* Optional application hooks (io_loop_every): after every batch of
     * events and deadlines, before the batch's dead streams are freed;
     * and every tick_ms. */
    void (*on_batch)(io_loop *loop);
    void (*on_tick)(io_loop *loop);
    int64_t tick_ms, next_tick;
};

#define IO_RBUF_SIZE   (64u * 1024u)
#define IO_CORK_SIZE   (64u * 1024u)
#define IO_VEC_MAX     4 /* pieces of one io_writev() */
#define IO_LINGER_MS   2000
#define IO_SHUTDOWN_MS 2000

/* loop.c */
bool io_loop_init(io_loop *loop, const char *name);
void io_loop_run(io_loop *loop);
void io_loop_stop(io_loop *loop); /* as on SIGTERM: stop accepting, on_stop to each stream */
void io_loop_free(io_loop *loop);
void io_log(const io_loop *loop, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void io_set_deadline(io_stream *s, int64_t ms); /* ms from now; 0: none */
void io_update(io_stream *s);                   /* recompute the epoll interest */
io_stream *io_stream_new(io_loop *loop, int fd, const io_stream_cb *cb, void *user);
bool io_loop_watch_listener(io_loop *loop, int fd);
void io_loop_every(io_loop *loop, int64_t tick_ms, void (*on_tick)(io_loop *loop));

/* stream.c */
typedef struct io_vec {
    const void *base;
    size_t len;
} io_vec;
ssize_t io_read(io_stream *s, void *buf, size_t cap); /* >0, 0 would block, -1 EOF/error */
/* Writes after what waits: gathered while corked, else to the socket at
 * once; what it does not take is queued. false: socket error or closed. */
bool io_write(io_stream *s, const void *data, size_t len);
bool io_writev(io_stream *s, const io_vec *v, size_t n); /* n <= IO_VEC_MAX pieces */
uint8_t *io_reserve(io_stream *s, size_t len);           /* room after what waits; then io_commit */
void io_commit(io_stream *s, size_t len);
bool io_queue(io_stream *s, const io_vec *v, size_t n, size_t skip); /* into the write queue */
bool io_flush(io_stream *s);
size_t io_queued(const io_stream *s); /* written but not yet taken by the socket */
bool io_would_block(int err);
void io_linger(io_stream *s); /* send what is queued, shut down, wait for FIN, close */
void io_close(io_stream *s);
void io_stream_event(io_stream *s, unsigned events);

/* cork.c: a batch of writes (ws.c: the answers to one read) */
void io_cork(io_stream *s);
/* Ends the batch: the gathered bytes, then tail[0..len) (the owner's own
 * buffer, e.g. wick's output window: sent from there, copied only if the
 * socket does not take it), with one writev(). false: socket error. */
bool io_uncork(io_stream *s, const void *tail, size_t len);
/* Room to gather len bytes (then io_commit), or NULL. */
uint8_t *io_cork_room(io_stream *s, size_t len);
bool io_cork_send(io_stream *s, const io_vec *v, size_t n); /* gathered + v, now */
bool io_cork_flush(io_stream *s);                           /* the gathered bytes, now */
void io_cork_release(io_stream *s);

/* tls.c */
io_tls_ctx *io_tls_server(const char *cert, const char *key);
io_tls_ctx *io_tls_client(const char *ca, bool insecure);
void io_tls_free_ctx(io_tls_ctx *ctx);
bool io_tls_start(io_stream *s, io_tls_ctx *ctx, const char *sni);
int io_tls_handshake(io_stream *s); /* 1 done, 0 in progress, -1 failed */
ssize_t io_tls_read(io_stream *s, void *buf, size_t cap);
ssize_t io_tls_write(io_stream *s, const void *buf, size_t len);
void io_tls_shutdown(io_stream *s);
void io_tls_free(io_stream *s);
void io_tls_log_errors(const io_loop *loop, const char *what);

/* net.c */
typedef struct io_url {
    bool tls;
    char host[256];
    char port[8];
    char host_hdr[272]; /* the Host header value */
    char target[1024];  /* request-target, "/" when none */
} io_url;
bool io_url_parse(const char *url, io_url *u);
bool io_listen(io_loop *loop, const char *host, const char *port, io_tls_ctx *tls,
               const io_stream_cb *cb, void (*on_accept)(io_loop *loop, io_stream *s));
void io_accept_all(io_loop *loop);
io_stream *io_connect(io_loop *loop, const io_url *u, io_tls_ctx *tls, const io_stream_cb *cb,
                      void *user);

/* peer.c */
/* The address key of sa (IPv4: 4 bytes; IPv6: its /64, 8 bytes; else 0). */
void io_peer_key(const struct sockaddr *sa, uint8_t out[16], uint8_t *len);
/* Counts s against loop->max_per_ip; false: over it (or out of memory). */
bool io_peer_admit(io_loop *loop, io_stream *s, const struct sockaddr *sa);
void io_peer_release(io_stream *s); /* io_close() */
void io_peer_free(io_loop *loop);   /* io_loop_free() */

/* watch.c: a descriptor the owner reads and writes itself; fn is called
 * with IO_WATCH_READ and/or IO_WATCH_WRITE as it becomes ready (errors and
 * hang-ups count as readable). The io_watch must stay valid until the end
 * of the batch in which it is removed (see watch.c). */
typedef struct io_watch io_watch;
typedef void (*io_watch_fn)(io_watch *w, unsigned ready);
struct io_watch {
    io_loop *loop;
    int fd; /* -1: not registered */
    bool want_read, want_write;
    io_watch_fn fn;
    void *user;
};
#define IO_WATCH_READ  1u
#define IO_WATCH_WRITE 2u
bool io_watch_add(io_loop *loop, io_watch *w, int fd, io_watch_fn fn, void *user);
void io_watch_set(io_watch *w, bool read, bool write); /* the interest */
void io_watch_del(io_watch *w);                        /* does not close fd */
bool io_watch_tagged(const void *tag);                 /* loop.c: a watch's epoll tag? */
void io_watch_event(const void *tag, unsigned events);

/* Small helpers shared by the examples' command lines. */
bool io_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
int64_t io_parse_seconds(const char *s); /* ms, or -1 */
int64_t io_now_ms(void);

#endif
