/* Sec-WebSocket-Extensions (RFC 6455 9.1) with the list and quoting rules
 * of RFC 9110 5.6: tokens, OWS around separators, empty list elements
 * ignored, quoted-string values with backslash escapes. */
#include "wick_internal.h"

#include "wick_http.h"

static size_t ext_ows(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    return i;
}

/* The token at p[i..]: stored in *t, returns its end (i when empty). */
static size_t ext_token(const char *p, size_t len, size_t i, wick_str *t)
{
    size_t a = i;
    while (i < len && wick__http_tchar((unsigned char)p[i])) {
        i++;
    }
    t->ptr = p + a;
    t->len = i - a;
    return i;
}

/* Scans a quoted-string whose opening DQUOTE is at p[i]. On success stores
 * the body (escapes kept) in *v and returns the index after the closing
 * DQUOTE; returns 0 when malformed. RFC 6455 9.1: once unescaped, the
 * value MUST be a token, so an empty or non-token body is refused. */
static size_t ext_quoted(const char *p, size_t len, size_t i, wick_str *v)
{
    size_t a = ++i;
    size_t unescaped = 0;
    while (i < len && p[i] != '"') {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\') {
            if (len - i < 2) {
                return 0;
            }
            c = (unsigned char)p[++i]; /* quoted-pair */
        }
        /* Every tchar is qdtext (RFC 9110 5.6.4: HTAB / SP / %x21 /
         * %x23-5B / %x5D-7E / obs-text), so the tchar test is the only
         * one needed. */
        if (!wick__http_tchar(c)) {
            return 0;
        }
        unescaped++;
        i++;
    }
    if (i == len || unescaped == 0) {
        return 0;
    }
    v->ptr = p + a;
    v->len = i - a;
    return i + 1;
}

/* Parses "; param[=value]" repeatedly after an extension name. Returns the
 * index where parsing stopped, or 0 with *err set. */
static size_t ext_params(const char *p, size_t len, size_t i, wick_ext *x, wick_err *err)
{
    *err = WICK_ERR_HS_EXTENSION;
    while (i < len && p[i] == ';') {
        wick_str name;
        size_t a = ext_ows(p, len, i + 1);
        i = ext_token(p, len, a, &name);
        if (i == a) {
            return 0;
        }
        if (x->num_params == WICK_MAX_EXT_PARAMS) {
            *err = WICK_ERR_HS_TOO_MANY_HEADERS;
            return 0;
        }
        wick_ext_param *pr = &x->params[x->num_params++];
        const wick_ext_param none = {{NULL, 0}, {NULL, 0}, false, false};
        *pr = none;
        pr->name = name;
        i = ext_ows(p, len, i);
        if (i < len && p[i] == '=') {
            a = ext_ows(p, len, i + 1);
            bool quoted = a < len && p[a] == '"';
            wick_str v;
            i = quoted ? ext_quoted(p, len, a, &v) : ext_token(p, len, a, &v);
            if (i == 0 || i == a) {
                return 0;
            }
            pr->value = v;
            pr->quoted = quoted;
            pr->has_value = true;
            i = ext_ows(p, len, i);
        }
    }
    return i;
}

/* Walks an extension list. Normally each extension is stored in
 * out[*count..cap) and *count advanced. With `find` set, every extension
 * is parsed into out[0] (scratch) and the walk returns WICK_DONE at the
 * first one named *find (ASCII case-insensitive). */
static wick_err ext_list(const char *buf, size_t len, wick_ext *out, size_t cap, size_t *count,
                         const wick_str *find)
{
    size_t n = *count;
    size_t i = 0;
    while (i < len) {
        i = ext_ows(buf, len, i);
        if (i == len) {
            break;
        }
        if (buf[i] == ',') {
            i++; /* RFC 9110 5.6.1: empty list elements are ignored. */
            continue;
        }
        wick_str name;
        size_t a = i;
        i = ext_token(buf, len, a, &name);
        if (i == a) {
            return WICK_ERR_HS_EXTENSION;
        }
        wick_ext *x = out;
        if (find != NULL) {
            if (wick__str_ieq2(name, *find)) {
                return WICK_DONE;
            }
        } else if (n == cap) {
            return WICK_ERR_HS_TOO_MANY_HEADERS;
        } else {
            x = &out[n++];
        }
        x->name = name;
        x->num_params = 0;
        wick_err err = WICK_OK;
        i = ext_params(buf, len, ext_ows(buf, len, i), x, &err);
        if (i == 0) {
            return err;
        }
        if (i < len && buf[i] != ',') {
            return WICK_ERR_HS_EXTENSION;
        }
    }
    /* extension-list = 1#extension (also for an empty value) */
    if (n == *count) {
        return WICK_ERR_HS_EXTENSION;
    }
    *count = n;
    return WICK_OK;
}

wick_err wick_ext_parse(const char *buf, size_t len, wick_ext *out, size_t cap, size_t *count)
{
    if (count == NULL || (buf == NULL && len > 0) || (out == NULL && cap > 0) || *count > cap) {
        return WICK_ERR_ARG;
    }
    return ext_list(buf, len, out, cap, count, NULL);
}

wick_err wick_str_unquote(wick_str s, char *out, size_t cap, size_t *out_len)
{
    if (out_len == NULL || (s.ptr == NULL && s.len > 0) || (out == NULL && cap > 0)) {
        return WICK_ERR_ARG;
    }
    size_t o = 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == '\\' && s.len - i > 1) {
            c = s.ptr[++i];
        }
        if (o == cap) {
            return WICK_ERR_BUFFER_TOO_SMALL;
        }
        out[o++] = c;
    }
    *out_len = o;
    return WICK_OK;
}

wick_err wick__hs_ext_fields(const wick__hs_fields *f, const wick_header *h, size_t n, wick_ext *x,
                             size_t *num)
{
    for (size_t i = 0; i < n; i++) {
        if (f->kind[i] == WICK__H_EXTENSIONS) {
            wick_err e =
                wick_ext_parse(h[i].value.ptr, h[i].value.len, x, WICK_MAX_EXTENSIONS, num);
            if (e != WICK_OK) {
                return e;
            }
        }
    }
    return WICK_OK;
}

bool wick__hs_ext_offered(wick_str offer, wick_str name)
{
    /* The offer follows the grammar (wick_hs_client_request checked it),
     * so its names are found by the same walk. */
    wick_ext scratch;
    size_t n = 0;
    return ext_list(offer.ptr, offer.len, &scratch, 1, &n, &name) == WICK_DONE;
}
