/*
 * The in-process bus (bus.h): the single-node server, which is what
 * `make run` starts and needs nothing but this process. A room event is
 * delivered to the room's members in the order the event loop produced
 * it, and a chat message is kept in the room's history in that same
 * order, so a replay after a reconnect lines up with what members saw.
 */
#include "bus.h"

void bus_room(struct room *r, struct frame *f, const struct client *except,
              unsigned long long keep_seq)
{
    room_broadcast(r, f, except);
    if (keep_seq != 0 && f != NULL) {
        history_add(r->name, keep_seq, f->json, f->json_len);
    }
}
