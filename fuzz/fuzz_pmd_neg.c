/*
 * fuzz_pmd_neg: permessage-deflate negotiation (RFC 7692 7.1) on arbitrary
 * Sec-WebSocket-Extensions values: wick_pmd_accept (server) on the value
 * as a request's offers, wick_pmd_verify (client) on it as an answer.
 *
 * Checks, for the server: an answer is only ever given to an offer that
 * is valid by a reference reading of RFC 7692 7.1 written here; it parses
 * back (wick_ext_parse) to one permessage-deflate element that follows
 * the RFC relative to the offer it accepts (the first accepted when each
 * offer is tried alone, with the same answer); it fits the server's
 * budget (wick_pmd_arena_size); a smaller output buffer gives the same
 * answer or WICK_ERR_BUFFER_TOO_SMALL, never a different one; and every
 * client config whose own wick_pmd_offer() is that same offer verifies
 * the answer with the same agreed parameters, within its budget. For the
 * client: an answer wick_pmd_verify() takes follows the RFC relative to
 * the client's offer and fits the client's budget.
 *
 * Input: byte 0 = server config (bits 0-3 budget, 4-6 WICK_PMD_* flags),
 * bit 7 = splice the client's offer into the value; byte 1 = client
 * config (same bits), bit 7 = the client's offer goes first; byte 2 =
 * output capacity for the second accept call; the rest is the value.
 */
#include "fuzz_util.h"

#define PMD_MAX 128U /* the longest offer or answer */

static const size_t budgets[16] = {0,         1,         4096,       8192,       10240, 12288,
                                   13008,     16384,     20480,      24576,      32768, 41680,
                                   48 * 1024, 64 * 1024, 128 * 1024, 1024 * 1024};

static wick_pmd_config config(uint8_t b)
{
    wick_pmd_config c;
    wick_pmd_config_default(&c);
    c.budget = budgets[b & 15];
    c.flags = (unsigned)(b >> 4) & 7U;
    return c;
}

/* --- Reference reading of one permessage-deflate element (RFC 7692 7.1),
 * independent of src/wick_pmd_neg.c. v[k] per parameter (snct, cnct,
 * smwb, cmwb): ABSENT, NOVALUE, or the window 8..15. */
enum { ABSENT = -2, NOVALUE = -1 };
static const char *const pnames[4] = {"server_no_context_takeover", "client_no_context_takeover",
                                      "server_max_window_bits", "client_max_window_bits"};

static bool is_pmd(wick_str name)
{
    wick_str p = {"permessage-deflate", 18};
    return fz_str_ieq(name, p);
}

/* A window value: the unescaped text is 8..15 in decimal, no leading 0. */
static int ref_window(const wick_ext_param *pm)
{
    char text[8];
    size_t t = 0;
    for (size_t i = 0; i < pm->value.len; i++) {
        char c = pm->value.ptr[i];
        if (pm->quoted && c == '\\' && i + 1 < pm->value.len) {
            c = pm->value.ptr[++i];
        }
        if (t == sizeof text) {
            return 0;
        }
        text[t++] = c;
    }
    if (t == 0 || t > 2 || text[0] == '0') {
        return 0;
    }
    int v = 0;
    for (size_t i = 0; i < t; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return 0;
        }
        v = v * 10 + (text[i] - '0');
    }
    return v >= 8 && v <= 15 ? v : 0;
}

/* False when the element is invalid as an offer (answer false) or as an
 * answer (answer true). */
static bool ref_read(const wick_ext *x, bool answer, int v[4])
{
    for (int k = 0; k < 4; k++) {
        v[k] = ABSENT;
    }
    for (size_t i = 0; i < x->num_params; i++) {
        const wick_ext_param *pm = &x->params[i];
        int k = -1;
        for (int j = 0; j < 4; j++) {
            wick_str n = {pnames[j], strlen(pnames[j])};
            if (fz_str_ieq(pm->name, n)) {
                k = j;
            }
        }
        if (k < 0 || v[k] != ABSENT) {
            return false;
        }
        if (!pm->has_value) {
            if (k == 2 || (k == 3 && answer)) {
                return false;
            }
            v[k] = NOVALUE;
        } else {
            if (k < 2) {
                return false;
            }
            v[k] = ref_window(pm);
            if (v[k] == 0) {
                return false;
            }
        }
    }
    return true;
}

/* RFC 7692 7.1: answer `a` to offer `o` (both read by ref_read). */
static bool ref_answer_ok(const int o[4], const int a[4])
{
    if (o[0] != ABSENT && a[0] == ABSENT) {
        return false; /* 7.1.1.1: accepted by answering it */
    }
    if (o[2] != ABSENT && (a[2] == ABSENT || a[2] > o[2])) {
        return false; /* 7.1.2.1 */
    }
    if (a[3] != ABSENT && o[3] == ABSENT) {
        return false; /* 7.1.2.2 (a value above ours is the server ignoring our hint) */
    }
    return true;
}

static bool same_params(const wick_pmd_params *a, const wick_pmd_params *b)
{
    return a->enabled == b->enabled &&
           a->server_no_context_takeover == b->server_no_context_takeover &&
           a->client_no_context_takeover == b->client_no_context_takeover &&
           a->server_max_window_bits == b->server_max_window_bits &&
           a->client_max_window_bits == b->client_max_window_bits;
}

static void check_fits(const wick_pmd_config *cfg, const wick_pmd_params *p, wick_role role)
{
    size_t need = wick_pmd_arena_size(cfg, p, role);
    size_t budget = cfg->budget != 0 ? cfg->budget : WICK_PMD_DEFAULT_BUDGET;
    FZ_CHECK(need > 0 && need <= budget);
}

/* Every client config's offer, read by the reference (once). */
static struct client_offer {
    bool made;
    char text[PMD_MAX];
    size_t len;
    int v[4];
} offers[128];

static void make_offers(void)
{
    static bool done;
    if (done) {
        return;
    }
    done = true;
    for (unsigned b = 0; b < 128; b++) {
        wick_pmd_config c = config((uint8_t)b);
        struct client_offer *o = &offers[b];
        wick_err e = wick_pmd_offer(&c, o->text, sizeof o->text, &o->len);
        FZ_CHECK(e == WICK_OK || e == WICK_ERR_ARG || e == WICK_ERR_STATE);
        FZ_CHECK(e != WICK_ERR_STATE || !wick_pmd_available());
        if (e != WICK_OK) {
            continue;
        }
        wick_ext x[1];
        size_t n = 0;
        FZ_CHECK(wick_ext_parse(o->text, o->len, x, 1, &n) == WICK_OK && n == 1);
        FZ_CHECK(is_pmd(x[0].name) && ref_read(&x[0], false, o->v));
        o->made = true;
    }
}

/* The server side: `x[0..n)` as a request's offers. */
static void server_side(const wick_pmd_config *scfg, const wick_ext *x, size_t n, size_t cap2)
{
    char out[PMD_MAX];
    size_t out_len = 1;
    wick_pmd_params p;
    FZ_CHECK(wick_pmd_accept(scfg, x, n, &p, out, sizeof out, &out_len) == WICK_OK);
    /* Each offer alone: the accepted one is the first that is accepted
     * alone, with the same answer; only valid offers are ever accepted. */
    size_t k = n;
    for (size_t i = 0; i < n; i++) {
        char one[PMD_MAX];
        size_t one_len = 1;
        wick_pmd_params q;
        FZ_CHECK(wick_pmd_accept(scfg, &x[i], 1, &q, one, sizeof one, &one_len) == WICK_OK);
        if (!q.enabled) {
            FZ_CHECK(one_len == 0);
            continue;
        }
        int v[4];
        FZ_CHECK(is_pmd(x[i].name) && ref_read(&x[i], false, v));
        if (k == n) {
            k = i;
            FZ_CHECK(p.enabled && same_params(&p, &q));
            FZ_CHECK(one_len == out_len && memcmp(one, out, out_len) == 0);
        }
    }
    /* Completeness: with the largest budget everything fits, so the
     * first valid offer is taken. */
    if (scfg->budget == budgets[15] && wick_pmd_available()) {
        size_t first = n;
        for (size_t i = 0; i < n && first == n; i++) {
            int v[4];
            if (is_pmd(x[i].name) && ref_read(&x[i], false, v)) {
                first = i;
            }
        }
        FZ_CHECK(k == first);
    }
    if (!p.enabled) {
        FZ_CHECK(k == n && out_len == 0);
        FZ_CHECK(p.server_max_window_bits == 15 && p.client_max_window_bits == 15);
        return;
    }
    FZ_CHECK(k < n && wick_pmd_available());
    check_fits(scfg, &p, WICK_ROLE_SERVER);

    /* A smaller buffer: the same answer, or too small. */
    char *small = (char *)fz_alloc(cap2);
    size_t small_len = 1;
    wick_pmd_params q;
    wick_err e = wick_pmd_accept(scfg, x, n, &q, small, cap2, &small_len);
    if (cap2 >= out_len) {
        FZ_CHECK(e == WICK_OK && small_len == out_len && memcmp(small, out, out_len) == 0);
        FZ_CHECK(same_params(&p, &q));
    } else {
        FZ_CHECK(e == WICK_ERR_BUFFER_TOO_SMALL && small_len == 0 && !q.enabled);
    }
    free(small);

    /* The answer parses back to one element that follows the RFC. */
    char *ans = (char *)fz_dup((const uint8_t *)out, out_len);
    wick_ext a[WICK_MAX_EXTENSIONS];
    size_t na = 0;
    FZ_CHECK(wick_ext_parse(ans, out_len, a, WICK_MAX_EXTENSIONS, &na) == WICK_OK && na == 1);
    FZ_CHECK(is_pmd(a[0].name));
    int ov[4], av[4];
    FZ_CHECK(ref_read(&x[k], false, ov) && ref_read(&a[0], true, av));
    FZ_CHECK(ref_answer_ok(ov, av));
    FZ_CHECK(p.server_no_context_takeover == (av[0] != ABSENT));
    FZ_CHECK(p.client_no_context_takeover == (av[1] != ABSENT));
    FZ_CHECK(p.server_max_window_bits == (av[2] != ABSENT ? av[2] : 15));
    FZ_CHECK(p.client_max_window_bits == (av[3] != ABSENT ? av[3] : 15));

    /* Every client whose own offer this is agrees on the same terms. */
    for (unsigned b = 0; b < 128; b++) {
        if (!offers[b].made || memcmp(offers[b].v, ov, sizeof ov) != 0) {
            continue;
        }
        wick_pmd_config ccfg = config((uint8_t)b);
        wick_pmd_params cp;
        e = wick_pmd_verify(&ccfg, a, na, &cp);
        if (e != WICK_OK || !same_params(&p, &cp)) {
            fprintf(stderr, "client config %u offer \"%.*s\" answer \"%.*s\": %s\n", b,
                    (int)offers[b].len, offers[b].text, (int)out_len, out, wick_err_name(e));
        }
        FZ_CHECK(e == WICK_OK && same_params(&p, &cp));
        check_fits(&ccfg, &cp, WICK_ROLE_CLIENT);
    }
    free(ans);
}

/* The client side: `x[0..n)` as the server's answer to ccfg's offer. */
static void client_side(uint8_t cb, const wick_ext *x, size_t n)
{
    wick_pmd_config ccfg = config(cb);
    wick_pmd_params p;
    wick_err e = wick_pmd_verify(&ccfg, x, n, &p);
    FZ_CHECK(e == WICK_OK || e == WICK_ERR_HS_DEFLATE);
    size_t found = n, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_pmd(x[i].name)) {
            found = i;
            count++;
        }
    }
    /* Completeness: one element that follows the RFC relative to an
     * offer we made is taken (every such answer fits the budget the offer
     * was made for). */
    const struct client_offer *o = &offers[cb & 127];
    int av[4];
    if (count == 1 && o->made && ref_read(&x[found], true, av) && ref_answer_ok(o->v, av)) {
        FZ_CHECK(e == WICK_OK && p.enabled);
    }
    if (e != WICK_OK || !p.enabled) {
        FZ_CHECK(!p.enabled);
        /* Not accepted (no element) is never an error. */
        FZ_CHECK(count > 0 || e == WICK_OK);
        FZ_CHECK(count == 0 || e != WICK_OK);
        return;
    }
    FZ_CHECK(count == 1 && o->made);
    FZ_CHECK(ref_read(&x[found], true, av) && ref_answer_ok(o->v, av));
    FZ_CHECK(p.server_no_context_takeover == (av[0] != ABSENT));
    /* RFC 7692 7.1.1.2 / 7.1.2.2: our own offer binds us unanswered. */
    bool nct = (ccfg.flags & WICK_PMD_NO_CONTEXT_TAKEOVER) != 0;
    FZ_CHECK(p.client_no_context_takeover == (av[1] != ABSENT || nct));
    FZ_CHECK(p.server_max_window_bits == (av[2] != ABSENT ? av[2] : 15));
    int own = o->v[3] > 0 ? o->v[3] : 15; /* our own limit binds us, answered or not */
    FZ_CHECK(p.client_max_window_bits == (av[3] != ABSENT && av[3] < own ? av[3] : own));
    check_fits(&ccfg, &p, WICK_ROLE_CLIENT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    make_offers();
    fz_in in = {data, size};
    uint8_t sb = fz_u8(&in);
    uint8_t cb = fz_u8(&in);
    size_t cap2 = fz_u8(&in) % (PMD_MAX + 1);
    const struct client_offer *co = &offers[cb & 127];

    /* The value: the input, with the client's offer spliced in. */
    size_t n = in.n;
    bool splice = (sb & 0x80) != 0 && co->made;
    size_t len = n + (splice ? co->len + 2 : 0);
    char *buf = (char *)fz_alloc(len);
    size_t at = 0;
    if (splice && (cb & 0x80) != 0) {
        memcpy(buf, co->text, co->len);
        memcpy(buf + co->len, ", ", 2);
        at = co->len + 2;
    }
    if (n) {
        memcpy(buf + at, in.p, n);
    }
    if (splice && (cb & 0x80) == 0) {
        memcpy(buf + n, ", ", 2);
        memcpy(buf + n + 2, co->text, co->len);
    }

    wick_ext x[WICK_MAX_EXTENSIONS];
    size_t count = 0;
    if (wick_ext_parse(buf, len, x, WICK_MAX_EXTENSIONS, &count) == WICK_OK) {
        wick_pmd_config scfg = config(sb & 0x7F);
        server_side(&scfg, x, count, cap2);
        client_side(cb & 0x7F, x, count);
    }
    free(buf);
    return 0;
}
