/*
 * permessage-deflate (RFC 7692) for the examples: the --no-deflate and
 * --deflate-* options (the same in every example) and the per-connection
 * setup around wick_pmd_accept/offer/verify/init.
 */
#ifndef EXAMPLES_DEFLATE_H
#define EXAMPLES_DEFLATE_H

#include <wick.h>

typedef struct io_deflate {
    bool enabled;        /* offer (client) / accept (server) */
    wick_pmd_config cfg; /* budget, flags, level, min size, ratio */
    /* Flags added to cfg.flags for each connection's own state but not
     * negotiated (the chat server's --deflate-shared: DECOMPRESS_ONLY). */
    unsigned conn_flags;
} io_deflate;

/* Per connection: what was agreed and the memory it runs in. */
typedef struct io_deflate_conn {
    wick_pmd_params params;
    wick_pmd pmd;   /* MUST outlive the wick_conn: it is its extension */
    uint8_t *arena; /* wick_pmd_arena_size() bytes, malloc'd at the upgrade */
    size_t arena_len;
} io_deflate_conn;

extern const char io_deflate_usage[];

void io_deflate_default(io_deflate *d);
/* argv[*i]: 1 handled (value consumed), 0 not a deflate option, -1 bad value. */
int io_deflate_option(io_deflate *d, int argc, char **argv, int *i);
/* Server: the answer to the request's offers ({NULL,0}: none agreed). */
wick_err io_deflate_accept(const io_deflate *d, const wick_hs_request *r, io_deflate_conn *dc,
                           char *buf, size_t cap, wick_str *answer);
/* Client: the offer ({NULL,0} when disabled), and the check of the answer. */
wick_err io_deflate_offer(const io_deflate *d, char *buf, size_t cap, wick_str *offer);
wick_err io_deflate_verify(const io_deflate *d, const wick_hs_client *hs, io_deflate_conn *dc);
/* After the handshake, when agreed: the arena, and cfg->extension. */
wick_err io_deflate_start(const io_deflate *d, io_deflate_conn *dc, wick_role role,
                          wick_conn_config *cfg);
void io_deflate_stop(io_deflate_conn *dc);
/* One line describing what was agreed. */
void io_deflate_describe(const io_deflate_conn *dc, char *buf, size_t cap);

#endif
