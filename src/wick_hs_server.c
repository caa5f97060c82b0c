/* Server side of the opening handshake (RFC 6455 4.2): an incremental
 * parser of the client's request and the 101 response. */
#include "wick_internal.h"

#include "wick_http.h"

void wick_hs_request_init(wick_hs_request *r, const wick_hs_limits *limits)
{
    if (r == NULL) {
        return;
    }
    memset(r, 0, sizeof *r);
    /* Fields of 0 (and max_headers over WICK_MAX_HEADERS) become the
     * defaults on the first parse call (wick__hs_feed). */
    if (limits != NULL) {
        r->priv_.max_header_bytes = limits->max_header_bytes;
        r->priv_.max_headers = limits->max_headers;
    }
}

/* Sec-WebSocket-Key (RFC 6455 4.2.1 item 5): base64 of exactly 16 bytes. */
static WICK__NOINLINE bool sv_key_ok(wick_str key)
{
    uint8_t raw[18];
    size_t raw_len = 0;
    return key.len == WICK_KEY_LEN &&
           wick_base64_decode(key.ptr, key.len, raw, sizeof raw, &raw_len) == WICK_OK &&
           raw_len == 16;
}

/* Offered subprotocols (RFC 6455 4.2.1 item 8; 4.1: each is a token). */
static WICK__NOINLINE wick_err sv_protocols(wick_hs_request *r, const wick__hs_fields *f)
{
    for (size_t i = 0; i < r->num_headers; i++) {
        if (f->kind[i] != WICK__H_PROTOCOL) {
            continue;
        }
        wick_str list = r->headers[i].value;
        size_t pos = 0;
        size_t seen = 0;
        wick_str tok;
        while (wick_list_next(list, &pos, &tok)) {
            if (!wick__http_is_token(tok.ptr, tok.len)) {
                return WICK_ERR_HS_PROTOCOL;
            }
            if (r->num_protocols == WICK_MAX_PROTOCOLS) {
                return WICK_ERR_HS_TOO_MANY_HEADERS;
            }
            r->protocols[r->num_protocols++] = tok;
            seen++;
        }
        if (seen == 0) {
            return WICK_ERR_HS_PROTOCOL; /* 1#token: an empty field */
        }
    }
    return WICK_OK;
}

/* The WebSocket rules, in the order of RFC 6455 4.2.1. */
static WICK__NOINLINE wick_err sv_check(void *obj, int minor)
{
    wick_hs_request *r = (wick_hs_request *)obj;
    (void)minor; /* r->http_minor */
    wick__hs_fields f;
    wick__hs_fields_scan(&f, r->headers, r->num_headers);
    r->host = f.first[WICK__H_HOST];
    r->origin = f.first[WICK__H_ORIGIN];
    /* RFC 9112 3.2: a request with more than one Host gets a 400, upgrade
     * or not. */
    if (f.count[WICK__H_HOST] > 1) {
        return WICK_ERR_HS_DUPLICATE;
    }
    /* Not an upgrade at all: the caller may serve it as plain HTTP. */
    if (f.count[WICK__H_UPGRADE] == 0) {
        return WICK_ERR_HS_NOT_UPGRADE;
    }
    /* Item 1: GET (methods are case-sensitive, RFC 9110 9.1), HTTP/1.1+. */
    if (r->method.len != 3 || !wick__mem_eq(r->method.ptr, "GET", 3)) {
        return WICK_ERR_HS_METHOD;
    }
    if (r->http_minor < 1) {
        return WICK_ERR_HS_HTTP_VERSION;
    }
    /* Item 2 */
    if (f.count[WICK__H_HOST] == 0 || !wick__http_host_ok(r->host)) {
        return WICK_ERR_HS_HOST;
    }
    /* Items 3 and 4: tokens, ASCII case-insensitive. */
    if (!f.has_token[0]) {
        return WICK_ERR_HS_UPGRADE;
    }
    if (!f.has_token[1]) {
        return WICK_ERR_HS_CONNECTION;
    }
    /* Item 5 */
    r->key = f.first[WICK__H_KEY];
    if (f.count[WICK__H_KEY] == 0) {
        return WICK_ERR_HS_KEY;
    }
    if (f.count[WICK__H_KEY] > 1) {
        return WICK_ERR_HS_DUPLICATE;
    }
    if (!sv_key_ok(r->key)) {
        return WICK_ERR_HS_KEY;
    }
    /* Item 6: exactly "13"; anything else is answered with 426 (4.4). */
    wick_str ver = f.first[WICK__H_VERSION];
    if (f.count[WICK__H_VERSION] > 1) {
        return WICK_ERR_HS_DUPLICATE;
    }
    if (ver.len != 2 || !wick__mem_eq(ver.ptr, "13", 2)) {
        return WICK_ERR_HS_VERSION;
    }
    /* Item 7: a server that checks Origin must not see two of them. */
    if (f.count[WICK__H_ORIGIN] > 1) {
        return WICK_ERR_HS_DUPLICATE;
    }
    wick_err e = sv_protocols(r, &f);
    if (e != WICK_OK) {
        return e;
    }
    /* Item 9: every Sec-WebSocket-Extensions field, appended. */
    return wick__hs_ext_fields(&f, r->headers, r->num_headers, r->extensions, &r->num_extensions);
}

wick_err wick_hs_server_parse(wick_hs_request *r, const char *buf, size_t len, size_t *consumed)
{
    if (consumed != NULL) {
        *consumed = 0;
    }
    if (r == NULL || (buf == NULL && len > 0)) {
        return WICK_ERR_ARG;
    }
    const wick__hs_out o = {&r->method,     &r->target, NULL,
                            &r->http_minor, r->headers, &r->num_headers};
    return wick__hs_parse(&r->priv_, buf, len, consumed, &o, sv_check, r, WICK_ERR_HS_NOT_UPGRADE);
}

bool wick_hs_request_header(const wick_hs_request *r, const char *name, wick_str *value)
{
    if (r == NULL) {
        return false;
    }
    int i = wick_header_find(r->headers, r->num_headers, name, NULL);
    if (i < 0) {
        return false;
    }
    if (value != NULL) {
        *value = r->headers[i].value;
    }
    return true;
}

static bool sv_offered(const wick_hs_request *r, wick_str proto)
{
    for (size_t i = 0; i < r->num_protocols; i++) {
        /* Subprotocol names compare as exact strings (RFC 6455 4.1). */
        if (r->protocols[i].len == proto.len &&
            wick__mem_eq(r->protocols[i].ptr, proto.ptr, proto.len)) {
            return true;
        }
    }
    return false;
}

wick_err wick_hs_server_accept(const wick_hs_request *r, const wick_hs_accept_opts *opts, char *out,
                               size_t cap, size_t *out_len)
{
    if (r == NULL || out_len == NULL || (out == NULL && cap > 0)) {
        return WICK_ERR_ARG;
    }
    /* Only a request the parser accepted can be answered with 101. */
    if (!r->priv_.done || wick__hs_result_unpack(r->priv_.state) != WICK_OK) {
        return WICK_ERR_ARG;
    }
    static const wick_hs_accept_opts no_opts = {{NULL, 0}, {NULL, 0}, NULL, 0};
    if (opts == NULL) {
        opts = &no_opts;
    }
    if (opts->protocol.ptr == NULL && opts->protocol.len > 0) {
        return WICK_ERR_ARG;
    }
    /* RFC 6455 4.2.2 item 5.4: the selected subprotocol is one offered. */
    if (opts->protocol.len > 0 && !sv_offered(r, opts->protocol)) {
        return WICK_ERR_ARG;
    }
    if (!wick__http_value_ok(opts->extensions) ||
        !wick__http_fields_ok(opts->headers, opts->num_headers)) {
        return WICK_ERR_ARG;
    }
    char accept[WICK_ACCEPT_LEN];
    if (wick_accept_key(r->key.ptr, r->key.len, accept) != WICK_OK) {
        return WICK_ERR_ARG;
    }
    const wick_str a[3] = {{accept, sizeof accept}, opts->protocol, opts->extensions};
    wick__wr w = {out, cap, 0, false};
    /* RFC 6455 4.2.2 item 5. */
    wick__wr_fmt(&w,
                 "HTTP/1.1 101 Switching Protocols\r\n"                               /* */
                 "Upgrade: websocket\r\n"                                             /* */
                 "Connection: Upgrade\r\n"                                            /* */
                 WICK__F_SEC "Accept: " WICK__F_ARG1 "\r\n"                           /* */
                 WICK__F_IF WICK__F_ARG2 WICK__F_SEC "Protocol: " WICK__F_ARG2 "\r\n" /* */
                 WICK__F_IF WICK__F_ARG3 WICK__F_SEC "Extensions: " WICK__F_ARG3 "\r\n",
                 a);
    wick__wr_fields(&w, opts->headers, opts->num_headers);
    wick__wr_mem(&w, "\r\n", 2);
    return wick__wr_finish(&w, out_len);
}
