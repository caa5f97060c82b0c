/*
 * permessage-deflate glue shared by the examples (see deflate.h). The
 * arena is sized for the windows actually agreed (at most the budget),
 * so a peer that asks for small windows costs less.
 */
#include "deflate.h"

#include "io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char io_deflate_usage[] =
    "permessage-deflate (RFC 7692), on unless --no-deflate:\n"
    "  --no-deflate                   neither offer nor accept it\n"
    "  --deflate-budget BYTES         memory per connection (default 65536)\n"
    "  --deflate-decompress-only      never compress what we send\n"
    "  --deflate-no-context-takeover  reset our compressor after each message\n"
    "  --deflate-peer-no-context-takeover  ask the peer to reset its own\n"
    "  --deflate-min-size BYTES       send shorter messages uncompressed (default 0)\n"
    "  --deflate-level N              compression level 1-9 (default 6)\n"
    "  --deflate-max-ratio N          fail (1009) a message inflating over N times\n"
    "                                 its compressed size (default 0: off)\n";

void io_deflate_default(io_deflate *d)
{
    d->enabled = true;
    d->conn_flags = 0;
    wick_pmd_config_default(&d->cfg);
}

int io_deflate_option(io_deflate *d, int argc, char **argv, int *i)
{
    static const char *const flags[] = {"--deflate-decompress-only",
                                        "--deflate-no-context-takeover",
                                        "--deflate-peer-no-context-takeover"};
    static const unsigned bits[] = {WICK_PMD_DECOMPRESS_ONLY, WICK_PMD_NO_CONTEXT_TAKEOVER,
                                    WICK_PMD_PEER_NO_CONTEXT_TAKEOVER};
    static const char *const valued[] = {"--deflate-budget", "--deflate-min-size",
                                         "--deflate-level", "--deflate-max-ratio"};
    static const unsigned long long max[] = {1ULL << 30, 1ULL << 40, 9, 1U << 30};
    const char *a = argv[*i];
    if (strcmp(a, "--no-deflate") == 0) {
        d->enabled = false;
        return 1;
    }
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
        if (strcmp(a, flags[k]) == 0) {
            d->cfg.flags |= bits[k];
            return 1;
        }
    }
    for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
        unsigned long long v = 0;
        if (strcmp(a, valued[k]) != 0) {
            continue;
        }
        if (*i + 1 >= argc || !io_parse_uint(argv[*i + 1], max[k], &v)) {
            return -1;
        }
        ++*i;
        if (k == 0) {
            d->cfg.budget = (size_t)v;
        } else if (k == 1) {
            d->cfg.min_size = (size_t)v;
        } else if (k == 2) {
            d->cfg.level = (int)v;
        } else {
            d->cfg.max_ratio = (uint32_t)v;
        }
        return 1;
    }
    return 0;
}

wick_err io_deflate_accept(const io_deflate *d, const wick_hs_request *r, io_deflate_conn *dc,
                           char *buf, size_t cap, wick_str *answer)
{
    memset(&dc->params, 0, sizeof(dc->params));
    *answer = (wick_str){NULL, 0};
    if (!d->enabled || r->num_extensions == 0) {
        return WICK_OK;
    }
    size_t len = 0;
    wick_err e =
        wick_pmd_accept(&d->cfg, r->extensions, r->num_extensions, &dc->params, buf, cap, &len);
    if (e == WICK_OK && len > 0) {
        *answer = (wick_str){buf, len};
    }
    return e;
}

wick_err io_deflate_offer(const io_deflate *d, char *buf, size_t cap, wick_str *offer)
{
    *offer = (wick_str){NULL, 0};
    if (!d->enabled) {
        return WICK_OK;
    }
    size_t len = 0;
    wick_err e = wick_pmd_offer(&d->cfg, buf, cap, &len);
    if (e == WICK_OK) {
        *offer = (wick_str){buf, len};
    }
    return e;
}

wick_err io_deflate_verify(const io_deflate *d, const wick_hs_client *hs, io_deflate_conn *dc)
{
    memset(&dc->params, 0, sizeof(dc->params));
    if (!d->enabled) {
        /* We offered nothing, so an answer with any extension is wrong
         * (RFC 6455 4.1): wick_hs_client_verify() has checked that. */
        return WICK_OK;
    }
    return wick_pmd_verify(&d->cfg, hs->extensions, hs->num_extensions, &dc->params);
}

wick_err io_deflate_start(const io_deflate *d, io_deflate_conn *dc, wick_role role,
                          wick_conn_config *cfg)
{
    wick_pmd_config cc = d->cfg;
    cc.flags |= d->conn_flags;
    size_t need = wick_pmd_arena_size(&cc, &dc->params, role);
    dc->arena = malloc(need > 0 ? need : 1);
    if (dc->arena == NULL) {
        return WICK_ERR_NOMEM;
    }
    dc->arena_len = need;
    wick_err e = wick_pmd_init(&dc->pmd, &cc, &dc->params, role, dc->arena, need);
    if (e != WICK_OK) {
        free(dc->arena);
        dc->arena = NULL;
        return e;
    }
    cfg->extension = wick_pmd_extension(&dc->pmd);
    return WICK_OK;
}

void io_deflate_stop(io_deflate_conn *dc)
{
    if (dc->arena != NULL) {
        wick_pmd_release(&dc->pmd);
        free(dc->arena);
        dc->arena = NULL;
    }
}

void io_deflate_describe(const io_deflate_conn *dc, char *buf, size_t cap)
{
    const wick_pmd_params *p = &dc->params;
    /* What the budget really gave (the agreed bits are only limits). */
    wick_pmd_info in = wick_pmd_get_info(&dc->pmd);
    snprintf(buf, cap,
             "permessage-deflate: server_max_window_bits=%u client_max_window_bits=%u "
             "takeover server=%s client=%s, arena %zu bytes (inflate %u bits, deflate %u bits "
             "memLevel %u)",
             (unsigned)p->server_max_window_bits, (unsigned)p->client_max_window_bits,
             p->server_no_context_takeover ? "no" : "yes",
             p->client_no_context_takeover ? "no" : "yes", dc->arena_len, (unsigned)in.inflate_bits,
             (unsigned)in.deflate_bits, (unsigned)in.mem_level);
}
