/*
 * hiredis on the examples/io loop (redis.c) and the Redis bus
 * (cluster.c): what the rest of the chat server calls.
 */
#ifndef CHAT_REDIS_H
#define CHAT_REDIS_H

#include "../io/io.h"

struct redisAsyncContext;

/* redis.c: drives ac from loop through an fd watch: hiredis's addRead,
 * delRead, addWrite, delWrite and cleanup hooks. No threads, no blocking
 * calls: hiredis reads and writes only when the loop says it can. False
 * (and ac untouched) when the loop cannot watch its socket. */
bool redis_attach(struct redisAsyncContext *ac, io_loop *loop);
/* Frees the adapters of freed contexts retired before this iteration of
 * loop (NULL: all of them, at exit). */
void redis_release(const io_loop *loop);

/* cluster.c: --redis URL. Parses it at start-up (false: invalid). */
bool cluster_config(const char *url);
/* After chat_start: connects, subscribes, heartbeats, reconnects. */
bool cluster_start(io_loop *loop);
void cluster_stop(void); /* after io_loop_run */

#endif
