/*
 * Private interface between the receive side (wick_conn.c) and the output
 * side (wick_out.c) of the connection engine.
 */
#ifndef WICK_CONN_H
#define WICK_CONN_H

#include "wick_internal.h"

/* WICK_NO_EXTENSIONS leaves the extension hook (wick_conn_config.extension:
 * decode on receive, encode on send) out of the engine, for firmware that
 * negotiates no extension; wick_conn_init() then refuses a config that
 * sets one (WICK_ERR_ARG). The engine tests this constant next to its
 * runtime flags, so the compiler drops the hook's code without #ifdefs. */
#ifdef WICK_NO_EXTENSIONS
#define WICK__EXTENSIONS 0
#else
#define WICK__EXTENSIONS 1
#endif

/* True when a pong with len payload bytes fits in the output now, outside
 * the close reserve. */
bool wick__out_pong_fits(const wick_conn *c, size_t len);

/* Queues a pong with payload[0..len) (len <= 125). Returns WICK_OK,
 * WICK_ERR_WOULD_BLOCK (check wick__out_pong_fits() first) or
 * WICK_ERR_RANDOM. */
wick_err wick__out_pong(wick_conn *c, const uint8_t *payload, size_t len);

/* Queues a close frame with `code` (0: empty payload) and reason (at most
 * 123 bytes, already validated) and marks the close as sent. It always
 * fits: the output keeps WICK_OUT_RESERVE bytes free for it. Returns
 * WICK_OK or WICK_ERR_RANDOM (nothing queued). */
wick_err wick__out_close(wick_conn *c, uint16_t code, const uint8_t *reason, size_t len);

/* Fails the connection with err (RFC 6455 7.1.7): the close frame is
 * queued, on_error called; returns err (or the earlier error). */
wick_err wick__conn_fail(wick_conn *c, wick_err err);

#endif /* WICK_CONN_H */
