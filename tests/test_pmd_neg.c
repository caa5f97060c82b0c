/* permessage-deflate negotiation (RFC 7692 5 and 7.1): wick_pmd_accept,
 * wick_pmd_offer and wick_pmd_verify, with the memory budget.
 *
 * The tables say what each row gives with zlib's sizes on both halves.
 * With wick's own inflater (WICK_ZLIB=0, decompress-only, or
 * WICK_INFLATE=1) the inflater is smaller and, without zlib, nothing is
 * compressed, so the windows differ: the tables are skipped there, the
 * properties (every agreement fits both budgets, offer and answer agree)
 * run everywhere, and test_decompress_only states the zlib-less offer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wick.h"

/* Every window at 15 with both directions compressing fits (about 300 KB
 * with zlib's defaults): the rows that test RFC rules, not the budget. */
#define BIG (1024U * 1024U)
#define KIB 1024U

enum { NCT = WICK_PMD_NO_CONTEXT_TAKEOVER, PNCT = WICK_PMD_PEER_NO_CONTEXT_TAKEOVER };
enum { DONLY = WICK_PMD_DECOMPRESS_ONLY };

/* The longest value either side writes: all four parameters, two-digit
 * windows. */
#define PMD_MAX_HEADER 128U

#if defined(WICK_ZLIB) && !defined(WICK_INFLATE)
#define ZLIB_SIZES 1
#else
#define ZLIB_SIZES 0
#endif

static const wick_pmd_params off = {false, false, false, 15, 15};

static wick_pmd_config make_cfg(size_t budget, unsigned flags)
{
    wick_pmd_config c;
    wick_pmd_config_default(&c);
    c.budget = budget;
    c.flags = flags;
    return c;
}

/* Parses a Sec-WebSocket-Extensions value from an exact-size copy (ASan
 * sees any over-read); the copy is returned for the caller to free once
 * the views are no longer used. */
static char *parse(const char *value, wick_ext *x, size_t *n)
{
    size_t len = strlen(value);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, value, len);
    *n = 0;
    assert_int_equal(wick_ext_parse(copy, len, x, WICK_MAX_EXTENSIONS, n), WICK_OK);
    return copy;
}

static void print_params(const char *what, const wick_pmd_params *p)
{
    print_error("%s {enabled=%d snct=%d cnct=%d smwb=%u cmwb=%u}\n", what, p->enabled,
                p->server_no_context_takeover, p->client_no_context_takeover,
                p->server_max_window_bits, p->client_max_window_bits);
}

static bool same_params(const wick_pmd_params *a, const wick_pmd_params *b)
{
    return a->enabled == b->enabled &&
           a->server_no_context_takeover == b->server_no_context_takeover &&
           a->client_no_context_takeover == b->client_no_context_takeover &&
           a->server_max_window_bits == b->server_max_window_bits &&
           a->client_max_window_bits == b->client_max_window_bits;
}

static void assert_params(const char *name, const wick_pmd_params *got, const wick_pmd_params *want)
{
    if (!same_params(got, want)) {
        print_error("case %s:\n", name);
        print_params("  got ", got);
        print_params("  want", want);
        fail();
    }
}

/* The plan for the agreed parameters fits the budget (what
 * wick_pmd_init() will need). */
static void assert_fits(const wick_pmd_config *cfg, const wick_pmd_params *p, wick_role role)
{
    if (!p->enabled) {
        return;
    }
    size_t need = wick_pmd_arena_size(cfg, p, role);
    size_t budget = cfg->budget != 0 ? cfg->budget : WICK_PMD_DEFAULT_BUDGET;
    if (need == 0 || need > budget) {
        print_error("role %d budget %zu: arena %zu\n", (int)role, budget, need);
        print_params("  agreed", p);
        fail();
    }
}

/* --- Server ---------------------------------------------------------------- */

struct accept_case {
    const char *name;
    const char *offer;  /* the request's Sec-WebSocket-Extensions */
    size_t budget;      /* 0: the default (64 KiB) */
    unsigned flags;     /* WICK_PMD_* */
    const char *answer; /* NULL: declined */
    wick_pmd_params want;
};

#define DECLINED                                                                                   \
    NULL,                                                                                          \
    {                                                                                              \
        false, false, false, 15, 15                                                                \
    }

static const struct accept_case accept_cases[] = {
    /* RFC 7692 7.1.3: the simplest offer, and its simplest acceptance. */
    {"7.1.3 simplest",
     "permessage-deflate",
     BIG,
     0,
     "permessage-deflate",
     {true, false, false, 15, 15}},
    /* RFC 7692 7.1.3: a 1,024-byte server window asked for; the RFC's
     * answer leaves out client_max_window_bits, which the server MAY
     * answer (7.1.2.2) and we always do when offered. */
    {"7.1.3 smwb=10",
     "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=10; client_max_window_bits=15",
     {true, false, false, 10, 15}},
    /* RFC 7692 7.1.3: the same with a fallback offer; the first fits. */
    {"7.1.3 fallback",
     "permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
     "permessage-deflate; client_max_window_bits",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=10; client_max_window_bits=15",
     {true, false, false, 10, 15}},
    /* RFC 7692 7.1.1.1: accepted by answering it. */
    {"7.1.1.1 snct",
     "permessage-deflate; server_no_context_takeover",
     BIG,
     0,
     "permessage-deflate; server_no_context_takeover",
     {true, true, false, 15, 15}},
    /* RFC 7692 7.1.1.1: the server MAY add it unasked. */
    {"7.1.1.1 snct added",
     "permessage-deflate",
     BIG,
     NCT,
     "permessage-deflate; server_no_context_takeover",
     {true, true, false, 15, 15}},
    /* RFC 7692 7.1.1.2: a hint from the client; we answer it. */
    {"7.1.1.2 cnct",
     "permessage-deflate; client_no_context_takeover",
     BIG,
     0,
     "permessage-deflate; client_no_context_takeover",
     {true, false, true, 15, 15}},
    /* RFC 7692 7.1.1.2: the server MAY include it in any answer. */
    {"7.1.1.2 cnct added",
     "permessage-deflate",
     BIG,
     PNCT,
     "permessage-deflate; client_no_context_takeover",
     {true, false, true, 15, 15}},
    {"both added",
     "permessage-deflate",
     BIG,
     NCT | PNCT,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
     {true, true, true, 15, 15}},
    /* RFC 7692 7.1.2.1: the server's window, 8 to 15. 8 is answered as
     * offered (zlib compresses with 9, which a 256-byte window inflates:
     * WICK__PMD_MIN_DEFLATE_BITS). */
    {"7.1.2.1 smwb=8",
     "permessage-deflate; server_max_window_bits=8",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=8",
     {true, false, false, 8, 15}},
    {"7.1.2.1 smwb=15",
     "permessage-deflate; server_max_window_bits=15",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=15",
     {true, false, false, 15, 15}},
    /* RFC 7692 7.1.2.2: a value is a cap on what we may answer. */
    {"7.1.2.2 cmwb=10",
     "permessage-deflate; client_max_window_bits=10",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=10",
     {true, false, false, 15, 10}},
    {"7.1.2.2 cmwb=8",
     "permessage-deflate; client_max_window_bits=8",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=8",
     {true, false, false, 15, 8}},
    {"all four, 128 bytes",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=15; client_max_window_bits=15",
     BIG,
     0,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=15; client_max_window_bits=15",
     {true, true, true, 15, 15}},
    /* RFC 6455 9.1: a quoted value counts once unescaped. */
    {"quoted smwb",
     "permessage-deflate; server_max_window_bits=\"10\"",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=10",
     {true, false, false, 10, 15}},
    {"quoted escaped",
     "permessage-deflate; client_max_window_bits=\"1\\1\"",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=11",
     {true, false, false, 15, 11}},
    /* Names: ASCII case-insensitive (RFC 9110 5.6.6 for parameters; the
     * extension name as the handshake layer matches it). */
    {"name case",
     "PerMessage-Deflate; Server_No_Context_Takeover",
     BIG,
     0,
     "permessage-deflate; server_no_context_takeover",
     {true, true, false, 15, 15}},
    /* Browsers and libraries. */
    {"chromium",
     "permessage-deflate; client_max_window_bits",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=15",
     {true, false, false, 15, 15}},
    {"firefox", "permessage-deflate", BIG, 0, "permessage-deflate", {true, false, false, 15, 15}},
    {"node ws",
     "permessage-deflate; client_max_window_bits",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=15",
     {true, false, false, 15, 15}},
    {"python websockets 12",
     "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
     {true, false, false, 12, 12}},
    {"autobahn",
     "permessage-deflate; client_no_context_takeover; client_max_window_bits",
     BIG,
     0,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits=15",
     {true, false, true, 15, 15}},
    {"other extensions first",
     "x-webkit-deflate-frame, foo; bar=1, permessage-deflate",
     BIG,
     0,
     "permessage-deflate",
     {true, false, false, 15, 15}},
    {"no permessage-deflate", "x-webkit-deflate-frame", BIG, 0, DECLINED},
    /* The default budget (64 KiB): Chromium's open window is answered
     * with the largest that still lets us compress. */
    {"64k chromium",
     "permessage-deflate; client_max_window_bits",
     0,
     0,
     "permessage-deflate; client_max_window_bits=13",
     {true, false, false, 15, 13}},
    {"64k firefox", "permessage-deflate", 0, 0, "permessage-deflate", {true, false, false, 15, 15}},
    {"64k smwb=10",
     "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
     0,
     0,
     "permessage-deflate; server_max_window_bits=10; client_max_window_bits=15",
     {true, false, false, 10, 15}},
    /* 16 KiB: a 15-bit inflater alone is over budget, so an offer
     * without client_max_window_bits cannot fit; with it we ask for 12
     * and send uncompressed (RFC 7692 6: the sender's choice). */
    {"16k firefox", "permessage-deflate", 16 * KIB, 0, DECLINED},
    {"16k chromium",
     "permessage-deflate; client_max_window_bits",
     16 * KIB,
     0,
     "permessage-deflate; client_max_window_bits=12",
     {true, false, false, 15, 12}},
    {"16k cmwb=10",
     "permessage-deflate; client_max_window_bits=10",
     16 * KIB,
     0,
     "permessage-deflate; client_max_window_bits=10",
     {true, false, false, 15, 10}},
    {"16k firefox then chromium",
     "permessage-deflate, permessage-deflate; client_max_window_bits",
     16 * KIB,
     0,
     "permessage-deflate; client_max_window_bits=12",
     {true, false, false, 15, 12}},
    /* 4 KiB: not even an inflater. */
    {"4k chromium", "permessage-deflate; client_max_window_bits", 4 * KIB, 0, DECLINED},
    {"4k cmwb=8", "permessage-deflate; client_max_window_bits=8", 4 * KIB, 0, DECLINED},
    /* Decompress-only: only an inflater, so the client's full window. */
    {"donly chromium",
     "permessage-deflate; client_max_window_bits",
     0,
     DONLY,
     "permessage-deflate; client_max_window_bits=15",
     {true, false, false, 15, 15}},
    {"donly firefox",
     "permessage-deflate",
     0,
     DONLY,
     "permessage-deflate",
     {true, false, false, 15, 15}},
    {"donly 16k firefox", "permessage-deflate", 16 * KIB, DONLY, DECLINED},
};

/* RFC 7692 7.1: offers the server MUST decline. Each is tried alone
 * (declined) and before a valid offer (which is then accepted). */
static const char *const invalid_offers[] = {
    "permessage-deflate; foo",                                                    /* unknown */
    "permessage-deflate; foo=1",                                                  /* unknown */
    "permessage-deflate; x-webkit-deflate-frame",                                 /* unknown */
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover", /* repeat */
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    "permessage-deflate; client_max_window_bits=9; CLIENT_MAX_WINDOW_BITS=9", /* case */
    "permessage-deflate; server_no_context_takeover=1",                       /* value on a flag */
    "permessage-deflate; client_no_context_takeover=\"x\"",                   /* value on a flag */
    "permessage-deflate; server_no_context_takeover=true",
    "permessage-deflate; server_max_window_bits",   /* 7.1.2.1: a value is required */
    "permessage-deflate; server_max_window_bits=7", /* range 8..15 */
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=0",
    "permessage-deflate; server_max_window_bits=1",
    "permessage-deflate; server_max_window_bits=09", /* leading zero */
    "permessage-deflate; server_max_window_bits=010",
    "permessage-deflate; server_max_window_bits=100",
    "permessage-deflate; server_max_window_bits=+9",
    "permessage-deflate; server_max_window_bits=1a",
    "permessage-deflate; server_max_window_bits=ten",
    "permessage-deflate; server_max_window_bits=\"16\"",
    "permessage-deflate; server_max_window_bits=\"08\"",
    "permessage-deflate; server_max_window_bits=\"115\"",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=08",
    "permessage-deflate; client_max_window_bits=99999999999999999999",
    "permessage-deflate; client_max_window_bits=\"\\1\\5\\0\"", /* "150" */
};

static void check_accept(const char *name, const char *offer, const wick_pmd_config *cfg,
                         const char *answer, const wick_pmd_params *want)
{
    wick_ext x[WICK_MAX_EXTENSIONS];
    size_t n;
    char *copy = parse(offer, x, &n);
    char out[PMD_MAX_HEADER];
    size_t out_len = 99;
    wick_pmd_params got;
    memset(&got, 0x5A, sizeof got);
    assert_int_equal(wick_pmd_accept(cfg, x, n, &got, out, sizeof out, &out_len), WICK_OK);
    if (!wick_pmd_available()) {
        answer = NULL;
        want = &off;
    }
    if (answer == NULL) {
        if (out_len != 0) {
            print_error("case %s: answered \"%.*s\", want a decline\n", name, (int)out_len, out);
        }
        assert_int_equal(out_len, 0);
    } else {
        if (out_len != strlen(answer) || memcmp(out, answer, out_len) != 0) {
            print_error("case %s:\n  got  \"%.*s\"\n  want \"%s\"\n", name, (int)out_len, out,
                        answer);
            fail();
        }
    }
    assert_params(name, &got, want);
    assert_fits(cfg, &got, WICK_ROLE_SERVER);
    free(copy);
}

static void test_accept_table(void **state)
{
    (void)state;
    if (!ZLIB_SIZES) {
        skip(); /* zlib's sizes (see the top) */
    }
    for (size_t i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        const struct accept_case *c = &accept_cases[i];
        wick_pmd_config cfg = make_cfg(c->budget, c->flags);
        check_accept(c->name, c->offer, &cfg, c->answer, &c->want);
    }
    /* cfg NULL: the defaults. */
    wick_ext x[WICK_MAX_EXTENSIONS];
    size_t n;
    char *copy = parse("permessage-deflate; client_max_window_bits", x, &n);
    char out[PMD_MAX_HEADER];
    size_t out_len;
    wick_pmd_params got;
    assert_int_equal(wick_pmd_accept(NULL, x, n, &got, out, sizeof out, &out_len), WICK_OK);
    wick_pmd_config dflt = make_cfg(0, 0);
    assert_fits(&dflt, &got, WICK_ROLE_SERVER);
    assert_int_equal(got.enabled, wick_pmd_available());
    free(copy);
}

static void test_accept_invalid(void **state)
{
    (void)state;
    wick_pmd_config cfg = make_cfg(BIG, 0);
    const wick_pmd_params plain = {true, false, false, 15, 15};
    for (size_t i = 0; i < sizeof invalid_offers / sizeof invalid_offers[0]; i++) {
        const char *o = invalid_offers[i];
        check_accept(o, o, &cfg, NULL, &off);
        /* RFC 7692 5: the next offer is considered. */
        char two[256];
        snprintf(two, sizeof two, "%s, permessage-deflate", o);
        check_accept(two, two, &cfg, "permessage-deflate", &plain);
    }
}

static void test_accept_errors(void **state)
{
    (void)state;
    wick_ext x[WICK_MAX_EXTENSIONS];
    size_t n;
    char *copy = parse("permessage-deflate; server_no_context_takeover; "
                       "client_no_context_takeover; server_max_window_bits=15; "
                       "client_max_window_bits",
                       x, &n);
    wick_pmd_config cfg = make_cfg(BIG, 0);
    char out[PMD_MAX_HEADER];
    size_t out_len = 7;
    wick_pmd_params got;
    /* The answer is exactly 128 bytes: one short fails and agrees nothing. */
    wick_err want = wick_pmd_available() ? WICK_ERR_BUFFER_TOO_SMALL : WICK_OK;
    assert_int_equal(wick_pmd_accept(&cfg, x, n, &got, out, PMD_MAX_HEADER - 1, &out_len), want);
    assert_int_equal(out_len, 0);
    assert_params("too small", &got, &off);
    assert_int_equal(wick_pmd_accept(&cfg, x, n, &got, NULL, 0, &out_len), want);
    assert_int_equal(wick_pmd_accept(&cfg, x, n, &got, out, PMD_MAX_HEADER, &out_len), WICK_OK);
    assert_int_equal(out_len, wick_pmd_available() ? PMD_MAX_HEADER : 0);
    /* No offers at all. */
    assert_int_equal(wick_pmd_accept(&cfg, NULL, 0, &got, out, sizeof out, &out_len), WICK_OK);
    assert_int_equal(out_len, 0);
    assert_false(got.enabled);
    /* NULL pointers. */
    assert_int_equal(wick_pmd_accept(&cfg, x, n, NULL, out, sizeof out, &out_len), WICK_ERR_ARG);
    assert_int_equal(wick_pmd_accept(&cfg, x, n, &got, out, sizeof out, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_pmd_accept(&cfg, NULL, 1, &got, out, sizeof out, &out_len), WICK_ERR_ARG);
    assert_int_equal(wick_pmd_accept(&cfg, x, n, &got, NULL, 5, &out_len), WICK_ERR_ARG);
    free(copy);
}

/* --- Client offer ------------------------------------------------------------ */

struct offer_case {
    size_t budget;
    unsigned flags;
    wick_err want;
    const char *offer;
};

static const struct offer_case offer_cases[] = {
    /* Room for 15-bit windows both ways: Chromium's offer. */
    {BIG, 0, WICK_OK, "permessage-deflate; client_max_window_bits"},
    {BIG, NCT, WICK_OK, "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {BIG, PNCT, WICK_OK, "permessage-deflate; server_no_context_takeover; client_max_window_bits"},
    {BIG, NCT | PNCT, WICK_OK,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "client_max_window_bits"},
    /* Never compressing: we promise the smallest window zlib deflates
     * with, so the server inflates with little memory. */
    {BIG, DONLY, WICK_OK, "permessage-deflate; client_max_window_bits=9"},
    /* The default budget: both windows at 13. */
    {0, 0, WICK_OK, "permessage-deflate; server_max_window_bits=13; client_max_window_bits=13"},
    {0, DONLY, WICK_OK, "permessage-deflate; client_max_window_bits=9"},
    {0, NCT | PNCT, WICK_OK,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=13; client_max_window_bits=13"},
    /* 16 KiB: inflate only, with a 12-bit server window. */
    {16 * KIB, 0, WICK_OK,
     "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9"},
    /* 4 KiB: no inflater fits. */
    {4 * KIB, 0, WICK_ERR_ARG, ""},
};

static void test_offer(void **state)
{
    (void)state;
    if (!ZLIB_SIZES) {
        skip(); /* zlib's sizes (see the top) */
    }
    for (size_t i = 0; i < sizeof offer_cases / sizeof offer_cases[0]; i++) {
        const struct offer_case *c = &offer_cases[i];
        wick_pmd_config cfg = make_cfg(c->budget, c->flags);
        char out[PMD_MAX_HEADER];
        size_t out_len = 99;
        wick_err e = wick_pmd_offer(&cfg, out, sizeof out, &out_len);
        wick_err want = wick_pmd_available() ? c->want : WICK_ERR_STATE;
        if (e != want) {
            print_error("offer %zu: got %s want %s\n", i, wick_err_name(e), wick_err_name(want));
        }
        assert_int_equal(e, want);
        if (e != WICK_OK) {
            assert_int_equal(out_len, 0);
            continue;
        }
        if (out_len != strlen(c->offer) || memcmp(out, c->offer, out_len) != 0) {
            print_error("offer %zu:\n  got  \"%.*s\"\n  want \"%s\"\n", i, (int)out_len, out,
                        c->offer);
            fail();
        }
        /* Exactly fitting, and one byte short. */
        char exact[PMD_MAX_HEADER];
        size_t len2;
        assert_int_equal(wick_pmd_offer(&cfg, exact, out_len, &len2), WICK_OK);
        assert_int_equal(len2, out_len);
        assert_int_equal(wick_pmd_offer(&cfg, exact, out_len - 1, &len2),
                         WICK_ERR_BUFFER_TOO_SMALL);
    }
    /* The longest offer fits in 128 bytes (all four parameters). */
    char out[PMD_MAX_HEADER];
    size_t out_len;
    wick_pmd_config cfg = make_cfg(0, NCT | PNCT);
    assert_int_equal(wick_pmd_offer(&cfg, out, sizeof out, &out_len),
                     wick_pmd_available() ? WICK_OK : WICK_ERR_STATE);
    assert_int_equal(wick_pmd_offer(NULL, out, sizeof out, &out_len),
                     wick_pmd_available() ? WICK_OK : WICK_ERR_STATE);
    assert_int_equal(wick_pmd_offer(&cfg, out, sizeof out, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_pmd_offer(&cfg, NULL, 3, &out_len), WICK_ERR_ARG);
}

/* --- Client verify ------------------------------------------------------------ */

struct verify_case {
    const char *name;
    size_t budget; /* the client's cfg, which made the offer */
    unsigned flags;
    const char *answer; /* the response's Sec-WebSocket-Extensions */
    wick_err want;
    wick_pmd_params agreed;
};

#define FAILS                                                                                      \
    WICK_ERR_HS_DEFLATE,                                                                           \
    {                                                                                              \
        false, false, false, 15, 15                                                                \
    }

/* Offers: BIG -> "permessage-deflate; client_max_window_bits";
 * 0 (64 KiB) -> "...; server_max_window_bits=13; client_max_window_bits=13";
 * BIG|PNCT adds server_no_context_takeover, NCT client_no_context_takeover. */
static const struct verify_case verify_cases[] = {
    {"not accepted", BIG, 0, "x-other", WICK_OK, {false, false, false, 15, 15}},
    {"plain", BIG, 0, "permessage-deflate", WICK_OK, {true, false, false, 15, 15}},
    {"cmwb answered",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=10",
     WICK_OK,
     {true, false, false, 15, 10}},
    {"cmwb 8",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=8",
     WICK_OK,
     {true, false, false, 15, 8}},
    {"quoted",
     BIG,
     0,
     "permessage-deflate; client_max_window_bits=\"12\"",
     WICK_OK,
     {true, false, false, 15, 12}},
    /* RFC 7692 7.1.2.1: the server MAY name its window unasked. */
    {"smwb unasked",
     BIG,
     0,
     "permessage-deflate; server_max_window_bits=10",
     WICK_OK,
     {true, false, false, 10, 15}},
    /* RFC 7692 7.1.1.1 / 7.1.1.2: the server MAY add either flag. */
    {"snct unasked",
     BIG,
     0,
     "permessage-deflate; server_no_context_takeover",
     WICK_OK,
     {true, true, false, 15, 15}},
    {"cnct unasked",
     BIG,
     0,
     "permessage-deflate; client_no_context_takeover",
     WICK_OK,
     {true, false, true, 15, 15}},
    {"snct asked",
     BIG,
     PNCT,
     "permessage-deflate; server_no_context_takeover",
     WICK_OK,
     {true, true, false, 15, 15}},
    /* RFC 7692 7.1.1.2: our hint binds us even when not answered. */
    {"cnct hint", BIG, NCT, "permessage-deflate", WICK_OK, {true, false, true, 15, 15}},
    /* The default budget: the server answers within what we asked. */
    {"64k exact",
     0,
     0,
     "permessage-deflate; server_max_window_bits=13; client_max_window_bits=13",
     WICK_OK,
     {true, false, false, 13, 13}},
    {"64k smaller",
     0,
     0,
     "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
     WICK_OK,
     {true, false, false, 9, 10}},
    /* RFC 7692 7.1.2.2: our value binds us when not answered. */
    {"64k cmwb hint",
     0,
     0,
     "permessage-deflate; server_max_window_bits=13",
     WICK_OK,
     {true, false, false, 13, 13}},
    {"name case",
     0,
     0,
     "PERMESSAGE-DEFLATE; Server_Max_Window_Bits=12",
     WICK_OK,
     {true, false, false, 12, 13}},
    {"other extensions",
     BIG,
     0,
     "foo, permessage-deflate; client_max_window_bits=15, bar",
     WICK_OK,
     {true, false, false, 15, 15}},
    /* RFC 7692 7.1: the client fails the connection. */
    {"twice", BIG, 0, "permessage-deflate, permessage-deflate", FAILS},
    {"unknown", BIG, 0, "permessage-deflate; foo", FAILS},
    {"unknown value", BIG, 0, "permessage-deflate; mem_level=8", FAILS},
    {"repeated", BIG, 0,
     "permessage-deflate; server_no_context_takeover; "
     "server_no_context_takeover",
     FAILS},
    {"repeated case", BIG, 0,
     "permessage-deflate; client_max_window_bits=9; "
     "Client_Max_Window_Bits=9",
     FAILS},
    {"value on snct", BIG, 0, "permessage-deflate; server_no_context_takeover=1", FAILS},
    {"value on cnct", BIG, 0, "permessage-deflate; client_no_context_takeover=\"1\"", FAILS},
    {"smwb no value", BIG, 0, "permessage-deflate; server_max_window_bits", FAILS},
    {"smwb 16", BIG, 0, "permessage-deflate; server_max_window_bits=16", FAILS},
    {"smwb 7", BIG, 0, "permessage-deflate; server_max_window_bits=7", FAILS},
    {"smwb 09", BIG, 0, "permessage-deflate; server_max_window_bits=09", FAILS},
    {"smwb quoted 016", BIG, 0, "permessage-deflate; server_max_window_bits=\"016\"", FAILS},
    /* 7.1.2.2: an answer carries client_max_window_bits with a value. */
    {"cmwb no value", BIG, 0, "permessage-deflate; client_max_window_bits", FAILS},
    {"cmwb 16", BIG, 0, "permessage-deflate; client_max_window_bits=16", FAILS},
    {"cmwb abc", BIG, 0, "permessage-deflate; client_max_window_bits=abc", FAILS},
    /* 7.1.2.2: the server may ignore the value we offered; a larger
     * answer is no error, and our compressor keeps our own limit
     * (Autobahn 13.4 and 13.6 answer 15). */
    {"64k cmwb larger",
     0,
     0,
     "permessage-deflate; server_max_window_bits=13; client_max_window_bits=14",
     WICK_OK,
     {true, false, false, 13, 13}},
    {"64k cmwb 15",
     0,
     0,
     "permessage-deflate; server_max_window_bits=13; client_max_window_bits=15",
     WICK_OK,
     {true, false, false, 13, 13}},
    /* 7.1.2.1: not above the value offered, and accepted only by
     * answering it (absent, the server's window would be 15). */
    {"64k smwb larger", 0, 0,
     "permessage-deflate; server_max_window_bits=14; client_max_window_bits=13", FAILS},
    {"64k smwb missing", 0, 0, "permessage-deflate; client_max_window_bits=13", FAILS},
    {"64k smwb missing plain", 0, 0, "permessage-deflate", FAILS},
    /* 7.1.1.1: accepted only by answering it. */
    {"snct missing", BIG, PNCT, "permessage-deflate", FAILS},
    /* A budget with no offer to make (4 KiB): any answer is one we did
     * not ask for. */
    {"4k", 4 * KIB, 0, "permessage-deflate", FAILS},
    {"4k not accepted", 4 * KIB, 0, "foo", WICK_OK, {false, false, false, 15, 15}},
};

static void test_verify_table(void **state)
{
    (void)state;
    if (!ZLIB_SIZES) {
        skip(); /* zlib's sizes (see the top) */
    }
    for (size_t i = 0; i < sizeof verify_cases / sizeof verify_cases[0]; i++) {
        const struct verify_case *c = &verify_cases[i];
        wick_pmd_config cfg = make_cfg(c->budget, c->flags);
        wick_ext x[WICK_MAX_EXTENSIONS];
        size_t n;
        char *copy = parse(c->answer, x, &n);
        wick_pmd_params got;
        memset(&got, 0x5A, sizeof got);
        wick_err want = c->want;
        const wick_pmd_params *agreed = &c->agreed;
        if (!wick_pmd_available() && c->agreed.enabled) {
            want = WICK_ERR_HS_DEFLATE; /* we cannot have offered it */
            agreed = &off;
        }
        wick_err e = wick_pmd_verify(&cfg, x, n, &got);
        if (e != want) {
            print_error("case %s: got %s want %s\n", c->name, wick_err_name(e),
                        wick_err_name(want));
        }
        assert_int_equal(e, want);
        assert_params(c->name, &got, agreed);
        assert_fits(&cfg, &got, WICK_ROLE_CLIENT);
        free(copy);
    }
    wick_pmd_params got;
    assert_int_equal(wick_pmd_verify(NULL, NULL, 0, &got), WICK_OK);
    assert_false(got.enabled);
    wick_ext x[1];
    assert_int_equal(wick_pmd_verify(NULL, x, 1, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_pmd_verify(NULL, NULL, 1, &got), WICK_ERR_ARG);
}

/* --- Properties -------------------------------------------------------------- */

/* A view of decimal digits as a number (-1 when not digits). */
static int view_int(wick_str s)
{
    int v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9' || v > 1000) {
            return -1;
        }
        v = v * 10 + (s.ptr[i] - '0');
    }
    return s.len > 0 ? v : -1;
}

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 11) % n);
}

static size_t rnd_budget(void)
{
    static const size_t fixed[] = {0,        4 * KIB,  12 * KIB, 16 * KIB,  24 * KIB, 32 * KIB,
                                   48 * KIB, 64 * KIB, 96 * KIB, 128 * KIB, BIG};
    if (rnd(3) == 0) {
        return 4 * KIB + rnd(400 * KIB);
    }
    return fixed[rnd(sizeof fixed / sizeof fixed[0])];
}

/* A client offer made by wick_pmd_offer(), the server's answer read back
 * by wick_ext_parse() and checked by wick_pmd_verify() with the client's
 * cfg: both sides agree on the same parameters, each within its budget.
 * Sometimes other extensions or invalid offers come first. */
static void test_roundtrip_property(void **state)
{
    (void)state;
    static const char *const noise[] = {"", "x-webkit-deflate-frame, ", "permessage-deflate; foo, ",
                                        "permessage-deflate; server_max_window_bits=16, ",
                                        "foo; a=\"1\", bar, "};
    unsigned accepted = 0, declined = 0;
    for (int iter = 0; iter < 20000; iter++) {
        wick_pmd_config ccfg = make_cfg(rnd_budget(), rnd(8));
        wick_pmd_config scfg = make_cfg(rnd_budget(), rnd(8));
        char offer[PMD_MAX_HEADER];
        size_t offer_len = 0;
        wick_err e = wick_pmd_offer(&ccfg, offer, sizeof offer, &offer_len);
        if (e != WICK_OK) {
            assert_true(e == WICK_ERR_STATE || e == WICK_ERR_ARG);
            assert_true(e == WICK_ERR_ARG || !wick_pmd_available());
            continue;
        }
        char header[2 * PMD_MAX_HEADER];
        snprintf(header, sizeof header, "%s%.*s", noise[rnd(5)], (int)offer_len, offer);
        wick_ext x[WICK_MAX_EXTENSIONS];
        size_t n;
        char *copy = parse(header, x, &n);
        char answer[PMD_MAX_HEADER + 1];
        size_t answer_len;
        wick_pmd_params sp, cp;
        assert_int_equal(wick_pmd_accept(&scfg, x, n, &sp, answer, PMD_MAX_HEADER, &answer_len),
                         WICK_OK);
        free(copy);
        assert_fits(&scfg, &sp, WICK_ROLE_SERVER);
        if (!sp.enabled) {
            declined++;
            assert_int_equal(answer_len, 0);
            continue;
        }
        accepted++;
        answer[answer_len] = 0;
        copy = parse(answer, x, &n);
        assert_int_equal(n, 1);
        e = wick_pmd_verify(&ccfg, x, n, &cp);
        if (e != WICK_OK || !same_params(&sp, &cp)) {
            print_error("offer \"%s\" answer \"%s\": verify %s\n", header, answer,
                        wick_err_name(e));
            print_params("  server", &sp);
            print_params("  client", &cp);
            fail();
        }
        assert_fits(&ccfg, &cp, WICK_ROLE_CLIENT);
        free(copy);
    }
    print_message("  roundtrip: %u accepted, %u declined\n", accepted, declined);
    assert_true(accepted > 1000);
    assert_true(declined > 100 || !ZLIB_SIZES); /* wick's inflater fits most budgets */
}

/* Offers of every shape (valid or not) against random budgets: an
 * answer follows RFC 7692 7.1 relative to the offer it accepts, parses
 * back, and fits the budget. A reference check written from the RFC. */
static void test_accept_property(void **state)
{
    (void)state;
    static const char *const values[] = {"8",  "9",     "10",     "11", "12", "13", "14",
                                         "15", "\"9\"", "\"14\"", "7",  "16", "09", "x"};
    static const char *const names[] = {"server_no_context_takeover", "client_no_context_takeover",
                                        "server_max_window_bits", "client_max_window_bits"};
    unsigned accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char offer[256];
        size_t len = (size_t)snprintf(offer, sizeof offer, "permessage-deflate");
        /* What a valid offer asks: -1 absent, 0 no value, else the value. */
        int want[4] = {-1, -1, -1, -1};
        bool valid = true;
        unsigned np = rnd(5);
        for (unsigned k = 0; k < np; k++) {
            unsigned w = rnd(4);
            int v = -1;
            const char *vs = "";
            if (rnd(4) != 0) {
                unsigned vi = rnd(rnd(3) == 0 ? 14 : 10);
                vs = values[vi];
                v = vi < 8 ? (int)vi + 8 : (vi == 8 ? 9 : (vi == 9 ? 14 : 0));
            }
            bool flag = w < 2;
            if (want[w] != -1 || (flag && vs[0] != 0) || (!flag && vs[0] != 0 && v == 0) ||
                (w == 2 && vs[0] == 0)) {
                valid = false;
            }
            want[w] = vs[0] != 0 ? v : 0;
            len += (size_t)snprintf(offer + len, sizeof offer - len, "; %s%s%s", names[w],
                                    vs[0] != 0 ? "=" : "", vs);
        }
        wick_pmd_config cfg = make_cfg(rnd_budget(), rnd(8));
        wick_ext x[WICK_MAX_EXTENSIONS];
        size_t n;
        char *copy = parse(offer, x, &n);
        char answer[PMD_MAX_HEADER + 1];
        size_t answer_len;
        wick_pmd_params p;
        assert_int_equal(wick_pmd_accept(&cfg, x, n, &p, answer, PMD_MAX_HEADER, &answer_len),
                         WICK_OK);
        free(copy);
        if (!valid) {
            assert_false(p.enabled);
        }
        assert_fits(&cfg, &p, WICK_ROLE_SERVER);
        if (!p.enabled) {
            continue;
        }
        accepted++;
        answer[answer_len] = 0;
        copy = parse(answer, x, &n);
        assert_int_equal(n, 1);
        /* Read the answer independently. */
        int got[4] = {-1, -1, -1, -1};
        for (size_t i = 0; i < x[0].num_params; i++) {
            const wick_ext_param *pm = &x[0].params[i];
            unsigned w = 0;
            while (w < 4 && (pm->name.len != strlen(names[w]) ||
                             memcmp(pm->name.ptr, names[w], pm->name.len) != 0)) {
                w++;
            }
            assert_true(w < 4 && got[w] == -1 && !pm->quoted);
            got[w] = pm->has_value ? view_int(pm->value) : 0;
        }
        /* 7.1.1.1: an offered snct is answered. */
        assert_true(want[0] == -1 || got[0] == 0);
        assert_int_equal(p.server_no_context_takeover, got[0] == 0);
        assert_int_equal(p.client_no_context_takeover, got[1] == 0);
        /* 7.1.2.1: smwb answered when offered, not above the offer. */
        assert_int_equal(got[2] != -1, want[2] != -1);
        if (want[2] != -1) {
            assert_true(got[2] >= 8 && got[2] <= want[2]);
        }
        assert_int_equal(p.server_max_window_bits, got[2] != -1 ? got[2] : 15);
        /* 7.1.2.2: cmwb only when offered, with a value, not above it. */
        assert_true(want[3] != -1 || got[3] == -1);
        if (got[3] != -1) {
            assert_true(got[3] >= 8 && got[3] <= (want[3] > 0 ? want[3] : 15));
        }
        assert_int_equal(p.client_max_window_bits, got[3] != -1 ? got[3] : 15);
        free(copy);
    }
    print_message("  accept: %u of 20000 accepted\n", accepted);
}

#ifndef WICK_ZLIB
/* Without zlib: the offer promises the smallest client window (we never
 * compress, RFC 7692 7.1.2.2) and asks for a server window that fits the
 * budget with wick's inflater (7.1.2.1); a server takes it and the
 * client's agreement matches. */
static void test_decompress_only(void **state)
{
    (void)state;
    static const struct {
        size_t budget;
        const char *offer;
    } cases[] = {
        {0, "permessage-deflate; client_max_window_bits=9"},
        {40 * KIB, "permessage-deflate; client_max_window_bits=9"},
        {20 * KIB, "permessage-deflate; server_max_window_bits=14; client_max_window_bits=9"},
        {4 * KIB, "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"},
        {3584, "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wick_pmd_config cfg = make_cfg(cases[i].budget, 0);
        char out[PMD_MAX_HEADER + 1];
        size_t out_len = 0;
        assert_int_equal(wick_pmd_offer(&cfg, out, PMD_MAX_HEADER, &out_len), WICK_OK);
        out[out_len] = 0;
        if (strcmp(out, cases[i].offer) != 0) {
            print_error("budget %zu:\n  got  \"%s\"\n  want \"%s\"\n", cases[i].budget, out,
                        cases[i].offer);
            fail();
        }
        wick_ext x[WICK_MAX_EXTENSIONS];
        size_t n;
        char *copy = parse(out, x, &n);
        wick_pmd_params sp, cp;
        char answer[PMD_MAX_HEADER + 1];
        size_t answer_len = 0;
        assert_int_equal(wick_pmd_accept(NULL, x, n, &sp, answer, PMD_MAX_HEADER, &answer_len),
                         WICK_OK);
        free(copy);
        assert_true(sp.enabled);
        answer[answer_len] = 0;
        copy = parse(answer, x, &n);
        assert_int_equal(wick_pmd_verify(&cfg, x, n, &cp), WICK_OK);
        assert_true(same_params(&sp, &cp));
        assert_fits(&cfg, &cp, WICK_ROLE_CLIENT);
        free(copy);
    }
    /* Too small for even a 256-byte window and the state: no offer. */
    wick_pmd_config cfg = make_cfg(2 * KIB, 0);
    char out[PMD_MAX_HEADER];
    size_t out_len = 0;
    assert_int_equal(wick_pmd_offer(&cfg, out, sizeof out, &out_len), WICK_ERR_ARG);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_table),    cmocka_unit_test(test_accept_invalid),
        cmocka_unit_test(test_accept_errors),   cmocka_unit_test(test_offer),
        cmocka_unit_test(test_verify_table),    cmocka_unit_test(test_roundtrip_property),
        cmocka_unit_test(test_accept_property),
#ifndef WICK_ZLIB
        cmocka_unit_test(test_decompress_only),
#endif
    };
    return cmocka_run_group_tests_name("pmd_neg", tests, NULL, NULL);
}
