/*
 * fuzz_hs_server: the server-side handshake parser (wick_hs_server_parse)
 * fed the way a server reads: the same buffer, growing by input-chosen
 * steps, with the bytes beyond the current length poisoned for ASan. The
 * final status and every parsed field must equal a one-shot parse of the
 * whole input; views must lie inside the header block. A valid request is
 * then answered with wick_hs_server_accept and the answer checked by a
 * client (wick_hs_client_verify) that sent the same key; a failed one is
 * answered with wick_hs_server_reject.
 *
 * Input: byte 0 = limits choice (bits 0-1), growth seed (bits 2-7); the
 * rest is the request.
 */
#include "fuzz_util.h"

/* Offset of a view in its buffer (or -1 for an absent view), so two parses
 * of two copies can be compared. */
static long long vo(wick_str s, const char *base)
{
    return s.ptr ? (long long)(s.ptr - base) : -1;
}

static void same_view(wick_str a, const char *ba, wick_str b, const char *bb)
{
    FZ_CHECK(vo(a, ba) == vo(b, bb) && a.len == b.len);
}

static void check_views(const wick_hs_request *r, const char *base, size_t len)
{
    FZ_CHECK(fz_view_in(r->method, base, len) && fz_view_in(r->target, base, len));
    FZ_CHECK(fz_view_in(r->host, base, len) && fz_view_in(r->origin, base, len));
    FZ_CHECK(fz_view_in(r->key, base, len));
    FZ_CHECK(r->num_protocols <= WICK_MAX_PROTOCOLS);
    FZ_CHECK(r->num_extensions <= WICK_MAX_EXTENSIONS);
    FZ_CHECK(r->num_headers <= WICK_MAX_HEADERS);
    for (size_t i = 0; i < r->num_protocols; i++) {
        FZ_CHECK(fz_view_in(r->protocols[i], base, len) && r->protocols[i].len > 0);
    }
    for (size_t i = 0; i < r->num_extensions; i++) {
        const wick_ext *x = &r->extensions[i];
        FZ_CHECK(fz_view_in(x->name, base, len) && x->name.len > 0);
        FZ_CHECK(x->num_params <= WICK_MAX_EXT_PARAMS);
        for (size_t j = 0; j < x->num_params; j++) {
            FZ_CHECK(fz_view_in(x->params[j].name, base, len));
            FZ_CHECK(fz_view_in(x->params[j].value, base, len));
        }
    }
    for (size_t i = 0; i < r->num_headers; i++) {
        FZ_CHECK(fz_view_in(r->headers[i].name, base, len) && r->headers[i].name.len > 0);
        FZ_CHECK(fz_view_in(r->headers[i].value, base, len));
        /* No CR/LF inside a field value; no leading/trailing blanks. */
        wick_str v = r->headers[i].value;
        for (size_t k = 0; k < v.len; k++) {
            FZ_CHECK(v.ptr[k] != '\r' && v.ptr[k] != '\n');
        }
        if (v.len) {
            FZ_CHECK(v.ptr[0] != ' ' && v.ptr[0] != '\t');
            FZ_CHECK(v.ptr[v.len - 1] != ' ' && v.ptr[v.len - 1] != '\t');
        }
    }
}

static void same_request(const wick_hs_request *a, const char *ba, const wick_hs_request *b,
                         const char *bb)
{
    same_view(a->method, ba, b->method, bb);
    same_view(a->target, ba, b->target, bb);
    FZ_CHECK(a->http_minor == b->http_minor);
    same_view(a->host, ba, b->host, bb);
    same_view(a->origin, ba, b->origin, bb);
    same_view(a->key, ba, b->key, bb);
    FZ_CHECK(a->num_protocols == b->num_protocols);
    for (size_t i = 0; i < a->num_protocols; i++) {
        same_view(a->protocols[i], ba, b->protocols[i], bb);
    }
    FZ_CHECK(a->num_extensions == b->num_extensions);
    for (size_t i = 0; i < a->num_extensions; i++) {
        const wick_ext *x = &a->extensions[i], *y = &b->extensions[i];
        same_view(x->name, ba, y->name, bb);
        FZ_CHECK(x->num_params == y->num_params);
        for (size_t j = 0; j < x->num_params; j++) {
            same_view(x->params[j].name, ba, y->params[j].name, bb);
            same_view(x->params[j].value, ba, y->params[j].value, bb);
            FZ_CHECK(x->params[j].has_value == y->params[j].has_value);
            FZ_CHECK(x->params[j].quoted == y->params[j].quoted);
        }
    }
    FZ_CHECK(a->num_headers == b->num_headers);
    for (size_t i = 0; i < a->num_headers; i++) {
        same_view(a->headers[i].name, ba, b->headers[i].name, bb);
        same_view(a->headers[i].value, ba, b->headers[i].value, bb);
    }
}

static size_t count_named(const wick_header *h, size_t n, const char *name, wick_str *last)
{
    wick_str want = {name, strlen(name)};
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (fz_str_ieq(h[i].name, want)) {
            count++;
            *last = h[i].value;
        }
    }
    return count;
}

/* An accepted request obeys RFC 6455 4.2.1, checked from the raw header
 * list rather than from wick's own conclusions. */
static void check_accepted(const wick_hs_request *r)
{
    FZ_CHECK(r->method.len == 3 && memcmp(r->method.ptr, "GET", 3) == 0);
    FZ_CHECK(r->http_minor >= 1 && r->target.len > 0);
    wick_str v = {NULL, 0};
    FZ_CHECK(count_named(r->headers, r->num_headers, "Host", &v) == 1);
    FZ_CHECK(v.ptr == r->host.ptr && v.len == r->host.len);
    FZ_CHECK(count_named(r->headers, r->num_headers, "Upgrade", &v) >= 1);
    FZ_CHECK(count_named(r->headers, r->num_headers, "Connection", &v) >= 1);
    FZ_CHECK(count_named(r->headers, r->num_headers, "Sec-WebSocket-Key", &v) == 1);
    FZ_CHECK(v.ptr == r->key.ptr && v.len == r->key.len && v.len == WICK_KEY_LEN);
    uint8_t nonce[18];
    size_t nl = 0;
    FZ_CHECK(wick_base64_decode(v.ptr, v.len, nonce, sizeof(nonce), &nl) == WICK_OK && nl == 16);
    FZ_CHECK(count_named(r->headers, r->num_headers, "Sec-WebSocket-Version", &v) >= 1);
    FZ_CHECK(v.len == 2 && memcmp(v.ptr, "13", 2) == 0);
}

/* Answers a valid request and checks a client that sent the same key
 * accepts the answer. */
static void answer(const wick_hs_request *r)
{
    wick_hs_accept_opts opts;
    memset(&opts, 0, sizeof(opts));
    if (r->num_protocols > 0) {
        opts.protocol = r->protocols[r->num_protocols - 1];
    }
    /* Accept the first offered extension, bare, when the first
     * Sec-WebSocket-Extensions header offered it. */
    wick_str ext_offer = {NULL, 0};
    if (r->num_extensions > 0 &&
        wick_hs_request_header(r, "Sec-WebSocket-Extensions", &ext_offer)) {
        opts.extensions = r->extensions[0].name;
    }
    static const wick_header extra[1] = {{{"X-Fuzz", 6}, {"1", 1}}};
    opts.headers = extra;
    opts.num_headers = 1;
    char out[2048];
    size_t out_len = 0;
    wick_err e = wick_hs_server_accept(r, &opts, out, sizeof(out), &out_len);
    if (e != WICK_OK) {
        /* Only a protocol token the writer refuses, or a huge one. */
        FZ_CHECK(e == WICK_ERR_ARG || e == WICK_ERR_BUFFER_TOO_SMALL);
        return;
    }
    FZ_CHECK(out_len <= sizeof(out) && out_len > 12 && memcmp(out, "HTTP/1.1 101", 12) == 0);
    /* Too small a buffer is refused, never overrun. */
    char *small = fz_alloc(out_len - 1);
    size_t sl;
    FZ_CHECK(wick_hs_server_accept(r, &opts, small, out_len - 1, &sl) ==
             WICK_ERR_BUFFER_TOO_SMALL);
    free(small);

    /* A client that sent this key (when it is a canonical 16-byte nonce). */
    uint8_t nonce[18];
    size_t nlen = 0;
    if (r->key.len != WICK_KEY_LEN ||
        wick_base64_decode(r->key.ptr, r->key.len, nonce, sizeof(nonce), &nlen) != WICK_OK ||
        nlen != 16) {
        return;
    }
    wick_hs_client_opts co;
    memset(&co, 0, sizeof(co));
    co.host.ptr = "h";
    co.host.len = 1;
    co.protocols = r->protocols;
    co.num_protocols = r->num_protocols;
    co.extensions = ext_offer;
    wick_hs_client cl;
    char req[4096];
    size_t req_len;
    if (wick_hs_client_request(&cl, &co, nonce, NULL, req, sizeof(req), &req_len) != WICK_OK) {
        return; /* an offered token the client writer refuses */
    }
    char *resp = (char *)fz_dup((const uint8_t *)out, out_len);
    size_t used = 0;
    e = wick_hs_client_verify(&cl, resp, out_len, &used);
    if (e != WICK_OK) {
        fprintf(stderr, "client rejects the server's answer: %s\n%.*s\n", wick_err_name(e),
                (int)out_len, out);
    }
    FZ_CHECK(e == WICK_OK && used == out_len);
    free(resp);
}

/* A plain HTTP answer reflecting the request's headers (they cannot hold
 * CR or LF), with an input-chosen status, body and close flag. */
static void plain_response(const wick_hs_request *r, const char *body, size_t n)
{
    int status = (int)(n % 650u);
    size_t body_len = n % 97u;
    bool close = (n & 1u) != 0;
    size_t cap = 1024 + body_len;
    for (size_t i = 0; i < r->num_headers; i++) {
        cap += r->headers[i].name.len + r->headers[i].value.len + 4;
    }
    char *out = fz_alloc(cap);
    size_t out_len = 0;
    wick_err e = wick_http_response(status, NULL, body, body_len, r->headers, r->num_headers,
                                    close, out, cap, &out_len);
    /* RFC 9110 6.4.1: 1xx, 204 and 304 carry no content. */
    bool no_content = status < 200 || status == 204 || status == 304;
    if (status < 100 || status > 599 || (no_content && body_len > 0)) {
        FZ_CHECK(e == WICK_ERR_ARG);
        free(out);
        return;
    }
    bool bad_name = false;
    for (size_t i = 0; i < r->num_headers; i++) {
        /* A NUL or other control byte may legitimately be refused. */
        for (size_t k = 0; k < r->headers[i].value.len; k++) {
            unsigned char ch = (unsigned char)r->headers[i].value.ptr[k];
            bad_name = bad_name || ch < 0x20 || ch == 0x7F;
        }
    }
    if (e == WICK_ERR_ARG && bad_name) {
        free(out);
        return;
    }
    if (e != WICK_OK) {
        fprintf(stderr, "wick_http_response(%d, ...) = %s\n", status, wick_err_name(e));
    }
    FZ_CHECK(e == WICK_OK && out_len <= cap);
    char head[16];
    snprintf(head, sizeof(head), "HTTP/1.1 %03d ", status);
    FZ_CHECK(out_len > 13 && memcmp(out, head, 13) == 0);
    FZ_CHECK(out_len >= body_len + 4 && memcmp(out + out_len - body_len, body, body_len) == 0);
    FZ_CHECK(memcmp(out + out_len - body_len - 4, "\r\n\r\n", 4) == 0);
    /* Content-Length as a line of its own (unless the reflected request
     * headers bring their own). */
    static const wick_str cl_name = {"Content-Length", 14};
    bool reflected = false;
    for (size_t i = 0; i < r->num_headers; i++) {
        reflected = reflected || fz_str_ieq(r->headers[i].name, cl_name);
    }
    char cl[48];
    int cll = snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", body_len);
    bool found = false;
    for (size_t i = 0; i + (size_t)cll <= out_len && !found; i++) {
        found = memcmp(out + i, cl, (size_t)cll) == 0;
    }
    FZ_CHECK(reflected || found != no_content);
    /* One byte short is refused, never overrun. */
    char *small = fz_alloc(out_len - 1);
    size_t sl;
    FZ_CHECK(wick_http_response(status, NULL, body, body_len, r->headers, r->num_headers, close,
                                small, out_len - 1, &sl) == WICK_ERR_BUFFER_TOO_SMALL);
    free(small);
    free(out);
}

static const wick_hs_limits limit_sets[3] = {{256, WICK_MAX_HEADERS}, {8192, 4}, {512, 8}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t conf = fz_u8(&in);
    const wick_hs_limits *lim = (conf & 3) ? &limit_sets[(conf & 3) - 1] : NULL;
    uint64_t seed = (uint64_t)(conf >> 2) + 1;
    size_t n = in.n;

    /* One-shot parse of an exact-size copy. */
    char *whole = (char *)fz_dup(in.p, n);
    wick_hs_request a;
    wick_hs_request_init(&a, lim);
    size_t used_a = (size_t)-1;
    wick_err ea = wick_hs_server_parse(&a, whole, n, &used_a);
    FZ_CHECK(ea == WICK_NEED_MORE || ea == WICK_OK || (ea <= -200 && ea > -300));
    bool complete_a = ea == WICK_OK || ea == WICK_ERR_HS_NOT_UPGRADE;
    if (complete_a) {
        FZ_CHECK(used_a <= n);
        check_views(&a, whole, used_a);
        /* Called again after completion: the same status. */
        size_t again = 0;
        FZ_CHECK(wick_hs_server_parse(&a, whole, n, &again) == ea && again == used_a);
    }

    /* Incremental parse: one buffer, growing; the tail is poisoned. */
    char *buf = (char *)fz_dup(in.p, n);
    FZ_POISON(buf, n);
    wick_hs_request b;
    wick_hs_request_init(&b, lim);
    size_t have = 0;
    wick_err eb = WICK_NEED_MORE;
    size_t used_b = (size_t)-1;
    do {
        size_t step = n - have ? fz_chunk(&seed, n - have) : 0;
        FZ_UNPOISON(buf + have, step);
        have += step;
        eb = wick_hs_server_parse(&b, buf, have, &used_b);
    } while (eb == WICK_NEED_MORE && have < n);
    FZ_UNPOISON(buf, n);

    if (eb != ea) {
        fprintf(stderr, "one-shot %s, incremental %s (stopped at %zu of %zu)\n",
                wick_err_name(ea), wick_err_name(eb), have, n);
    }
    FZ_CHECK(eb == ea);
    if (complete_a) {
        FZ_CHECK(used_b == used_a);
        same_request(&a, whole, &b, buf);
    }
    if (ea == WICK_OK) {
        FZ_CHECK(a.key.len > 0 && a.host.len > 0);
        check_accepted(&a);
        answer(&a);
    } else if (ea != WICK_NEED_MORE) {
        char out[1024];
        size_t out_len = 0;
        if (ea != WICK_ERR_HS_NOT_UPGRADE) {
            FZ_CHECK(wick_err_http_status(ea) >= 400);
            FZ_CHECK(wick_hs_server_reject(ea, out, sizeof(out), &out_len) == WICK_OK);
            FZ_CHECK(out_len <= sizeof(out) && memcmp(out, "HTTP/1.1 4", 10) == 0);
        }
    }
    if (complete_a) {
        plain_response(&a, whole, n);
        /* Header lookups agree with the header list. */
        wick_str v;
        for (size_t i = 0; i < a.num_headers; i++) {
            char name[64];
            wick_str nm = a.headers[i].name;
            if (nm.len >= sizeof(name) || memchr(nm.ptr, 0, nm.len) != NULL) {
                continue;
            }
            memcpy(name, nm.ptr, nm.len);
            name[nm.len] = 0;
            FZ_CHECK(wick_hs_request_header(&a, name, &v));
            size_t from = 0;
            int idx = wick_header_find(a.headers, a.num_headers, name, &from);
            FZ_CHECK(idx >= 0 && (size_t)idx <= i && fz_str_ieq(a.headers[idx].name, nm));
        }
    }
    free(whole);
    free(buf);
    return 0;
}
