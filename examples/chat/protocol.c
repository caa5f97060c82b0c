/*
 * The chat protocol: JSON text messages (jansson), validated and
 * dispatched by type. Every message has "id", "type", "payload" (an
 * object) and "timestamp" (ms since the Unix epoch), and where they apply
 * "from", "to" and "room". docs/chat.md has the full table.
 *
 * Client to server: auth, resume, join, leave, chat, private, typing,
 * read, offer, answer, ice_candidate, ping, pong, broadcast (admins).
 * Server to client: connected, system, user_joined, user_left, ack,
 * error, pong, read (to the author of the message read), and the relayed
 * chat/private/typing/offer/answer/ice_candidate (with "from" and
 * "from_name" set by the server: a client cannot speak for somebody else).
 *
 * Every chat and private message is answered with an ack or an error
 * naming its id. Read receipts, typing and pong are housekeeping:
 * they never count against the rate limit (they have their own small
 * budget, over which they are dropped silently). Before any JSON is
 * parsed, a message is bounded in bytes (per message and per second) and
 * in nesting depth and members, so a hostile message costs a linear scan
 * and nothing more.
 *
 * Outgoing messages are encoded once into a shared frame (client.c) and,
 * for rooms, queued to every member from that one frame (rooms.c).
 */
#include "bus.h"
#include "chat.h"
#include "limits.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long next_msg_id = 1;

/* === Bounds (docs/chat.md "Limits and abuse") === */

#define MAX_DEPTH       16   /* nesting of objects and arrays in a message */
#define MAX_MEMBERS     1024 /* object members plus array elements in a message */
#define HOUSEKEEPING    30   /* read/typing/pong per connection per window */
#define HOUSEKEEPING_MS 10000
#define RECENT          4096 /* chat messages remembered for read receipts */
#define SESS_BUCKETS    1024u

/* The largest message worth parsing: a payload at --max-payload, written
 * with escapes or whitespace, plus the envelope. */
static size_t max_json(void)
{
    return 2 * cfg.max_payload + 4096;
}

/* === Per-connection protocol state ===
 * Kept here, by client number, so the protocol's bookkeeping stays in this
 * file: the resume secret, the work and housekeeping budgets. Created in
 * proto_connected, freed by proto_forget when the connection leaves its
 * rooms for good (every disconnect path goes through room_leave_all). */
struct sess {
    uint64_t num;
    struct sess *next;
    char secret[33]; /* resume secret, hex */
    bool resumed;    /* one resume per connection */
    int64_t work_start;
    size_t work_bytes;
    int64_t hk_start;
    unsigned hk_count;
};

static struct sess *sessions[SESS_BUCKETS];

static struct sess *sess_find(uint64_t num)
{
    for (struct sess *s = sessions[num % SESS_BUCKETS]; s != NULL; s = s->next) {
        if (s->num == num) {
            return s;
        }
    }
    return NULL;
}

static struct sess *sess_get(const struct client *c)
{
    struct sess *s = sess_find(c->num);
    if (s != NULL) {
        return s;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->num = c->num;
    uint8_t raw[16];
    if (RAND_bytes(raw, sizeof raw) == 1) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < sizeof raw; i++) {
            s->secret[2 * i] = digits[raw[i] >> 4];
            s->secret[2 * i + 1] = digits[raw[i] & 15];
        }
    } /* else: empty secret, resume disabled for this connection */
    s->next = sessions[c->num % SESS_BUCKETS];
    sessions[c->num % SESS_BUCKETS] = s;
    return s;
}

void proto_forget(struct client *c);
void proto_forget(struct client *c)
{
    cluster_unlist(c);
    for (struct sess **pp = &sessions[c->num % SESS_BUCKETS]; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->num == c->num) {
            struct sess *s = *pp;
            *pp = s->next;
            free(s);
            return;
        }
    }
}

/* Recent room messages by server id, for routing read receipts to the
 * author only (one delivery per receipt, whatever the room size). */
static struct {
    unsigned long long seq;
    uint64_t author;
    const struct room *room;
} recent[RECENT];

/* === Building and sending === */

static json_t *msg_new(const char *type)
{
    char id[32];
    snprintf(id, sizeof id, "s%llu", next_msg_id++);
    json_t *m = json_object();
    json_object_set_new(m, "id", json_string(id));
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "timestamp", json_integer((json_int_t)wall_ms()));
    return m;
}

static void set_str(json_t *obj, const char *key, const char *val)
{
    if (val != NULL && val[0] != '\0') {
        json_object_set_new(obj, key, json_string(val));
    }
}

/* Encodes and releases m. */
static struct frame *encode(json_t *m)
{
    if (json_object_get(m, "payload") == NULL) {
        json_object_set_new(m, "payload", json_object());
    }
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (s == NULL) {
        return NULL;
    }
    size_t len = strlen(s);
    struct frame *f = NULL;
    if (len + 10 <= cfg.out_cap) {
        f = frame_new(s, len);
    } else {
        log_line(LOG_ERR, "message_too_large", "len=%zu", len);
    }
    free(s);
    return f;
}

static void send_msg(struct client *c, json_t *m)
{
    struct frame *f = encode(m);
    client_send(c, f);
    frame_unref(f);
}

static void send_error(struct client *c, const char *code, const char *message, const char *ref)
{
    json_t *m = msg_new("error");
    json_t *p = json_object();
    json_object_set_new(p, "code", json_string(code));
    json_object_set_new(p, "message", json_string(message));
    set_str(p, "ref", ref);
    json_object_set_new(m, "payload", p);
    log_line(LOG_DEBUG, "error_sent", "id=%s code=%s", c->id, code);
    send_msg(c, m);
}

static json_t *member_obj(const struct client *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(m->id));
    json_object_set_new(o, "name", json_string(m->name[0] ? m->name : m->id));
    return o;
}

static void send_system(struct client *c, const char *event, const char *room, json_t *payload)
{
    json_t *m = msg_new("system");
    if (payload == NULL) {
        payload = json_object();
    }
    json_object_set_new(payload, "event", json_string(event));
    set_str(m, "room", room);
    json_object_set_new(m, "payload", payload);
    send_msg(c, m);
}

void proto_connected(struct client *c)
{
    json_t *m = msg_new("connected");
    json_t *p = json_object();
    json_object_set_new(p, "id", json_string(c->id));
    struct sess *s = sess_get(c);
    if (s != NULL && s->secret[0] != '\0') {
        char tok[64];
        snprintf(tok, sizeof tok, "%s.%s", c->id, s->secret);
        json_object_set_new(p, "resume", json_string(tok));
    }
    json_object_set_new(p, "auth_required", json_boolean(cfg.secret_len > 0 && !c->authed));
    if (c->authed) {
        json_object_set_new(p, "user", json_string(c->name));
    }
    json_t *lim = json_object();
    json_object_set_new(lim, "max_message", json_integer((json_int_t)cfg.max_message));
    json_object_set_new(lim, "max_payload", json_integer((json_int_t)cfg.max_payload));
    json_object_set_new(lim, "max_room", json_integer(cfg.max_room));
    json_object_set_new(lim, "rate_limit", json_integer(cfg.rate_limit));
    json_object_set_new(lim, "rate_window_ms", json_integer(cfg.rate_window_ms));
    json_object_set_new(lim, "max_json", json_integer((json_int_t)max_json()));
    json_object_set_new(lim, "max_depth", json_integer(MAX_DEPTH));
    json_object_set_new(lim, "max_members", json_integer(MAX_MEMBERS));
    json_object_set_new(p, "limits", lim);
    json_object_set_new(m, "payload", p);
    json_object_set_new(m, "to", json_string(c->id));
    send_msg(c, m);
    cluster_list(c);
}

void proto_shutdown_notice(struct client *c)
{
    send_system(c, "shutdown", NULL, NULL);
}

void proto_user_left(struct room *r, struct client *c, const char *reason)
{
    json_t *m = msg_new("user_left");
    json_object_set_new(m, "room", json_string(r->name));
    json_object_set_new(m, "from", json_string(c->id));
    json_t *p = member_obj(c);
    json_object_set_new(p, "reason", json_string(reason));
    json_object_set_new(m, "payload", p);
    struct frame *f = encode(m);
    bus_leave(r, f, c);
    frame_unref(f);
}

void proto_service_notice(struct client *c, const char *event)
{
    send_system(c, event, NULL, NULL);
}

void proto_set_id_base(unsigned long long base)
{
    next_msg_id = base + 1;
}

void proto_joined(struct client *c, struct room *r, json_t *members, unsigned count, bool complete)
{
    if (members == NULL) {
        members = json_array();
        for (unsigned i = 0; i < r->count; i++) {
            json_array_append_new(members, member_obj(r->members[i]));
        }
    }
    json_t *p = json_object();
    json_object_set_new(p, "members", members);
    json_object_set_new(p, "you", member_obj(c));
    /* The kept messages follow "joined" (history.c). */
    json_t *hp = json_object();
    json_object_set_new(hp, "count", json_integer(count));
    json_object_set_new(hp, "complete", json_boolean(complete));
    json_object_set_new(p, "history", hp);
    send_system(c, "joined", r->name, p);
}

bool proto_name_taken(const char *name, const struct client *self)
{
    for (struct client *o = client_first(); o != NULL; o = o->next) {
        if (o != self && o->phase == PH_WS && !o->closing && strcmp(o->name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* === Incoming === */

struct msg {
    const char *type;
    const char *id;
    const char *room; /* validated name or NULL */
    const char *to;   /* validated name/id or NULL */
    json_t *payload;  /* always an object */
};

/* True for "c" followed by digits: client ids, which `to` resolves first. */
static bool looks_like_id(const char *n)
{
    if (n[0] != 'c' || n[1] == '\0') {
        return false;
    }
    for (const char *p = n + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
    }
    return true;
}

/* Chooses a display name (no-auth mode). Returns false after sending an error. */
static bool set_name(struct client *c, const struct msg *m, json_t *name)
{
    if (name == NULL) {
        return true;
    }
    if (cfg.secret_len > 0) {
        if (json_is_string(name) && strcmp(json_string_value(name), c->name) == 0) {
            return true;
        }
        send_error(c, "invalid_field", "the user name comes from the auth token", m->id);
        return false;
    }
    if (!json_is_string(name) || !valid_name(json_string_value(name), json_string_length(name))) {
        send_error(c, "invalid_field", "payload.name: 1-50 letters, digits, '-' or '_'", m->id);
        return false;
    }
    const char *n = json_string_value(name);
    if (strcmp(n, c->name) == 0) {
        return true;
    }
    if (c->num_rooms > 0) {
        send_error(c, "invalid_field", "payload.name: leave your rooms before renaming", m->id);
        return false;
    }
    if (looks_like_id(n)) {
        send_error(c, "invalid_field", "payload.name: c followed by digits is a client id", m->id);
        return false;
    }
    if (proto_name_taken(n, c)) {
        send_error(c, "name_taken", "that name is in use", m->id);
        return false;
    }
    char old[CHAT_MAX_NAME + 1];
    strcpy(old, c->name);
    strcpy(c->name, n);
    cluster_rename(c, old);
    return true;
}

static void do_auth(struct client *c, const struct msg *m)
{
    if (cfg.secret_len == 0) {
        json_t *name = json_object_get(m->payload, "name");
        if (name == NULL) {
            send_error(c, "invalid_field", "payload.name is required", m->id);
            return;
        }
        if (set_name(c, m, name)) {
            json_t *p = json_object();
            json_object_set_new(p, "user", json_string(c->name));
            send_system(c, "authenticated", NULL, p);
        }
        return;
    }
    json_t *tok = json_object_get(m->payload, "token");
    if (c->authed) {
        send_error(c, "invalid_field", "already authenticated", m->id);
        return;
    }
    char user[CHAT_MAX_NAME + 1];
    if (!json_is_string(tok) ||
        !auth_check_token(cfg.secret, cfg.secret_len, json_string_value(tok),
                          json_string_length(tok), (long long)time(NULL), user, &c->admin)) {
        log_line(LOG_INFO, "auth_failed", "id=%s source=message", c->id);
        client_close(c, WICK_CLOSE_POLICY, "Invalid token");
        return;
    }
    c->authed = true;
    c->deadline = 0;
    char old[CHAT_MAX_NAME + 1];
    strcpy(old, c->name);
    strcpy(c->name, user);
    cluster_rename(c, old);
    log_line(LOG_INFO, "auth", "id=%s user=%s", c->id, user);
    json_t *p = json_object();
    json_object_set_new(p, "user", json_string(c->name));
    send_system(c, "authenticated", NULL, p);
}

static void do_join(struct client *c, const struct msg *m)
{
    if (m->room == NULL) {
        send_error(c, "invalid_field", "room is required", m->id);
        return;
    }
    if (!set_name(c, m, json_object_get(m->payload, "name"))) {
        return;
    }
    /* history.c: "since" is the last message id the client saw here. */
    json_t *since = json_object_get(m->payload, "since");
    unsigned long long after = 0;
    if (since != NULL &&
        (!json_is_string(since) || !history_parse_id(json_string_value(since), &after))) {
        send_error(c, "invalid_field", "payload.since: a server message id (s<number>)", m->id);
        return;
    }
    struct room *r = NULL;
    int rc = room_join(&r, m->room, c);
    if (rc == -1) {
        send_error(c, "room_full", "the room is full", m->id);
        return;
    }
    if (rc == -2) {
        send_error(c, "too_many_rooms", "too many rooms joined", m->id);
        return;
    }
    if (rc == -3) {
        send_error(c, "already_in_room", "already in that room", m->id);
        return;
    }
    log_line(LOG_INFO, "join", "id=%s room=%s members=%u", c->id, r->name, r->count);
    json_t *j = msg_new("user_joined");
    json_object_set_new(j, "room", json_string(r->name));
    json_object_set_new(j, "from", json_string(c->id));
    json_object_set_new(j, "payload", member_obj(c));
    struct frame *f = encode(j);
    /* "joined", user_joined to the others, then the history (bus.c). */
    bus_join(c, r, f, since != NULL ? json_string_value(since) : NULL, after);
    frame_unref(f);
}

/* The room named in m, if c is in it; otherwise sends an error. */
static struct room *member_room(struct client *c, const struct msg *m)
{
    if (m->room == NULL) {
        send_error(c, "invalid_field", "room is required", m->id);
        return NULL;
    }
    struct room *r = room_find(m->room);
    if (r == NULL || !room_has(r, c)) {
        send_error(c, "not_in_room", "you are not in that room", m->id);
        return NULL;
    }
    return r;
}

static void do_leave(struct client *c, const struct msg *m)
{
    struct room *r = member_room(c, m);
    if (r == NULL) {
        return;
    }
    char name[CHAT_MAX_NAME + 1];
    strcpy(name, r->name);
    room_leave(r, c, "leave");
    send_system(c, "left", name, NULL);
}

/* A relayed copy of m: the client's payload, with from/from_name set by us. */
static json_t *relay_of(const struct client *c, const struct msg *m)
{
    json_t *out = msg_new(m->type);
    json_object_set_new(out, "from", json_string(c->id));
    json_object_set_new(out, "from_name", json_string(c->name[0] ? c->name : c->id));
    json_object_set(out, "payload", m->payload);
    set_str(out, "room", m->room);
    set_str(out, "to", m->to);
    return out;
}

static void send_ack(struct client *c, const char *ref, const char *msg_id)
{
    json_t *m = msg_new("ack");
    json_t *p = json_object();
    json_object_set_new(p, "ref", json_string(ref));
    set_str(p, "msg", msg_id);
    json_object_set_new(m, "payload", p);
    send_msg(c, m);
}

static bool need_text(struct client *c, const struct msg *m)
{
    json_t *text = json_object_get(m->payload, "text");
    if (!json_is_string(text) || json_string_length(text) == 0) {
        send_error(c, "invalid_field", "payload.text must be a non-empty string", m->id);
        return false;
    }
    return true;
}

/* chat (is_chat: text required, remembered for receipts, acknowledged)
 * and typing: relayed to the room's other members. */
static void do_room_relay(struct client *c, const struct msg *m, bool is_chat)
{
    struct room *r = member_room(c, m);
    if (r == NULL || (is_chat && !need_text(c, m))) {
        return;
    }
    json_t *out = relay_of(c, m);
    unsigned long long seq = next_msg_id - 1; /* the id msg_new just gave out */
    struct frame *f = encode(out);
    if (f == NULL) {
        send_error(c, "payload_too_large", "the message does not fit the output buffer", m->id);
        return;
    }
    bus_room(r, f, c, is_chat ? seq : 0); /* kept in history when a chat */
    frame_unref(f);
    if (is_chat) {
        recent[seq % RECENT].seq = seq;
        recent[seq % RECENT].author = c->num;
        recent[seq % RECENT].room = r;
        char sid[32];
        snprintf(sid, sizeof sid, "s%llu", seq);
        send_ack(c, m->id, sid);
    }
}

/* The receipt the author gets: "c read up to up_to in r". */
static json_t *read_of(const struct client *c, const struct room *r, const char *up_to)
{
    json_t *out = msg_new("read");
    json_object_set_new(out, "room", json_string(r->name));
    json_object_set_new(out, "from", json_string(c->id));
    json_object_set_new(out, "from_name", json_string(c->name[0] ? c->name : c->id));
    json_t *p = json_object();
    json_object_set_new(p, "up_to", json_string(up_to));
    json_object_set_new(out, "payload", p);
    return out;
}

/* A read receipt, "read up to message X in room R": goes to the author of
 * X only (if X is recent, in R, and not the reader's own), so a receipt
 * costs one delivery whatever the room size. The page sends one per room
 * view, at most every few seconds. Unknown or old ids are ignored. */
static void do_read(struct client *c, const struct msg *m)
{
    struct room *r = member_room(c, m);
    if (r == NULL) {
        return;
    }
    json_t *up = json_object_get(m->payload, "up_to");
    unsigned long long seq = 0;
    if (!json_is_string(up) || !history_parse_id(json_string_value(up), &seq)) {
        send_error(c, "invalid_field", "payload.up_to: a server message id (s<number>)", m->id);
        return;
    }
    bool here = recent[seq % RECENT].seq == seq;
    if (!here && bus_shared()) {
        /* Maybe another node's message: its id names that node, which
         * knows the author (cluster.c). */
        json_t *out = read_of(c, r, json_string_value(up));
        struct frame *f = encode(out);
        if (f != NULL) {
            cluster_read(seq, r->name, f);
        }
        frame_unref(f);
        return;
    }
    if (!here || recent[seq % RECENT].room != r || recent[seq % RECENT].author == c->num) {
        return;
    }
    char id[32];
    snprintf(id, sizeof id, "c%llu", (unsigned long long)recent[seq % RECENT].author);
    struct client *a = client_find_id(id);
    if (a == NULL || a->phase != PH_WS || a->closing || !room_has(r, a)) {
        return;
    }
    send_msg(a, read_of(c, r, json_string_value(up)));
}

void proto_read_remote(unsigned long long seq, const char *room, const char *json, size_t len)
{
    struct room *r = room_find(room);
    if (r == NULL || recent[seq % RECENT].seq != seq || recent[seq % RECENT].room != r) {
        return;
    }
    char id[32];
    snprintf(id, sizeof id, "c%llu", (unsigned long long)recent[seq % RECENT].author);
    struct client *a = client_find_id(id);
    if (a == NULL || a->phase != PH_WS || a->closing || !room_has(r, a)) {
        return;
    }
    struct frame *f = frame_new(json, len);
    client_send(a, f);
    frame_unref(f);
}

/* Takes over the session of an earlier connection of the same tab (the
 * "resume" token from its `connected`): the old connection, if still
 * there (a dropped network leaves it until the heartbeat notices), is
 * closed with 4001 at once, leaving its rooms and its name free. Once per
 * connection, before joining rooms; in auth mode only for the same user. */
static void do_resume(struct client *c, const struct msg *m)
{
    struct sess *s = sess_get(c);
    json_t *tok = json_object_get(m->payload, "token");
    if (!json_is_string(tok) || json_string_length(tok) > 64) {
        send_error(c, "invalid_field", "payload.token: the resume token from connected", m->id);
        return;
    }
    if (s == NULL || s->resumed || c->num_rooms > 0) {
        send_error(c, "invalid_field", "resume once per connection, before joining rooms", m->id);
        return;
    }
    s->resumed = true;
    const char *t = json_string_value(tok);
    const char *dot = strchr(t, '.');
    struct client *old = NULL;
    if (dot != NULL && (size_t)(dot - t) < 24 && strlen(dot + 1) == 32) {
        char id[24];
        memcpy(id, t, (size_t)(dot - t));
        id[dot - t] = '\0';
        old = client_find_id(id);
        const struct sess *os = old != NULL ? sess_find(old->num) : NULL;
        if (os == NULL || old == c || old->phase != PH_WS || old->closing ||
            os->secret[0] == '\0' || CRYPTO_memcmp(os->secret, dot + 1, 32) != 0 ||
            (cfg.secret_len > 0 && strcmp(old->name, c->name) != 0)) {
            old = NULL;
        }
    }
    json_t *p = json_object();
    if (old != NULL) {
        log_line(LOG_INFO, "resume", "id=%s replaces=%s", c->id, old->id);
        json_object_set_new(p, "replaced", json_string(old->id));
        char name[CHAT_MAX_NAME + 1];
        strcpy(name, old->name);
        client_close(old, 4001, "Session resumed elsewhere");
        if (cfg.secret_len == 0 && c->name[0] == '\0') {
            strcpy(c->name, name);
            cluster_rename(c, "");
        }
    }
    if (c->name[0] != '\0') {
        json_object_set_new(p, "user", json_string(c->name));
    }
    send_system(c, "resumed", NULL, p);
}

/* Sends m to the client `to` names: a client id, or a user name (every
 * connection of that user but the sender's). */
static void do_direct(struct client *c, const struct msg *m, bool is_private, bool all_sessions)
{
    if (m->to == NULL) {
        send_error(c, "invalid_field", "to is required", m->id);
        return;
    }
    if (is_private && !need_text(c, m)) {
        return;
    }
    struct frame *f = NULL;
    char sid[32] = "";
    unsigned sent = 0;
    struct client *t = client_find_id(m->to);
    if (t != NULL && !t->closing) {
        snprintf(sid, sizeof sid, "s%llu", next_msg_id);
        f = encode(relay_of(c, m));
        client_send(t, f);
        sent++;
    } else {
        for (struct client *o = client_first(); o != NULL; o = o->next) {
            if (o == c || o->phase != PH_WS || o->closing || strcmp(o->name, m->to) != 0) {
                continue;
            }
            if (f == NULL) {
                snprintf(sid, sizeof sid, "s%llu", next_msg_id);
                f = encode(relay_of(c, m));
            }
            client_send(o, f);
            sent++;
            if (!all_sessions) {
                break;
            }
        }
    }
    if (sent == 0 && bus_shared()) { /* not here: maybe on another node (cluster.c) */
        snprintf(sid, sizeof sid, "s%llu", next_msg_id);
        f = encode(relay_of(c, m));
        if (f != NULL && bus_direct(c, m->to, f, all_sessions, m->id, sid, is_private)) {
            frame_unref(f);
            return; /* answered when the other nodes have looked: proto_direct_answer */
        }
    }
    frame_unref(f);
    if (sent == 0) {
        send_error(c, "no_such_user", "no such user", m->id);
    } else if (is_private) {
        send_ack(c, m->id, sid);
    }
}

void proto_direct_answer(uint64_t num, const char *ref, const char *sid, bool ack, int found)
{
    char id[24];
    snprintf(id, sizeof id, "c%llu", (unsigned long long)num);
    struct client *c = client_find_id(id);
    if (c == NULL || c->phase != PH_WS || c->closing) {
        return;
    }
    if (found > 0) {
        if (ack) {
            send_ack(c, ref, sid);
        }
    } else if (found == 0) {
        send_error(c, "no_such_user", "no such user", ref);
    } else {
        send_error(c, "unavailable", "the other nodes could not be reached; not delivered", ref);
    }
}

/* An admin's message to everyone on every node: `--admin NAME`, or a
 * token with the admin role (auth.c). Acknowledged like a chat. */
static void do_broadcast(struct client *c, const struct msg *m)
{
    bool allowed = c->admin;
    for (size_t i = 0; i < cfg.num_admins && !allowed && c->authed; i++) {
        allowed = strcmp(cfg.admins[i], c->name) == 0;
    }
    if (!allowed) {
        send_error(c, "forbidden", "broadcast is for admins (--admin, or an admin token)", m->id);
        return;
    }
    if (!need_text(c, m)) {
        return;
    }
    char sid[32];
    snprintf(sid, sizeof sid, "s%llu", next_msg_id);
    struct frame *f = encode(relay_of(c, m));
    if (f == NULL) {
        send_error(c, "payload_too_large", "the message does not fit the output buffer", m->id);
        return;
    }
    log_line(LOG_INFO, "broadcast", "id=%s user=%s msg=%s", c->id, c->name, sid);
    bus_broadcast(c, f);
    frame_unref(f);
    send_ack(c, m->id, sid);
}

static void do_ping(struct client *c, const struct msg *m)
{
    json_t *out = msg_new("pong");
    json_object_set(out, "payload", m->payload);
    set_str(out, "to", c->id);
    send_msg(c, out);
}

/* Rate limit: cfg.rate_limit messages per fixed window; the next
 * CHAT_RATE_GRACE get an error each (and are dropped), then close 1008.
 * strike: the message broke another budget (bytes per second), so it
 * counts as over the limit whatever the count. */
static bool rate_ok(struct client *c, const char *ref, bool strike)
{
    int64_t now = now_ms();
    if (now - c->rate_start >= (int64_t)cfg.rate_window_ms) {
        c->rate_start = now;
        c->rate_count = 0;
    }
    c->rate_count++;
    if (strike && c->rate_count <= cfg.rate_limit) {
        c->rate_count = cfg.rate_limit + 1;
    }
    if (!strike && c->rate_count <= cfg.rate_limit && !limits_take(c)) {
        c->rate_count = cfg.rate_limit + 1; /* the user's or address's budget (limits.c) */
    }
    if (c->rate_count <= cfg.rate_limit) {
        return true;
    }
    if (c->rate_count - cfg.rate_limit > CHAT_RATE_GRACE) {
        log_line(LOG_INFO, "rate_limit_close", "id=%s", c->id);
        client_close(c, WICK_CLOSE_POLICY, "Rate limit exceeded");
    } else {
        send_error(c, "rate_limited", "too many messages; slow down", ref);
    }
    return false;
}

/* Housekeeping (read, typing, pong) has its own budget per
 * connection; over it, messages are dropped without an answer. */
static bool housekeeping_ok(struct sess *s)
{
    if (s == NULL) {
        return true;
    }
    int64_t now = now_ms();
    if (now - s->hk_start >= HOUSEKEEPING_MS) {
        s->hk_start = now;
        s->hk_count = 0;
    }
    return ++s->hk_count <= HOUSEKEEPING;
}

/* Counts len against the connection's message bytes per second: the
 * size of 16 of the largest messages, or of the rate limit's messages per
 * second if that is more (576 KiB by default). */
static bool work_ok(struct sess *s, size_t len)
{
    if (s == NULL) {
        return true;
    }
    int64_t now = now_ms();
    if (now - s->work_start >= 1000) {
        s->work_start = now;
        s->work_bytes = 0;
    }
    s->work_bytes += len;
    uint64_t per_s =
        (uint64_t)cfg.rate_limit * 1000u / (cfg.rate_window_ms ? cfg.rate_window_ms : 1);
    return s->work_bytes <= (per_s > 16 ? per_s : 16) * max_json();
}

/* One pass over the text before it is parsed: false when objects and
 * arrays nest deeper than MAX_DEPTH or the message has more than
 * MAX_MEMBERS commas (members and elements, all containers together).
 * Strings are skipped, escapes included; the parser checks the rest. */
static bool shape_ok(const uint8_t *d, size_t len)
{
    unsigned depth = 0, commas = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = d[i];
        if (in_str) {
            if (ch == '\\') {
                i++;
            } else if (ch == '"') {
                in_str = false;
            }
            continue;
        }
        if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > MAX_DEPTH) {
                return false;
            }
        } else if (ch == '}' || ch == ']') {
            depth -= depth > 0;
        } else if (ch == ',' && ++commas > MAX_MEMBERS) {
            return false;
        }
    }
    return true;
}

/* Reads an optional name-like string member. Returns false (after an
 * error) when present and invalid. */
static bool opt_name(struct client *c, json_t *root, const char *key, const char *id,
                     const char **out)
{
    json_t *v = json_object_get(root, key);
    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        return true;
    }
    if (!json_is_string(v) || !valid_name(json_string_value(v), json_string_length(v))) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s: 1-50 letters, digits, '-' or '_'", key);
        send_error(c, "invalid_field", msg, id);
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static const struct {
    const char *type;
    int kind;
} types[] = {
    {"auth", 0}, {"join", 1},    {"leave", 2},   {"chat", 3},       {"typing", 4},
    {"read", 9}, {"private", 5}, {"offer", 6},   {"answer", 6},     {"ice_candidate", 6},
    {"ping", 7}, {"pong", 8},    {"resume", 10}, {"broadcast", 11},
};

static bool is_housekeeping(int kind)
{
    return kind == 4 || kind == 8 || kind == 9; /* typing, pong, read */
}

void proto_message(struct client *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    stats.messages++;
    struct sess *s = sess_get(c);
    /* Bounded before parsing: size, bytes per second, shape. */
    if (len > max_json()) {
        if (rate_ok(c, NULL, false)) {
            send_error(c, "payload_too_large", "message over the size limit (limits.max_json)",
                       NULL);
        }
        return;
    }
    if (!work_ok(s, len)) {
        rate_ok(c, NULL, true);
        return;
    }
    if (opcode != WICK_OP_TEXT || !shape_ok(data, len)) {
        if (rate_ok(c, NULL, false)) {
            send_error(c, "invalid_json",
                       opcode != WICK_OP_TEXT ? "binary messages are not supported"
                                              : "nested too deep or too many members",
                       NULL);
        }
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        if (rate_ok(c, NULL, false)) {
            send_error(c, "invalid_json", root == NULL ? jerr.text : "a message is a JSON object",
                       NULL);
        }
        json_decref(root);
        return;
    }
    struct msg m = {NULL, NULL, NULL, NULL, NULL};
    int kind = -1;
    json_t *id = json_object_get(root, "id");
    json_t *type = json_object_get(root, "type");
    json_t *payload = json_object_get(root, "payload");
    bool id_ok =
        json_is_string(id) && json_string_length(id) > 0 && json_string_length(id) <= CHAT_MAX_ID;
    for (size_t i = 0; json_is_string(type) && i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(types[i].type, json_string_value(type)) == 0) {
            kind = types[i].kind;
            break;
        }
    }
    /* Housekeeping is free of the rate limit (it has its own budget). */
    if (is_housekeeping(kind) ? !housekeeping_ok(s)
                              : !rate_ok(c, id_ok ? json_string_value(id) : NULL, false)) {
        goto done;
    }
    if (id_ok) {
        m.id = json_string_value(id);
    } else {
        send_error(c, "invalid_field", "id: a string of 1-64 characters", NULL);
        goto done;
    }
    if (!json_is_string(type)) {
        send_error(c, "invalid_field", "type: a string", m.id);
        goto done;
    }
    m.type = json_string_value(type);
    if (payload == NULL || json_is_null(payload)) {
        m.payload = json_object();
    } else if (json_is_object(payload)) {
        m.payload = json_incref(payload);
    } else {
        send_error(c, "invalid_field", "payload: an object", m.id);
        goto done;
    }
    if (json_dumpb(m.payload, NULL, 0, JSON_COMPACT) > cfg.max_payload) {
        send_error(c, "payload_too_large", "payload is over the size limit", m.id);
        goto done;
    }
    if (!opt_name(c, root, "room", m.id, &m.room) || !opt_name(c, root, "to", m.id, &m.to)) {
        goto done;
    }
    if (kind < 0) {
        send_error(c, "unknown_type", "unknown message type", m.id);
        goto done;
    }
    if (cfg.secret_len > 0 && !c->authed && kind != 0 && kind != 7 && kind != 8) {
        client_close(c, WICK_CLOSE_POLICY, "Authentication required");
        goto done;
    }
    switch (kind) {
    case 0:
        do_auth(c, &m);
        break;
    case 1:
        do_join(c, &m);
        break;
    case 2:
        do_leave(c, &m);
        break;
    case 3:
        do_room_relay(c, &m, true);
        break;
    case 4:
        do_room_relay(c, &m, false);
        break;
    case 9:
        do_read(c, &m);
        break;
    case 10:
        do_resume(c, &m);
        break;
    case 5:
        do_direct(c, &m, true, true);
        break;
    case 6:
        do_direct(c, &m, false, false);
        break;
    case 7:
        do_ping(c, &m);
        break;
    case 11:
        do_broadcast(c, &m);
        break;
    case 8:
    default:
        break; /* application-level pong: nothing to do */
    }
done:
    json_decref(m.payload);
    json_decref(root);
}
