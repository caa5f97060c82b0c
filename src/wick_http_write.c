/* Writing HTTP/1.1 messages: the bounded writer shared by the handshake
 * code, reason phrases and plain responses (RFC 9112 4, RFC 9110 15). */
#include "wick_internal.h"

#include "wick_http.h"

void wick__wr_mem(wick__wr *w, const char *s, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    if (n > 0) {
        memcpy(w->p + w->len, s, n);
        w->len += n;
    }
}

void wick__wr_str(wick__wr *w, wick_str s)
{
    wick__wr_mem(w, s.ptr, s.len);
}

/* Decimal digits of v, written at the end of tmp[24]. */
static WICK__NOINLINE wick_str wr_uint(char tmp[24], size_t v)
{
    size_t i = 24;
    do {
        tmp[--i] = (char)('0' + (int)(v % 10U));
        v /= 10U;
    } while (v > 0 && i > 0);
    wick_str s = {tmp + i, 24 - i};
    return s;
}

void wick__wr_fmt(wick__wr *w, const char *t, const wick_str *args)
{
    while (*t != '\0') {
        unsigned char c = (unsigned char)*t;
        if (c >= 0x0AU) {
            size_t n = 1;
            while ((unsigned char)t[n] >= 0x0AU) {
                n++;
            }
            wick__wr_mem(w, t, n);
            t += n;
            continue;
        }
        t++;
        if (c == 0x09U) {
            wick__wr_mem(w, "Sec-WebSocket-", 14);
        } else if (c != 0x08U) {
            wick__wr_str(w, args[c - 1U]);
        } else if (args[(unsigned char)*t - 1U].len == 0) {
            while (*t++ != '\n') { /* drop the line */
            }
        } else {
            t++;
        }
    }
}

bool wick__http_fields_ok(const wick_header *h, size_t n)
{
    if (h == NULL && n > 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!wick__http_is_token(h[i].name.ptr, h[i].name.len) ||
            !wick__http_value_ok(h[i].value)) {
            return false;
        }
    }
    return true;
}

void wick__wr_fields(wick__wr *w, const wick_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const wick_str nv[2] = {h[i].name, h[i].value};
        wick__wr_fmt(w, WICK__F_ARG1 ": " WICK__F_ARG2 "\r\n", nv);
    }
}

wick_err wick__wr_finish(const wick__wr *w, size_t *out_len)
{
    if (w->over) {
        return WICK_ERR_BUFFER_TOO_SMALL;
    }
    *out_len = w->len;
    return WICK_OK;
}

/* RFC 9110 15: the status codes wick knows a reason phrase for, and the
 * phrases in the same order in one string, followed by the phrases of
 * the five classes (for a code not in the list: a client treats an
 * unknown code as the x00 of its class) and "Unknown". One string walked
 * to the row is smaller than a switch or a table of pointers.
 * WICK_NO_ERR_STRINGS (firmware) keeps only the statuses the handshake
 * answers with (101, 400, 426, 431) and the two a plain-HTTP fallback
 * needs most (200, 404); every other code gets its class phrase. */
#ifndef WICK_NO_ERR_STRINGS
static const uint16_t reason_codes[] = {100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307,
                                        308, 400, 401, 403, 404, 405, 406, 408, 409, 410, 411, 413,
                                        414, 415, 426, 429, 431, 500, 501, 502, 503, 504, 505};

static const char reason_text[] = "Continue\0Switching Protocols\0OK\0Created\0Accepted\0"
                                  "No Content\0Partial Content\0Moved Permanently\0Found\0"
                                  "See Other\0Not Modified\0Temporary Redirect\0"
                                  "Permanent Redirect\0Bad Request\0Unauthorized\0Forbidden\0"
                                  "Not Found\0Method Not Allowed\0Not Acceptable\0"
                                  "Request Timeout\0Conflict\0Gone\0Length Required\0"
                                  "Content Too Large\0URI Too Long\0Unsupported Media Type\0"
                                  "Upgrade Required\0Too Many Requests\0"
                                  "Request Header Fields Too Large\0Internal Server Error\0"
                                  "Not Implemented\0Bad Gateway\0Service Unavailable\0"
                                  "Gateway Timeout\0HTTP Version Not Supported\0"
                                  "Informational\0Success\0Redirection\0Client Error\0"
                                  "Server Error\0Unknown";
#else
static const uint16_t reason_codes[] = {101, 200, 400, 404, 426, 431};

static const char reason_text[] = "Switching Protocols\0OK\0Bad Request\0Not Found\0"
                                  "Upgrade Required\0Request Header Fields Too Large\0"
                                  "Informational\0Success\0Redirection\0Client Error\0"
                                  "Server Error\0Unknown";
#endif

WICK__NOINLINE const char *wick_http_reason(int status)
{
    size_t n = 0;
    size_t rows = sizeof reason_codes / sizeof reason_codes[0];
    while (n < rows && reason_codes[n] != status) {
        n++;
    }
    if (n == rows) {
        /* Unsigned division: no signed-division helper on small cores. */
        n += (status >= 100 && status < 600) ? (size_t)((unsigned)status / 100U - 1U) : 5U;
    }
    const char *p = reason_text;
    for (; n > 0; n--) {
        while (*p++ != '\0') {
        }
    }
    return p;
}

wick_err wick_http_response(int status, const char *content_type, const void *body, size_t body_len,
                            const wick_header *headers, size_t num_headers, bool close, char *out,
                            size_t cap, size_t *out_len)
{
    if (status < 100 || status > 599 || out_len == NULL || (out == NULL && cap > 0) ||
        (body == NULL && body_len > 0)) {
        return WICK_ERR_ARG;
    }
    if (!wick__http_fields_ok(headers, num_headers)) {
        return WICK_ERR_ARG;
    }
    wick_str ctype = {"text/plain; charset=utf-8", 25};
    if (content_type != NULL) {
        ctype.ptr = content_type;
        ctype.len = wick__cstr_len(content_type);
        if (!wick__http_value_ok(ctype)) {
            return WICK_ERR_ARG;
        }
    }
    /* RFC 9110 6.4.1 and 8.6: 1xx, 204 and 304 have no content and no
     * Content-Length. */
    bool no_content = status < 200 || status == 204 || status == 304;
    if (no_content && body_len > 0) {
        return WICK_ERR_ARG;
    }
    const char *reason = wick_http_reason(status);
    char num[24];
    wick_str a[2] = {wr_uint(num, (size_t)status), {reason, wick__cstr_len(reason)}};
    wick__wr w = {out, cap, 0, false};
    wick__wr_fmt(&w, "HTTP/1.1 " WICK__F_ARG1 " " WICK__F_ARG2 "\r\n", a);
    if (status == 426) {
        /* RFC 6455 4.4: name the versions we speak. RFC 9110 15.5.22: a
         * 426 MUST carry Upgrade, and then Connection: upgrade (7.8). */
        wick__wr_fmt(&w, "Upgrade: websocket\r\n" WICK__F_SEC "Version: 13\r\n", NULL);
    }
    wick__wr_fields(&w, headers, num_headers);
    if (!no_content) {
        /* Content-Type (when there is a body or a type), Content-Length. */
        static const char clen[] = "Content-Type: " WICK__F_ARG1 "\r\n"
                                   "Content-Length: " WICK__F_ARG2 "\r\n";
        a[0] = ctype;
        a[1] = wr_uint(num, body_len);
        wick__wr_fmt(&w, clen + ((body_len > 0 || content_type != NULL) ? 0 : 17), a);
    }
    static const char conn[] = "Upgrade, close";
    a[0].ptr = conn;
    a[0].len = close ? 14U : 7U;
    if (status != 426) {
        a[0].ptr = conn + 9;
        a[0].len = close ? 5U : 0U;
    }
    wick__wr_fmt(&w, WICK__F_IF WICK__F_ARG1 "Connection: " WICK__F_ARG1 "\r\n\r\n", a);
    wick__wr_mem(&w, (const char *)body, body_len);
    return wick__wr_finish(&w, out_len);
}

wick_err wick_hs_server_reject(wick_err err, char *out, size_t cap, size_t *out_len)
{
    const char *msg = wick_strerror(err);
    return wick_http_response(wick_err_http_status(err), NULL, msg, wick__cstr_len(msg), NULL, 0,
                              true, out, cap, out_len);
}
