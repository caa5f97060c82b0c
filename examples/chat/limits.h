/*
 * limits.c: the chat server's limits that outlive a connection (issue 15).
 *
 *   - rate limits per user (authenticated: the token's user; anonymous:
 *     the peer address, IPv4 or IPv6 /64), kept in a bounded table with
 *     decay, so reconnecting does not reset them;
 *   - --max-per-ip: connections per address (examples/io/peer.c);
 *   - --message-deadline and --reassembly-cap: the memory an unfinished
 *     message may pin (examples/io/ws.c, ws_budget).
 *
 * main.c hands the options to limits_option() and calls limits_setup()
 * before ws_listen(); protocol.c asks limits_take() once per counted
 * message. See docs/chat.md "Limits".
 */
#ifndef CHAT_LIMITS_H
#define CHAT_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../io/ws.h"

struct client;

enum {
    OPT_LIMITS_BASE = 0x1000, /* getopt values, after main.c's own */
    OPT_MAX_PER_IP,
    OPT_RATE_LIMIT_IP,
    OPT_MESSAGE_DEADLINE,
    OPT_REASSEMBLY_CAP
};

/* main.c's long_opts entries and --help lines. */
#define LIMITS_LONG_OPTS                                                                           \
    {"max-per-ip", required_argument, NULL, OPT_MAX_PER_IP},                                       \
        {"rate-limit-ip", required_argument, NULL, OPT_RATE_LIMIT_IP},                             \
        {"message-deadline", required_argument, NULL, OPT_MESSAGE_DEADLINE},                       \
        {"reassembly-cap", required_argument, NULL, OPT_REASSEMBLY_CAP},
#define LIMITS_HELP                                                                                \
    "  --max-per-ip N         connections per address (IPv4, IPv6 /64); over it:\n"                \
    "                         HTTP 429 and close (64; 0: no limit)\n"                              \
    "  --rate-limit-ip N      messages per window for all anonymous connections\n"                 \
    "                         of one address together (10 x --rate-limit)\n"                       \
    "  --message-deadline SECS  a message held in reassembly memory must be\n"                     \
    "                         complete within this; else close 1008 (30)\n"                        \
    "  --reassembly-cap BYTES memory for unfinished messages, all connections\n"                   \
    "                         together; over it: close 1013 (67108864)\n"

struct limits_config {
    size_t max_per_ip;
    unsigned rate_limit_ip; /* 0: 10 x cfg.rate_limit */
    int64_t message_deadline_ms;
    size_t reassembly_cap;
};

extern struct limits_config limits_cfg;
extern ws_budget limits_reasm;

/* One of the OPT_* above with its argument; false (after a message on
 * stderr) when the value is invalid. */
bool limits_option(int opt, const char *arg);
/* Puts the limits into the loop and the WebSocket configuration. */
void limits_setup(io_loop *loop, ws_config *wcfg);
/* Takes one message from c's key (user or address) budget; false when
 * it is spent (the message is over the rate limit). */
bool limits_take(const struct client *c);
/* ws_callbacks.on_limit: logs the close. */
void limits_on_ws_limit(ws_conn *ws, uint16_t code, const char *what);

#endif
