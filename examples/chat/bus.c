/*
 * The in-process bus (bus.h): the single-node server, which is what
 * `make run` starts and needs nothing but this process, and the fallback
 * of a scaled-out node whose Redis is down (cluster.c says false). A room
 * event is delivered to the room's members in the order the event loop
 * produced it, and a chat message is kept in the room's history in that
 * same order, so a replay after a reconnect lines up with what members
 * saw.
 */
#include "bus.h"

#include <string.h>

void bus_room(struct room *r, struct frame *f, const struct client *except,
              unsigned long long keep_seq)
{
    if (cluster_room(r, f, except, keep_seq)) {
        return;
    }
    room_broadcast(r, f, except);
    if (keep_seq != 0 && f != NULL) {
        history_add(r->name, keep_seq, f->json, f->json_len);
    }
}

void bus_join(struct client *c, struct room *r, struct frame *f, const char *since,
              unsigned long long after)
{
    if (cluster_join(c, r, f, since)) {
        return; /* "joined" and history come with the snapshot (cluster.c) */
    }
    bool complete = true;
    unsigned n = history_replay(NULL, r->name, since != NULL, after, &complete);
    proto_joined(c, r, NULL, n, complete);
    room_broadcast(r, f, c);
    history_replay(c, r->name, since != NULL, after, &complete);
}

void bus_leave(struct room *r, struct frame *f, struct client *c)
{
    if (!cluster_leave(r, f, c)) {
        room_broadcast(r, f, c);
    }
}

bool bus_direct(const struct client *from, const char *to, const struct frame *f, bool all,
                const char *ref, const char *sid, bool ack)
{
    return cluster_direct(from, to, f, all, ref, sid, ack);
}

void broadcast_local(struct frame *f, const char *except)
{
    for (struct client *c = client_first(); c != NULL; c = c->next) {
        /* In auth mode only those who have authenticated. */
        if (c->phase == PH_WS && !c->closing && (cfg.secret_len == 0 || c->authed) &&
            strcmp(c->id, except) != 0) {
            client_send(c, f);
        }
    }
}

void bus_broadcast(const struct client *from, struct frame *f)
{
    if (!cluster_broadcast(from, f)) {
        broadcast_local(f, from->id);
    }
}
