/*
 * The bus: the one seam between the chat logic (protocol.c) and "every
 * node that serves this chat". Today there is one node, and bus.c
 * delivers in-process; with --redis (issue 13) the same calls publish to
 * Redis and the node's own subscription delivers to its local members.
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

/* A room event (chat, typing, user_joined, user_left): to every member of
 * r but `except` (the sender's connection, which gets an ack instead).
 * keep_seq != 0: a chat message with id "s<keep_seq>", kept in the
 * room's history. */
void bus_room(struct room *r, struct frame *f, const struct client *except,
              unsigned long long keep_seq);

#endif
