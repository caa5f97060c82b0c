/*
 * wick chat server example: shared types and the functions each file
 * exports. One process, one epoll loop, no threads. Sockets, TLS, the
 * loop, HTTP parsing and driving wick are examples/io (io.h, ws.h).
 *
 *   main.c      command line, help, the `token` subcommand, start-up
 *   http.c      the HTTP side: static files, routing, the upgrade checks
 *   client.c    client registry, timers, output queues, shutdown
 *   protocol.c  JSON messages: parsing, validation, dispatch (jansson)
 *   rooms.c     rooms, membership, broadcast (encode once)
 *   history.c   the last --history messages of each room, replay on join
 *   bus.c       delivery to "every node" (bus.h); in-process
 *   cluster.c   --redis: the Redis bus, presence, degraded mode
 *   redis.c     hiredis on the examples/io loop (redis.h)
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

#include "../io/ws.h"

#define CHAT_MAX_NAME         50 /* room and user names */
#define CHAT_MAX_ID           64 /* client-chosen message ids */
#define CHAT_MAX_ORIGINS      8
#define CHAT_ROOMS_PER_CLIENT 16
#define CHAT_RATE_GRACE       5  /* over-limit messages answered with an error before closing */
#define CHAT_MAX_ADMINS       16 /* --admin NAME, repeatable */

struct config {
    const char *host;
    const char *port;
    const char *tls_cert, *tls_key; /* both: https and wss only */
    const char *public_dir;
    const char *origins[CHAT_MAX_ORIGINS];
    size_t num_origins;
    bool any_origin;
    uint8_t secret[256];
    size_t secret_len;    /* 0: no auth (users pick a display name) */
    unsigned max_room;    /* members per room */
    uint64_t max_message; /* largest WebSocket message accepted (1009 above) */
    size_t max_payload;   /* largest serialized `payload` member */
    size_t out_cap;       /* write queue per connection before frames wait in q */
    unsigned max_queue;   /* frames queued behind a full write queue */
    unsigned rate_limit;  /* messages per window */
    unsigned rate_window_ms;
    unsigned ping_ms;      /* protocol-level ping interval */
    unsigned handshake_ms; /* TLS + HTTP request / authentication deadline */
    unsigned close_ms;     /* closing-handshake deadline */
    unsigned max_clients;
    int log_level; /* 0 error, 1 info, 2 debug */
    /* permessage-deflate (RFC 7692, docs/chat.md "Compression") */
    bool deflate;          /* negotiate it (--no-deflate: off) */
    size_t deflate_budget; /* arena bytes per connection */
    bool deflate_shared;   /* server_no_context_takeover everywhere; broadcasts
                              compressed once (wick_pmd_prepare) */
    unsigned history;      /* chat messages kept per room (0: none) */
    /* --admin NAME: users allowed to send `broadcast` */
    const char *admins[CHAT_MAX_ADMINS];
    size_t num_admins;
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
    PH_WS,  /* open: the WebSocket handshake is done */
    PH_DEAD /* closed; leaves its rooms and is freed at the end of the batch */
};

struct room;

/* One WebSocket client. The connection itself (socket, TLS, wick_conn,
 * write queue) is examples/io's ws_conn; this is the chat's state. */
struct client {
    ws_conn *ws; /* NULL once closed */
    enum phase phase;
    uint64_t num;
    char id[24];                  /* "c<num>" */
    char name[CHAT_MAX_NAME + 1]; /* empty: none chosen yet */
    char addr[64];
    const char *why; /* why we closed it (the disconnect log line) */
    bool authed;     /* auth mode: token verified */
    bool admin;      /* auth mode: the token carries the admin role */
    bool listed;     /* registered in the cluster's directory (cluster.c) */
    bool bad_token;  /* the upgrade carried an invalid token: close 1008 */
    bool closing;    /* we sent a close frame */
    bool awaiting_pong;
    bool dirty;          /* on the flush list */
    bool drop_slow;      /* queue overflowed: close at the next flush */
    bool deflate_shared; /* takes the shared compressed frames */
    int64_t deadline;    /* authentication deadline (ms, 0 none) */
    int64_t next_ping;
    int64_t rate_start;
    unsigned rate_count;
    struct frame **q; /* ring of max_queue frames waiting for the write queue */
    unsigned q_head, q_len;
    struct room *rooms[CHAT_ROOMS_PER_CLIENT];
    unsigned num_rooms;
    /* lists */
    struct client *next, *prev; /* all clients */
    struct client *hnext;       /* id hash chain */
    struct client *dnext;       /* flush list */
    struct client *fnext;       /* dead list */
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
/* Writes "USER.EXPIRY.HEXSIG" (admin: "USER.EXPIRY.admin.HEXSIG") into
 * out; returns its length or 0. */
size_t auth_make_token(const uint8_t *key, size_t key_len, const char *user, long long expiry,
                       bool admin, char *out, size_t cap);
/* Verifies a token; on success copies the user into user[CHAT_MAX_NAME+1]
 * and sets *admin (may be NULL) when the token carries the admin role. */
bool auth_check_token(const uint8_t *key, size_t key_len, const char *tok, size_t len,
                      long long now_s, char *user, bool *admin);
bool valid_name(const char *s, size_t len);

/* client.c */
extern const ws_callbacks chat_ws_callbacks;
extern io_deflate chat_deflate;
bool chat_start(io_loop *loop);         /* timers, flushing; after ws_listen */
void chat_cleanup(void);                /* after io_loop_free */
struct client *client_new(ws_conn *ws); /* at the upgrade */
struct client *client_find_id(const char *id);
struct client *client_first(void);
void client_close(struct client *c, uint16_t code, const char *reason);
void client_send(struct client *c, struct frame *f);
struct frame *frame_new(const char *json, size_t len);
/* permessage-deflate: chat_deflate, set up at start-up (with the shared
 * compressor for --deflate-shared); false on failure. */
bool deflate_setup(void);
void frame_unref(struct frame *f);

/* http.c */
int http_upgrade(ws_conn *ws, const wick_hs_request *r, wick_hs_accept_opts *opts);
void http_request(ws_conn *ws, const wick_hs_request *r);
extern const wick_header http_headers[2];

/* protocol.c */
void proto_connected(struct client *c);
void proto_message(struct client *c, uint8_t opcode, const uint8_t *data, size_t len);
bool proto_name_taken(const char *name, const struct client *self);
void proto_shutdown_notice(struct client *c);
void proto_user_left(struct room *r, struct client *c, const char *reason);

/* history.c */
/* Keeps the chat message `json` (id "s<seq>") as the newest of room's. */
void history_add(const char *room, unsigned long long seq, const char *json, size_t len);
/* "sN" into *seq. */
bool history_parse_id(const char *s, unsigned long long *seq);
/* Sends c the room's kept messages, oldest first (only those after
 * `since` when has_since); *complete is false when some message after
 * `since` is no longer kept. Returns how many were (or, with c NULL,
 * would be) sent. */
unsigned history_replay(struct client *c, const char *room, bool has_since,
                        unsigned long long since, bool *complete);
void history_cleanup(void);

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
