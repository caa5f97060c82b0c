/*
 * The Redis bus (--redis redis://HOST:PORT[/DB]): several chat_server
 * processes share rooms through one Redis (docs/chat.md "Scale-out").
 *
 * Ordering: every room event (chat, typing, user_joined, user_left) is
 * published by a Lua script on one channel, and every node, the sender's
 * included, delivers it to its local members from its subscription. Redis
 * runs scripts one at a time and writes a subscriber's messages in the
 * order it published them, so each room has one order on every node. The
 * same script appends a chat message to the room's history (RPUSH+LTRIM),
 * so history has that order too.
 *
 * Joins: the join script adds the member, publishes user_joined, then
 * publishes to the joining node's own channel a snapshot (members and
 * history). Both channels arrive on the one subscriber connection in
 * publish order, so everything before the snapshot is in it and
 * everything after it is live: the joiner is held back from live
 * delivery until its snapshot ("pending") and sees no gap and no
 * duplicate.
 *
 * Ids: node number (random, 1..99999) x 10^9 + a counter, for messages
 * ("s...") and clients ("c..."). Known when a message is built, so the
 * ack needs no round trip; a client id names its node, so a private
 * message by id goes to one node only. Presence-generated events use
 * node 0 (a counter in Redis).
 *
 * Presence: every second a node SETs node:<n> EX 3 and runs the reaper:
 * a node whose key is gone has its users (nodeusers:<n>) removed from
 * the member lists and user_left (reason "node_lost") published, within
 * 4 s of its last heartbeat, and its directory (nodeclients:<n>) dropped.
 *
 * Directory: each node keeps in nodeclients:<n> its connected clients'
 * ids ("i:<id>") and names ("n:<name>", with how many connections use
 * it). A private or signalling message for nobody on the sender's node
 * is handed to a script that looks `to` up in every live node's directory
 * and publishes it only if some node has it; its answer (found or not)
 * becomes the sender's ack or no_such_user. One hash per node, one
 * field per connection and name: bounded by the connections.
 *
 * Read receipts for another node's message go to that node's own channel
 * (the message id names it), where the author is known.
 *
 * Broadcasts (admins) go on the one channel like room events, and every
 * node delivers them to all its connected clients.
 *
 * Trouble: any error on either connection ends both and the node goes
 * local-only (bus.c's in-process path, in-memory history), tells its
 * clients (system "degraded"), and reconnects with backoff (0.25 s
 * doubling to 4 s). When both connections are back and subscribed it
 * re-registers its members and tells its clients ("restored"). Nothing is
 * re-sent, so nothing arrives twice; what was said during the outage
 * stayed on the node where it was said.
 */
#include "bus.h"
#include "chat.h"
#include "redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define BEAT_MS      1000 /* heartbeat and reaper period */
#define NODE_TTL_S   3    /* heartbeat expiry: node lost 3-4 s after its last beat */
#define LINK_DEAD_MS 3000 /* no heartbeat reply for this long: the link is dead */
#define BACKOFF_MIN  250
#define BACKOFF_MAX  4000
#define ID_SPAN      1000000000ull /* ids per node */
/* The label a reply callback logs: hiredis wants a void *. */
#define WHAT(s)     ((void *)(uintptr_t)(s))
#define HISTORY_TTL "86400" /* a room's history lives a day after its last message */

static struct {
    bool enabled;
    char host[256];
    int port;
    unsigned db;
    unsigned node;
    char chan[48];  /* room events and private messages, all nodes */
    char nchan[64]; /* this node's snapshots */
    io_loop *loop;
    int tfd;
    io_watch timer;
    redisAsyncContext *cmd, *sub;
    unsigned subscribed;
    bool up;       /* both connected and subscribed: deliver through Redis */
    bool degraded; /* clients were told (or start-up failed) */
    int64_t retry_at, backoff;
    int64_t next_beat, beat_ok; /* last heartbeat reply */
} R;

/* A join waiting for its snapshot. Usually a handful, each for about a
 * round trip; at most one per client and room. */
struct pending {
    uint64_t num;
    char room[CHAT_MAX_NAME + 1];
    char since[32];
    bool has_since;
    struct pending *next;
};
static struct pending *pending_head;

bool bus_shared(void)
{
    return R.enabled && R.up;
}

/* === Lua scripts (run atomically by Redis) === */

/* KEYS: hist, channel, members, nodeusers. ARGV: envelope, history entry
 * or "", history length, leaving client id or "", room. */
static const char room_lua[] = "if ARGV[2] ~= '' then redis.call('RPUSH', KEYS[1], ARGV[2]) "
                               "redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1) "
                               "redis.call('EXPIRE', KEYS[1], " HISTORY_TTL ") end "
                               "if ARGV[4] ~= '' then redis.call('HDEL', KEYS[3], ARGV[4]) "
                               "redis.call('HDEL', KEYS[4], ARGV[5] .. ' ' .. ARGV[4]) end "
                               "return redis.call('PUBLISH', KEYS[2], ARGV[1])";

/* KEYS: members, nodeusers, hist, channel, node channel. ARGV: client
 * id, name, room, user_joined envelope. */
static const char join_lua[] =
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
    "redis.call('HSET', KEYS[2], ARGV[3] .. ' ' .. ARGV[1], ARGV[2]) "
    "redis.call('PUBLISH', KEYS[4], ARGV[4]) "
    "local out = {'J ' .. ARGV[1] .. ' ' .. ARGV[3]} "
    "local m = redis.call('HGETALL', KEYS[1]) "
    "out[#out + 1] = tostring(#m / 2) "
    "for i = 1, #m, 2 do out[#out + 1] = m[i] .. ' ' .. m[i + 1] end "
    "for _, h in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do out[#out + 1] = h end "
    "return redis.call('PUBLISH', KEYS[5], table.concat(out, '\\n'))";

/* KEYS: nodes set, channel. ARGV: now (ms since the epoch). Removes the
 * users of every node whose heartbeat key expired and tells their rooms. */
static const char reap_lua[] =
    "local dead = 0 "
    "for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    " if redis.call('EXISTS', 'wick:node:' .. n) == 0 then "
    "  local u = redis.call('HGETALL', 'wick:nodeusers:' .. n) "
    "  for i = 1, #u, 2 do "
    "   local sp = string.find(u[i], ' ', 1, true) "
    "   local room, cid = string.sub(u[i], 1, sp - 1), string.sub(u[i], sp + 1) "
    "   redis.call('HDEL', 'wick:members:' .. room, cid) "
    "   local id = redis.call('INCR', 'wick:reapseq') "
    "   local msg = cjson.encode({id = 's' .. id, type = 'user_left', room = room, "
    "     from = cid, timestamp = tonumber(ARGV[1]), "
    "     payload = {id = cid, name = u[i + 1], reason = 'node_lost'}}) "
    "   redis.call('PUBLISH', KEYS[2], 'R ' .. room .. ' - ' .. msg) "
    "  end "
    "  redis.call('DEL', 'wick:nodeusers:' .. n, 'wick:nodeclients:' .. n) "
    "  redis.call('SREM', KEYS[1], n) "
    "  dead = dead + 1 "
    " end "
    "end "
    "return dead";

/* KEYS: nodeusers. ARGV: "room cid" and name pairs of this node's members
 * now. Drops the node's old entries from the member lists (users who left
 * during an outage), then adds the current ones. */
static const char resync_lua[] =
    "local old = redis.call('HGETALL', KEYS[1]) "
    "for i = 1, #old, 2 do "
    " local sp = string.find(old[i], ' ', 1, true) "
    " redis.call('HDEL', 'wick:members:' .. string.sub(old[i], 1, sp - 1), "
    "   string.sub(old[i], sp + 1)) "
    "end "
    "redis.call('DEL', KEYS[1]) "
    "for i = 1, #ARGV, 2 do "
    " local sp = string.find(ARGV[i], ' ', 1, true) "
    " redis.call('HSET', 'wick:members:' .. string.sub(ARGV[i], 1, sp - 1), "
    "   string.sub(ARGV[i], sp + 1), ARGV[i + 1]) "
    " redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) "
    "end "
    "return 1";

/* KEYS: this node's directory. ARGV: its fields now ("i:<id>" once per
 * client, "n:<name>" once per connection using the name). */
static const char dir_lua[] = "redis.call('DEL', KEYS[1]) "
                              "for i = 1, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end "
                              "return 1";

/* KEYS: this node's directory. ARGV: a field to count down (removed at 0). */
static const char undir_lua[] = "if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then "
                                "redis.call('HDEL', KEYS[1], ARGV[1]) end return 1";

/* KEYS: nodes set, channel. ARGV: to (id or name), this node, envelope.
 * Publishes the envelope if a live node other than this one has `to`;
 * returns 1 then, else 0. */
static const char direct_lua[] =
    "for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
    " if n ~= ARGV[2] and redis.call('EXISTS', 'wick:node:' .. n) == 1 then "
    "  local k = 'wick:nodeclients:' .. n "
    "  if redis.call('HEXISTS', k, 'i:' .. ARGV[1]) == 1 or "
    "     redis.call('HEXISTS', k, 'n:' .. ARGV[1]) == 1 then "
    "   redis.call('PUBLISH', KEYS[2], ARGV[3]) "
    "   return 1 "
    "  end "
    " end "
    "end "
    "return 0";

/* === Link state === */

static void notify_all(const char *event)
{
    for (struct client *c = client_first(); c != NULL; c = c->next) {
        if (c->phase == PH_WS && !c->closing) {
            proto_service_notice(c, event);
        }
    }
}

static struct pending **pending_find(uint64_t num, const char *room)
{
    struct pending **pp = &pending_head;
    while (*pp != NULL && ((*pp)->num != num || strcmp((*pp)->room, room) != 0)) {
        pp = &(*pp)->next;
    }
    return pp;
}

static bool is_pending(const struct client *c, const char *room)
{
    return pending_head != NULL && *pending_find(c->num, room) != NULL;
}

/* The link went down with joins in flight: finish them locally. */
static void finish_pending_locally(void)
{
    while (pending_head != NULL) {
        struct pending *p = pending_head;
        pending_head = p->next;
        char id[24];
        snprintf(id, sizeof id, "c%llu", (unsigned long long)p->num);
        struct client *c = client_find_id(id);
        struct room *r = room_find(p->room);
        if (c != NULL && r != NULL && room_has(r, c)) {
            unsigned long long after = 0;
            bool has = p->has_since && history_parse_id(p->since, &after);
            bool complete = true;
            unsigned n = history_replay(NULL, r->name, has, after, &complete);
            proto_joined(c, r, NULL, n, complete);
            history_replay(c, r->name, has, after, &complete);
        }
        free(p);
    }
}

static void link_lost(const char *why)
{
    bool was_up = R.up;
    R.up = false;
    R.subscribed = 0;
    redisAsyncContext *cmd = R.cmd, *sub = R.sub;
    R.cmd = R.sub = NULL;
    /* Freeing runs the callbacks of what is in flight (with no reply)
     * and the disconnect callback, which finds R.cmd/R.sub already
     * cleared and does nothing. Never called from a callback of the
     * context it frees: the one that failed was cleared by the caller
     * (hiredis frees it). */
    if (cmd != NULL) {
        redisAsyncFree(cmd);
    }
    if (sub != NULL) {
        redisAsyncFree(sub);
    }
    R.retry_at = R.loop->now + R.backoff;
    R.backoff = R.backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : R.backoff * 2;
    if (was_up || !R.degraded) {
        log_line(LOG_ERR, "redis_down", "why=\"%s\" mode=local-only retry_ms=%lld", why,
                 (long long)(R.retry_at - R.loop->now));
    }
    finish_pending_locally();
    if (!R.degraded) {
        R.degraded = true;
        notify_all("degraded");
    }
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    if (ac == R.cmd || ac == R.sub) {
        if (ac == R.cmd) {
            R.cmd = NULL; /* hiredis frees it after this callback */
        } else {
            R.sub = NULL;
        }
        link_lost(ac->errstr[0] ? ac->errstr : "disconnected");
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK && (ac == R.cmd || ac == R.sub)) {
        if (ac == R.cmd) {
            R.cmd = NULL; /* hiredis frees it after this callback */
        } else {
            R.sub = NULL;
        }
        link_lost(ac->errstr[0] ? ac->errstr : "connect failed");
    }
}

/* === Commands === */

static void on_reply(redisAsyncContext *ac, void *reply, void *what)
{
    (void)ac;
    const redisReply *rp = reply;
    if (rp != NULL && rp->type == REDIS_REPLY_ERROR) {
        log_line(LOG_ERR, "redis_error", "what=%s error=\"%.200s\"", (const char *)what, rp->str);
    }
}

static void on_beat(redisAsyncContext *ac, void *reply, void *what)
{
    const redisReply *rp = reply;
    if (rp != NULL && rp->type != REDIS_REPLY_ERROR) {
        R.beat_ok = R.loop->now;
        if (rp->type == REDIS_REPLY_INTEGER && rp->integer > 0) {
            log_line(LOG_INFO, "redis_reaped", "nodes=%lld", rp->integer);
        }
    }
    on_reply(ac, reply, what);
}

static void heartbeat(void)
{
    char key[48], now[24];
    snprintf(key, sizeof key, "wick:node:%u", R.node);
    snprintf(now, sizeof now, "%lld", (long long)wall_ms());
    redisAsyncCommand(R.cmd, on_reply, WHAT("beat"), "SET %s 1 EX %d", key, NODE_TTL_S);
    redisAsyncCommand(R.cmd, on_reply, WHAT("beat"), "SADD wick:nodes %u", R.node);
    redisAsyncCommand(R.cmd, on_beat, WHAT("reap"), "EVAL %s 2 wick:nodes %s %s", reap_lua, R.chan,
                      now);
}

static void dir_key(char *out, size_t cap, unsigned node)
{
    snprintf(out, cap, "wick:nodeclients:%u", node);
}

/* Writes this node's directory again (every connected client's id and
 * name) and marks the clients listed. */
static void resync_directory(void)
{
    size_t n = 0;
    for (const struct client *c = client_first(); c != NULL; c = c->next) {
        n += 2;
    }
    const char **argv = calloc(4 + n, sizeof *argv);
    char *bufs = calloc(n + 1, CHAT_MAX_NAME + 4);
    char key[48];
    if (argv == NULL || bufs == NULL) {
        free(argv);
        free(bufs);
        return;
    }
    dir_key(key, sizeof key, R.node);
    argv[0] = "EVAL";
    argv[1] = dir_lua;
    argv[2] = "1";
    argv[3] = key;
    size_t argc = 4, k = 0;
    for (struct client *c = client_first(); c != NULL; c = c->next) {
        c->listed = c->phase == PH_WS && !c->closing;
        if (!c->listed) {
            continue;
        }
        char *b = bufs + k++ * (CHAT_MAX_NAME + 4);
        snprintf(b, CHAT_MAX_NAME + 4, "i:%s", c->id);
        argv[argc++] = b;
        if (c->name[0] != '\0') {
            b = bufs + k++ * (CHAT_MAX_NAME + 4);
            snprintf(b, CHAT_MAX_NAME + 4, "n:%s", c->name);
            argv[argc++] = b;
        }
    }
    redisAsyncCommandArgv(R.cmd, on_reply, WHAT("directory"), (int)argc, argv, NULL);
    free(argv);
    free(bufs);
}

/* Registers this node's members again (after a reconnect: an outage may
 * have outlived the heartbeat, or Redis may have restarted empty). */
static void resync(void)
{
    size_t n = 0;
    for (const struct client *c = client_first(); c != NULL; c = c->next) {
        n += c->num_rooms;
    }
    const char **argv = calloc(4 + 2 * n, sizeof *argv);
    char *bufs = calloc(n + 1, CHAT_MAX_NAME + 32);
    char key[48];
    if (argv == NULL || bufs == NULL) {
        free(argv);
        free(bufs);
        return;
    }
    snprintf(key, sizeof key, "wick:nodeusers:%u", R.node);
    argv[0] = "EVAL";
    argv[1] = resync_lua;
    argv[2] = "1";
    argv[3] = key;
    size_t argc = 4, k = 0;
    for (const struct client *c = client_first(); c != NULL; c = c->next) {
        for (unsigned i = 0; i < c->num_rooms; i++, k++) {
            char *b = bufs + k * (CHAT_MAX_NAME + 32);
            snprintf(b, CHAT_MAX_NAME + 32, "%s %s", c->rooms[i]->name, c->id);
            argv[argc++] = b;
            argv[argc++] = c->name[0] ? c->name : c->id;
        }
    }
    redisAsyncCommandArgv(R.cmd, on_reply, WHAT("resync"), (int)argc, argv, NULL);
    free(argv);
    free(bufs);
    resync_directory();
}

/* === Incoming (the subscription) === */

static void deliver_room(const char *p, size_t len)
{
    /* "R <room> <except id or -> <json>" */
    const char *end = p + len, *sp1 = memchr(p, ' ', len);
    const char *sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (sp2 == NULL || sp1 - p > CHAT_MAX_NAME || sp2 - sp1 - 1 >= 24) {
        return;
    }
    char room[CHAT_MAX_NAME + 1], except[24];
    memcpy(room, p, (size_t)(sp1 - p));
    room[sp1 - p] = '\0';
    memcpy(except, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    except[sp2 - sp1 - 1] = '\0';
    struct room *r = room_find(room);
    if (r == NULL) {
        return;
    }
    struct frame *f = frame_new(sp2 + 1, (size_t)(end - sp2 - 1));
    if (f == NULL) {
        return;
    }
    stats.broadcasts++;
    for (unsigned i = 0; i < r->count; i++) {
        struct client *m = r->members[i];
        if (strcmp(m->id, except) != 0 && !is_pending(m, room)) {
            client_send(m, f);
        }
    }
    frame_unref(f);
}

static void deliver_direct(const char *p, size_t len)
{
    /* "D <to> <from id> <1: every session, 0: one> <json>" */
    char to[CHAT_MAX_NAME + 1], from[24];
    int all = 0, off = 0;
    if (sscanf(p, "%50s %23s %d %n", to, from, &all, &off) != 3 || off <= 0 || (size_t)off > len) {
        return;
    }
    struct frame *f = NULL;
    for (struct client *o = client_first(); o != NULL; o = o->next) {
        if (o->phase != PH_WS || o->closing || strcmp(o->id, from) == 0 ||
            (strcmp(o->id, to) != 0 && strcmp(o->name, to) != 0)) {
            continue;
        }
        if (f == NULL && (f = frame_new(p + off, len - (size_t)off)) == NULL) {
            return;
        }
        client_send(o, f);
        if (!all) {
            break;
        }
    }
    frame_unref(f);
}

static void deliver_broadcast(const char *p, size_t len)
{
    /* "B <from id> <json>" */
    const char *sp = memchr(p, ' ', len);
    if (sp == NULL || sp - p >= 24) {
        return;
    }
    char from[24];
    memcpy(from, p, (size_t)(sp - p));
    from[sp - p] = '\0';
    struct frame *f = frame_new(sp + 1, (size_t)(p + len - sp - 1));
    if (f != NULL) {
        broadcast_local(f, from);
        frame_unref(f);
    }
}

static void deliver_read(const char *p, size_t len)
{
    /* "K <seq> <room> <json>" */
    unsigned long long seq = 0;
    char room[CHAT_MAX_NAME + 1];
    int off = 0;
    if (sscanf(p, "%llu %50s %n", &seq, room, &off) != 2 || off <= 0 || (size_t)off > len) {
        return;
    }
    proto_read_remote(seq, room, p + off, len - (size_t)off);
}

/* The snapshot for one of our joins: "J <client id> <room>\n<n>\n" then n
 * "<id> <name>" lines, then the history, oldest first, "<msg id> <json>". */
static void deliver_snapshot(char *p, size_t len)
{
    char *end = p + len, *nl = memchr(p, '\n', len);
    char cid[24], room[CHAT_MAX_NAME + 1];
    if (nl == NULL || sscanf(p, "%23s %50s", cid, room) != 2) {
        return;
    }
    struct client *c = client_find_id(cid);
    struct pending **pp = c != NULL ? pending_find(c->num, room) : NULL;
    struct pending *pd = pp != NULL ? *pp : NULL;
    struct room *r = room_find(room);
    if (pd == NULL || r == NULL || !room_has(r, c)) {
        return; /* left (or closed) in the meantime */
    }
    *pp = pd->next;
    char *line = nl + 1;
    nl = memchr(line, '\n', (size_t)(end - line));
    unsigned long nmem = strtoul(line, NULL, 10);
    json_t *members = json_array();
    for (unsigned long i = 0; i < nmem && nl != NULL; i++) {
        line = nl + 1;
        nl = memchr(line, '\n', (size_t)(end - line));
        char *sp = memchr(line, ' ', (size_t)((nl ? nl : end) - line));
        if (sp == NULL) {
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "id", json_stringn(line, (size_t)(sp - line)));
        json_object_set_new(o, "name", json_stringn(sp + 1, (size_t)((nl ? nl : end) - sp - 1)));
        json_array_append_new(members, o);
    }
    /* History: the messages after `since` if it is there; all of it (and
     * complete: false) if it is not. */
    char *hist = nl != NULL ? nl + 1 : end, *from = hist;
    if (pd->has_since) {
        size_t sl = strlen(pd->since);
        for (char *q = hist; q < end;) {
            char *e = memchr(q, '\n', (size_t)(end - q));
            e = e != NULL ? e : end;
            if ((size_t)(e - q) > sl && memcmp(q, pd->since, sl) == 0 && q[sl] == ' ') {
                from = e < end ? e + 1 : end;
                break;
            }
            q = e < end ? e + 1 : end;
        }
    }
    bool complete = !pd->has_since || from != hist;
    unsigned n = 0;
    for (char *q = from; q < end; n++) {
        char *e = memchr(q, '\n', (size_t)(end - q));
        q = e != NULL ? e + 1 : end;
    }
    proto_joined(c, r, members, n, complete);
    for (char *q = from; q < end;) {
        char *e = memchr(q, '\n', (size_t)(end - q));
        e = e != NULL ? e : end;
        char *sp = memchr(q, ' ', (size_t)(e - q));
        if (sp != NULL) {
            struct frame *f = frame_new(sp + 1, (size_t)(e - sp - 1));
            client_send(c, f);
            frame_unref(f);
        }
        q = e < end ? e + 1 : end;
    }
    free(pd);
}

static void on_message(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    (void)priv;
    redisReply *rp = reply;
    if (rp == NULL || rp->type != REDIS_REPLY_ARRAY || rp->elements != 3 ||
        rp->element[0]->type != REDIS_REPLY_STRING) {
        return;
    }
    const char *kind = rp->element[0]->str;
    if (strcmp(kind, "subscribe") == 0) {
        if (++R.subscribed == 2 && R.sub != NULL && R.cmd != NULL) {
            R.up = true;
            R.backoff = BACKOFF_MIN;
            R.beat_ok = R.loop->now;
            R.next_beat = 0;
            resync();
            heartbeat();
            log_line(LOG_INFO, "redis_up", "host=%s port=%d db=%u node=%u", R.host, R.port, R.db,
                     R.node);
            if (R.degraded) {
                R.degraded = false;
                notify_all("restored");
            }
        }
        return;
    }
    const redisReply *msg = rp->element[2];
    if (strcmp(kind, "message") != 0 || msg->type != REDIS_REPLY_STRING || msg->len < 2) {
        return;
    }
    if (msg->str[0] == 'R' && msg->str[1] == ' ') {
        deliver_room(msg->str + 2, msg->len - 2);
    } else if (msg->str[0] == 'D' && msg->str[1] == ' ') {
        deliver_direct(msg->str + 2, msg->len - 2);
    } else if (msg->str[0] == 'J' && msg->str[1] == ' ') {
        deliver_snapshot(msg->str + 2, msg->len - 2);
    } else if (msg->str[0] == 'B' && msg->str[1] == ' ') {
        deliver_broadcast(msg->str + 2, msg->len - 2);
    } else if (msg->str[0] == 'K' && msg->str[1] == ' ') {
        deliver_read(msg->str + 2, msg->len - 2);
    }
}

/* === Connecting, the timer === */

static redisAsyncContext *open_ctx(void)
{
    redisAsyncContext *ac = redisAsyncConnect(R.host, R.port);
    if (ac == NULL) {
        return NULL;
    }
    if (ac->err || !redis_attach(ac, R.loop)) {
        log_line(LOG_DEBUG, "redis_connect", "error=\"%s\"", ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (R.db != 0) {
        redisAsyncCommand(ac, on_reply, WHAT("select"), "SELECT %u", R.db);
    }
    return ac;
}

static void connect_both(void)
{
    R.cmd = open_ctx();
    R.sub = R.cmd != NULL ? open_ctx() : NULL;
    if (R.sub == NULL) {
        link_lost("cannot connect");
        return;
    }
    redisAsyncCommand(R.sub, on_message, NULL, "SUBSCRIBE %s %s", R.chan, R.nchan);
}

static void on_timer(io_watch *w, unsigned ready)
{
    (void)ready;
    uint64_t expirations;
    if (read(w->fd, &expirations, sizeof expirations) < 0) {
        /* nothing due yet */
    }
    int64_t now = R.loop->now;
    if (R.cmd == NULL && R.sub == NULL) {
        if (now >= R.retry_at) {
            connect_both();
        }
        return;
    }
    if (!R.up) {
        if (now - R.retry_at > LINK_DEAD_MS) {
            link_lost("connect timed out");
        }
        return;
    }
    if (now - R.beat_ok > LINK_DEAD_MS) {
        link_lost("no heartbeat reply");
    } else if (now >= R.next_beat) {
        R.next_beat = now + BEAT_MS;
        heartbeat();
    }
}

bool cluster_config(const char *url)
{
    char host[256];
    unsigned port = 0, db = 0;
    int n = 0;
    if (strncmp(url, "redis://", 8) != 0 ||
        sscanf(url + 8, "%255[^:/]:%u%n", host, &port, &n) != 2 || port == 0 || port > 65535) {
        return false;
    }
    const char *rest = url + 8 + n;
    if (rest[0] == '/' && rest[1] != '\0') {
        char *e = NULL;
        unsigned long v = strtoul(rest + 1, &e, 10);
        if (*e != '\0' || v > 15) {
            return false;
        }
        db = (unsigned)v;
    } else if (rest[0] != '\0' && strcmp(rest, "/") != 0) {
        return false;
    }
    strcpy(R.host, host);
    R.port = (int)port;
    R.db = db;
    R.enabled = true;
    return true;
}

bool cluster_start(io_loop *loop)
{
    if (!R.enabled) {
        return true;
    }
    uint8_t rnd[4];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        return false;
    }
    R.node = 1 + (unsigned)(((uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 |
                             (uint32_t)rnd[2] << 8 | rnd[3]) %
                            99999u);
    proto_set_id_base((unsigned long long)R.node * ID_SPAN);
    client_set_num_base((uint64_t)R.node * ID_SPAN);
    /* Pub/sub ignores the database number: the channel carries it. */
    snprintf(R.chan, sizeof R.chan, "wick:%u:bus", R.db);
    snprintf(R.nchan, sizeof R.nchan, "wick:%u:node:%u", R.db, R.node);
    R.loop = loop;
    R.backoff = BACKOFF_MIN;
    R.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {{0, 250 * 1000000L}, {0, 250 * 1000000L}};
    if (R.tfd < 0 || timerfd_settime(R.tfd, 0, &its, NULL) != 0 ||
        !io_watch_add(loop, &R.timer, R.tfd, on_timer, NULL)) {
        log_line(LOG_ERR, "redis", "error=\"cannot set up the timer\"");
        return false;
    }
    io_watch_set(&R.timer, true, false);
    log_line(LOG_INFO, "redis_node", "node=%u url=redis://%s:%d/%u", R.node, R.host, R.port, R.db);
    connect_both();
    return true;
}

void cluster_stop(void)
{
    if (!R.enabled) {
        return;
    }
    R.enabled = false;
    redisAsyncContext *cmd = R.cmd, *sub = R.sub;
    R.cmd = R.sub = NULL;
    R.up = false;
    if (cmd != NULL) {
        redisAsyncFree(cmd);
    }
    if (sub != NULL) {
        redisAsyncFree(sub);
    }
    while (pending_head != NULL) {
        struct pending *p = pending_head;
        pending_head = p->next;
        free(p);
    }
    if (R.tfd >= 0) {
        close(R.tfd);
    }
    redis_release(NULL);
}

/* === The bus, shared (bus.c calls these first; false: do it locally) === */

static void envelope(char *out, size_t cap, const char *kind, const char *a, const char *b)
{
    snprintf(out, cap, "%s %s %s ", kind, a, b);
}

/* Publishes a room event; leaving: the client id to remove from the room. */
static bool publish_room(const struct room *r, const struct frame *f, const char *except,
                         unsigned long long keep_seq, const char *leaving)
{
    if (!bus_shared() || f == NULL) {
        return false;
    }
    char head[CHAT_MAX_NAME + 40], hkey[CHAT_MAX_NAME + 24], mkey[CHAT_MAX_NAME + 24];
    char ukey[48], hn[16], hid[32];
    envelope(head, sizeof head, "R", r->name, except);
    snprintf(hkey, sizeof hkey, "wick:hist:%s", r->name);
    snprintf(mkey, sizeof mkey, "wick:members:%s", r->name);
    snprintf(ukey, sizeof ukey, "wick:nodeusers:%u", R.node);
    snprintf(hn, sizeof hn, "%u", cfg.history);
    snprintf(hid, sizeof hid, "s%llu ", keep_seq);
    size_t hl = strlen(head), il = strlen(hid);
    char *env = malloc(hl + f->json_len);
    char *ent = malloc(il + f->json_len);
    if (env == NULL || ent == NULL) {
        free(env);
        free(ent);
        return false;
    }
    memcpy(env, head, hl);
    memcpy(env + hl, f->json, f->json_len);
    memcpy(ent, hid, il);
    memcpy(ent + il, f->json, f->json_len);
    bool keep = keep_seq != 0 && cfg.history > 0;
    const char *argv[] = {"EVAL",
                          room_lua,
                          "4",
                          hkey,
                          R.chan,
                          mkey,
                          ukey,
                          env,
                          keep ? ent : "",
                          hn,
                          leaving != NULL ? leaving : "",
                          r->name};
    size_t lens[12];
    for (size_t i = 0; i < 12; i++) { /* env and ent are not NUL-terminated */
        lens[i] = i == 7   ? hl + f->json_len
                  : i == 8 ? (keep ? il + f->json_len : 0)
                           : strlen(argv[i]);
    }
    redisAsyncCommandArgv(R.cmd, on_reply, WHAT("room"), 12, argv, lens);
    free(env);
    free(ent);
    return true;
}

bool cluster_room(struct room *r, struct frame *f, const struct client *except,
                  unsigned long long keep_seq)
{
    return publish_room(r, f, except != NULL ? except->id : "-", keep_seq, NULL);
}

bool cluster_leave(struct room *r, struct frame *f, struct client *c)
{
    struct pending **pp = pending_find(c->num, r->name);
    if (*pp != NULL) {
        struct pending *p = *pp;
        *pp = p->next;
        free(p);
    }
    return publish_room(r, f, c->id, 0, c->id);
}

bool cluster_join(struct client *c, struct room *r, struct frame *joined, const char *since)
{
    if (!bus_shared() || joined == NULL) {
        return false;
    }
    struct pending *p = calloc(1, sizeof *p);
    char head[CHAT_MAX_NAME + 40];
    envelope(head, sizeof head, "R", r->name, c->id);
    size_t hl = strlen(head);
    char *env = malloc(hl + joined->json_len);
    if (p == NULL || env == NULL) {
        free(p);
        free(env);
        return false;
    }
    p->num = c->num;
    strcpy(p->room, r->name);
    if (since != NULL) {
        p->has_since = true;
        snprintf(p->since, sizeof p->since, "%s", since);
    }
    p->next = pending_head;
    pending_head = p;
    memcpy(env, head, hl);
    memcpy(env + hl, joined->json, joined->json_len);
    char mkey[CHAT_MAX_NAME + 24], ukey[48], hkey[CHAT_MAX_NAME + 24];
    snprintf(mkey, sizeof mkey, "wick:members:%s", r->name);
    snprintf(ukey, sizeof ukey, "wick:nodeusers:%u", R.node);
    snprintf(hkey, sizeof hkey, "wick:hist:%s", r->name);
    const char *argv[] = {"EVAL",  join_lua, "5",     mkey,  ukey,
                          hkey,    R.chan,   R.nchan, c->id, c->name[0] ? c->name : c->id,
                          r->name, env};
    size_t lens[12];
    for (size_t i = 0; i < 12; i++) {
        lens[i] = i == 11 ? hl + joined->json_len : strlen(argv[i]);
    }
    redisAsyncCommandArgv(R.cmd, on_reply, WHAT("join"), 12, argv, lens);
    free(env);
    return true;
}

/* What the sender of a direct message is waiting for (the directory's
 * answer); one per message in flight, freed by the reply callback. */
struct direct_wait {
    uint64_t num;
    bool ack;
    char ref[CHAT_MAX_ID + 1];
    char sid[32];
};

static void on_direct(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    const redisReply *rp = reply;
    struct direct_wait *w = priv;
    int found = -1; /* no reply: the link went down */
    if (rp != NULL && rp->type == REDIS_REPLY_INTEGER) {
        found = rp->integer > 0 ? 1 : 0;
    } else if (rp != NULL) {
        on_reply(ac, reply, WHAT("direct"));
    }
    proto_direct_answer(w->num, w->ref, w->sid, w->ack, found);
    free(w);
}

/* Publishes "<kind> <a> <json>" on channel chan (no answer awaited). */
static bool publish(const char *chan, const char *head, const struct frame *f)
{
    size_t hl = strlen(head);
    char *env = malloc(hl + f->json_len);
    if (env == NULL) {
        return false;
    }
    memcpy(env, head, hl);
    memcpy(env + hl, f->json, f->json_len);
    const char *argv[] = {"PUBLISH", chan, env};
    size_t lens[] = {7, strlen(chan), hl + f->json_len};
    redisAsyncCommandArgv(R.cmd, on_reply, WHAT("publish"), 3, argv, lens);
    free(env);
    return true;
}

bool cluster_direct(const struct client *from, const char *to, const struct frame *f, bool all,
                    const char *ref, const char *sid, bool ack)
{
    if (!bus_shared() || f == NULL) {
        return false;
    }
    char head[CHAT_MAX_NAME + 40], node[16];
    snprintf(head, sizeof head, "D %s %s %d ", to, from->id, all ? 1 : 0);
    snprintf(node, sizeof node, "%u", R.node);
    size_t hl = strlen(head);
    char *env = malloc(hl + f->json_len);
    struct direct_wait *w = calloc(1, sizeof *w);
    if (env == NULL || w == NULL) {
        free(env);
        free(w);
        return false;
    }
    w->num = from->num;
    w->ack = ack;
    snprintf(w->ref, sizeof w->ref, "%s", ref);
    snprintf(w->sid, sizeof w->sid, "%s", sid);
    memcpy(env, head, hl);
    memcpy(env + hl, f->json, f->json_len);
    const char *argv[] = {"EVAL", direct_lua, "2", "wick:nodes", R.chan, to, node, env};
    size_t lens[8];
    for (size_t i = 0; i < 8; i++) {
        lens[i] = i == 7 ? hl + f->json_len : strlen(argv[i]);
    }
    if (redisAsyncCommandArgv(R.cmd, on_direct, w, 8, argv, lens) != REDIS_OK) {
        free(w);
        free(env);
        return false;
    }
    free(env);
    return true;
}

bool cluster_broadcast(const struct client *from, const struct frame *f)
{
    if (!bus_shared() || f == NULL) {
        return false;
    }
    char head[40];
    snprintf(head, sizeof head, "B %s ", from->id);
    return publish(R.chan, head, f);
}

bool cluster_read(unsigned long long seq, const char *room, const struct frame *f)
{
    unsigned long long node = seq / ID_SPAN;
    if (!bus_shared() || f == NULL || node == 0 || node == R.node || node > 99999) {
        return false;
    }
    char chan[64], head[CHAT_MAX_NAME + 40];
    snprintf(chan, sizeof chan, "wick:%u:node:%llu", R.db, node);
    snprintf(head, sizeof head, "K %llu %s ", seq, room);
    return publish(chan, head, f);
}

/* The directory: "i:<id>" while c is connected, "n:<name>" counted. */
static void dir_add(const char *prefix, const char *v)
{
    char key[48], field[CHAT_MAX_NAME + 4];
    dir_key(key, sizeof key, R.node);
    snprintf(field, sizeof field, "%s%s", prefix, v);
    redisAsyncCommand(R.cmd, on_reply, WHAT("directory"), "HINCRBY %s %s 1", key, field);
}

static void dir_del(const char *prefix, const char *v)
{
    char key[48], field[CHAT_MAX_NAME + 4];
    dir_key(key, sizeof key, R.node);
    snprintf(field, sizeof field, "%s%s", prefix, v);
    redisAsyncCommand(R.cmd, on_reply, WHAT("directory"), "EVAL %s 1 %s %s", undir_lua, key, field);
}

void cluster_list(struct client *c)
{
    if (!bus_shared() || c->listed) {
        return; /* while Redis is down: resync_directory() lists it */
    }
    c->listed = true;
    dir_add("i:", c->id);
    if (c->name[0] != '\0') {
        dir_add("n:", c->name);
    }
}

void cluster_rename(struct client *c, const char *old)
{
    if (!bus_shared() || !c->listed || strcmp(old, c->name) == 0) {
        return;
    }
    if (old[0] != '\0') {
        dir_del("n:", old);
    }
    if (c->name[0] != '\0') {
        dir_add("n:", c->name);
    }
}

void cluster_unlist(struct client *c)
{
    if (!c->listed) {
        return;
    }
    c->listed = false;
    if (bus_shared()) {
        dir_del("i:", c->id);
        if (c->name[0] != '\0') {
            dir_del("n:", c->name);
        }
    }
}
