/*
 * Private interface between the receive side (wick_conn.c) and the output
 * side (wick_out.c) of the connection engine.
 */
#ifndef WICK_CONN_H
#define WICK_CONN_H

#include "wick_internal.h"

/* Queues a pong with payload[0..len) (len <= 125). When the output buffer
 * has no room it waits in the connection, replacing an older waiting pong
 * (RFC 6455 5.5.3: only the latest ping needs an answer); a waiting close
 * makes the pong pointless and it is dropped. Returns WICK_OK or
 * WICK_ERR_RANDOM. */
wick_err wick__out_pong(wick_conn *c, const uint8_t *payload, size_t len);

/* Queues a close frame with `code` (0: empty payload) and reason (at most
 * 123 bytes, already validated) and marks the close as sent. When the
 * output buffer has no room it waits in the connection (replacing a
 * waiting pong) and goes out first when space frees. Returns WICK_OK or
 * WICK_ERR_RANDOM (nothing queued). */
wick_err wick__out_close(wick_conn *c, uint16_t code, const uint8_t *reason, size_t len);

#endif /* WICK_CONN_H */
