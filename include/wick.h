/*
 * wick: an embeddable, sans-I/O WebSocket (RFC 6455) protocol library.
 *
 * This is the only public header. The library never touches a socket, a
 * clock, a thread or the heap: the caller feeds it received bytes, drains
 * the bytes it must send, and learns about events through callbacks.
 *
 * Layers, in the order they appear below:
 *   1. version, configuration defaults, errors, basic types;
 *   2. helpers: SHA-1, base64, Sec-WebSocket-Accept, UTF-8, close codes;
 *   3. the opening handshake, server side and client side (RFC 6455 4);
 *   4. the frame codec (RFC 6455 5.2): an incremental parser and writers;
 *   5. the connection engine (wick_conn): everything after the handshake.
 *
 * Memory: every state struct is owned by the caller and has a fixed size;
 * it can be static, on the stack or inside the caller's connection object.
 * Strings returned by the library are views (wick_str: pointer + length)
 * into buffers the caller owns; they are never NUL-terminated.
 *
 * Fields of public structs that are grouped under a member named `priv_`
 * are private: they may change in any release. Use the accessors.
 */
#ifndef WICK_H
#define WICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef WICK_CONFIG_FILE
#include WICK_CONFIG_FILE
#endif

#if defined(WICK_BUILDING_SHARED) && defined(__GNUC__)
#define WICK_API __attribute__((visibility("default")))
#else
#define WICK_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* === Version === */

#define WICK_VERSION_MAJOR  0
#define WICK_VERSION_MINOR  1
#define WICK_VERSION_PATCH  0
#define WICK_VERSION_NUM    0x000100
#define WICK_VERSION_STRING "0.1.0"

/* Returns WICK_VERSION_NUM of the compiled library, so a program can detect
 * a mismatch between the header it was built with and the library it runs
 * with. */
WICK_API unsigned long wick_version(void);

/* === Configuration defaults ===
 *
 * Every limit has a compile-time default that can be overridden with -D or
 * through WICK_CONFIG_FILE, and (where it makes sense) a runtime field in a
 * config struct that starts from this default. */

/* Largest accepted HTTP header block (request or response), in bytes. */
#ifndef WICK_MAX_HEADER_BYTES
#define WICK_MAX_HEADER_BYTES 8192
#endif
/* Number of header slots in a parsed handshake (compile-time capacity). */
#ifndef WICK_MAX_HEADERS
#define WICK_MAX_HEADERS 32
#endif
/* Number of offered subprotocols kept from Sec-WebSocket-Protocol. */
#ifndef WICK_MAX_PROTOCOLS
#define WICK_MAX_PROTOCOLS 8
#endif
/* Number of extensions kept from Sec-WebSocket-Extensions. */
#ifndef WICK_MAX_EXTENSIONS
#define WICK_MAX_EXTENSIONS 8
#endif
/* Number of parameters kept per extension. */
#ifndef WICK_MAX_EXT_PARAMS
#define WICK_MAX_EXT_PARAMS 6
#endif
/* Default largest message the connection engine accepts (bytes). */
#ifndef WICK_DEFAULT_MAX_MESSAGE
#define WICK_DEFAULT_MAX_MESSAGE (16U * 1024U * 1024U)
#endif
/* Smallest output buffer a connection accepts: room for the largest control
 * frame (14-byte header + 125 bytes) twice over. */
#define WICK_OUT_MIN 280U

/* Config safety. WICK_MAX_HEADERS, _PROTOCOLS, _EXTENSIONS and _EXT_PARAMS
 * size public structs (wick_hs_request, wick_hs_client, wick_ext), so a
 * library and a program built with different values would disagree about
 * their layout. The functions that take those structs are therefore
 * renamed, by the macros below, to link names that carry the four values
 * (wick_hs_server_parse is linked as
 * wick_hs_server_parse__limits_h32_p8_e8_x6 with the defaults): a mismatch
 * fails at link time with an undefined reference that names the limits the
 * program expects. The source-level API is unchanged. The limits MUST be
 * plain decimal integers (as -DWICK_MAX_HEADERS=16 gives), since they
 * become part of a name. WICK_MAX_HEADER_BYTES and
 * WICK_DEFAULT_MAX_MESSAGE are defaults read by the library only; they do
 * not change any layout. A new function that takes one of these structs
 * joins the list. See docs/embedded.md. */
#if WICK_MAX_HEADERS < 1 || WICK_MAX_PROTOCOLS < 1 || WICK_MAX_EXTENSIONS < 1 ||                   \
    WICK_MAX_EXT_PARAMS < 1
#error "wick: the WICK_MAX_* limits must be at least 1"
#endif
#define WICK__CAT2(a, b)       a##b
#define WICK__CAT(a, b)        WICK__CAT2(a, b)
#define WICK__TAG2(h, p, e, x) __limits_h##h##_p##p##_e##e##_x##x
#define WICK__TAG(h, p, e, x)  WICK__TAG2(h, p, e, x)
#define WICK__LIMITS_TAG                                                                           \
    WICK__TAG(WICK_MAX_HEADERS, WICK_MAX_PROTOCOLS, WICK_MAX_EXTENSIONS, WICK_MAX_EXT_PARAMS)
#define WICK__LIMITED(name)    WICK__CAT(name, WICK__LIMITS_TAG)
#define wick_ext_parse         WICK__LIMITED(wick_ext_parse)
#define wick_hs_request_init   WICK__LIMITED(wick_hs_request_init)
#define wick_hs_server_parse   WICK__LIMITED(wick_hs_server_parse)
#define wick_hs_request_header WICK__LIMITED(wick_hs_request_header)
#define wick_hs_server_accept  WICK__LIMITED(wick_hs_server_accept)
#define wick_hs_client_request WICK__LIMITED(wick_hs_client_request)
#define wick_hs_client_verify  WICK__LIMITED(wick_hs_client_verify)
#define wick_pmd_accept        WICK__LIMITED(wick_pmd_accept)
#define wick_pmd_verify        WICK__LIMITED(wick_pmd_verify)

/* === Errors ===
 *
 * One table defines every status: X(NAME, value, close_code, "message").
 * WICK_OK is 0, non-error statuses are small positive values, errors are
 * negative and grouped by hundreds:
 *   -1xx  API misuse            -2xx  handshake / HTTP
 *   -3xx  frame protocol (1002) -4xx  payload (1007, 1009)
 *   -5xx  environment (callbacks, allocator, randomness)
 * The close code column is what the connection engine sends when it fails
 * the connection with that error (0: not a wire error).
 * Values never change once released; new codes are appended in their group.
 *
 * Build switch WICK_NO_ERR_STRINGS (define it when compiling src/; for
 * firmware, it saves about 2.5 KB of flash): compiles the names and
 * messages out. wick_strerror() and wick_err_name() then return one fixed
 * string per group instead: "success" / "WICK_OK", "status (not an
 * error)" / "WICK_STATUS" (other values >= 0), "API misuse" /
 * "WICK_ERR_API" (-1xx), "handshake error" / "WICK_ERR_HS" (-2xx, also the
 * body wick_hs_server_reject() sends), "protocol error (1002)" /
 * "WICK_ERR_PROTO" (-3xx), "invalid payload data (1007)" /
 * "WICK_ERR_PAYLOAD_1007", "message too big (1009)" /
 * "WICK_ERR_PAYLOAD_1009", "environment error (1011)" / "WICK_ERR_ENV"
 * (-5xx), and "unknown status" / "WICK_UNKNOWN". It also shortens the
 * reason-phrase table of wick_http_reason() (see there).
 * wick_err_close_code(),
 * wick_err_http_status() and wick_err_is_error() are the same in both
 * builds and never use the strings, so code that calls only them (the
 * connection engine) does not link the string table in either build.
 */
#define WICK_ERR_MAP(X)                                                                            \
    X(OK, 0, 0, "success")                                                                         \
    X(NEED_MORE, 1, 0, "more input is needed")                                                     \
    X(PAUSED, 2, 0, "paused by a callback")                                                        \
    X(DONE, 3, 0, "done")                                                                          \
    X(BLOCKED, 4, 0, "output buffer full: send pending output, then pass the rest again")          \
    X(ERR_ARG, -100, 0, "invalid argument")                                                        \
    X(ERR_STATE, -101, 0, "call not allowed in the current state")                                 \
    X(ERR_BUFFER_TOO_SMALL, -102, 0, "output buffer too small")                                    \
    X(ERR_WOULD_BLOCK, -103, 0, "not enough room in the output buffer now; drain it and retry")    \
    X(ERR_CLOSED, -104, 0, "connection is closing or closed; no more data may be sent")            \
    X(ERR_HS_MALFORMED, -200, 0, "malformed HTTP message")                                         \
    X(ERR_HS_METHOD, -201, 0, "request method is not GET")                                         \
    X(ERR_HS_HTTP_VERSION, -202, 0, "HTTP version is not 1.1 or later")                            \
    X(ERR_HS_HOST, -203, 0, "Host header missing or invalid")                                      \
    X(ERR_HS_UPGRADE, -204, 0, "Upgrade header missing or does not name websocket")                \
    X(ERR_HS_CONNECTION, -205, 0, "Connection header missing or does not name Upgrade")            \
    X(ERR_HS_KEY, -206, 0, "Sec-WebSocket-Key missing or not 16 base64-encoded bytes")             \
    X(ERR_HS_VERSION, -207, 0, "Sec-WebSocket-Version missing or not 13")                          \
    X(ERR_HS_DUPLICATE, -208, 0, "a header that must appear once appears more than once")          \
    X(ERR_HS_TOO_LARGE, -209, 0, "header block exceeds the size limit")                            \
    X(ERR_HS_TOO_MANY_HEADERS, -210, 0, "too many header fields")                                  \
    X(ERR_HS_STATUS, -211, 0, "response status is not 101 Switching Protocols")                    \
    X(ERR_HS_ACCEPT, -212, 0, "Sec-WebSocket-Accept missing or does not match the key")            \
    X(ERR_HS_PROTOCOL, -213, 0, "subprotocol header invalid or not one that was offered")          \
    X(ERR_HS_EXTENSION, -214, 0, "extension header malformed or not one that was offered")         \
    X(ERR_HS_NOT_UPGRADE, -215, 0, "request is plain HTTP, not a WebSocket upgrade")               \
    X(ERR_HS_TARGET, -216, 0, "request target invalid")                                            \
    X(ERR_HS_DEFLATE, -217, 0,                                                                     \
      "permessage-deflate answer has a parameter the offer did not allow")                         \
    X(ERR_PROTO_RSV, -300, 1002, "reserved bit set without a negotiated extension")                \
    X(ERR_PROTO_OPCODE, -301, 1002, "reserved opcode")                                             \
    X(ERR_PROTO_CONTROL_FRAGMENTED, -302, 1002, "control frame without FIN")                       \
    X(ERR_PROTO_CONTROL_TOO_BIG, -303, 1002, "control frame payload over 125 bytes")               \
    X(ERR_PROTO_MASK, -304, 1002, "frame masking does not match the peer's role")                  \
    X(ERR_PROTO_LENGTH, -305, 1002, "64-bit payload length with the top bit set")                  \
    X(ERR_PROTO_CONTINUATION, -306, 1002, "continuation frame with no message in progress")        \
    X(ERR_PROTO_FRAGMENT, -307, 1002, "new data frame while a fragmented message is in progress")  \
    X(ERR_PROTO_CLOSE_PAYLOAD, -308, 1002, "close frame payload of 1 byte")                        \
    X(ERR_PROTO_CLOSE_CODE, -309, 1002, "close code not allowed on the wire")                      \
    X(ERR_UTF8, -400, 1007, "invalid UTF-8 in a text message or close reason")                     \
    X(ERR_TOO_BIG, -401, 1009, "message exceeds the size limit")                                   \
    X(ERR_FRAME_TOO_BIG, -402, 1009, "frame exceeds the size limit")                               \
    X(ERR_INFLATE, -403, 1007, "invalid compressed data in a permessage-deflate message")          \
    X(ERR_INFLATE_RATIO, -404, 1009, "decompressed message exceeds the expansion ratio limit")     \
    X(ERR_CALLBACK, -500, 1011, "a callback returned an error")                                    \
    X(ERR_NOMEM, -501, 1011, "the allocator hook failed")                                          \
    X(ERR_RANDOM, -502, 1011, "the random source failed")                                          \
    X(ERR_EXTENSION, -503, 1011, "the extension hook failed")

typedef enum wick_err {
#define WICK__ERR_ENUM(name, value, close, msg) WICK_##name = (value),
    WICK_ERR_MAP(WICK__ERR_ENUM)
#undef WICK__ERR_ENUM
} wick_err;

/* A human-readable message for a status ("unknown status" if unknown;
 * the group's message under WICK_NO_ERR_STRINGS). The returned string is
 * static. */
WICK_API const char *wick_strerror(wick_err e);
/* The enum constant's name, e.g. "WICK_ERR_UTF8" ("WICK_UNKNOWN" if
 * unknown; the group's name under WICK_NO_ERR_STRINGS). The returned
 * string is static. */
WICK_API const char *wick_err_name(wick_err e);
/* The close code the engine sends when failing with e (1002, 1007, 1009,
 * 1011), or 0 when e is not a wire error. */
WICK_API uint16_t wick_err_close_code(wick_err e);
/* The HTTP status a server should answer with when the handshake parser
 * returns e: 426 for WICK_ERR_HS_VERSION, 431 for the size limits, 400 for
 * other handshake errors, 0 for non-handshake statuses. */
WICK_API int wick_err_http_status(wick_err e);
/* True for negative values (errors). */
WICK_API bool wick_err_is_error(wick_err e);

/* === Basic types === */

/* A view: `len` bytes at `ptr`, owned by someone else, not NUL-terminated.
 * An absent value is {NULL, 0}. */
typedef struct wick_str {
    const char *ptr;
    size_t len;
} wick_str;

/* One HTTP header field (views). */
typedef struct wick_header {
    wick_str name;
    wick_str value;
} wick_header;

typedef enum wick_role { WICK_ROLE_SERVER = 0, WICK_ROLE_CLIENT = 1 } wick_role;

/* Opcodes (RFC 6455 5.2). */
enum {
    WICK_OP_CONT = 0x0,
    WICK_OP_TEXT = 0x1,
    WICK_OP_BINARY = 0x2,
    WICK_OP_CLOSE = 0x8,
    WICK_OP_PING = 0x9,
    WICK_OP_PONG = 0xA
};

/* Reserved bits as they sit in the first header byte (RFC 6455 5.2). */
enum { WICK_RSV1 = 0x40, WICK_RSV2 = 0x20, WICK_RSV3 = 0x10 };

/* Close codes (RFC 6455 7.4.1 and the IANA registry). */
enum {
    WICK_CLOSE_NORMAL = 1000,
    WICK_CLOSE_GOING_AWAY = 1001,
    WICK_CLOSE_PROTOCOL_ERROR = 1002,
    WICK_CLOSE_UNSUPPORTED = 1003,
    WICK_CLOSE_NO_STATUS = 1005, /* never on the wire */
    WICK_CLOSE_ABNORMAL = 1006,  /* never on the wire */
    WICK_CLOSE_INVALID_DATA = 1007,
    WICK_CLOSE_POLICY = 1008,
    WICK_CLOSE_TOO_BIG = 1009,
    WICK_CLOSE_EXTENSION = 1010,
    WICK_CLOSE_INTERNAL = 1011,
    WICK_CLOSE_RESTART = 1012,
    WICK_CLOSE_TRY_LATER = 1013,
    WICK_CLOSE_BAD_GATEWAY = 1014
};

/* === Helpers: SHA-1, base64, Sec-WebSocket-Accept === */

#define WICK_SHA1_LEN   20
#define WICK_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */
#define WICK_KEY_LEN    24 /* base64 of a 16-byte nonce */

/* SHA-1 (FIPS 180-4) of `len` bytes. With WICK_OPENSSL=1 at build time this
 * uses OpenSSL's SHA-1; otherwise the built-in one. */
WICK_API void wick_sha1(const void *data, size_t len, uint8_t out[WICK_SHA1_LEN]);

/* Size of the base64 (RFC 4648 section 4, padded) encoding of n bytes. */
#define WICK_BASE64_LEN(n) ((((n) + 2U) / 3U) * 4U)

/* Encodes `len` bytes as padded base64 into `out` (no NUL is written).
 * Returns WICK_OK and sets *out_len, or WICK_ERR_BUFFER_TOO_SMALL when cap
 * is below WICK_BASE64_LEN(len). */
WICK_API wick_err wick_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap,
                                     size_t *out_len);

/* Decodes padded base64 (RFC 4648 section 4; no whitespace, canonical
 * padding). Returns WICK_OK and sets *out_len, WICK_ERR_ARG for invalid
 * input, or WICK_ERR_BUFFER_TOO_SMALL. */
WICK_API wick_err wick_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                                     size_t *out_len);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 1.3 and 4.2.2):
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). Writes
 * exactly WICK_ACCEPT_LEN characters (no NUL). Returns WICK_OK, or
 * WICK_ERR_ARG when key_len is over 64 (no valid key is that long). */
WICK_API wick_err wick_accept_key(const char *key, size_t key_len, char out[WICK_ACCEPT_LEN]);

/* === Helpers: UTF-8 (RFC 3629) and close codes ===
 *
 * wick_utf8 validates a byte stream incrementally: feed it any split of
 * the input; it fails at the first byte that cannot be part of valid UTF-8
 * (fail-fast, RFC 6455 8.1), including across calls. */

typedef struct wick_utf8 {
    struct {
        uint32_t state;
    } priv_;
} wick_utf8;

/* Resets the validator to the start of a new text. */
WICK_API void wick_utf8_init(wick_utf8 *u);

/* Validates the next `len` bytes. Returns WICK_OK when every byte can be
 * part of valid UTF-8 (the input may end inside a sequence), or
 * WICK_ERR_UTF8 with *bad_pos set to the offset in `buf` of the first
 * offending byte. After an error the validator stays failed until
 * wick_utf8_init(). bad_pos may be NULL. */
WICK_API wick_err wick_utf8_feed(wick_utf8 *u, const uint8_t *buf, size_t len, size_t *bad_pos);

/* Call at the end of the text: returns WICK_OK if it ended on a character
 * boundary, or WICK_ERR_UTF8 if a sequence was cut short. */
WICK_API wick_err wick_utf8_finish(const wick_utf8 *u);

/* One-shot helper: true when `len` bytes are complete, valid UTF-8. */
WICK_API bool wick_utf8_valid(const uint8_t *buf, size_t len);

/* True when `code` may appear in a close frame on the wire
 * (RFC 6455 7.4 and the IANA registry): 1000-1003, 1007-1014, 3000-4999. */
WICK_API bool wick_close_code_valid(uint16_t code);

/* === Opening handshake, shared pieces (RFC 6455 4, RFC 9112) ===
 *
 * The handshake parsers are incremental in the picohttpparser way: the
 * caller appends what it receives to one contiguous buffer and calls the
 * parser again with the whole buffer; the parser resumes where it stopped
 * scanning, so the total work stays linear. Parsed values are views into
 * that buffer, which MUST stay unchanged while they are used. When the
 * header block is complete the parser reports how many bytes it used; any
 * bytes after that are the start of the WebSocket stream and belong to the
 * connection engine. */

typedef struct wick_hs_limits {
    size_t max_header_bytes; /* default WICK_MAX_HEADER_BYTES */
    size_t max_headers;      /* default and ceiling WICK_MAX_HEADERS */
} wick_hs_limits;

/* Private state of both handshake parsers: may change in any release. */
typedef struct wick__hs_priv {
    size_t scanned;
    size_t line_start;
    size_t max_header_bytes;
    size_t max_headers;
    uint8_t state;
    bool done;
} wick__hs_priv;

/* One parameter of an extension (RFC 6455 9.1): `name` or `name=value`.
 * A quoted-string value is given without its quotes and with backslash
 * escapes still in place (`quoted` is set); use wick_str_unquote(). */
typedef struct wick_ext_param {
    wick_str name;
    wick_str value; /* {NULL,0} when the parameter has no value */
    bool has_value;
    bool quoted;
} wick_ext_param;

/* One extension with its parameters. */
typedef struct wick_ext {
    wick_str name;
    wick_ext_param params[WICK_MAX_EXT_PARAMS];
    size_t num_params;
} wick_ext;

/* Parses one Sec-WebSocket-Extensions value (RFC 6455 9.1 grammar:
 * extension-list = 1#extension; extension = token *( ";" param );
 * param = token [ "=" (token | quoted-string) ]) into out[0..cap),
 * appending after the *count entries already there. Returns WICK_OK,
 * WICK_ERR_HS_EXTENSION when malformed, or WICK_ERR_HS_TOO_MANY_HEADERS
 * when more than `cap` extensions or WICK_MAX_EXT_PARAMS parameters. */
WICK_API wick_err wick_ext_parse(const char *buf, size_t len, wick_ext *out, size_t cap,
                                 size_t *count);

/* Copies a quoted-string body with backslash escapes removed into `out`.
 * Returns WICK_OK and sets *out_len, or WICK_ERR_BUFFER_TOO_SMALL. */
WICK_API wick_err wick_str_unquote(wick_str s, char *out, size_t cap, size_t *out_len);

/* Iterates over a comma-separated token list (e.g. "keep-alive, Upgrade"):
 * starting from *pos (0 the first time), stores the next element, trimmed
 * of spaces and tabs, in *tok and advances *pos. Empty elements are
 * skipped. Returns true while there is an element. */
WICK_API bool wick_list_next(wick_str list, size_t *pos, wick_str *tok);

/* True when the comma list `list` contains `token` (ASCII case-insensitive). */
WICK_API bool wick_list_has(wick_str list, const char *token);

/* Finds the header named `name` (case-insensitive) among headers[0..n),
 * starting at index *from (0 the first time; may be NULL). Returns the
 * index found and stores the next start in *from, or -1 when none. */
WICK_API int wick_header_find(const wick_header *headers, size_t n, const char *name, size_t *from);

/* === Opening handshake: server side (RFC 6455 4.2) === */

/* A parsed client opening handshake. The public fields are outputs,
 * valid once wick_hs_server_parse() returned WICK_OK (or
 * WICK_ERR_HS_NOT_UPGRADE, for serving plain HTTP). Views point into the
 * caller's buffer. */
typedef struct wick_hs_request {
    wick_str method;
    wick_str target; /* request-target, e.g. "/chat?room=x" */
    int http_minor;  /* 1 for HTTP/1.1 */
    wick_str host;
    wick_str origin;                        /* {NULL,0} when absent */
    wick_str key;                           /* Sec-WebSocket-Key as sent */
    wick_str protocols[WICK_MAX_PROTOCOLS]; /* offered subprotocols, in order */
    size_t num_protocols;
    wick_ext extensions[WICK_MAX_EXTENSIONS]; /* offered extensions, in order */
    size_t num_extensions;
    wick_header headers[WICK_MAX_HEADERS]; /* every header field, in order */
    size_t num_headers;
    wick__hs_priv priv_; /* private: may change in any release */
} wick_hs_request;

/* Prepares `r` for a new request. limits may be NULL for the defaults; a
 * field of 0 also means its default, and max_headers is capped at
 * WICK_MAX_HEADERS. */
WICK_API void wick_hs_request_init(wick_hs_request *r, const wick_hs_limits *limits);

/* Parses the client's opening handshake in buf[0..len), the whole data
 * received so far (see the shared section). Returns:
 *   WICK_NEED_MORE     the header block is not complete yet;
 *   WICK_OK            a valid upgrade request; *consumed is the length of
 *                      the header block, bytes after it are frame data;
 *   WICK_ERR_HS_NOT_UPGRADE  a well-formed request without an Upgrade
 *                      header: fields are filled so the caller can serve
 *                      it as plain HTTP; *consumed as for WICK_OK;
 *   another WICK_ERR_HS_* naming the first rule broken (see
 *   wick_err_http_status() for the answer to send): syntax and limits in
 *   line order (checked as lines arrive, so garbage fails early), then a
 *   second Host (WICK_ERR_HS_DUPLICATE), then WICK_ERR_HS_NOT_UPGRADE,
 *   then the rules of RFC 6455 4.2.1 in its order;
 *   WICK_ERR_ARG       NULL r or buf, or len shorter than in the last call.
 * consumed may be NULL; it is set to 0 unless the status is WICK_OK or
 * WICK_ERR_HS_NOT_UPGRADE. The same status is returned again if called
 * again after completion. */
WICK_API wick_err wick_hs_server_parse(wick_hs_request *r, const char *buf, size_t len,
                                       size_t *consumed);

/* Looks up a header of the request (case-insensitive); returns true and
 * the first value in *value when present. */
WICK_API bool wick_hs_request_header(const wick_hs_request *r, const char *name, wick_str *value);

/* What the server answers with. Every field may be zero. */
typedef struct wick_hs_accept_opts {
    wick_str protocol;          /* chosen subprotocol; MUST be one offered */
    wick_str extensions;        /* Sec-WebSocket-Extensions value to send */
    const wick_header *headers; /* extra header fields */
    size_t num_headers;
} wick_hs_accept_opts;

/* Writes the "101 Switching Protocols" response for request `r` into
 * out[0..cap) and sets *out_len. Returns WICK_OK, WICK_ERR_ARG when the
 * chosen protocol was not offered or a field contains CR or LF, or
 * WICK_ERR_BUFFER_TOO_SMALL. */
WICK_API wick_err wick_hs_server_accept(const wick_hs_request *r, const wick_hs_accept_opts *opts,
                                        char *out, size_t cap, size_t *out_len);

/* Writes a complete non-101 HTTP/1.1 response: status line, the extra
 * headers, Content-Type (when body_len > 0 or content_type is given),
 * Content-Length, "Connection: close" when close is true, and the body.
 * For status 426 it adds "Upgrade: websocket" and
 * "Sec-WebSocket-Version: 13" (RFC 6455 4.4). content_type may be NULL
 * ("text/plain; charset=utf-8"). Returns WICK_OK, WICK_ERR_ARG (status
 * outside 100-599; a body with status 1xx, 204 or 304, which carry none;
 * a header name that is not a token; a control character such as CR or
 * LF in a value), or WICK_ERR_BUFFER_TOO_SMALL. */
WICK_API wick_err wick_http_response(int status, const char *content_type, const void *body,
                                     size_t body_len, const wick_header *headers,
                                     size_t num_headers, bool close, char *out, size_t cap,
                                     size_t *out_len);

/* The answer to a failed handshake: wick_http_response() with the status
 * from wick_err_http_status(err), the error message as the body, and
 * "Connection: close". */
WICK_API wick_err wick_hs_server_reject(wick_err err, char *out, size_t cap, size_t *out_len);

/* The reason phrase for an HTTP status ("OK", "Not Found", ...): the
 * RFC 9110 phrase for the common codes, else the phrase of the code's
 * class ("Informational", "Success", "Redirection", "Client Error",
 * "Server Error"; "Unknown" outside 100-599). Under WICK_NO_ERR_STRINGS
 * only 101, 200, 400, 404, 426 and 431 keep their own phrase; every other
 * code gets its class phrase (a client ignores the reason-phrase,
 * RFC 9112 4). */
WICK_API const char *wick_http_reason(int status);

/* === Opening handshake: client side (RFC 6455 4.1) === */

typedef struct wick_hs_client_opts {
    wick_str target;           /* request-target, e.g. "/chat"; default "/" */
    wick_str host;             /* Host value, with ":port" when not default */
    wick_str origin;           /* optional */
    const wick_str *protocols; /* offered subprotocols */
    size_t num_protocols;
    wick_str extensions;        /* Sec-WebSocket-Extensions offer, raw */
    const wick_header *headers; /* extra header fields */
    size_t num_headers;
} wick_hs_client_opts;

/* Client handshake state and, after verification, the parsed response. */
typedef struct wick_hs_client {
    int status;                               /* response status code */
    wick_str reason;                          /* reason phrase */
    wick_str protocol;                        /* selected subprotocol, or {NULL,0} */
    wick_ext extensions[WICK_MAX_EXTENSIONS]; /* accepted extensions */
    size_t num_extensions;
    wick_header headers[WICK_MAX_HEADERS];
    size_t num_headers;
    struct { /* private: may change in any release */
        const wick_hs_client_opts *opts;
        char accept[WICK_ACCEPT_LEN];
        wick__hs_priv hs;
    } priv_;
} wick_hs_client;

/* Writes the client's GET upgrade request into out[0..cap), using the
 * 16 random bytes in `nonce` for Sec-WebSocket-Key, and remembers what it
 * needs to verify the answer. `opts` and everything it points to MUST stay
 * valid until wick_hs_client_verify() completes. limits may be NULL.
 * Returns WICK_OK, WICK_ERR_ARG (no host, CR/LF or bad characters in a
 * field, an extension offer that does not follow the RFC 6455 9.1
 * grammar), or WICK_ERR_BUFFER_TOO_SMALL. */
WICK_API wick_err wick_hs_client_request(wick_hs_client *c, const wick_hs_client_opts *opts,
                                         const uint8_t nonce[16], const wick_hs_limits *limits,
                                         char *out, size_t cap, size_t *out_len);

/* Parses and verifies the server's response in buf[0..len), the whole
 * data received so far (see the shared section). Returns WICK_NEED_MORE;
 * WICK_OK with *consumed the length of the header block (bytes after it
 * are frame data); WICK_ERR_HS_STATUS for a well-formed non-101 response
 * (status, reason and headers are filled; *consumed as for WICK_OK); or
 * another WICK_ERR_HS_* (checks in the order of RFC 6455 4.1); or
 * WICK_ERR_STATE when no request was written with `c`. */
WICK_API wick_err wick_hs_client_verify(wick_hs_client *c, const char *buf, size_t len,
                                        size_t *consumed);

/* === Frame codec (RFC 6455 5.2) ===
 *
 * The parser is a pull parser: each call to wick_frame_parser_feed()
 * consumes input and returns at most one event (a frame header, or a chunk
 * of payload, unmasked in place in the caller's buffer). Feed it any split
 * of the input; the events are the same apart from how payload is cut
 * into chunks. It checks everything that can be checked on one frame;
 * message-level rules (fragmentation, UTF-8, close payloads) belong to the
 * connection engine. */

typedef struct wick_frame_header {
    bool fin;
    uint8_t rsv; /* WICK_RSV1 | WICK_RSV2 | WICK_RSV3 bits */
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    uint64_t payload_len;
} wick_frame_header;

typedef enum wick_frame_event_type {
    WICK_FRAME_NONE = 0,   /* no event: all input consumed */
    WICK_FRAME_HEADER = 1, /* a complete header is in ev->header */
    WICK_FRAME_DATA = 2    /* payload chunk in ev->data/len (may be 0 bytes) */
} wick_frame_event_type;

typedef struct wick_frame_event {
    wick_frame_event_type type;
    wick_frame_header header; /* the current frame's header */
    uint8_t *data;            /* WICK_FRAME_DATA: unmasked, in the input buffer */
    size_t len;
    uint64_t offset; /* WICK_FRAME_DATA: offset of data in the payload */
    bool frame_end;  /* WICK_FRAME_DATA: last chunk of this frame */
} wick_frame_event;

typedef struct wick_frame_parser {
    struct { /* private: may change in any release */
        wick_frame_header hdr;
        uint64_t remaining;
        uint64_t offset;
        uint64_t max_frame;
        uint8_t scratch[14];
        uint8_t have;
        uint8_t need;
        uint8_t state;
        uint8_t role;
        uint8_t rsv_allowed;
        uint8_t mask_phase;
    } priv_;
} wick_frame_parser;

/* Prepares a parser. `role` is the role of the endpoint that receives
 * (a server parses masked client frames). rsv_allowed holds the RSV bits a
 * negotiated extension claims (0 normally). max_frame is the largest
 * accepted payload length (0: no limit beyond the 63-bit wire limit). */
WICK_API void wick_frame_parser_init(wick_frame_parser *p, wick_role role, uint8_t rsv_allowed,
                                     uint64_t max_frame);

/* Consumes bytes from buf[0..len) until one event is ready or the input is
 * used up, and sets *consumed. **buf is modified: payload is unmasked in
 * place.** Returns WICK_OK with ev->type set (WICK_FRAME_NONE when the
 * input ran out first), or a WICK_ERR_PROTO_* / WICK_ERR_FRAME_TOO_BIG
 * error (with *consumed set to 0), after which the parser stays failed
 * until re-initialized; WICK_ERR_ARG for NULL arguments leaves it as is. A
 * zero-length payload produces one WICK_FRAME_DATA event with len 0 and
 * frame_end set, so every frame ends with exactly one frame_end event. */
WICK_API wick_err wick_frame_parser_feed(wick_frame_parser *p, uint8_t *buf, size_t len,
                                         size_t *consumed, wick_frame_event *ev);

/* Number of header bytes for a payload of `len` bytes: 2, 4 or 10, plus 4
 * when masked. */
WICK_API size_t wick_frame_header_size(uint64_t len, bool masked);

/* Writes the header `h` (fin, rsv, opcode, payload_len, and the mask when
 * h->masked) into out[0..cap). Returns WICK_OK and sets *out_len,
 * WICK_ERR_ARG (opcode over 15, rsv outside the RSV bits, length with the
 * top bit set), or WICK_ERR_BUFFER_TOO_SMALL. Use with wick_mask_apply() to
 * send a large payload without copying it. */
WICK_API wick_err wick_frame_header_write(const wick_frame_header *h, uint8_t *out, size_t cap,
                                          size_t *out_len);

/* Writes a whole frame: header, then `len` payload bytes, masked with
 * `mask` when mask is not NULL. Returns as wick_frame_header_write(). */
WICK_API wick_err wick_frame_write(uint8_t opcode, bool fin, uint8_t rsv, const uint8_t *mask,
                                   const uint8_t *payload, size_t len, uint8_t *out, size_t cap,
                                   size_t *out_len);

/* XORs buf[0..len) in place with the 4-byte key, starting at key byte
 * *phase (0..3) and leaving *phase where the next byte continues, so a
 * payload can be masked or unmasked in pieces. phase may be NULL (start at
 * 0). Masking and unmasking are the same operation (RFC 6455 5.3). */
WICK_API void wick_mask_apply(uint8_t *buf, size_t len, const uint8_t key[4], size_t *phase);

/* === Connection engine ===
 *
 * A wick_conn is one WebSocket endpoint after the opening handshake (done
 * with the wick_hs_* functions above, or elsewhere: an HTTP server, or
 * HTTP/2 per RFC 8441); it starts in the OPEN state.
 *
 * Driving it:
 *   - bytes received from the peer go to wick_conn_recv(); it fires the
 *     callbacks synchronously;
 *   - bytes to send are read with wick_conn_out_peek() and acknowledged
 *     with wick_conn_out_consume() once written to the socket;
 *   - wick_conn_state() says what the connection wants: read, write, or
 *     that the TCP connection should now be closed.
 */

typedef struct wick_conn wick_conn;

/* Callback return value asking the engine to pause: wick_conn_recv()
 * returns WICK_PAUSED with *consumed accurate, and a later call with the
 * remaining bytes resumes exactly there. */
#define WICK_PAUSE 2

/* Optional allocator hook, used only for message reassembly. `free` gets
 * the size that was allocated, so pool and arena allocators work. When
 * alloc returns NULL the connection fails with WICK_ERR_NOMEM (close
 * 1011); to send another code (e.g. 1013 Try Again Later when a budget
 * shared by many connections is spent), alloc may call wick_conn_close()
 * on that connection with the code before returning NULL: no second close
 * frame is sent. wick_conn_release() frees a half-received message's
 * memory at any time. */
typedef struct wick_allocator {
    void *(*alloc)(size_t n, void *ud);
    void (*free)(void *p, size_t n, void *ud);
    void *ud;
} wick_allocator;

/* Flags of on_data(). */
enum {
    WICK_DATA_FIRST = 1U << 0, /* first chunk delivered of this message */
    WICK_DATA_FIN = 1U << 1    /* last chunk of this message (may be empty) */
};

/* Callbacks. NULL members mean "not interested". The struct MUST outlive
 * the connections using it, so one static const table can serve all.
 * Each callback returns 0 to go on, WICK_PAUSE to pause wick_conn_recv(),
 * or a negative value to fail the connection with WICK_ERR_CALLBACK
 * (close 1011). Inside a callback, wick_conn_send(), wick_conn_ping(),
 * wick_conn_close() and the out_* functions may be called;
 * wick_conn_recv() and wick_conn_reset() return WICK_ERR_STATE.
 *
 * Data messages reach the caller in one of two ways:
 *   - whole: when on_message is set and the connection has reassembly
 *     storage (msg_buf or allocator), every data message goes to
 *     on_message once, complete, and on_data is not called for it. A
 *     message that arrives as one frame inside one wick_conn_recv() input
 *     is delivered straight from that input (no copy); only fragmented
 *     messages, or frames split across calls, are copied into the storage;
 *   - streamed: otherwise, on_data gets the message in chunks as they
 *     arrive (views into the input), each with the message's opcode.
 * Data pointers and lengths are valid only during the call. */
typedef struct wick_callbacks {
    /* Streaming delivery: the next chunk of a data message. opcode is
     * WICK_OP_TEXT or WICK_OP_BINARY (the message's, on every chunk);
     * flags holds WICK_DATA_FIRST on the first chunk of the message and
     * WICK_DATA_FIN on the last (which may be empty). Text is already
     * validated up to the end of the chunk. */
    int (*on_data)(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, unsigned flags,
                   void *user);
    /* Whole-message delivery (see above). Not called for a message that
     * went over max_message under WICK_CONF_OVERSIZE_STREAM: that one
     * streams through on_data, starting with the part already gathered. */
    int (*on_message)(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user);
    /* A ping arrived (the pong is already queued unless auto-pong is off
     * or a close frame was sent). */
    int (*on_ping)(wick_conn *c, const uint8_t *data, size_t len, void *user);
    /* A pong arrived. */
    int (*on_pong)(wick_conn *c, const uint8_t *data, size_t len, void *user);
    /* The peer's close frame arrived (code 1005 when it had no payload).
     * The reply is queued by the engine. */
    int (*on_close)(wick_conn *c, uint16_t code, const char *reason, size_t len, void *user);
    /* The connection failed (RFC 6455 7.1.7): err says why
     * (wick_strerror(err)); the close frame with wick_err_close_code(err)
     * is queued (unless a close frame was already sent); further input is
     * ignored. Called once. */
    void (*on_error)(wick_conn *c, wick_err err, void *user);
    /* Randomness for client masks: fill out[0..n) and return 0, or return
     * non-zero on failure. Required for the client role. */
    int (*random)(void *user, uint8_t *out, size_t n);
} wick_callbacks;

/* Extension hooks (e.g. permessage-deflate, RFC 7692; wick_pmd_* below
 * fills one in).
 *
 * Receive side: when a data message starts with any of `rsv_mask` set in
 * its first frame, the message's payload goes through `decode` (with fin
 * set on the last call), which passes the decoded bytes on with
 * emit(emit_ctx, ...) in as many pieces as it likes; decoded bytes then
 * get the usual UTF-8 check, size limit and delivery (copied into the
 * reassembly storage for whole-message delivery). emit takes the whole
 * piece and returns 0, WICK_PAUSE (a callback paused: stop as soon as
 * possible) or a negative wick_err, which decode should return at once.
 * decode returns
 *   - 0 when it has taken all `len` bytes (and, with fin, ended the
 *     message);
 *   - WICK_PAUSE after emit returned it, with *used set to how many of
 *     the `len` bytes it has taken. The engine calls it again later with
 *     the rest of the payload (in[*used..] first) and the same fin; when
 *     nothing is left of a fin chunk, with len 0 and fin set. The next
 *     call first passes on any output the decoder still holds;
 *   - or a negative wick_err to fail the connection (a value that is not
 *     a known error becomes WICK_ERR_EXTENSION).
 * *used is set to len before the call, so a decoder that always takes
 * everything need not touch it.
 *
 * Send side (optional, encode and encode_bound both set or both NULL):
 * each data frame sent with wick_conn_send() or wick_conn_send_some() is
 * passed through encode(), which writes the frame's encoded payload into
 * out[0..cap) and sets *out_len; cap is encode_bound(len) for the frame's
 * `len` input bytes, so encode must never need more than its own bound.
 * `first` marks the message's first frame and `fin` its last. On the
 * first frame encode may return 1 ("send this message as it is"): the
 * message then goes out unencoded, with no RSV bit. Otherwise the first
 * frame carries rsv_mask (RFC 7692 6: RSV1 on the first frame only).
 * encode returns 0, 1 as above, or a negative wick_err, which fails the
 * connection (WICK_ERR_EXTENSION when not a known error).
 *
 * Pausing: a WICK_PAUSE returned by on_data while decode runs stops
 * the decoder after that piece (wick_pmd's pieces are at most 1 KiB);
 * wick_conn_recv() then returns WICK_PAUSED with *consumed covering only
 * the input the decoder took, and the bytes it did not take are given
 * back as they came (masked again). A decoder that goes on after emit
 * returned WICK_PAUSE and returns 0 pauses the connection only after
 * the chunk (and after the message's end when it was the last one).
 *
 * A library built with WICK_NO_EXTENSIONS has no hook (about 1 KB less
 * code on Cortex-M0+): wick_conn_init() refuses a config that sets
 * `extension` with WICK_ERR_ARG, and any RSV bit is a protocol error. */
typedef int (*wick_emit_fn)(void *emit_ctx, const uint8_t *data, size_t len);
typedef struct wick_extension {
    uint8_t rsv_mask;
    int (*decode)(void *state, const uint8_t *in, size_t len, bool fin, size_t *used,
                  wick_emit_fn emit, void *emit_ctx);
    void *state;
    int (*encode)(void *state, const uint8_t *in, size_t len, bool first, bool fin, uint8_t *out,
                  size_t cap, size_t *out_len);
    size_t (*encode_bound)(void *state, size_t len);
} wick_extension;

/* OR into the opcode of wick_conn_send() / wick_conn_send_some() when
 * starting a message that must not go through the extension's encoder
 * (e.g. already-compressed data): it is sent as it is, RSV bits clear. */
#define WICK_SEND_PLAIN 0x80U

/* Connection options. Start from wick_conn_config_default(). */
enum {
    WICK_CONF_NO_UTF8_CHECK = 1U << 0,  /* trusted peer: skip text validation */
    WICK_CONF_NO_AUTO_PONG = 1U << 1,   /* do not answer pings automatically */
    WICK_CONF_OVERSIZE_STREAM = 1U << 2 /* over max_message: keep streaming
                                           through on_data instead of 1009 */
};

/* Memory the caller provides:
 *   - out_buf (required, at least WICK_OUT_MIN bytes): the output queue.
 *     WICK_OUT_RESERVE bytes of it are kept free for the close frame, so
 *     closing (and failing) always fits; data frames, pings and pongs use
 *     the rest;
 *   - msg_buf and/or allocator (optional): reassembly storage for
 *     whole-message delivery. Without an allocator a message may not be
 *     larger than msg_cap (else 1009, whatever max_message says);
 *   - a receive buffer of the caller's own: wick_conn_recv() consumes
 *     every data payload byte it is given, but leaves an incomplete frame
 *     header (at most 14 bytes) or an incomplete control frame (at most
 *     131 bytes) unconsumed; keep them and pass them again in front of
 *     the next bytes. So the caller's buffer must hold at least
 *     WICK_RECV_MIN bytes. */
#define WICK_OUT_RESERVE 131U
#define WICK_RECV_MIN    131U

typedef struct wick_conn_config {
    wick_role role;
    uint8_t *out_buf; /* required output buffer */
    size_t out_cap;   /* >= WICK_OUT_MIN */
    uint8_t *msg_buf; /* optional reassembly buffer */
    size_t msg_cap;
    const wick_allocator *allocator; /* optional reassembly allocator */
    uint64_t max_frame;              /* data frame payload limit (1009); 0: none */
    uint64_t max_message;            /* default WICK_DEFAULT_MAX_MESSAGE; 0: no limit */
    unsigned flags;                  /* WICK_CONF_* */
    const wick_extension *extension; /* optional */
} wick_conn_config;

/* Fills cfg with defaults for `role` (no buffers). */
WICK_API void wick_conn_config_default(wick_conn_config *cfg, wick_role role);

/* State flags returned by wick_conn_state(). */
enum {
    WICK_WANT_READ = 1U << 0,       /* the engine accepts input */
    WICK_WANT_WRITE = 1U << 1,      /* output is waiting */
    WICK_CLOSING = 1U << 2,         /* a close frame was sent or received */
    WICK_CLOSED = 1U << 3,          /* closing handshake done or failed */
    WICK_SHOULD_CLOSE_TCP = 1U << 4 /* output drained; close the socket now */
};

struct wick_conn {
    struct { /* private: may change in any release; use the accessors */
        /* Byte-sized members first: Thumb-1 (Cortex-M0) loads a byte in
         * one instruction only within the first 32 bytes of a struct. */
        uint8_t role, flags, rsv_allowed; /* configuration */
        bool reasm_cfg;                   /* whole-message delivery configured */
        /* State: zero after init and reset (msg_opcode up to cb). */
        uint8_t msg_opcode, phase;
        bool in_frame, frame_fin, in_message, delivered, reasm, msg_owned, oversize;
        bool ext_active, pause_req, in_callback, out_in_message, out_encoded;
        bool sent_close, recv_close;
        uint8_t key[4]; /* masking key of the current data frame */
        uint16_t close_code;
        wick_err error;
        wick_utf8 utf8;
        size_t out_head, out_tail;
        uint8_t *msg; /* current reassembly buffer (msg_buf or allocated) */
        size_t msg_cap, msg_len;
        uint64_t msg_total; /* bytes of the current message so far */
        uint64_t remaining; /* payload bytes still to come of the current data frame */
        /* Configuration, kept by wick_conn_reset(). */
        const wick_callbacks *cb;
        void *user;
        const wick_allocator *alloc;
        const wick_extension *ext;
        uint8_t *out;     /* caller's output buffer */
        uint8_t *msg_buf; /* caller's reassembly buffer */
        size_t out_cap, msg_buf_cap;
        uint64_t max_frame, max_message;
    } priv_;
};

/* Initializes a connection in the OPEN state. Makes no allocation. `cb`
 * and `cfg->out_buf` (and msg_buf, allocator, extension) MUST outlive the
 * connection. Returns WICK_OK, WICK_ERR_ARG (NULL argument, client role
 * without cb->random, msg_cap without msg_buf, allocator or extension with
 * a NULL function), or WICK_ERR_BUFFER_TOO_SMALL (out_cap below
 * WICK_OUT_MIN). */
WICK_API wick_err wick_conn_init(wick_conn *c, const wick_conn_config *cfg,
                                 const wick_callbacks *cb, void *user);

/* Returns the connection to the state right after wick_conn_init() with
 * the same configuration, releasing any reassembly memory. Returns WICK_OK
 * or WICK_ERR_STATE inside a callback. */
WICK_API wick_err wick_conn_reset(wick_conn *c);

/* Frees memory obtained through the allocator hook. Idempotent; safe on a
 * zeroed struct. A message being reassembled is dropped: the rest of it
 * streams through on_data, and on_message is not called for it. */
WICK_API void wick_conn_release(wick_conn *c);

/* Feeds received bytes. **`in` is modified: payload is unmasked in place
 * and delivered as views into it.** Sets *consumed (may be NULL). Returns:
 *   WICK_OK       all bytes consumed;
 *   WICK_NEED_MORE  bytes from *consumed on are an incomplete frame header
 *                 or control frame: keep them and pass them again followed
 *                 by more input (see WICK_RECV_MIN);
 *   WICK_PAUSED   a callback returned WICK_PAUSE; bytes from *consumed on
 *                 were not processed: pass them again later (when
 *                 *consumed == len, call again with len 0: the end of an
 *                 extension-decoded message may still be due);
 *   WICK_BLOCKED  a ping must be answered but the output buffer has no
 *                 room for the pong: send pending output, then pass the
 *                 bytes from *consumed on again (backpressure: a peer that
 *                 does not read cannot make the engine buffer pongs);
 *   WICK_ERR_*    the connection failed (sticky: returned again on every
 *                 later call, with *consumed = len, until reset); the close
 *                 frame is queued in the output;
 *   WICK_ERR_STATE  called from inside a callback;
 *   WICK_ERR_ARG  NULL pointers.
 * After the closing handshake, input is consumed and ignored. */
WICK_API wick_err wick_conn_recv(wick_conn *c, uint8_t *in, size_t len, size_t *consumed);

/* Sends one frame of a data message: opcode WICK_OP_TEXT or WICK_OP_BINARY
 * starts a message, WICK_OP_CONT continues the message in progress; fin
 * ends it. The frame is copied (and masked for a client) into the output
 * buffer, outside the close reserve. Returns WICK_OK, WICK_ERR_WOULD_BLOCK
 * (not enough free output space: drain and retry; nothing was queued),
 * WICK_ERR_BUFFER_TOO_SMALL (the frame can never fit in out_cap less
 * WICK_OUT_RESERVE: split it), WICK_ERR_CLOSED (a close frame was
 * sent), WICK_ERR_STATE (CONT without a message in progress, or a new
 * message while one is in progress), WICK_ERR_ARG, or WICK_ERR_RANDOM. */
WICK_API wick_err wick_conn_send(wick_conn *c, uint8_t opcode, const void *data, size_t len,
                                 bool fin);

/* Like wick_conn_send(), but queues as much of data as fits now (at least
 * one byte unless len is 0) and sets *accepted; the frame is final only if
 * fin is set and all of it was accepted. Calling it again with the rest
 * (opcode WICK_OP_CONT) continues the message. */
WICK_API wick_err wick_conn_send_some(wick_conn *c, uint8_t opcode, const void *data, size_t len,
                                      bool fin, size_t *accepted);

/* Free space in the output buffer (less the close reserve), as payload
 * bytes one frame of the connection's role could carry now. */
WICK_API size_t wick_conn_send_space(const wick_conn *c);

/* Queues a ping with up to 125 bytes of payload. Returns as wick_conn_send(),
 * or WICK_ERR_ARG when len > 125. */
WICK_API wick_err wick_conn_ping(wick_conn *c, const void *data, size_t len);

/* Starts (or answers) the closing handshake: queues a close frame with
 * `code` (0: no code, no reason) and `reason` (at most 123 bytes, UTF-8).
 * Returns WICK_OK, WICK_ERR_ARG (code not valid on the wire, reason too
 * long or not UTF-8), WICK_ERR_RANDOM, or WICK_ERR_CLOSED when a close was
 * already sent. It always fits: the output keeps WICK_OUT_RESERVE bytes
 * free for it. */
WICK_API wick_err wick_conn_close(wick_conn *c, uint16_t code, const char *reason, size_t len);

/* A prepared frame: encoded once (unmasked, so server role only), sent to
 * many connections with wick_conn_send_prepared(). */
typedef struct wick_prepared {
    const uint8_t *frame;
    size_t len;
} wick_prepared;

/* Encodes a whole unmasked data message frame (header + payload) into
 * out[0..cap) and describes it in *p. Returns as wick_frame_write(). */
WICK_API wick_err wick_prepare(uint8_t opcode, const void *data, size_t len, uint8_t *out,
                               size_t cap, wick_prepared *p);

/* Queues a prepared frame. Returns WICK_OK, WICK_ERR_WOULD_BLOCK,
 * WICK_ERR_BUFFER_TOO_SMALL, WICK_ERR_CLOSED, or WICK_ERR_STATE (client
 * role, or a fragmented message in progress). */
WICK_API wick_err wick_conn_send_prepared(wick_conn *c, const wick_prepared *p);

/* Output window. Returns a pointer to the bytes waiting to be sent and
 * sets *len (0 and possibly NULL when none). The bytes stay valid until
 * the next call that changes the connection. */
WICK_API const uint8_t *wick_conn_out_peek(const wick_conn *c, size_t *len);

/* Acknowledges that the first n bytes of the window were sent. */
WICK_API void wick_conn_out_consume(wick_conn *c, size_t n);

/* Bytes waiting to be sent (backpressure). */
WICK_API size_t wick_conn_out_pending(const wick_conn *c);

/* WICK_WANT_* and WICK_CLOSING / WICK_CLOSED / WICK_SHOULD_CLOSE_TCP
 * flags. The server closes TCP first (RFC 6455 7.1.1): a server gets
 * WICK_SHOULD_CLOSE_TCP when the closing handshake is done and the output
 * is drained; a client gets it only after a failure, and otherwise SHOULD
 * wait for the server to close (with a timeout of its own). */
WICK_API unsigned wick_conn_state(const wick_conn *c);

/* The close code received from the peer (1005 if it sent none, 0 if no
 * close was received). */
WICK_API uint16_t wick_conn_close_code(const wick_conn *c);

/* The error that failed the connection, or WICK_OK. */
WICK_API wick_err wick_conn_error(const wick_conn *c);

/* The role and user pointer given at init. */
WICK_API wick_role wick_conn_role(const wick_conn *c);
WICK_API void *wick_conn_user(const wick_conn *c);

/* === permessage-deflate (RFC 7692) ===
 *
 * Negotiation (both roles) needs no compression library. Compressing
 * needs zlib (built with WICK_ZLIB; Makefile: WICK_ZLIB=1, the default
 * there); decompressing uses zlib or, without it (or with WICK_INFLATE),
 * wick's own inflater (RFC 1951, no allocation, a window of exactly
 * 2^bits bytes in the arena). Without zlib a connection is
 * decompress-only: it negotiates, inflates what it receives and sends
 * every message uncompressed (RFC 7692 6 lets the sender choose), as with
 * WICK_PMD_DECOMPRESS_ONLY.
 *
 * Memory: no allocation. Each connection gets an arena of the caller's
 * (any memory, e.g. a slice of its own per-connection block); the
 * backend's state, windows and buffers are carved from it. The caller
 * states a byte budget per connection, and negotiation picks window sizes
 * that fit it (asking the peer for a smaller window where the RFC lets it,
 * compressing with a smaller window of its own, or not compressing at
 * all), and declines an offer that cannot fit. wick_pmd_arena_size() says
 * how much arena the agreed parameters need (at most the budget).
 *
 * Using it (server): wick_pmd_accept() on the request's extensions,
 * put the answer in wick_hs_accept_opts.extensions; after the handshake,
 * wick_pmd_init() with an arena, and set wick_conn_config.extension to
 * wick_pmd_extension(). Client: wick_pmd_offer() into
 * wick_hs_client_opts.extensions; wick_pmd_verify() on the response's
 * extensions; then as the server. */

/* The longest Sec-WebSocket-Extensions value wick_pmd_accept() and
 * wick_pmd_offer() write (all four parameters). */
#define WICK_PMD_HEADER_MAX 128U

#ifndef WICK_PMD_DEFAULT_BUDGET
#define WICK_PMD_DEFAULT_BUDGET 65536U /* 64 KiB */
#endif

/* wick_pmd_config.flags */
enum {
    /* Never compress what we send (RFC 7692 allows uncompressed messages
     * on a connection that agreed the extension): only an inflater is
     * needed, for small devices. */
    WICK_PMD_DECOMPRESS_ONLY = 1U << 0,
    /* Do not keep our compressor's LZ77 window between messages (and say
     * so: server_no_context_takeover / client_no_context_takeover for our
     * role). Needed to send one wick_pmd_prepare()d frame to many. */
    WICK_PMD_NO_CONTEXT_TAKEOVER = 1U << 1,
    /* Ask the peer not to keep its window between messages. */
    WICK_PMD_PEER_NO_CONTEXT_TAKEOVER = 1U << 2
};

typedef struct wick_pmd_config {
    size_t budget;      /* arena bytes per connection; 0: WICK_PMD_DEFAULT_BUDGET */
    unsigned flags;     /* WICK_PMD_* */
    int level;          /* compression level 1-9; 0: 6 */
    size_t min_size;    /* messages shorter than this go out uncompressed; 0: all compressed */
    uint32_t max_ratio; /* bomb guard: fail (1009) when a message inflates to more than
                           max_ratio times its compressed size plus 1 KiB; 0: off */
} wick_pmd_config;

/* Fills cfg with the defaults (budget WICK_PMD_DEFAULT_BUDGET, level 6,
 * min_size 0, max_ratio 0). */
WICK_API void wick_pmd_config_default(wick_pmd_config *cfg);

/* The agreed parameters (RFC 7692 7.1). Window bits are 8-15, 15 when
 * the parameter was not part of the agreement. */
typedef struct wick_pmd_params {
    bool enabled; /* false: not agreed (declined, or not offered) */
    bool server_no_context_takeover;
    bool client_no_context_takeover;
    uint8_t server_max_window_bits;
    uint8_t client_max_window_bits;
} wick_pmd_params;

/* True: the library always has a backend (zlib, or its own inflater for
 * decompress-only). Kept for builds that check. */
WICK_API bool wick_pmd_available(void);

/* Server: goes through the offers in exts[0..n) (wick_hs_request's
 * extensions, in the client's order of preference) and accepts the first
 * permessage-deflate offer that is valid (RFC 7692 7.1: no unknown or
 * repeated parameter, values in range, no value on a flag) and fits
 * cfg's budget. Returns WICK_OK with *agreed filled and the
 * Sec-WebSocket-Extensions value to answer with in out[0..*out_len);
 * when nothing is acceptable, also WICK_OK, with agreed->enabled false
 * and *out_len 0 (answer with no header: declining is not an error).
 * WICK_ERR_BUFFER_TOO_SMALL when out cannot hold the answer
 * (WICK_PMD_HEADER_MAX bytes always can), WICK_ERR_ARG for NULL pointers.
 * cfg may be NULL. */
WICK_API wick_err wick_pmd_accept(const wick_pmd_config *cfg, const wick_ext *exts, size_t n,
                                  wick_pmd_params *agreed, char *out, size_t cap, size_t *out_len);

/* Client: writes the offer for cfg (a Sec-WebSocket-Extensions value for
 * wick_hs_client_opts.extensions) into out[0..*out_len). Returns WICK_OK,
 * WICK_ERR_BUFFER_TOO_SMALL (WICK_PMD_HEADER_MAX bytes always suffice),
 * WICK_ERR_STATE (no backend), or WICK_ERR_ARG (also when the budget
 * cannot hold even an inflater). cfg may be NULL. */
WICK_API wick_err wick_pmd_offer(const wick_pmd_config *cfg, char *out, size_t cap,
                                 size_t *out_len);

/* Client: checks the server's answer (wick_hs_client's extensions) against
 * the offer wick_pmd_offer() made for the same cfg. Returns WICK_OK with
 * *agreed (enabled false when the server did not accept the extension),
 * or WICK_ERR_HS_DEFLATE: permessage-deflate answered twice, an unknown or
 * repeated parameter, a value out of range or on a flag,
 * client_max_window_bits that was not offered or without a value,
 * server_max_window_bits larger than offered, server_max_window_bits or
 * server_no_context_takeover offered but not answered (7.1.1.1, 7.1.2.1:
 * the server accepts them only by answering them), or a cfg that could
 * not have made an offer (no backend, budget too small). RFC 7692 7.1:
 * the client then fails the connection. A client_max_window_bits answer
 * above the value offered is the server ignoring our hint (7.1.2.2): the
 * agreed value is then ours. */
WICK_API wick_err wick_pmd_verify(const wick_pmd_config *cfg, const wick_ext *exts, size_t n,
                                  wick_pmd_params *agreed);

/* Per-connection compression state. */
typedef struct wick_pmd {
    struct { /* private: may change in any release */
        wick_extension ext;
        wick_pmd_params params;
        uint8_t *arena;
        size_t arena_cap, arena_used;
        void *inflater, *deflater; /* backend state, in the arena */
        uint8_t *chunk;            /* inflate output piece, in the arena */
        size_t chunk_cap, min_size;
        uint64_t msg_in, msg_out; /* compressed / inflated bytes of this message */
        uint32_t max_ratio;
        uint8_t role, level, mem_level, inflate_bits, deflate_bits;
        uint8_t tail_fed; /* bytes of the 00 00 ff ff tail given to the inflater */
        bool inflate_reset, deflate_reset, msg_done, send_open;
        bool be_boundary; /* zlib backend: the inflater stopped between blocks */
    } priv_;
} wick_pmd;

/* Arena bytes wick_pmd_init() needs for these agreed parameters in this
 * role under cfg (at most cfg's budget when the parameters came from
 * wick_pmd_accept() or wick_pmd_verify() with the same cfg); 0 when not
 * enabled or no backend. */
WICK_API size_t wick_pmd_arena_size(const wick_pmd_config *cfg, const wick_pmd_params *agreed,
                                    wick_role role);

/* Sets up compression for one connection in `role` with the agreed
 * parameters, in arena[0..arena_len) (which MUST outlive it). Returns
 * WICK_OK, WICK_ERR_BUFFER_TOO_SMALL (arena smaller than
 * wick_pmd_arena_size()), WICK_ERR_STATE (no backend, or agreed not
 * enabled) or WICK_ERR_ARG. Then set wick_conn_config.extension to
 * wick_pmd_extension(pmd); pmd MUST outlive the connection. */
WICK_API wick_err wick_pmd_init(wick_pmd *pmd, const wick_pmd_config *cfg,
                                const wick_pmd_params *agreed, wick_role role, void *arena,
                                size_t arena_len);

/* The extension hook to put in wick_conn_config.extension. */
WICK_API const wick_extension *wick_pmd_extension(const wick_pmd *pmd);

/* Ends the backend's streams (the arena stays the caller's). Idempotent;
 * safe on a zeroed struct. */
WICK_API void wick_pmd_release(wick_pmd *pmd);

/* Arena bytes in use (the high-water mark: the arena is never given back). */
WICK_API size_t wick_pmd_arena_used(const wick_pmd *pmd);

/* What wick_pmd_init() set up within the budget, for logs and memory
 * tuning (the agreed parameters are only upper limits). */
typedef struct wick_pmd_info {
    uint8_t inflate_bits; /* window we inflate with: the peer's agreed one */
    uint8_t deflate_bits; /* window we deflate with (at most ours agreed, 9 for an agreed 8);
                             0: every message goes out uncompressed */
    uint8_t mem_level;    /* the deflater's memLevel (1-9, zlib's meaning); 0 without one */
} wick_pmd_info;

/* The set-up of an initialized pmd (all zero for a zeroed struct). */
WICK_API wick_pmd_info wick_pmd_get_info(const wick_pmd *pmd);

/* Compress once, send to many: compresses a whole message into a
 * prepared frame (RSV1 set, unmasked: server role) in out[0..cap), with
 * pmd's compressor and a fresh LZ77 context. pmd must be a server-role
 * state with WICK_PMD_NO_CONTEXT_TAKEOVER (it may be a state of its own,
 * used only for this). The frame may go with wick_conn_send_prepared() to
 * every connection that agreed permessage-deflate with
 * server_no_context_takeover and a server_max_window_bits at least pmd's
 * (where 8 counts as 9: zlib deflates with 9 bits at least, and then
 * never refers back further than 250 bytes, inside a 256-byte window):
 * their peers expect no context from earlier messages, and our
 * compressor on those connections keeps none that the frame would break.
 * Returns WICK_OK, WICK_ERR_BUFFER_TOO_SMALL, WICK_ERR_STATE (pmd not as
 * above) or WICK_ERR_ARG. */
WICK_API wick_err wick_pmd_prepare(wick_pmd *pmd, uint8_t opcode, const void *data, size_t len,
                                   uint8_t *out, size_t cap, wick_prepared *p);

/* The most bytes wick_pmd_prepare() may need in out for a len-byte
 * message (header included): a cap of this size never gets
 * WICK_ERR_BUFFER_TOO_SMALL. */
WICK_API size_t wick_pmd_prepare_bound(size_t len);

#ifdef __cplusplus
}
#endif

#endif /* WICK_H */
