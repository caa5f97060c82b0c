/*
 * Rooms: a hash table of rooms by name, each with an array of members.
 * A room is created by its first join and freed when its last member
 * leaves. Broadcasts take one encoded frame and queue it to each member
 * (wick_conn_send_prepared through client_send), so the JSON is encoded
 * once per message, not once per member.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

#define ROOM_BUCKETS 4096u

/* protocol.c: drops a connection's protocol state (resume secret,
 * budgets). Declared here until chat.h, which is being reworked with the
 * I/O layer move, takes it. */
void proto_forget(struct client *c);

static struct room *buckets[ROOM_BUCKETS];

static unsigned hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h % ROOM_BUCKETS;
}

struct room *room_find(const char *name)
{
    for (struct room *r = buckets[hash_name(name)]; r != NULL; r = r->hnext) {
        if (strcmp(r->name, name) == 0) {
            return r;
        }
    }
    return NULL;
}

bool room_has(const struct room *r, const struct client *c)
{
    for (unsigned i = 0; i < c->num_rooms; i++) {
        if (c->rooms[i] == r) {
            return true;
        }
    }
    return false;
}

int room_join(struct room **out, const char *name, struct client *c)
{
    struct room *r = room_find(name);
    if (r != NULL && room_has(r, c)) {
        return -3;
    }
    if (c->num_rooms >= CHAT_ROOMS_PER_CLIENT) {
        return -2;
    }
    if (r != NULL && r->count >= cfg.max_room) {
        return -1;
    }
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r == NULL) {
            return -1;
        }
        strcpy(r->name, name);
        unsigned b = hash_name(name);
        r->hnext = buckets[b];
        buckets[b] = r;
        stats.rooms++;
        log_line(LOG_DEBUG, "room_created", "room=%s", name);
    }
    if (r->count == r->cap) {
        unsigned ncap = r->cap == 0 ? 4 : r->cap * 2;
        struct client **m = realloc(r->members, ncap * sizeof *m);
        if (m == NULL) {
            return -1;
        }
        r->members = m;
        r->cap = ncap;
    }
    r->members[r->count++] = c;
    c->rooms[c->num_rooms++] = r;
    *out = r;
    return 0;
}

static void room_free(struct room *r)
{
    unsigned b = hash_name(r->name);
    for (struct room **pp = &buckets[b]; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == r) {
            *pp = r->hnext;
            break;
        }
    }
    log_line(LOG_DEBUG, "room_removed", "room=%s", r->name);
    stats.rooms--;
    free(r->members);
    free(r);
}

/* Removes c from r (order of the others is kept, so member lists stay in
 * join order), tells the remaining members, frees an empty room. */
bool room_leave(struct room *r, struct client *c, const char *reason)
{
    bool found = false;
    for (unsigned i = 0; i < r->count; i++) {
        if (r->members[i] == c) {
            memmove(&r->members[i], &r->members[i + 1], (r->count - i - 1) * sizeof r->members[0]);
            r->count--;
            found = true;
            break;
        }
    }
    for (unsigned i = 0; i < c->num_rooms; i++) {
        if (c->rooms[i] == r) {
            c->rooms[i] = c->rooms[--c->num_rooms];
            break;
        }
    }
    if (!found) {
        return false;
    }
    log_line(LOG_INFO, "leave", "id=%s room=%s reason=%s", c->id, r->name, reason);
    /* Told even when no local member is left: with --redis the room has
     * members on other nodes (bus.c). */
    proto_user_left(r, c, reason);
    if (r->count == 0) {
        room_free(r);
    }
    return true;
}

/* Every disconnect path (close sent, close received, error, kill) ends
 * here with reason "disconnect", so the connection's protocol state goes
 * too. */
void room_leave_all(struct client *c, const char *reason)
{
    while (c->num_rooms > 0) {
        room_leave(c->rooms[c->num_rooms - 1], c, reason);
    }
    proto_forget(c);
}

void room_broadcast(struct room *r, struct frame *f, const struct client *except)
{
    stats.broadcasts++;
    for (unsigned i = 0; i < r->count; i++) {
        struct client *m = r->members[i];
        if (m != except) {
            client_send(m, f);
        }
    }
}
