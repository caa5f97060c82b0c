/*
 * wick chat server example: shared types and the functions each file
 * exports. One process, one epoll loop, no threads.
 *
 *   main.c      command line, help, the `token` subcommand, start-up
 *   loop.c      sockets, epoll, timers, writing, shutdown
 *   http.c      the HTTP side: static files, routing, WebSocket upgrade
 *   client.c    client registry, the wick engine glue, output queues
 *   protocol.c  JSON messages: parsing, validation, dispatch (jansson)
 *   rooms.c     rooms, membership, broadcast (encode once)
 *   auth.c      HMAC-SHA256 tokens (OpenSSL)
 *   log.c       structured log lines
 *
 * See docs/chat.md for the protocol and the limits.
 */
#ifndef CHAT_H
#define CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wick.h>

#define CHAT_MAX_NAME         50            /* room and user names */
#define CHAT_MAX_CARRY        (256 * 1024)  /* unfed input kept per client (see carry) */
#define CHAT_RECV_HEAD        WICK_RECV_MIN /* room before received bytes (see part) */
#define CHAT_MAX_ID           64            /* client-chosen message ids */
#define CHAT_MAX_ORIGINS      8
#define CHAT_ROOMS_PER_CLIENT 16
#define CHAT_RATE_GRACE       5 /* over-limit messages answered with an error before closing */

struct config {
    const char *host;
    int port;
    const char *public_dir;
    const char *origins[CHAT_MAX_ORIGINS];
    size_t num_origins;
    bool any_origin;
    uint8_t secret[256];
    size_t secret_len;    /* 0: no auth (users pick a display name) */
    unsigned max_room;    /* members per room */
    uint64_t max_message; /* largest WebSocket message accepted (1009 above) */
    size_t max_payload;   /* largest serialized `payload` member */
    size_t out_cap;       /* engine output buffer per connection */
    unsigned max_queue;   /* frames queued behind a full output buffer */
    unsigned rate_limit;  /* messages per window */
    unsigned rate_window_ms;
    unsigned ping_ms;      /* protocol-level ping interval */
    unsigned handshake_ms; /* HTTP request / authentication deadline */
    unsigned close_ms;     /* closing-handshake deadline */
    unsigned max_clients;
    int log_level; /* 0 error, 1 info, 2 debug */
    /* permessage-deflate (RFC 7692, docs/chat.md "Compression") */
    bool deflate;          /* negotiate it (--no-deflate: off) */
    size_t deflate_budget; /* arena bytes per connection */
    bool deflate_shared;   /* server_no_context_takeover everywhere; broadcasts
                              compressed once (wick_pmd_prepare) */
};

/* A frame encoded once (wick_prepare) and shared by every recipient;
 * with --deflate-shared also compressed once (zprep, RSV1 set), and the
 * JSON kept for connections that compress with their own context. */
struct frame {
    unsigned refs;
    wick_prepared prep;
    bool has_z;
    wick_prepared zprep;
    const char *json;
    size_t json_len;
    uint8_t data[];
};

enum phase {
    PH_HTTP,      /* reading the request */
    PH_HTTP_SEND, /* sending a plain HTTP response, then closing */
    PH_WS,        /* WebSocket: the engine owns the stream */
    PH_LINGER,    /* our write side is shut down; waiting for the peer's FIN */
    PH_DEAD       /* socket closed, waiting to be freed */
};

struct room;

struct client {
    int fd;
    enum phase phase;
    uint64_t num;
    char id[24];                  /* "c<num>" */
    char name[CHAT_MAX_NAME + 1]; /* empty: none chosen yet */
    char addr[64];
    bool authed;  /* auth mode: token verified */
    bool closing; /* we sent a close frame */
    bool awaiting_pong;
    bool epollout;    /* EPOLLOUT is registered */
    bool dirty;       /* on the flush list */
    bool drop_slow;   /* queue overflowed: close at the next flush */
    int64_t deadline; /* handshake / auth / close deadline (ms, 0 none) */
    int64_t next_ping;
    int64_t rate_start;
    unsigned rate_count;
    /* HTTP phase */
    char *req;
    size_t req_len;
    wick_hs_request *hs;
    /* raw bytes written before the engine's output (HTTP responses, 101) */
    uint8_t *raw;
    size_t raw_len, raw_off;
    /* WebSocket phase */
    wick_conn conn;
    uint8_t *out;            /* out_cap bytes, then the deflate arena */
    wick_pmd_params deflate; /* agreed in the handshake (enabled: on) */
    wick_pmd pmd;            /* per-connection state, when enabled */
    bool deflate_shared;     /* takes the shared compressed frames */
    /* Input the engine left unconsumed: an incomplete frame header or
     * control frame (WICK_NEED_MORE, at most WICK_RECV_MIN bytes, put back
     * in front of the next read), or, while a pong waits for output room
     * (WICK_BLOCKED, rare), the rest of the input, bounded by CHAT_MAX_CARRY. */
    uint8_t part[WICK_RECV_MIN];
    size_t part_len;
    uint8_t *carry;
    size_t carry_len;
    struct frame **q; /* ring of max_queue frames */
    unsigned q_head, q_len;
    struct room *rooms[CHAT_ROOMS_PER_CLIENT];
    unsigned num_rooms;
    /* lists */
    struct client *next, *prev; /* all clients */
    struct client *hnext;       /* id hash chain */
    struct client *dnext;       /* flush list or free list */
};

struct room {
    char name[CHAT_MAX_NAME + 1];
    struct client **members;
    unsigned count, cap;
    struct room *hnext;
};

struct stats {
    unsigned long long accepted, messages, broadcasts, dropped_slow, dropped_ping;
    unsigned clients, ws_clients, rooms;
};

extern struct config cfg;
extern struct stats stats;

/* log.c */
enum { LOG_ERR = 0, LOG_INFO = 1, LOG_DEBUG = 2 };
void log_line(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Escapes s[0..len) for a quoted log value into out[cap]; returns out. */
const char *log_quote(const char *s, size_t len, char *out, size_t cap);
int64_t now_ms(void);  /* CLOCK_MONOTONIC */
int64_t wall_ms(void); /* CLOCK_REALTIME, for timestamps */

/* auth.c */
/* Writes "USER.EXPIRY.HEXSIG" into out; returns its length or 0. */
size_t auth_make_token(const uint8_t *key, size_t key_len, const char *user, long long expiry,
                       char *out, size_t cap);
/* Verifies a token; on success copies the user into user[CHAT_MAX_NAME+1]. */
bool auth_check_token(const uint8_t *key, size_t key_len, const char *tok, size_t len,
                      long long now_s, char *user);
bool valid_name(const char *s, size_t len);

/* loop.c */
int loop_listen(void); /* binds; prints "listening on PORT" */
int loop_run(void);    /* returns the exit status */
void loop_want_write(struct client *c, bool on);
void loop_mark_dirty(struct client *c);
void loop_forget(struct client *c); /* epoll removal; the client is freed after this turn */

/* client.c */
struct client *client_new(int fd, const char *addr);
void client_free(struct client *c);
struct client *client_find_id(const char *id);
struct client *client_first(void);
bool client_start_ws(struct client *c, const uint8_t *rest, size_t rest_len);
/* buf has WICK_RECV_MIN bytes of room in front of it (CHAT_RECV_HEAD). */
void client_on_readable(struct client *c, uint8_t *buf, size_t len);
void client_flush(struct client *c);
void client_close(struct client *c, uint16_t code, const char *reason);
void client_kill(struct client *c, const char *why); /* drop the TCP connection now */
void client_linger(struct client *c);                /* shut down writing, wait for FIN */
void client_send(struct client *c, struct frame *f);
void client_tick(struct client *c, int64_t now);
struct frame *frame_new(const char *json, size_t len);
/* permessage-deflate: the per-connection config, set up at start-up (with
 * the shared compressor for --deflate-shared); false on failure. */
bool deflate_setup(void);
extern wick_pmd_config deflate_cfg;
void frame_unref(struct frame *f);

/* http.c */
void http_on_readable(struct client *c, const uint8_t *buf, size_t len);
void http_queue_raw(struct client *c, const void *data, size_t len);

/* protocol.c */
void proto_connected(struct client *c);
void proto_message(struct client *c, uint8_t opcode, const uint8_t *data, size_t len);
bool proto_name_taken(const char *name, const struct client *self);
void proto_shutdown_notice(struct client *c);
void proto_user_left(struct room *r, struct client *c, const char *reason);

/* rooms.c */
struct room *room_find(const char *name);
/* Returns 0, or -1 when full, -2 when the client is in too many rooms,
 * -3 when already a member. */
int room_join(struct room **out, const char *name, struct client *c);
bool room_leave(struct room *r, struct client *c, const char *reason);
void room_leave_all(struct client *c, const char *reason);
bool room_has(const struct room *r, const struct client *c);
/* Sends one encoded message to every member except `except`. */
void room_broadcast(struct room *r, struct frame *f, const struct client *except);

#endif
