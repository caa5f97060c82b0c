/*
 * fuzz_hs_client: the client side of the handshake. wick_hs_client_request
 * writes a request with input-chosen options and a nonce taken from the
 * input; the rest of the input is the server's response, given to
 * wick_hs_client_verify the way a client reads (one buffer, growing by
 * input-chosen steps, the tail poisoned for ASan). The result must equal a
 * one-shot verification; an accepted response must carry only an offered
 * subprotocol and offered extensions, and views must lie in the header
 * block.
 *
 * Input: byte 0 = options (bit 0 protocols, bit 1 extension offer, bit 2
 * origin and extra header, bit 3 small limits), bits 4-7 growth seed;
 * bytes 1-16 = nonce; the rest is the response. Seeds use the RFC 6455
 * 1.3 sample nonce, whose accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=.
 */
#include "fuzz_util.h"

static const wick_str protos[3] = {{"chat", 4}, {"superchat", 9}, {"v2.fuzz", 7}};
static const wick_header extra[1] = {{{"X-Fuzz", 6}, {"yes", 3}}};
static const char ext_offer[] = "permessage-deflate; client_max_window_bits, x-fuzz; a=1";

static void make_opts(wick_hs_client_opts *o, uint8_t conf)
{
    memset(o, 0, sizeof(*o));
    o->target.ptr = "/chat?x=1";
    o->target.len = 9;
    o->host.ptr = "server.example.com:8080";
    o->host.len = 23;
    if (conf & 1) {
        o->protocols = protos;
        o->num_protocols = 3;
    }
    if (conf & 2) {
        o->extensions.ptr = ext_offer;
        o->extensions.len = sizeof(ext_offer) - 1;
    }
    if (conf & 4) {
        o->origin.ptr = "http://example.com";
        o->origin.len = 18;
        o->headers = extra;
        o->num_headers = 1;
    }
}

static long long vo(wick_str s, const char *base)
{
    return s.ptr ? (long long)(s.ptr - base) : -1;
}

static void same_view(wick_str a, const char *ba, wick_str b, const char *bb)
{
    FZ_CHECK(vo(a, ba) == vo(b, bb) && a.len == b.len);
}

static void check_result(const wick_hs_client *c, const wick_hs_client_opts *o, wick_err e,
                         const char *base, size_t used, const uint8_t nonce[16])
{
    FZ_CHECK(fz_view_in(c->reason, base, used));
    FZ_CHECK(c->num_headers <= WICK_MAX_HEADERS && c->num_extensions <= WICK_MAX_EXTENSIONS);
    for (size_t i = 0; i < c->num_headers; i++) {
        FZ_CHECK(fz_view_in(c->headers[i].name, base, used) && c->headers[i].name.len > 0);
        FZ_CHECK(fz_view_in(c->headers[i].value, base, used));
    }
    if (e == WICK_ERR_HS_STATUS) {
        FZ_CHECK(c->status != 101 && c->status >= 100 && c->status <= 999);
        return;
    }
    FZ_CHECK(c->status == 101);
    /* RFC 6455 4.1, points 2-4, from the raw header list. */
    char want_accept[WICK_ACCEPT_LEN];
    char key[WICK_KEY_LEN + 1];
    size_t kl = 0;
    FZ_CHECK(wick_base64_encode(nonce, 16, key, sizeof(key), &kl) == WICK_OK);
    FZ_CHECK(wick_accept_key(key, kl, want_accept) == WICK_OK);
    size_t n_accept = 0, n_upgrade = 0, n_conn = 0;
    static const wick_str h_accept = {"Sec-WebSocket-Accept", 20};
    static const wick_str h_upgrade = {"Upgrade", 7}, h_conn = {"Connection", 10};
    for (size_t i = 0; i < c->num_headers; i++) {
        const wick_header *h = &c->headers[i];
        if (fz_str_ieq(h->name, h_accept)) {
            n_accept++;
            FZ_CHECK(h->value.len == WICK_ACCEPT_LEN &&
                     memcmp(h->value.ptr, want_accept, WICK_ACCEPT_LEN) == 0);
        }
        n_upgrade += fz_str_ieq(h->name, h_upgrade);
        n_conn += fz_str_ieq(h->name, h_conn);
    }
    FZ_CHECK(n_accept == 1 && n_upgrade >= 1 && n_conn >= 1);
    /* The subprotocol is one that was offered (RFC 6455 4.1, point 6). */
    if (c->protocol.ptr != NULL) {
        FZ_CHECK(fz_view_in(c->protocol, base, used));
        bool found = false;
        for (size_t i = 0; i < o->num_protocols; i++) {
            found = found || (c->protocol.len == o->protocols[i].len &&
                              memcmp(c->protocol.ptr, o->protocols[i].ptr, c->protocol.len) == 0);
        }
        FZ_CHECK(found);
    }
    /* Every accepted extension was offered (RFC 6455 4.1, point 5). */
    wick_ext offered[WICK_MAX_EXTENSIONS];
    size_t noff = 0;
    if (o->extensions.len) {
        FZ_CHECK(wick_ext_parse(o->extensions.ptr, o->extensions.len, offered,
                                WICK_MAX_EXTENSIONS, &noff) == WICK_OK);
    }
    for (size_t i = 0; i < c->num_extensions; i++) {
        FZ_CHECK(fz_view_in(c->extensions[i].name, base, used));
        bool found = false;
        for (size_t k = 0; k < noff; k++) {
            found = found || fz_str_ieq(c->extensions[i].name, offered[k].name);
        }
        FZ_CHECK(found);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t conf = fz_u8(&in);
    uint8_t nonce[16] = {0};
    const uint8_t *np;
    size_t got = fz_take(&in, 16, &np);
    if (got) {
        memcpy(nonce, np, got);
    }
    uint64_t seed = (uint64_t)(conf >> 4) + 1;
    static const wick_hs_limits small = {300, 6};
    const wick_hs_limits *lim = (conf & 8) ? &small : NULL;
    wick_hs_client_opts opts;
    make_opts(&opts, conf);

    /* Two clients in the same state: one-shot and incremental. */
    wick_hs_client a, b;
    char req_a[1024], req_b[1024];
    size_t rl_a = 0, rl_b = 0;
    FZ_CHECK(wick_hs_client_request(&a, &opts, nonce, lim, req_a, sizeof(req_a), &rl_a) ==
             WICK_OK);
    FZ_CHECK(wick_hs_client_request(&b, &opts, nonce, lim, req_b, sizeof(req_b), &rl_b) ==
             WICK_OK);
    FZ_CHECK(rl_a == rl_b && rl_a <= sizeof(req_a) && memcmp(req_a, req_b, rl_a) == 0);
    FZ_CHECK(rl_a > 4 && memcmp(req_a, "GET ", 4) == 0);

    /* The request is one our own server parser accepts, with this key. */
    wick_hs_request r;
    wick_hs_request_init(&r, NULL);
    size_t used_r = 0;
    FZ_CHECK(wick_hs_server_parse(&r, req_a, rl_a, &used_r) == WICK_OK && used_r == rl_a);
    char key[WICK_KEY_LEN + 1];
    size_t kl = 0;
    FZ_CHECK(wick_base64_encode(nonce, 16, key, sizeof(key), &kl) == WICK_OK);
    FZ_CHECK(r.key.len == kl && memcmp(r.key.ptr, key, kl) == 0);
    FZ_CHECK(r.num_protocols == opts.num_protocols);

    size_t n = in.n;
    char *whole = (char *)fz_dup(in.p, n);
    size_t used_a = (size_t)-1;
    wick_err ea = wick_hs_client_verify(&a, whole, n, &used_a);
    FZ_CHECK(ea == WICK_NEED_MORE || ea == WICK_OK || (ea <= -200 && ea > -300));
    bool complete = ea == WICK_OK || ea == WICK_ERR_HS_STATUS;
    if (complete) {
        FZ_CHECK(used_a <= n);
        check_result(&a, &opts, ea, whole, used_a, nonce);
        size_t again = 0;
        FZ_CHECK(wick_hs_client_verify(&a, whole, n, &again) == ea && again == used_a);
    }

    char *buf = (char *)fz_dup(in.p, n);
    FZ_POISON(buf, n);
    size_t have = 0, used_b = (size_t)-1;
    wick_err eb = WICK_NEED_MORE;
    do {
        size_t step = n - have ? fz_chunk(&seed, n - have) : 0;
        FZ_UNPOISON(buf + have, step);
        have += step;
        eb = wick_hs_client_verify(&b, buf, have, &used_b);
    } while (eb == WICK_NEED_MORE && have < n);
    FZ_UNPOISON(buf, n);
    if (eb != ea) {
        fprintf(stderr, "one-shot %s, incremental %s (stopped at %zu of %zu)\n",
                wick_err_name(ea), wick_err_name(eb), have, n);
    }
    FZ_CHECK(eb == ea);
    if (complete) {
        FZ_CHECK(used_b == used_a && a.status == b.status);
        same_view(a.reason, whole, b.reason, buf);
        same_view(a.protocol, whole, b.protocol, buf);
        FZ_CHECK(a.num_headers == b.num_headers && a.num_extensions == b.num_extensions);
        for (size_t i = 0; i < a.num_headers; i++) {
            same_view(a.headers[i].name, whole, b.headers[i].name, buf);
            same_view(a.headers[i].value, whole, b.headers[i].value, buf);
        }
        for (size_t i = 0; i < a.num_extensions; i++) {
            same_view(a.extensions[i].name, whole, b.extensions[i].name, buf);
            FZ_CHECK(a.extensions[i].num_params == b.extensions[i].num_params);
        }
    }
    free(whole);
    free(buf);
    return 0;
}
