/*
 * ws: a WebSocket connection on an io_stream, both roles. It does the
 * opening handshake (wick_hs_*), then feeds wick_conn and moves its output
 * to the stream; the application sees whole messages and sends whole
 * messages. See ws.c for how input, output and closing are handled.
 */
#ifndef EXAMPLES_WS_H
#define EXAMPLES_WS_H

#include "deflate.h"
#include "io.h"

typedef struct ws_conn ws_conn;

/* The application's callbacks. Every member may be NULL. */
typedef struct ws_callbacks {
    /* Server: an upgrade request. May fill opts (subprotocol, headers).
     * Returns 0 to accept, or an HTTP status (>= 400) to refuse. */
    int (*on_upgrade)(ws_conn *c, const wick_hs_request *r, wick_hs_accept_opts *opts);
    /* Server: a request that is not an upgrade; answer with
     * ws_http_answer() (unanswered: 404). */
    void (*on_http)(ws_conn *c, const wick_hs_request *r);
    void (*on_open)(ws_conn *c); /* the WebSocket is open */
    /* A whole message. Returns 0, or -1 to fail the connection (1011). */
    int (*on_message)(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len);
    int (*on_pong)(ws_conn *c, const uint8_t *data, size_t len);
    /* The connection is gone (clean: the closing handshake completed).
     * The last call for c; its memory is freed after the current batch. */
    void (*on_close)(ws_conn *c, bool clean);
    /* The stream's write queue emptied: room to queue more (ws_queue*). */
    void (*on_drained)(ws_conn *c);
    /* The loop is stopping (SIGTERM): say goodbye, ws_close() with your own
     * code and reason; otherwise ws.c closes with 1001. */
    void (*on_stop)(ws_conn *c);
    /* ws.c is closing c for one of ws_config's limits: code 1013 (the
     * reassembly budget is spent) or 1008 (a message was not finished
     * within msg_deadline_ms). For logs and counters. */
    void (*on_limit)(ws_conn *c, uint16_t code, const char *what);
} ws_callbacks;

/* Reassembly memory shared by many connections (ws_config.reasm): every
 * byte wick takes through its allocator hook for an incomplete message is
 * counted here, and an allocation that would take `used` over `cap` is
 * refused: that connection is closed with 1013 (Try Again Later). */
typedef struct ws_budget {
    size_t cap;  /* 0: count only */
    size_t used; /* now */
    size_t peak;
    unsigned long long refused; /* connections closed with 1013 */
    unsigned long long expired; /* connections closed for msg_deadline_ms */
} ws_budget;

typedef struct ws_config {
    const ws_callbacks *cb;
    const io_deflate *deflate;       /* NULL: no permessage-deflate */
    int64_t hs_timeout_ms;           /* handshake (TCP connect and TLS included) */
    int64_t idle_ms;                 /* server: close after this long without input; 0: never */
    uint64_t max_message;            /* 0: wick's default */
    size_t high_water;               /* stop reading while this much output waits; 0: 256 KiB */
    int64_t close_ms;                /* closing handshake and the FIN after it; 0: WS_CLOSE_WAIT */
    const wick_header *http_headers; /* extra headers on ws_http_answer() responses */
    size_t num_http_headers;
    ws_budget *reasm;        /* NULL: reassembly is neither counted nor capped */
    int64_t msg_deadline_ms; /* a message that needs reassembly memory must be
                                complete this long after it took it, else close
                                1008; 0: no deadline */
} ws_config;

#define WS_OUT_SIZE   4096u /* wick's own output buffer (pongs, close, compressed frames) */
#define WS_CLOSE_WAIT 5000  /* ms for the closing handshake and the FIN after it */

typedef struct ws_hs ws_hs; /* handshake state, freed once open */

struct ws_conn {
    io_stream *s;
    const ws_config *cfg;
    void *user; /* the application's */
    bool open;  /* the handshake is done and conn is initialized */
    bool client;
    bool told;    /* on_close was called */
    bool feeding; /* inside wick_conn_recv(): drive() is left to the caller */
    ws_hs *hs;
    wick_conn conn;
    io_deflate_conn dc;
    uint8_t *stash; /* input not fed yet (after a pause), malloc'd */
    size_t stash_off, stash_len;
    wick_allocator alloc; /* wick's reassembly allocator, counting into cfg->reasm */
    size_t held;          /* reassembly bytes this connection holds */
    int64_t msg_since;    /* loop time it took them (0: holds none) */
    size_t carry_len;
    uint8_t carry[WICK_RECV_MIN]; /* an incomplete frame header or control frame */
    uint8_t out[WS_OUT_SIZE];
};

bool ws_listen(io_loop *loop, const char *host, const char *port, io_tls_ctx *tls,
               const ws_config *cfg);
ws_conn *ws_connect(io_loop *loop, const io_url *u, io_tls_ctx *tls, const ws_config *cfg,
                    void *user);
/* Sends a whole message as one frame (fragmented only when compressed
 * and larger than WS_OUT_SIZE). Returns 0, or -1 when the connection is
 * closing or failed. */
int ws_send(ws_conn *c, uint8_t opcode, const void *data, size_t len);
/* Sends one frame of a message (opcode TEXT/BINARY first, then CONT). */
int ws_send_part(ws_conn *c, uint8_t opcode, const void *data, size_t len, bool fin);
/* Server: sends a frame encoded once for many connections (wick_prepare,
 * wick_pmd_prepare) after wick's own output; gathered when c is in a
 * batch (its own on_message), else written at once when nothing waits,
 * else queued. Returns 0, or -1 (closing, or a socket error: the stream
 * is closed, on_close already called). */
int ws_send_prepared(ws_conn *c, const wick_prepared *p);
/* Writes wick's own output (after wick_conn_ping() and the like) and what
 * is queued, without reading. */
void ws_flush(ws_conn *c);
int ws_ping(ws_conn *c, const void *data, size_t len);
void ws_close(ws_conn *c, uint16_t code, const char *reason);
/* Server, from on_http: answers the request and closes. */
void ws_http_answer(ws_conn *c, int status, const char *content_type, const void *body, size_t len);

#endif
