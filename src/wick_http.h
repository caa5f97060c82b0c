/* Private: the HTTP/1.1 pieces shared by the server and client handshake
 * parsers (RFC 9112 start lines and field lines, RFC 9110 tokens and
 * lists) and a small bounded writer for the messages they produce. */
#ifndef WICK_HTTP_H
#define WICK_HTTP_H

#include "wick_internal.h"

/* Keeps helpers with address-taken locals out of their callers, so each
 * stack frame stays under 512 bytes also with ASan's redzones. */
#if defined(__GNUC__) || defined(__clang__)
#define WICK__NOINLINE __attribute__((noinline))
#else
#define WICK__NOINLINE
#endif

/* Character classes of the ASCII bytes, one bit each (wick_http.c): a
 * table lookup is smaller than the chains of comparisons and faster. */
enum {
    WICK__C_TCHAR = 1U << 0,   /* tchar (RFC 9110 5.6.2): a token's characters */
    WICK__C_ALPHA = 1U << 1,   /* ALPHA */
    WICK__C_DIGIT = 1U << 2,   /* DIGIT */
    WICK__C_SCHEME = 1U << 3,  /* ALPHA / DIGIT / "+" / "-" / "." (RFC 3986 3.1) */
    WICK__C_REGNAME = 1U << 4, /* unreserved / "%" / sub-delims (RFC 3986 3.2.2) */
    WICK__C_IPLIT = 1U << 5    /* ALPHA / DIGIT / ":" / "." (inside an IP-literal) */
};
extern const uint8_t wick__http_ctype[128];

/* True when byte c is in one of the classes `cls` (WICK__C_* bits). */
static inline bool wick__http_is(unsigned char c, unsigned cls)
{
    return c < 128U && (wick__http_ctype[c] & cls) != 0;
}

/* tchar (RFC 9110 5.6.2): the characters of a token. */
static inline bool wick__http_tchar(unsigned char c)
{
    return wick__http_is(c, WICK__C_TCHAR);
}

/* A byte allowed inside a field value (RFC 9110 5.5): HTAB, SP, VCHAR and
 * obs-text. No CTL, no DEL, so never CR, LF or NUL. */
static inline bool wick__http_vchar(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}

/* Length of a NUL-terminated string (the core imports nothing but mem*). */
size_t wick__cstr_len(const char *s);
/* True when `s` equals the NUL-terminated `lit`, ASCII case-insensitive. */
bool wick__str_ieq(wick_str s, const char *lit);
/* True when the n bytes at p are a non-empty token (false for NULL). */
bool wick__http_is_token(const char *p, size_t n);
/* True when `t` is a request-target we accept: origin-form ("/path?q") or
 * absolute-form ("scheme://..."), ASCII without CTL, SP or '#' (false
 * for NULL). */
bool wick__http_target_ok(wick_str t);
/* True when `h` is a plausible Host value: uri-host [":" port]. */
bool wick__http_host_ok(wick_str h);
/* True when every byte of `s` may appear in a field value; an absent
 * value ({NULL, 0}) is fine, NULL with a length is not. */
bool wick__http_value_ok(wick_str s);

/* Where the handshake parsers want the start line's parts and the field
 * lines: request-line (method, target, minor) or status-line (status,
 * reason, minor). */
typedef struct wick__hs_out {
    wick_str *method; /* request only: set for a request, NULL for a response */
    wick_str *text;   /* request-target, or reason-phrase */
    int *status;      /* response only */
    int *minor;       /* HTTP minor version */
    wick_header *headers;
    size_t *num_headers; /* also the running line count while scanning */
} wick__hs_out;

/* Checks the fields of a complete, well-formed message (obj is the
 * wick_hs_request or wick_hs_client; minor its HTTP minor version). */
typedef wick_err (*wick__hs_check_fn)(void *obj, int minor);

/* What wick_hs_server_parse() and wick_hs_client_verify() share: scans
 * buf[p->scanned..len) (a request when o->method is set, else a
 * response); once the block is complete, fills *o from it, runs check
 * and remembers the result, which later calls return again. *consumed
 * (may be NULL) is set to the block length for WICK_OK and for `also`.
 * Returns WICK_ERR_ARG when len shrank, WICK_NEED_MORE, or the result. */
wick_err wick__hs_parse(wick__hs_priv *p, const char *buf, size_t len, size_t *consumed,
                        const wick__hs_out *o, wick__hs_check_fn check, void *obj, wick_err also);

/* A finished parse remembers its result in a uint8_t priv_ field: 0 for
 * WICK_OK, 1 + (-200 - e) for a WICK_ERR_HS_* value. */
static inline uint8_t wick__hs_result_pack(wick_err e)
{
    return (e == WICK_OK) ? 0U : (uint8_t)(1 + (-200 - (int)e));
}

static inline wick_err wick__hs_result_unpack(uint8_t v)
{
    return (v == 0U) ? WICK_OK : (wick_err)(-200 - ((int)v - 1));
}

/* True when the raw Sec-WebSocket-Extensions offer `offer` names the
 * extension `name` (ASCII case-insensitive). In wick_hs_ext.c. */
bool wick__hs_ext_offered(wick_str offer, wick_str name);
/* Byte equality of n bytes (no early exit). */
bool wick__mem_eq(const char *a, const char *b, size_t n);
/* ASCII case-insensitive equality of two views. */
bool wick__str_ieq2(wick_str a, wick_str b);

/* Bounded writer: stops writing at cap and remembers that it overflowed. */
typedef struct wick__wr {
    char *p;
    size_t cap;
    size_t len;
    bool over;
} wick__wr;

void wick__wr_mem(wick__wr *w, const char *s, size_t n);
void wick__wr_str(wick__wr *w, wick_str s);

/* Template codes of wick__wr_fmt(), spelled as string literals so that
 * templates read as the message they write. */
#define WICK__F_ARG1 "\x01" /* writes args[0]; ARG2..ARG5 likewise */
#define WICK__F_ARG2 "\x02"
#define WICK__F_ARG3 "\x03"
#define WICK__F_ARG4 "\x04"
#define WICK__F_ARG5 "\x05"
#define WICK__F_IF   "\x08" /* IF ARGn at a line start: drop the line if args[n-1] is empty */
#define WICK__F_SEC  "\x09" /* writes "Sec-WebSocket-" */

/* Writes the NUL-terminated template t, expanding the codes above with
 * args. Every other byte (0x0A and up: CR, LF, printable ASCII) is
 * written as is. One template per message is smaller than one writer call
 * per piece. */
void wick__wr_fmt(wick__wr *w, const char *t, const wick_str *args);
/* Writes each "name: value\r\n" of h[0..n). */
void wick__wr_fields(wick__wr *w, const wick_header *h, size_t n);
/* Checks caller-supplied header fields; false when a name is not a token
 * or a value has CR, LF or another CTL. */
bool wick__http_fields_ok(const wick_header *h, size_t n);
/* WICK_OK with *out_len, or WICK_ERR_BUFFER_TOO_SMALL. */
wick_err wick__wr_finish(const wick__wr *w, size_t *out_len);

/* The header fields the handshake rules look at (RFC 6455 4.1, 4.2.1),
 * in the order of the name table in wick_http.c. */
enum {
    WICK__H_HOST = 0,
    WICK__H_ORIGIN,
    WICK__H_UPGRADE,
    WICK__H_CONNECTION,
    WICK__H_KEY,
    WICK__H_VERSION,
    WICK__H_PROTOCOL,
    WICK__H_EXTENSIONS,
    WICK__H_ACCEPT,
    WICK__H_OTHER /* any other field; also the number of known names */
};

/* What one pass over the header fields finds: each field's kind, how many
 * fields each known name has and the first one's value, and whether the
 * Upgrade and Connection fields list the tokens the handshake needs
 * (RFC 9110 5.3: several fields of a list header are one comma list). */
typedef struct wick__hs_fields {
    wick_str first[WICK__H_OTHER];   /* {NULL,0} when absent */
    size_t count[WICK__H_OTHER + 1]; /* fields per kind */
    uint8_t kind[WICK_MAX_HEADERS];  /* WICK__H_* of each field */
    bool has_token[2]; /* an Upgrade field lists "websocket", a Connection field "Upgrade" */
} wick__hs_fields;

/* Fills *f from h[0..n) (n <= WICK_MAX_HEADERS). */
void wick__hs_fields_scan(wick__hs_fields *f, const wick_header *h, size_t n);

/* Parses every Sec-WebSocket-Extensions field of h[0..n), in order,
 * appending to x[0..WICK_MAX_EXTENSIONS) (wick_ext_parse's errors). */
wick_err wick__hs_ext_fields(const wick__hs_fields *f, const wick_header *h, size_t n, wick_ext *x,
                             size_t *num);

#endif /* WICK_HTTP_H */
