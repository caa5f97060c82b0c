/* HTTP/1.1 tokenizer shared by the handshake parsers (RFC 9112 2-5,
 * RFC 9110 5). It only splits and checks syntax; what the fields mean is
 * up to wick_hs_server.c and wick_hs_client.c. */
#include "wick_internal.h"

#include "wick_http.h"

/* WICK__C_* bits of every ASCII byte (generated from the RFC 9110 and
 * RFC 3986 character sets; tests/test_http.c checks every byte). */
const uint8_t wick__http_ctype[128] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00-0x07 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x08-0x0f */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10-0x17 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x18-0x1f */
    0x00, 0x11, 0x00, 0x01, 0x11, 0x11, 0x11, 0x11, /* 0x20-0x27 */
    0x10, 0x10, 0x11, 0x19, 0x10, 0x19, 0x39, 0x00, /* 0x28-0x2f */
    0x3d, 0x3d, 0x3d, 0x3d, 0x3d, 0x3d, 0x3d, 0x3d, /* 0x30-0x37 */
    0x3d, 0x3d, 0x20, 0x10, 0x00, 0x10, 0x00, 0x00, /* 0x38-0x3f */
    0x00, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, /* 0x40-0x47 */
    0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, /* 0x48-0x4f */
    0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, /* 0x50-0x57 */
    0x3b, 0x3b, 0x3b, 0x00, 0x00, 0x00, 0x01, 0x11, /* 0x58-0x5f */
    0x01, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, /* 0x60-0x67 */
    0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, /* 0x68-0x6f */
    0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, /* 0x70-0x77 */
    0x3b, 0x3b, 0x3b, 0x00, 0x01, 0x00, 0x11, 0x00, /* 0x78-0x7f */
};

size_t wick__cstr_len(const char *s)
{
    /* Bounded so that compilers do not turn the loop into a strlen call
     * (check-symbols allows only the mem* imports). No string given to
     * wick is anywhere near this long. */
    size_t n = 0;
    while (n < ((size_t)-1 >> 2) && s[n] != '\0') {
        n++;
    }
    return n;
}

bool wick__str_ieq(wick_str s, const char *lit)
{
    wick_str l = {lit, wick__cstr_len(lit)};
    return wick__str_ieq2(s, l);
}

bool wick__mem_eq(const char *a, const char *b, size_t n)
{
    /* clang turns memcmp() == 0 into bcmp, which is not an allowed import. */
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff |= (unsigned)(unsigned char)a[i] ^ (unsigned)(unsigned char)b[i];
    }
    return diff == 0;
}

bool wick__str_ieq2(wick_str a, wick_str b)
{
    if (a.len != b.len) {
        return false;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (wick__lower(a.ptr[i]) != wick__lower(b.ptr[i])) {
            return false;
        }
    }
    return true;
}

bool wick__http_is_token(const char *p, size_t n)
{
    if (n == 0 || p == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!wick__http_tchar((unsigned char)p[i])) {
            return false;
        }
    }
    return true;
}

bool wick__http_value_ok(wick_str s)
{
    if (s.ptr == NULL) {
        return s.len == 0; /* an absent value is fine */
    }
    for (size_t i = 0; i < s.len; i++) {
        if (!wick__http_vchar((unsigned char)s.ptr[i])) {
            return false;
        }
    }
    return true;
}

static bool http_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the URI scheme at the start of t (RFC 3986 3.1:
 * ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), 0 when there is none. */
static size_t http_scheme_len(wick_str t)
{
    if (t.len == 0 || !wick__http_is((unsigned char)t.ptr[0], WICK__C_ALPHA)) {
        return 0;
    }
    size_t i = 1;
    while (i < t.len && wick__http_is((unsigned char)t.ptr[i], WICK__C_SCHEME)) {
        i++;
    }
    return i;
}

bool wick__http_target_ok(wick_str t)
{
    if (t.len == 0 || t.ptr == NULL) {
        return false;
    }
    /* RFC 9112 3.2: no whitespace or CTL may appear; a fragment is never
     * part of a request-target; URIs are ASCII (RFC 3986 2). */
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        if (c <= 0x20 || c >= 0x7F || c == '#') {
            return false;
        }
    }
    /* RFC 9112 3.2.1 origin-form, as every browser sends. */
    if (t.ptr[0] == '/') {
        return true;
    }
    /* RFC 9112 3.2.2 absolute-form (proxies): scheme "://" authority...
     * RFC 6455 4.2.1 item 1 allows an absolute http/https URI. Requiring
     * "//" keeps authority-form ("host:443") and other forms out. */
    size_t sl = http_scheme_len(t);
    return sl > 0 && t.len - sl > 3 && wick__mem_eq(t.ptr + sl, "://", 3);
}

bool wick__http_host_ok(wick_str h)
{
    /* RFC 9110 7.2: Host = uri-host [ ":" port ]. */
    size_t i = 0;
    if (h.len > 0 && h.ptr[0] == '[') {
        /* IP-literal: hex digits, ':' and '.' (and "v" forms) inside []. */
        i = 1;
        while (i < h.len && h.ptr[i] != ']') {
            if (!wick__http_is((unsigned char)h.ptr[i], WICK__C_IPLIT)) {
                return false;
            }
            i++;
        }
        if (i == h.len || i == 1) {
            return false;
        }
        i++;
    } else {
        while (i < h.len && h.ptr[i] != ':') {
            /* unreserved / pct-encoded / sub-delims (RFC 3986 3.2.2). */
            if (!wick__http_is((unsigned char)h.ptr[i], WICK__C_REGNAME)) {
                return false;
            }
            i++;
        }
        if (i == 0) {
            return false;
        }
    }
    if (i == h.len) {
        return true;
    }
    if (h.ptr[i] != ':') {
        return false;
    }
    for (i++; i < h.len; i++) {
        if (!http_digit(h.ptr[i])) {
            return false;
        }
    }
    return true;
}

/* "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3; case-sensitive). Returns the
 * major digit or -1, and the minor in *minor. */
static int http_version(const char *p, size_t n, int *minor)
{
    if (n != 8 || !wick__mem_eq(p, "HTTP/", 5) || !http_digit(p[5]) || p[6] != '.' ||
        !http_digit(p[7])) {
        return -1;
    }
    *minor = p[7] - '0';
    return p[5] - '0';
}

static wick_err http_request_line(wick_str line, wick_str *method, wick_str *target, int *minor)
{
    /* RFC 9112 3: request-line = method SP request-target SP HTTP-version */
    const char *p = line.ptr;
    size_t n = line.len;
    size_t i = 0;
    while (i < n && wick__http_tchar((unsigned char)p[i])) {
        i++;
    }
    if (i == 0 || i == n || p[i] != ' ') {
        return WICK_ERR_HS_MALFORMED;
    }
    size_t mlen = i;
    /* The version is after the last SP, so a target with a space in it is
     * reported as a bad target rather than a bad version. */
    size_t j = n;
    while (j > mlen + 1 && p[j - 1] != ' ') {
        j--;
    }
    if (j == mlen + 1) {
        return WICK_ERR_HS_MALFORMED; /* only one SP */
    }
    int mi = 0;
    int major = http_version(p + j, n - j, &mi);
    if (major < 0) {
        return WICK_ERR_HS_MALFORMED;
    }
    wick_str t = {p + mlen + 1, j - 1 - (mlen + 1)};
    if (!wick__http_target_ok(t)) {
        return WICK_ERR_HS_TARGET;
    }
    if (major != 1) {
        return WICK_ERR_HS_HTTP_VERSION;
    }
    method->ptr = p;
    method->len = mlen;
    *target = t;
    *minor = mi;
    return WICK_OK;
}

static wick_err http_status_line(wick_str line, int *status, wick_str *reason, int *minor)
{
    /* RFC 9112 4: status-line = HTTP-version SP status-code SP
     * [ reason-phrase ]. The SP before an empty reason is often left out;
     * accept that (4: a client SHOULD ignore the reason-phrase). */
    const char *p = line.ptr;
    size_t n = line.len;
    int mi = 0;
    if (n < 12 || http_version(p, 8, &mi) < 0 || p[8] != ' ') {
        return WICK_ERR_HS_MALFORMED;
    }
    if (p[9] < '1' || p[9] > '5' || !http_digit(p[10]) || !http_digit(p[11])) {
        return WICK_ERR_HS_MALFORMED;
    }
    wick_str rs = {p + n, 0};
    if (n > 12) {
        if (p[12] != ' ') {
            return WICK_ERR_HS_MALFORMED;
        }
        rs.ptr = p + 13;
        rs.len = n - 13;
        if (!wick__http_value_ok(rs)) {
            return WICK_ERR_HS_MALFORMED;
        }
    }
    if (p[5] != '1') {
        return WICK_ERR_HS_HTTP_VERSION;
    }
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    *reason = rs;
    *minor = mi;
    return WICK_OK;
}

static bool http_ows(char c)
{
    return c == ' ' || c == '\t';
}

static wick_err http_field_line(wick_str line, wick_header *h)
{
    /* RFC 9112 5: field-line = field-name ":" OWS field-value OWS. */
    const char *p = line.ptr;
    size_t n = line.len;
    size_t i = 0;
    while (i < n && wick__http_tchar((unsigned char)p[i])) {
        i++;
    }
    /* A line starting with SP/HTAB is obs-fold (RFC 9112 5.2: a server
     * may reject it with 400); whitespace before the colon MUST be
     * rejected (RFC 9112 5.1). Both fail the name check here. */
    if (i == 0 || i == n || p[i] != ':') {
        return WICK_ERR_HS_MALFORMED;
    }
    size_t vs = i + 1;
    size_t ve = n;
    while (vs < ve && http_ows(p[vs])) {
        vs++;
    }
    while (ve > vs && http_ows(p[ve - 1])) {
        ve--;
    }
    wick_str v = {p + vs, ve - vs};
    /* RFC 9110 5.5: no CR, LF, NUL or other CTL in a value. */
    if (!wick__http_value_ok(v)) {
        return WICK_ERR_HS_MALFORMED;
    }
    h->name.ptr = p;
    h->name.len = i;
    h->value = v;
    return WICK_OK;
}

static size_t http_find_lf(const char *buf, size_t i, size_t end)
{
    /* A plain loop: memchr is not among the imports the core may use. */
    while (i < end && buf[i] != '\n') {
        i++;
    }
    return i;
}

/* Incremental scan of a header block (request or response). The caller
 * keeps these fields between calls (in its priv_ members) and resumes. */
typedef struct wick__http_scan {
    size_t scanned;     /* bytes examined so far */
    size_t line_start;  /* offset of the line being scanned */
    size_t count;       /* header field lines seen */
    size_t max_bytes;   /* header block limit, including the empty line */
    size_t max_headers; /* field line limit */
    uint8_t phase;      /* WICK__SCAN_* */
    bool request;       /* start line is a request-line, else a status-line */
} wick__http_scan;

enum {
    WICK__SCAN_START = 0,  /* in the start line, before its first SP */
    WICK__SCAN_START_REST, /* in the start line, after its first SP */
    WICK__SCAN_FIELDS      /* in the field lines */
};

/* Scans buf[s->scanned..len). Returns WICK_NEED_MORE; WICK_OK with
 * s->scanned set to the length of the complete header block; or the first
 * error in the block (syntax errors in line order, WICK_ERR_HS_TOO_LARGE,
 * WICK_ERR_HS_TOO_MANY_HEADERS). Each byte is examined once over all calls. */

/* Checks one complete line of the block being scanned and stores its
 * parts where o says (the role's start-line members are never NULL;
 * headers is NULL while scanning). */
static wick_err http_scan_line(wick__http_scan *s, wick_str line, bool *end, const wick__hs_out *o)
{
    *end = false;
    if (s->phase != WICK__SCAN_FIELDS) {
        s->phase = WICK__SCAN_FIELDS;
        return s->request ? http_request_line(line, o->method, o->text, o->minor)
                          : http_status_line(line, o->status, o->text, o->minor);
    }
    if (line.len == 0) {
        *end = true;
        return WICK_OK;
    }
    wick_header h;
    wick_err e = http_field_line(line, &h);
    if (e != WICK_OK) {
        return e;
    }
    if (++s->count > s->max_headers) {
        return WICK_ERR_HS_TOO_MANY_HEADERS;
    }
    if (o->headers != NULL) {
        o->headers[s->count - 1] = h;
    }
    return WICK_OK;
}

/* Early checks on the first bytes of the start line, so that a peer
 * speaking something else (TLS, garbage) is refused at once instead of
 * after the size limit. Each byte is looked at once; the full line check
 * later reaches the same verdict for the same byte. */
static bool http_scan_start_byte(wick__http_scan *s, size_t off, char c)
{
    if (s->request) {
        if (c == ' ') {
            s->phase = WICK__SCAN_START_REST;
            return true;
        }
        return wick__http_tchar((unsigned char)c);
    }
    static const char proto[5] = {'H', 'T', 'T', 'P', '/'};
    if (off < sizeof proto) {
        return c == proto[off];
    }
    s->phase = WICK__SCAN_START_REST;
    return true;
}

static wick_err http_scan_feed(wick__http_scan *s, const char *buf, size_t len,
                               const wick__hs_out *o)
{
    size_t limit = (len < s->max_bytes) ? len : s->max_bytes;
    size_t i = s->scanned;
    while (i < limit) {
        size_t lf;
        if (s->phase == WICK__SCAN_START) {
            char c = buf[i];
            /* RFC 9112 2.2: a server SHOULD ignore empty lines (CRLF, or a
             * bare LF) received before the request-line. A CR that is not
             * followed by LF is caught by the request-line check. */
            if (s->request && i == s->line_start && c == '\r') {
                i++;
                continue;
            }
            if (s->request && c == '\n' && i - s->line_start <= 1 &&
                (i == s->line_start || buf[i - 1] == '\r')) {
                i++;
                s->line_start = i;
                s->scanned = i;
                continue;
            }
            if (c != '\n' && !http_scan_start_byte(s, i - s->line_start, c)) {
                return WICK_ERR_HS_MALFORMED;
            }
            if (c != '\n') {
                i++;
                continue;
            }
            lf = i;
        } else {
            lf = http_find_lf(buf, i, limit);
            if (lf == limit) {
                i = limit;
                break;
            }
        }
        wick_str line = {buf + s->line_start, lf - s->line_start};
        if (line.len > 0 && line.ptr[line.len - 1] == '\r') {
            line.len--;
        }
        bool end = false;
        wick_err e = http_scan_line(s, line, &end, o);
        if (e != WICK_OK) {
            return e;
        }
        i = lf + 1;
        s->line_start = i;
        s->scanned = i;
        if (end) {
            return WICK_OK;
        }
    }
    s->scanned = i;
    /* The block did not end within max_bytes, so it cannot fit: say so as
     * soon as that many bytes are here, so a caller whose buffer holds
     * exactly max_bytes gets the error instead of a full buffer. */
    if (len >= s->max_bytes) {
        return WICK_ERR_HS_TOO_LARGE;
    }
    return WICK_NEED_MORE;
}

/* The incremental part: WICK_ERR_ARG when len shrank, WICK_NEED_MORE, a
 * syntax or limit error, or WICK_OK with *o filled. */
static wick_err hs_feed(wick__hs_priv *p, const char *buf, size_t len, bool request,
                        const wick__hs_out *o)
{
    if (len < p->scanned) {
        return WICK_ERR_ARG; /* the buffer MUST only grow */
    }
    /* A zeroed struct (static storage, no init call) gets the defaults. */
    if (p->max_header_bytes == 0) {
        p->max_header_bytes = WICK_MAX_HEADER_BYTES;
    }
    if (p->max_headers == 0 || p->max_headers > WICK_MAX_HEADERS) {
        p->max_headers = WICK_MAX_HEADERS;
    }
    wick__http_scan s = {p->scanned,     p->line_start, *o->num_headers, p->max_header_bytes,
                         p->max_headers, p->state,      request};
    /* While scanning, the parts go to scratch: views into a buffer that
     * may still move are not kept. */
    wick_str str[2];
    int num[2];
    const wick__hs_out scratch = {&str[0], &str[1], &num[0], &num[1], NULL, NULL};
    wick_err e = http_scan_feed(&s, buf, len, &scratch);
    p->scanned = s.scanned;
    p->line_start = s.line_start;
    p->state = s.phase;
    *o->num_headers = s.count;
    if (e != WICK_OK) {
        return e;
    }
    /* The block is complete and valid: scan it once more from the start,
     * now storing views into this buffer (it may have moved since the
     * earlier calls). */
    size_t end = s.scanned;
    s.scanned = 0;
    s.line_start = 0;
    s.count = 0;
    s.phase = WICK__SCAN_START;
    e = http_scan_feed(&s, buf, end, o);
    *o->num_headers = s.count;
    return e;
}

wick_err wick__hs_parse(wick__hs_priv *p, const char *buf, size_t len, size_t *consumed,
                        const wick__hs_out *o, wick__hs_check_fn check, void *obj, wick_err also)
{
    if (!p->done) {
        wick_err e = hs_feed(p, buf, len, o->method != NULL, o);
        if (e == WICK_NEED_MORE || e == WICK_ERR_ARG) {
            return e;
        }
        if (e == WICK_OK) {
            e = check(obj, *o->minor);
        }
        p->done = true;
        p->state = wick__hs_result_pack(e);
    }
    wick_err e = wick__hs_result_unpack(p->state);
    if (consumed != NULL && (e == WICK_OK || e == also)) {
        *consumed = p->scanned;
    }
    return e;
}

bool wick_list_next(wick_str list, size_t *pos, wick_str *tok)
{
    if (pos == NULL || tok == NULL) {
        return false;
    }
    size_t i = *pos;
    while (i < list.len) {
        size_t a = i;
        while (i < list.len && list.ptr[i] != ',') {
            i++;
        }
        size_t b = i;
        if (i < list.len) {
            i++; /* the comma */
        }
        while (a < b && http_ows(list.ptr[a])) {
            a++;
        }
        while (b > a && http_ows(list.ptr[b - 1])) {
            b--;
        }
        if (b > a) {
            tok->ptr = list.ptr + a;
            tok->len = b - a;
            *pos = i;
            return true;
        }
    }
    *pos = i;
    return false;
}

bool wick_list_has(wick_str list, const char *token)
{
    if (token == NULL) {
        return false;
    }
    size_t pos = 0;
    wick_str t;
    while (wick_list_next(list, &pos, &t)) {
        if (wick__str_ieq(t, token)) {
            return true;
        }
    }
    return false;
}

int wick_header_find(const wick_header *headers, size_t n, const char *name, size_t *from)
{
    if (headers == NULL || name == NULL) {
        return -1;
    }
    /* The index is returned as an int; no header array is that large. */
    for (size_t i = (from != NULL) ? *from : 0; i < n && i < 0x7FFFFFFFU; i++) {
        if (wick__str_ieq(headers[i].name, name)) {
            if (from != NULL) {
                *from = i + 1;
            }
            return (int)i;
        }
    }
    return -1;
}

/* The known names of WICK__H_*, in order (compared case-insensitively). */
static const char hs_names[] = "Host\0Origin\0Upgrade\0Connection\0Sec-WebSocket-Key\0"
                               "Sec-WebSocket-Version\0Sec-WebSocket-Protocol\0"
                               "Sec-WebSocket-Extensions\0Sec-WebSocket-Accept";

void wick__hs_fields_scan(wick__hs_fields *f, const wick_header *h, size_t n)
{
    /* RFC 6455 4.2.1 items 3 and 4 (4.1 items 2 and 3): the tokens the
     * Upgrade and Connection fields must list. */
    static const char *const token[2] = {"websocket", "Upgrade"};
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        unsigned k = 0;
        for (const char *p = hs_names; k < WICK__H_OTHER; k++) {
            wick_str name = {p, wick__cstr_len(p)};
            if (wick__str_ieq2(h[i].name, name)) {
                break;
            }
            p += name.len + 1;
        }
        f->kind[i] = (uint8_t)k;
        if (k < WICK__H_OTHER && f->count[k] == 0) {
            f->first[k] = h[i].value;
        }
        f->count[k]++;
        unsigned t = k - WICK__H_UPGRADE;
        if (t < 2U && wick_list_has(h[i].value, token[t])) {
            f->has_token[t] = true;
        }
    }
}
