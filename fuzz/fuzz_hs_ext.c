/*
 * fuzz_hs_ext: the Sec-WebSocket-Extensions parser (wick_ext_parse), the
 * quoted-string helper (wick_str_unquote) and the comma-list helpers
 * (wick_list_next, wick_list_has) on arbitrary header values.
 *
 * Checks: results stay within the capacity and inside the input; entries
 * already in `out` are left alone; names are tokens (RFC 7230 tchar);
 * unquoting never writes past its buffer and refuses a short one; a
 * canonical re-serialization of an accepted value parses back to the same
 * structure; list iteration makes progress and yields trimmed, non-empty
 * elements without commas.
 *
 * Input: byte 0 = capacity (bits 0-2, +1) and entries already present
 * (bits 3-5, at most capacity); the rest is the header value.
 */
#include "fuzz_util.h"

static bool is_tchar(char ch)
{
    unsigned char c = (unsigned char)ch;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(wick_str s)
{
    if (s.len == 0) {
        return false;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (!is_tchar(s.ptr[i])) {
            return false;
        }
    }
    return true;
}

/* Appends s to out (cap-bounded; the caller sizes it). */
static void put(char *out, size_t *len, const char *s, size_t n)
{
    memcpy(out + *len, s, n);
    *len += n;
}

/* Writes the canonical form: "name; p=v; q=\"w\", name2". */
static size_t serialize(const wick_ext *x, size_t n, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            put(out, &len, ", ", 2);
        }
        put(out, &len, x[i].name.ptr, x[i].name.len);
        for (size_t j = 0; j < x[i].num_params; j++) {
            const wick_ext_param *pm = &x[i].params[j];
            put(out, &len, "; ", 2);
            put(out, &len, pm->name.ptr, pm->name.len);
            if (pm->has_value) {
                put(out, &len, "=", 1);
                if (pm->quoted) {
                    put(out, &len, "\"", 1);
                }
                put(out, &len, pm->value.ptr, pm->value.len);
                if (pm->quoted) {
                    put(out, &len, "\"", 1);
                }
            }
        }
    }
    return len;
}

static void same_exts(const wick_ext *a, const wick_ext *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        FZ_CHECK(a[i].name.len == b[i].name.len &&
                 memcmp(a[i].name.ptr, b[i].name.ptr, a[i].name.len) == 0);
        FZ_CHECK(a[i].num_params == b[i].num_params);
        for (size_t j = 0; j < a[i].num_params; j++) {
            const wick_ext_param *p = &a[i].params[j], *q = &b[i].params[j];
            FZ_CHECK(p->name.len == q->name.len &&
                     memcmp(p->name.ptr, q->name.ptr, p->name.len) == 0);
            FZ_CHECK(p->has_value == q->has_value && p->quoted == q->quoted);
            FZ_CHECK(p->value.len == q->value.len &&
                     (p->value.len == 0 || memcmp(p->value.ptr, q->value.ptr, p->value.len) == 0));
        }
    }
}

static void check_unquote(wick_str v)
{
    char *out = fz_alloc(v.len);
    size_t ol = (size_t)-1;
    wick_err e = wick_str_unquote(v, out, v.len, &ol);
    /* Removing escapes never makes the text longer. */
    FZ_CHECK(e == WICK_OK && ol <= v.len);
    if (ol > 0) {
        char *small = fz_alloc(ol - 1);
        size_t sl;
        FZ_CHECK(wick_str_unquote(v, small, ol - 1, &sl) == WICK_ERR_BUFFER_TOO_SMALL);
        free(small);
    }
    free(out);
}

static void check_list(wick_str list)
{
    size_t pos = 0, count = 0;
    wick_str tok;
    while (wick_list_next(list, &pos, &tok)) {
        FZ_CHECK(pos <= list.len && count++ <= list.len);
        FZ_CHECK(tok.len > 0 && fz_view_in(tok, list.ptr, list.len));
        FZ_CHECK(memchr(tok.ptr, ',', tok.len) == NULL);
        FZ_CHECK(tok.ptr[0] != ' ' && tok.ptr[0] != '\t');
        FZ_CHECK(tok.ptr[tok.len - 1] != ' ' && tok.ptr[tok.len - 1] != '\t');
        /* Every element is found again by wick_list_has (when it has no
         * NUL that would cut the C string). */
        if (tok.len < 64 && memchr(tok.ptr, 0, tok.len) == NULL) {
            char t[64];
            memcpy(t, tok.ptr, tok.len);
            t[tok.len] = 0;
            FZ_CHECK(wick_list_has(list, t));
        }
    }
    FZ_CHECK(pos <= list.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t conf = fz_u8(&in);
    size_t cap = (size_t)(conf & 7) + 1;
    size_t pre = (size_t)((conf >> 3) & 7);
    if (pre > cap) {
        pre = cap;
    }
    size_t n = in.n;
    char *buf = (char *)fz_dup(in.p, n);

    wick_ext out[WICK_MAX_EXTENSIONS];
    memset(out, 0x5A, sizeof(out));
    wick_ext guard;
    memset(&guard, 0x5A, sizeof(guard));
    size_t count = pre;
    wick_err e = wick_ext_parse(buf, n, out, cap, &count);
    FZ_CHECK(e == WICK_OK || e == WICK_ERR_HS_EXTENSION || e == WICK_ERR_HS_TOO_MANY_HEADERS);
    /* Entries before `pre` and after `cap` are untouched. */
    for (size_t i = 0; i < pre; i++) {
        FZ_CHECK(memcmp(&out[i], &guard, sizeof(guard)) == 0);
    }
    for (size_t i = cap; i < WICK_MAX_EXTENSIONS; i++) {
        FZ_CHECK(memcmp(&out[i], &guard, sizeof(guard)) == 0);
    }
    if (e == WICK_OK) {
        FZ_CHECK(count >= pre && count <= cap);
        size_t want = 0;
        for (size_t i = pre; i < count; i++) {
            const wick_ext *x = &out[i];
            FZ_CHECK(is_token(x->name) && fz_view_in(x->name, buf, n));
            FZ_CHECK(x->num_params <= WICK_MAX_EXT_PARAMS);
            want += x->name.len + 2;
            for (size_t j = 0; j < x->num_params; j++) {
                const wick_ext_param *pm = &x->params[j];
                FZ_CHECK(is_token(pm->name) && fz_view_in(pm->name, buf, n));
                FZ_CHECK(fz_view_in(pm->value, buf, n));
                FZ_CHECK(pm->has_value || (pm->value.len == 0 && !pm->quoted));
                if (pm->has_value && !pm->quoted) {
                    FZ_CHECK(is_token(pm->value));
                }
                if (pm->quoted) {
                    check_unquote(pm->value);
                }
                want += pm->name.len + pm->value.len + 5;
            }
        }
        /* Canonical form parses back to the same structure. */
        char *canon = fz_alloc(want);
        size_t cl = serialize(out + pre, count - pre, canon);
        FZ_CHECK(cl <= want);
        wick_ext back[WICK_MAX_EXTENSIONS];
        size_t bcount = 0;
        if (count > pre) {
            FZ_CHECK(wick_ext_parse(canon, cl, back, cap, &bcount) == WICK_OK);
            FZ_CHECK(bcount == count - pre);
            same_exts(out + pre, back, bcount);
        }
        free(canon);
    }

    wick_str list = {buf, n};
    check_list(list);
    /* The unquote helper on the raw input: never overruns. */
    check_unquote(list);
    free(buf);
    return 0;
}
