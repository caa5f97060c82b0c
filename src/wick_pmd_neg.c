/* permessage-deflate negotiation (RFC 7692 5 and 7.1): the server's choice
 * among the client's offers, the client's offer, and the client's check
 * of the server's answer. Window sizes come from the memory plan
 * (wick_pmd_plan.c), so whatever is agreed fits the caller's budget.
 *
 * Names. Extension names are matched ASCII case-insensitively, as the
 * handshake layer matches them (wick_hs_ext.c). RFC 6455 9.1 and RFC 7692
 * say nothing about the case of parameter names; RFC 9110 5.6.6 says
 * parameter names are case-insensitive, and the meaning of a parameter
 * does not depend on its case, so they are matched the same way (a
 * repeat in another case is still a repeat). What we write is always in
 * the RFC's lower case. */
#include "wick_pmd.h"

#include "wick_http.h"

/* The parameters of one offer or answer, as read or to be written. */
typedef struct pmd_terms {
    bool snct;         /* server_no_context_takeover */
    bool cnct;         /* client_no_context_takeover */
    bool smwb;         /* server_max_window_bits present */
    bool cmwb;         /* client_max_window_bits present */
    uint8_t smwb_bits; /* its value, 8..15 */
    uint8_t cmwb_bits; /* its value, 8..15; 0: no value (offers only) */
} pmd_terms;

/* The four parameters of RFC 7692 7.1, in the order we write them. */
enum { PMD_SNCT, PMD_CNCT, PMD_SMWB, PMD_CMWB, PMD_NPARAMS };
static const char *const pmd_param_names[PMD_NPARAMS] = {
    "server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
    "client_max_window_bits"};

static const char pmd_name[] = "permessage-deflate";

/* Not agreed: the windows read 15, as for an absent parameter. */
static const wick_pmd_params pmd_off = {false, false, false, 15, 15};

static unsigned pmd_flags(const wick_pmd_config *cfg)
{
    return cfg != NULL ? cfg->flags : 0U;
}

static bool pmd_compress(const wick_pmd_config *cfg)
{
    return (pmd_flags(cfg) & WICK_PMD_DECOMPRESS_ONLY) == 0;
}

/* RFC 7692 7.1.2.1 / 7.1.2.2: a window value is a decimal integer without
 * leading zeroes from 8 to 15 (ABNF 1*DIGIT). RFC 6455 9.1: a quoted
 * value counts once unescaped. Returns the value, or 0 when invalid. */
static uint8_t pmd_window_value(const wick_ext_param *p)
{
    char v[2];
    size_t n = p->value.len;
    if (p->quoted) {
        if (wick_str_unquote(p->value, v, sizeof v, &n) != WICK_OK) {
            return 0; /* three or more characters: out of range anyway */
        }
    } else if (n <= sizeof v) {
        memcpy(v, p->value.ptr, n);
    } else {
        return 0;
    }
    if (n == 1 && (v[0] == '8' || v[0] == '9')) {
        return (uint8_t)(v[0] - '0');
    }
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') {
        return (uint8_t)(10 + (v[1] - '0'));
    }
    return 0;
}

/* Reads the parameters of one permessage-deflate element. RFC 7692 7.1:
 * an unknown parameter, a repeated one, or an invalid value makes the
 * whole element invalid (an offer is declined, an answer fails the
 * connection). `answer`: client_max_window_bits needs a value there
 * (7.1.2.2: the server answers with a value), while in an offer it may
 * have none. Returns false when invalid. */
static bool pmd_read(const wick_ext *x, bool answer, pmd_terms *t)
{
    const pmd_terms none = {false, false, false, false, 0, 0};
    *t = none;
    bool seen[PMD_NPARAMS] = {false, false, false, false};
    for (size_t i = 0; i < x->num_params; i++) {
        const wick_ext_param *p = &x->params[i];
        unsigned k = 0;
        while (k < PMD_NPARAMS && !wick__str_ieq(p->name, pmd_param_names[k])) {
            k++;
        }
        if (k == PMD_NPARAMS || seen[k]) {
            return false; /* RFC 7692 7.1: unknown, or repeated */
        }
        seen[k] = true;
        if (k == PMD_SNCT || k == PMD_CNCT) {
            /* RFC 7692 7.1.1.1 / 7.1.1.2: "This parameter has no value." */
            if (p->has_value) {
                return false;
            }
            if (k == PMD_SNCT) {
                t->snct = true;
            } else {
                t->cnct = true;
            }
            continue;
        }
        uint8_t bits = 0;
        if (p->has_value) {
            bits = pmd_window_value(p);
            if (bits == 0) {
                return false;
            }
        } else if (k == PMD_SMWB || answer) {
            /* RFC 7692 7.1.2.1: server_max_window_bits always has a value;
             * 7.1.2.2: client_max_window_bits may go without one only in
             * an offer. */
            return false;
        }
        if (k == PMD_SMWB) {
            t->smwb = true;
            t->smwb_bits = bits;
        } else {
            t->cmwb = true;
            t->cmwb_bits = bits;
        }
    }
    return true;
}

/* Appends the NUL-terminated s to out[*len..cap); false when it does not
 * fit (nothing more is written then). */
static bool pmd_put(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = wick__cstr_len(s);
    if (n > cap - *len) {
        return false;
    }
    memcpy(out + *len, s, n);
    *len += n;
    return true;
}

/* Appends "; name" or "; name=bits" (bits 8..15, 0 for no value). */
static bool pmd_put_param(char *out, size_t cap, size_t *len, unsigned k, unsigned bits)
{
    char v[4] = {'=', '1', '0', 0};
    if (bits >= 10) {
        v[2] = (char)('0' + (bits - 10));
    } else {
        v[1] = (char)('0' + bits);
        v[2] = 0;
    }
    return pmd_put(out, cap, len, "; ") && pmd_put(out, cap, len, pmd_param_names[k]) &&
           (bits == 0 || pmd_put(out, cap, len, v));
}

/* Writes "permessage-deflate" and the parameters of t into out[0..cap).
 * At most 128 bytes (all four parameters, two-digit windows). */
static wick_err pmd_write(const pmd_terms *t, char *out, size_t cap, size_t *out_len)
{
    if (out == NULL) {
        return WICK_ERR_BUFFER_TOO_SMALL; /* cap is 0 then */
    }
    size_t len = 0;
    bool ok = pmd_put(out, cap, &len, pmd_name) &&
              (!t->snct || pmd_put_param(out, cap, &len, PMD_SNCT, 0)) &&
              (!t->cnct || pmd_put_param(out, cap, &len, PMD_CNCT, 0)) &&
              (!t->smwb || pmd_put_param(out, cap, &len, PMD_SMWB, t->smwb_bits)) &&
              (!t->cmwb || pmd_put_param(out, cap, &len, PMD_CMWB, t->cmwb_bits));
    if (!ok) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    *out_len = len;
    return WICK_OK;
}

/* --- Server --------------------------------------------------------------- */

/* Decides the answer to one valid offer `o` under cfg: fills the answer
 * `a` and the agreed parameters `p`. Returns false when the offer cannot
 * fit the budget (decline it; RFC 7692 7.1: "The server doesn't support
 * the offered configuration"). */
static bool pmd_answer(const wick_pmd_config *cfg, const pmd_terms *o, pmd_terms *a,
                       wick_pmd_params *p)
{
    size_t budget = wick__pmd_budget(cfg);
    unsigned flags = pmd_flags(cfg);
    bool compress = pmd_compress(cfg);
    /* RFC 7692 7.1.2.1: we must not compress with a window larger than
     * the client asked for. */
    unsigned deflate_cap = o->smwb ? o->smwb_bits : 15U;
    /* The client's window, which we inflate with. Without
     * client_max_window_bits it is 15 and we cannot ask for less
     * (7.1.2.2: the answer MUST NOT carry the parameter then). With it we
     * may answer any value, and with a value no more than that value. */
    unsigned inflate = 15;
    wick__pmd_plan plan = {0, 0, 0, 0};
    if (o->cmwb) {
        unsigned cap = o->cmwb_bits != 0 ? o->cmwb_bits : 15U;
        if (!wick__pmd_plan_fit(budget, 0, deflate_cap, compress, &plan)) {
            return false;
        }
        /* A smaller inflate window than the plan's only frees memory, so
         * the plan still fits with the client's cap. */
        inflate = plan.inflate_bits < cap ? plan.inflate_bits : cap;
    }
    if (!wick__pmd_plan_fit(budget, inflate, deflate_cap, compress, &plan)) {
        return false;
    }
    /* RFC 7692 7.1.1.1: accepting server_no_context_takeover means
     * answering it, and the server MAY add it unasked. */
    a->snct = o->snct || (flags & WICK_PMD_NO_CONTEXT_TAKEOVER) != 0;
    /* RFC 7692 7.1.1.2: the server MAY answer client_no_context_takeover;
     * we do when asked to, and when the client offered it (it has said it
     * will not take over context anyway). */
    a->cnct = o->cnct || (flags & WICK_PMD_PEER_NO_CONTEXT_TAKEOVER) != 0;
    /* RFC 7692 7.1.2.1: accepting server_max_window_bits means answering
     * it with the same or a smaller value. We answer the window we will
     * really compress with when that is smaller (the client may then
     * inflate with less memory), else the offered value. The server MAY
     * also add it unasked; we do not, since some clients fail on that. An
     * offered 8 is answered 8 though zlib compresses with 9: see
     * WICK__PMD_MIN_DEFLATE_BITS. */
    a->smwb = o->smwb;
    a->smwb_bits = o->smwb_bits;
    if (o->smwb && plan.deflate_bits != 0 && plan.deflate_bits < o->smwb_bits) {
        a->smwb_bits = plan.deflate_bits;
    }
    /* RFC 7692 7.1.2.2: client_max_window_bits only when offered, with a
     * value no more than the offered one (inflate is capped above). */
    a->cmwb = o->cmwb;
    a->cmwb_bits = (uint8_t)inflate;

    p->enabled = true;
    p->server_no_context_takeover = a->snct;
    p->client_no_context_takeover = a->cnct;
    p->server_max_window_bits = a->smwb ? a->smwb_bits : 15U;
    p->client_max_window_bits = a->cmwb ? a->cmwb_bits : 15U;
    /* What wick_pmd_init() will plan from the answer must fit too. */
    return wick__pmd_plan_for(cfg, p, WICK_ROLE_SERVER, &plan);
}

wick_err wick_pmd_accept(const wick_pmd_config *cfg, const wick_ext *exts, size_t n,
                         wick_pmd_params *agreed, char *out, size_t cap, size_t *out_len)
{
    if (agreed == NULL || out_len == NULL || (exts == NULL && n > 0) || (out == NULL && cap > 0)) {
        return WICK_ERR_ARG;
    }
    *agreed = pmd_off;
    *out_len = 0;
    if (!wick__pmd_be_present()) {
        return WICK_OK; /* nothing to compress with: decline */
    }
    /* RFC 6455 9.1: the offers are in the client's order of preference;
     * RFC 7692 5: accept at most one, declining invalid ones (7.1). */
    for (size_t i = 0; i < n; i++) {
        pmd_terms o = {false, false, false, false, 0, 0};
        pmd_terms a = {false, false, false, false, 0, 0};
        wick_pmd_params p;
        if (!wick__str_ieq(exts[i].name, pmd_name) || !pmd_read(&exts[i], false, &o) ||
            !pmd_answer(cfg, &o, &a, &p)) {
            continue;
        }
        wick_err e = pmd_write(&a, out, cap, out_len);
        if (e == WICK_OK) {
            *agreed = p;
        }
        return e;
    }
    return WICK_OK;
}

/* --- Client --------------------------------------------------------------- */

/* The offer for cfg: windows from the plan with the server's window ours
 * to ask for (inflate_bits 0). */
static wick_err pmd_offer_terms(const wick_pmd_config *cfg, pmd_terms *t)
{
    if (!wick__pmd_be_present()) {
        return WICK_ERR_STATE;
    }
    wick__pmd_plan plan = {0, 0, 0, 0};
    if (!wick__pmd_plan_fit(wick__pmd_budget(cfg), 0, 15, pmd_compress(cfg), &plan)) {
        return WICK_ERR_ARG; /* the budget cannot hold even an inflater */
    }
    unsigned flags = pmd_flags(cfg);
    t->snct = (flags & WICK_PMD_PEER_NO_CONTEXT_TAKEOVER) != 0;
    t->cnct = (flags & WICK_PMD_NO_CONTEXT_TAKEOVER) != 0;
    /* RFC 7692 7.1.2.1: a smaller server window is what the budget needs. */
    t->smwb = plan.inflate_bits < 15;
    t->smwb_bits = t->smwb ? plan.inflate_bits : (uint8_t)0;
    /* RFC 7692 7.1.2.2: always offered, so the server may answer it; with
     * a value (a promise we keep whatever the answer) when we compress
     * with less than 15, or never compress (then the smallest window zlib
     * deflates with, so the server can inflate with little memory). */
    unsigned mine = plan.deflate_bits != 0 ? plan.deflate_bits : WICK__PMD_MIN_DEFLATE_BITS;
    t->cmwb = true;
    t->cmwb_bits = mine < 15 ? (uint8_t)mine : 0U;
    return WICK_OK;
}

wick_err wick_pmd_offer(const wick_pmd_config *cfg, char *out, size_t cap, size_t *out_len)
{
    if (out_len == NULL || (out == NULL && cap > 0)) {
        return WICK_ERR_ARG;
    }
    *out_len = 0;
    pmd_terms t = {false, false, false, false, 0, 0};
    wick_err e = pmd_offer_terms(cfg, &t);
    return e != WICK_OK ? e : pmd_write(&t, out, cap, out_len);
}

/* Checks answer `r` against our offer `o` (RFC 7692 7.1: the client fails
 * the connection on a response it does not support) and fills p. */
static bool pmd_check(const pmd_terms *o, const pmd_terms *r, unsigned flags, wick_pmd_params *p)
{
    /* 7.1.1.1: the server accepts server_no_context_takeover by answering
     * it; without it the answer is to an offer we did not make. */
    if (o->snct && !r->snct) {
        return false;
    }
    /* 7.1.2.1: accepted by answering the same or a smaller value; an
     * answer without it would mean a 15-bit window, more than offered.
     * Unasked, the server MAY still name its window (any value). */
    if (o->smwb && (!r->smwb || r->smwb_bits > o->smwb_bits)) {
        return false;
    }
    /* 7.1.2.2: the response MUST NOT carry client_max_window_bits unless
     * offered. A value above the one we offered is not an error: the
     * server "may either ignore this value or use it" (the offered value
     * is our own limit, a hint), so we keep the smaller of the two. The
     * Autobahn|Testsuite's cases 13.4 and 13.6 answer 15 to any value. */
    if (r->cmwb && !o->cmwb) {
        return false;
    }
    p->enabled = true;
    p->server_no_context_takeover = r->snct;
    /* 7.1.1.2 and 7.1.2.2: what we offered about our own compressor binds
     * us even when the server does not answer it, so the agreed
     * parameters say so. */
    p->client_no_context_takeover = r->cnct || (flags & WICK_PMD_NO_CONTEXT_TAKEOVER) != 0;
    p->server_max_window_bits = r->smwb ? r->smwb_bits : 15U;
    unsigned own = o->cmwb_bits != 0 ? o->cmwb_bits : 15U;
    p->client_max_window_bits = (uint8_t)(r->cmwb && r->cmwb_bits < own ? r->cmwb_bits : own);
    return true;
}

wick_err wick_pmd_verify(const wick_pmd_config *cfg, const wick_ext *exts, size_t n,
                         wick_pmd_params *agreed)
{
    if (agreed == NULL || (exts == NULL && n > 0)) {
        return WICK_ERR_ARG;
    }
    *agreed = pmd_off;
    const wick_ext *x = NULL;
    for (size_t i = 0; i < n; i++) {
        if (wick__str_ieq(exts[i].name, pmd_name)) {
            if (x != NULL) {
                return WICK_ERR_HS_DEFLATE; /* RFC 7692 5: one at most */
            }
            x = &exts[i];
        }
    }
    if (x == NULL) {
        return WICK_OK; /* not accepted: no compression */
    }
    /* RFC 7692 7.1: without a backend, or with a budget too small to
     * offer, we made no offer this answer could be to. */
    pmd_terms o = {false, false, false, false, 0, 0};
    pmd_terms r = {false, false, false, false, 0, 0};
    wick_pmd_params p;
    wick__pmd_plan plan = {0, 0, 0, 0};
    if (pmd_offer_terms(cfg, &o) != WICK_OK || !pmd_read(x, true, &r) ||
        !pmd_check(&o, &r, pmd_flags(cfg), &p)) {
        return WICK_ERR_HS_DEFLATE;
    }
    /* Everything the checks allow fits the budget the offer was made for
     * (the server's window is at most the one we asked for); kept as a
     * guard so a budget overrun is a handshake failure, never a failed
     * wick_pmd_init() later. */
    if (!wick__pmd_plan_for(cfg, &p, WICK_ROLE_CLIENT, &plan)) {
        return WICK_ERR_HS_DEFLATE;
    }
    *agreed = p;
    return WICK_OK;
}
