/*
 * The chat protocol: JSON text messages (jansson), validated and
 * dispatched by type. Every message has "id", "type", "payload" (an
 * object) and "timestamp" (ms since the Unix epoch), and where they apply
 * "from", "to" and "room". docs/chat.md has the full table.
 *
 * Client to server: auth, join, leave, chat, private, typing, read,
 * offer, answer, ice_candidate, ping, pong.
 * Server to client: connected, system, user_joined, user_left, error,
 * pong, and the relayed chat/private/typing/read/offer/answer/
 * ice_candidate (with "from" and "from_name" set by the server: a client
 * cannot speak for somebody else).
 *
 * Outgoing messages are encoded once into a shared frame (client.c) and,
 * for rooms, queued to every member from that one frame (rooms.c).
 */
#include "chat.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long next_msg_id = 1;

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
    json_object_set_new(p, "limits", lim);
    json_object_set_new(m, "payload", p);
    json_object_set_new(m, "to", json_string(c->id));
    send_msg(c, m);
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
    room_broadcast(r, f, c);
    frame_unref(f);
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
    strcpy(c->name, n);
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
                          json_string_length(tok), (long long)time(NULL), user)) {
        log_line(LOG_INFO, "auth_failed", "id=%s source=message", c->id);
        client_close(c, WICK_CLOSE_POLICY, "Invalid token");
        return;
    }
    c->authed = true;
    c->deadline = 0;
    strcpy(c->name, user);
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
    json_t *members = json_array();
    for (unsigned i = 0; i < r->count; i++) {
        json_array_append_new(members, member_obj(r->members[i]));
    }
    json_t *p = json_object();
    json_object_set_new(p, "members", members);
    json_object_set_new(p, "you", member_obj(c));
    send_system(c, "joined", r->name, p);

    json_t *j = msg_new("user_joined");
    json_object_set_new(j, "room", json_string(r->name));
    json_object_set_new(j, "from", json_string(c->id));
    json_object_set_new(j, "payload", member_obj(c));
    struct frame *f = encode(j);
    room_broadcast(r, f, c);
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

static void do_room_relay(struct client *c, const struct msg *m, bool need_text)
{
    struct room *r = member_room(c, m);
    if (r == NULL) {
        return;
    }
    if (need_text) {
        json_t *text = json_object_get(m->payload, "text");
        if (!json_is_string(text) || json_string_length(text) == 0) {
            send_error(c, "invalid_field", "payload.text must be a non-empty string", m->id);
            return;
        }
    }
    struct frame *f = encode(relay_of(c, m));
    room_broadcast(r, f, c);
    frame_unref(f);
}

/* Sends m to the client `to` names: a client id, or a user name (every
 * connection of that user but the sender's). */
static void do_direct(struct client *c, const struct msg *m, bool need_text, bool all_sessions)
{
    if (m->to == NULL) {
        send_error(c, "invalid_field", "to is required", m->id);
        return;
    }
    if (need_text) {
        json_t *text = json_object_get(m->payload, "text");
        if (!json_is_string(text) || json_string_length(text) == 0) {
            send_error(c, "invalid_field", "payload.text must be a non-empty string", m->id);
            return;
        }
    }
    struct frame *f = NULL;
    unsigned sent = 0;
    struct client *t = client_find_id(m->to);
    if (t != NULL && !t->closing) {
        f = encode(relay_of(c, m));
        client_send(t, f);
        sent++;
    } else {
        for (struct client *o = client_first(); o != NULL; o = o->next) {
            if (o == c || o->phase != PH_WS || o->closing || strcmp(o->name, m->to) != 0) {
                continue;
            }
            if (f == NULL) {
                f = encode(relay_of(c, m));
            }
            client_send(o, f);
            sent++;
            if (!all_sessions) {
                break;
            }
        }
    }
    frame_unref(f);
    if (sent == 0) {
        send_error(c, "no_such_user", "no such user", m->id);
    }
}

static void do_ping(struct client *c, const struct msg *m)
{
    json_t *out = msg_new("pong");
    json_object_set(out, "payload", m->payload);
    set_str(out, "to", c->id);
    send_msg(c, out);
}

/* Rate limit: cfg.rate_limit messages per fixed window; the next
 * CHAT_RATE_GRACE get an error each (and are dropped), then close 1008. */
static bool rate_ok(struct client *c)
{
    int64_t now = now_ms();
    if (now - c->rate_start >= (int64_t)cfg.rate_window_ms) {
        c->rate_start = now;
        c->rate_count = 0;
    }
    c->rate_count++;
    if (c->rate_count <= cfg.rate_limit) {
        return true;
    }
    if (c->rate_count - cfg.rate_limit > CHAT_RATE_GRACE) {
        log_line(LOG_INFO, "rate_limit_close", "id=%s", c->id);
        client_close(c, WICK_CLOSE_POLICY, "Rate limit exceeded");
    } else {
        send_error(c, "rate_limited", "too many messages; slow down", NULL);
    }
    return false;
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
    {"auth", 0},    {"join", 1},  {"leave", 2},  {"chat", 3},          {"typing", 4}, {"read", 4},
    {"private", 5}, {"offer", 6}, {"answer", 6}, {"ice_candidate", 6}, {"ping", 7},   {"pong", 8},
};

void proto_message(struct client *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    stats.messages++;
    if (!rate_ok(c)) {
        return;
    }
    if (opcode != WICK_OP_TEXT) {
        send_error(c, "invalid_json", "binary messages are not supported", NULL);
        return;
    }
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        send_error(c, "invalid_json", root == NULL ? jerr.text : "a message is a JSON object",
                   NULL);
        json_decref(root);
        return;
    }
    struct msg m = {NULL, NULL, NULL, NULL, NULL};
    int kind = -1;
    json_t *id = json_object_get(root, "id");
    json_t *type = json_object_get(root, "type");
    json_t *payload = json_object_get(root, "payload");
    if (json_is_string(id) && json_string_length(id) > 0 && json_string_length(id) <= CHAT_MAX_ID) {
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
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(types[i].type, m.type) == 0) {
            kind = types[i].kind;
            break;
        }
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
    case 5:
        do_direct(c, &m, true, true);
        break;
    case 6:
        do_direct(c, &m, false, false);
        break;
    case 7:
        do_ping(c, &m);
        break;
    case 8:
    default:
        break; /* application-level pong: nothing to do */
    }
done:
    json_decref(m.payload);
    json_decref(root);
}
