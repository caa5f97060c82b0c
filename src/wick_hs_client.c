/* Client side of the opening handshake (RFC 6455 4.1): the GET request
 * and an incremental parser that verifies the server's answer. */
#include "wick_internal.h"

#include "wick_http.h"

static wick_err cl_check_opts(const wick_hs_client_opts *o)
{
    /* NULL with a length fails the checks below (target, origin,
     * extensions, header fields, protocols). */
    if (o->host.ptr == NULL || (o->protocols == NULL && o->num_protocols > 0)) {
        return WICK_ERR_ARG;
    }
    if (o->target.len > 0 && !wick__http_target_ok(o->target)) {
        return WICK_ERR_ARG;
    }
    /* RFC 6455 4.1 item 4: Host is required. */
    if (!wick__http_host_ok(o->host)) {
        return WICK_ERR_ARG;
    }
    if (!wick__http_value_ok(o->origin) || !wick__http_value_ok(o->extensions) ||
        !wick__http_fields_ok(o->headers, o->num_headers)) {
        return WICK_ERR_ARG;
    }
    /* RFC 6455 4.1 item 10: each subprotocol is a token. */
    for (size_t i = 0; i < o->num_protocols; i++) {
        if (!wick__http_is_token(o->protocols[i].ptr, o->protocols[i].len)) {
            return WICK_ERR_ARG;
        }
    }
    return WICK_OK;
}

wick_err wick_hs_client_request(wick_hs_client *c, const wick_hs_client_opts *opts,
                                const uint8_t nonce[16], const wick_hs_limits *limits, char *out,
                                size_t cap, size_t *out_len)
{
    if (c == NULL || opts == NULL || nonce == NULL || out_len == NULL || (out == NULL && cap > 0)) {
        return WICK_ERR_ARG;
    }
    wick_err e = cl_check_opts(opts);
    if (e != WICK_OK) {
        return e;
    }
    /* RFC 6455 9.1: the offer must follow the extension grammar, or the
     * answer cannot be checked against it. c->extensions is free scratch
     * until the answer is verified. */
    if (opts->extensions.len > 0) {
        size_t n = 0;
        if (wick_ext_parse(opts->extensions.ptr, opts->extensions.len, c->extensions,
                           WICK_MAX_EXTENSIONS, &n) != WICK_OK) {
            return WICK_ERR_ARG;
        }
    }
    /* RFC 6455 4.1 item 7: the key is base64 of 16 random bytes. */
    char key[WICK_KEY_LEN];
    size_t key_len = 0;
    e = wick_base64_encode(nonce, 16, key, sizeof key, &key_len);
    if (e != WICK_OK) {
        return e;
    }
    wick_str a[5] = {{"/", 1}, opts->host, {key, key_len}, opts->origin, opts->extensions};
    if (opts->target.len > 0) {
        a[0] = opts->target;
    }
    wick__wr w = {out, cap, 0, false};
    wick__wr_fmt(&w,
                 "GET " WICK__F_ARG1 " HTTP/1.1\r\n"     /* */
                 "Host: " WICK__F_ARG2 "\r\n"            /* */
                 "Upgrade: websocket\r\n"                /* */
                 "Connection: Upgrade\r\n"               /* */
                 WICK__F_SEC "Key: " WICK__F_ARG3 "\r\n" /* */
                 WICK__F_IF WICK__F_ARG4 "Origin: " WICK__F_ARG4 "\r\n",
                 a);
    for (size_t i = 0; i < opts->num_protocols; i++) {
        wick__wr_fmt(&w, (i == 0) ? WICK__F_SEC "Protocol: " : ", ", NULL);
        wick__wr_str(&w, opts->protocols[i]);
    }
    if (opts->num_protocols > 0) {
        wick__wr_mem(&w, "\r\n", 2);
    }
    wick__wr_fmt(&w,
                 WICK__F_IF WICK__F_ARG5 WICK__F_SEC "Extensions: " WICK__F_ARG5 "\r\n" /* */
                 WICK__F_SEC "Version: 13\r\n",
                 a);
    wick__wr_fields(&w, opts->headers, opts->num_headers);
    wick__wr_mem(&w, "\r\n", 2);
    e = wick__wr_finish(&w, out_len);
    if (e != WICK_OK) {
        return e;
    }
    memset(c, 0, sizeof *c);
    c->priv_.opts = opts;
    /* Fields of 0 (and max_headers over WICK_MAX_HEADERS) become the
     * defaults on the first verify call (wick__hs_feed). */
    if (limits != NULL) {
        c->priv_.hs.max_header_bytes = limits->max_header_bytes;
        c->priv_.hs.max_headers = limits->max_headers;
    }
    return wick_accept_key(key, key_len, c->priv_.accept);
}

/* RFC 6455 4.1, client requirement item 5: every extension in the answer
 * was offered, and (RFC 6455 9.1) none is accepted twice. */
static wick_err cl_extensions(wick_hs_client *c, const wick__hs_fields *f)
{
    wick_err e =
        wick__hs_ext_fields(f, c->headers, c->num_headers, c->extensions, &c->num_extensions);
    if (e != WICK_OK) {
        return e;
    }
    for (size_t k = 0; k < c->num_extensions; k++) {
        if (!wick__hs_ext_offered(c->priv_.opts->extensions, c->extensions[k].name)) {
            return WICK_ERR_HS_EXTENSION;
        }
#if WICK_MAX_EXTENSIONS > 1
        /* With room for one extension there is no pair to compare (and
         * gcc 12's -Warray-bounds read extensions[k] for k >= 1 as an
         * overrun of the one-element array). */
        for (size_t j = 0; j < k; j++) {
            if (wick__str_ieq2(c->extensions[j].name, c->extensions[k].name)) {
                return WICK_ERR_HS_EXTENSION;
            }
        }
#endif
    }
    return WICK_OK;
}

/* Item 6: at most one subprotocol, and one that was offered. */
static wick_err cl_protocol(wick_hs_client *c, const wick__hs_fields *f)
{
    size_t n = f->count[WICK__H_PROTOCOL];
    wick_str p = f->first[WICK__H_PROTOCOL];
    if (n == 0) {
        return WICK_OK;
    }
    if (n > 1) {
        return WICK_ERR_HS_DUPLICATE;
    }
    const wick_hs_client_opts *o = c->priv_.opts;
    for (size_t i = 0; i < o->num_protocols; i++) {
        if (o->protocols[i].len == p.len && p.len > 0 &&
            wick__mem_eq(o->protocols[i].ptr, p.ptr, p.len)) {
            c->protocol = p;
            return WICK_OK;
        }
    }
    return WICK_ERR_HS_PROTOCOL;
}

/* The checks of RFC 6455 4.1 on a complete response, in its order. */
static WICK__NOINLINE wick_err cl_check(void *obj, int minor)
{
    wick_hs_client *c = (wick_hs_client *)obj;
    /* Item 1: anything but 101 is handled per HTTP by the caller. */
    if (c->status != 101) {
        return WICK_ERR_HS_STATUS;
    }
    if (minor < 1) {
        return WICK_ERR_HS_HTTP_VERSION;
    }
    wick__hs_fields f;
    wick__hs_fields_scan(&f, c->headers, c->num_headers);
    if (!f.has_token[0]) { /* item 2 */
        return WICK_ERR_HS_UPGRADE;
    }
    if (!f.has_token[1]) { /* item 3 */
        return WICK_ERR_HS_CONNECTION;
    }
    /* Item 4: Sec-WebSocket-Accept is base64(SHA-1(key + GUID)). */
    wick_str acc = f.first[WICK__H_ACCEPT];
    if (f.count[WICK__H_ACCEPT] > 1) {
        return WICK_ERR_HS_DUPLICATE;
    }
    if (acc.len != WICK_ACCEPT_LEN || !wick__mem_eq(acc.ptr, c->priv_.accept, WICK_ACCEPT_LEN)) {
        return WICK_ERR_HS_ACCEPT;
    }
    wick_err e = cl_extensions(c, &f); /* item 5 */
    if (e != WICK_OK) {
        return e;
    }
    return cl_protocol(c, &f);
}

wick_err wick_hs_client_verify(wick_hs_client *c, const char *buf, size_t len, size_t *consumed)
{
    if (consumed != NULL) {
        *consumed = 0;
    }
    if (c == NULL || (buf == NULL && len > 0)) {
        return WICK_ERR_ARG;
    }
    if (c->priv_.opts == NULL) {
        return WICK_ERR_STATE; /* no request was written */
    }
    int minor = 0; /* needed only by cl_check */
    const wick__hs_out o = {NULL, &c->reason, &c->status, &minor, c->headers, &c->num_headers};
    return wick__hs_parse(&c->priv_.hs, buf, len, consumed, &o, cl_check, c, WICK_ERR_HS_STATUS);
}
