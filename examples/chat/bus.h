/*
 * The bus: the one seam between the chat logic (protocol.c) and "every
 * node that serves this chat". bus.c delivers in-process (one node, or a
 * node whose Redis is down); with --redis, cluster.c publishes to Redis
 * and the node's own subscription delivers to its local members.
 *
 * Why everything room-wide goes through here, local members included:
 * one order per room. If a node wrote to its own members directly and
 * only published for the others, two nodes' members could see two
 * messages sent at once in different orders. Delivering local members
 * from the same stream that remote nodes read gives every member, on
 * every node, the one order Redis (or, in-process, the event loop) put
 * them in. History is kept on the same path, so a replay has that order
 * too.
 */
#ifndef CHAT_BUS_H
#define CHAT_BUS_H

#include "chat.h"

#include <jansson.h>

/* A room event (chat, typing, user_joined, user_left): to every member of
 * r but `except` (the sender's connection, which gets an ack instead).
 * keep_seq != 0: a chat message with id "s<keep_seq>", kept in the
 * room's history. */
void bus_room(struct room *r, struct frame *f, const struct client *except,
              unsigned long long keep_seq);
/* c has just been added to r: send it "joined" (members, history count),
 * tell the others (user_joined, f), then replay history (after the
 * message id `since` if not NULL; `after` is its number). */
void bus_join(struct client *c, struct room *r, struct frame *f, const char *since,
              unsigned long long after);
/* c has left r (user_left, f): tell the remaining members. */
void bus_leave(struct room *r, struct frame *f, struct client *c);
/* A private/signalling message for `to` (id or name) that matched no
 * local client: true when handed to the other nodes, which look `to` up
 * in the directory and answer later with proto_direct_answer (an ack
 * `sid` for `ref` when `ack`, or no_such_user). */
bool bus_direct(const struct client *from, const char *to, const struct frame *f, bool all,
                const char *ref, const char *sid, bool ack);
/* An admin's broadcast (f): to every connected client on every node but
 * the sender. */
void bus_broadcast(const struct client *from, struct frame *f);
/* Delivers f to every connected client of this node but `except` (an id). */
void broadcast_local(struct frame *f, const char *except);

/* cluster.c (--redis): each returns false when not scaled out or Redis
 * is down, and bus.c then delivers in-process. */
bool bus_shared(void);
bool cluster_room(struct room *r, struct frame *f, const struct client *except,
                  unsigned long long keep_seq);
bool cluster_join(struct client *c, struct room *r, struct frame *joined, const char *since);
bool cluster_leave(struct room *r, struct frame *f, struct client *c);
bool cluster_direct(const struct client *from, const char *to, const struct frame *f, bool all,
                    const char *ref, const char *sid, bool ack);
bool cluster_broadcast(const struct client *from, const struct frame *f);
/* A read receipt for message s<seq> of another node: sent to that node,
 * which hands it to proto_read_remote. False when seq is not another
 * live node's or Redis is down. */
bool cluster_read(unsigned long long seq, const char *room, const struct frame *f);
/* The directory of who is connected where (for no_such_user across
 * nodes): c connected (its id and name), c's name changed from `old`,
 * c is gone. Each does nothing while Redis is down: the node registers
 * everything again when it comes back. */
void cluster_list(struct client *c);
void cluster_rename(struct client *c, const char *old);
void cluster_unlist(struct client *c);

/* What the bus needs from protocol.c and client.c. */
/* Sends c "joined" for r: members (NULL: r's local members; taken), the
 * number of history messages that follow, and whether they are all the
 * client missed. */
void proto_joined(struct client *c, struct room *r, json_t *members, unsigned count, bool complete);
void proto_service_notice(struct client *c, const char *event); /* system "degraded"/"restored" */
void proto_set_id_base(unsigned long long base);                /* message ids start after base */
/* The other nodes' answer to a direct message (bus_direct): found > 0:
 * delivered (ack when `ack`), 0: nobody has that id or name
 * (no_such_user), < 0: Redis was lost before it answered. */
void proto_direct_answer(uint64_t num, const char *ref, const char *sid, bool ack, int found);
/* A read receipt from another node for our message s<seq> in `room`. */
void proto_read_remote(unsigned long long seq, const char *room, const char *json, size_t len);
void client_set_num_base(uint64_t base); /* client numbers start after base */

#endif
