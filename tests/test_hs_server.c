/* Server side of the opening handshake (RFC 6455 4.2.1, 4.2.2, 4.4):
 * wick_hs_server_parse under every split of every vector, one failing case
 * per validation rule with the exact wick_err, the 101 answer and the
 * error answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/split.h"
#include "vectors/handshake.h"
#include "vectors/hs_trace.h"
#include "wick.h"

/* Request head: everything a valid request needs before the header that a
 * case varies, and the rest. */
#define RQ_LINE "GET /chat HTTP/1.1\r\n"
#define RQ_HOST "Host: server.example.com\r\n"
#define RQ_UPG "Upgrade: websocket\r\n"
#define RQ_CONN "Connection: Upgrade\r\n"
#define RQ_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define RQ_VER "Sec-WebSocket-Version: 13\r\n"
#define RQ_MIN RQ_LINE RQ_HOST RQ_UPG RQ_CONN RQ_KEY RQ_VER
/* A valid request with `extra` header lines added at the end. */
#define RQ(extra) RQ_MIN extra "\r\n"

struct sv_case {
    const char *name;
    hs_bytes in;
    wick_err want;
    size_t max_bytes;   /* 0: default limits */
    size_t max_headers; /* 0: default */
    const char *trace;  /* exact expected trace, or NULL */
};

static const struct sv_case sv_cases[] = {
    /* --- Valid requests --------------------------------------------- */
    {"RFC 6455 1.2 / 4.1 example", HS_B(HS_RFC_REQUEST), WICK_OK, 0, 0,
     "WICK_OK consumed=230 method=\"GET\" target=\"/chat\" minor=1 host=\"server.example.com\""
     " origin=\"http://example.com\" key=\"dGhlIHNhbXBsZSBub25jZQ==\" protos=[chat,superchat]"
     " exts=[] nheaders=7 leftover=0"},
    /* Frame bytes that arrive in the same read as the header block are not
     * consumed: they belong to the connection (RFC 6455 5.7 frame). */
    {"frame bytes after the block", HS_B(HS_RFC_REQUEST HS_FRAME_MASKED_HELLO), WICK_OK, 0, 0,
     "WICK_OK consumed=230 method=\"GET\" target=\"/chat\" minor=1 host=\"server.example.com\""
     " origin=\"http://example.com\" key=\"dGhlIHNhbXBsZSBub25jZQ==\" protos=[chat,superchat]"
     " exts=[] nheaders=7 leftover=11"},
    {"bare LF line ends (RFC 9112 2.2)",
     HS_B("GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n"),
     WICK_OK, 0, 0,
     "WICK_OK consumed=133 method=\"GET\" target=\"/\" minor=1 host=\"h\" origin=(null)"
     " key=\"dGhlIHNhbXBsZSBub25jZQ==\" protos=[] exts=[] nheaders=5 leftover=0"},
    {"mixed CRLF and LF",
     HS_B("GET / HTTP/1.1\r\nHost: h\nUpgrade: websocket\r\nConnection: Upgrade\n" RQ_KEY RQ_VER
          "\n"),
     WICK_OK, 0, 0, NULL},
    {"token case, lists and OWS",
     HS_B("GET /x?y=1 HTTP/1.1\r\nhOsT:\texample.com:8080 \r\nUPGRADE: WebSocket\r\n"
          "connection: keep-alive,  upgrade\r\nsec-websocket-key:  " HS_RFC_KEY "\t\r\n"
          "SEC-WEBSOCKET-VERSION:13\r\n\r\n"),
     WICK_OK, 0, 0,
     "WICK_OK consumed=175 method=\"GET\" target=\"/x?y=1\" minor=1 host=\"example.com:8080\""
     " origin=(null) key=\"dGhlIHNhbXBsZSBub25jZQ==\" protos=[] exts=[] nheaders=5 leftover=0"},
    {"Upgrade and Connection as lists over several fields",
     HS_B(RQ_LINE RQ_HOST "Upgrade: h2c\r\nUpgrade: foo, websocket\r\n"
                          "Connection: keep-alive\r\nConnection: Upgrade\r\n" RQ_KEY RQ_VER "\r\n"),
     WICK_OK, 0, 0, NULL},
    {"subprotocols and extensions over several fields",
     HS_B(RQ("Sec-WebSocket-Protocol: a, ,b\r\nSec-WebSocket-Protocol: c\r\n"
             "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-y\r\n"
             "Sec-WebSocket-Extensions: z; q=\"1\\0\"; r = s\r\n")),
     WICK_OK, 0, 0,
     "WICK_OK consumed=339 method=\"GET\" target=\"/chat\" minor=1 host=\"server.example.com\""
     " origin=(null) key=\"dGhlIHNhbXBsZSBub25jZQ==\" protos=[a,b,c]"
     " exts=[permessage-deflate;client_max_window_bits,x-y,z;q=\"1\\x5c0\";r=s] nheaders=9"
     " leftover=0"},
    {"absolute-form target (RFC 9112 3.2.2)",
     HS_B("GET ws://server.example.com/chat HTTP/1.1\r\n" RQ_HOST RQ_UPG RQ_CONN RQ_KEY RQ_VER
          "\r\n"),
     WICK_OK, 0, 0, NULL},
    {"HTTP/1.2 is later than 1.1", HS_B("GET / HTTP/1.2\r\n" RQ_HOST RQ_UPG RQ_CONN RQ_KEY RQ_VER
                                        "\r\n"),
     WICK_OK, 0, 0, NULL},
    {"IPv6 Host with port", HS_B(RQ_LINE "Host: [::1]:9001\r\n" RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_OK, 0, 0, NULL},
    {"empty field value and obs-text", HS_B(RQ("X-Empty:\r\nX-Latin: caf\xc3\xa9\r\n")), WICK_OK, 0,
     0, NULL},
    {"header count at the limit", HS_B(RQ("A: 1\r\n")), WICK_OK, 0, 6, NULL},
    /* --- Plain HTTP: fields filled, the caller serves it ----------------- */
    {"plain GET (no Upgrade)", HS_B("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\nrest"),
     WICK_ERR_HS_NOT_UPGRADE, 0, 0,
     "WICK_ERR_HS_NOT_UPGRADE consumed=47 method=\"GET\" target=\"/index.html\" minor=1"
     " host=\"example.com\" origin=(null) key=(null) protos=[] exts=[] nheaders=1 leftover=4"},
    {"plain POST", HS_B("POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
     WICK_ERR_HS_NOT_UPGRADE, 0, 0, NULL},
    {"plain HTTP/1.0 without Host", HS_B("GET / HTTP/1.0\r\n\r\n"), WICK_ERR_HS_NOT_UPGRADE, 0, 0,
     NULL},
    /* --- RFC 9112 syntax ------------------------------------------------ */
    {"method not a token", HS_B("G(T / HTTP/1.1\r\n\r\n"), WICK_ERR_HS_MALFORMED, 0, 0,
     "WICK_ERR_HS_MALFORMED leftover=18"},
    {"TLS ClientHello (fails before any LF)", HS_B("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
     WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    /* RFC 9112 2.2: empty lines before the request-line are ignored. */
    {"empty line before the request line", HS_B("\r\n" HS_RFC_REQUEST), WICK_OK, 0, 0, NULL},
    {"bare LF and CRLF before the request line", HS_B("\n\r\n" HS_RFC_REQUEST), WICK_OK, 0, 0,
     NULL},
    {"CR without LF before the request line", HS_B("\r" HS_RFC_REQUEST), WICK_ERR_HS_MALFORMED, 0,
     0, NULL},
    {"CR CR before the request line", HS_B("\r\r\n" HS_RFC_REQUEST), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"no version", HS_B("GET /\r\n\r\n"), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"lower-case version", HS_B("GET / http/1.1\r\n" RQ_HOST "\r\n"), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"version with trailing junk", HS_B("GET / HTTP/1.1x\r\n\r\n"), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"two-digit minor", HS_B("GET / HTTP/1.10\r\n\r\n"), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"trailing space after version", HS_B("GET / HTTP/1.1 \r\n\r\n"), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"CR inside the request line", HS_B("GET /\r HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"obs-fold (RFC 9112 5.2)", HS_B(RQ("X-A: 1\r\n  continued\r\n")), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"whitespace before the first field", HS_B(RQ_LINE " Host: h\r\n\r\n"), WICK_ERR_HS_MALFORMED,
     0, 0, NULL},
    {"space before colon (RFC 9112 5.1)", HS_B(RQ("X-A : 1\r\n")), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    {"field without colon", HS_B(RQ("X-A 1\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"empty field name", HS_B(RQ(": 1\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"field name not a token", HS_B(RQ("X(A): 1\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"NUL in a value", HS_B(RQ("X-A: a\0b\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"CR in a value", HS_B(RQ("X-A: a\rb\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"CR CR LF", HS_B(RQ("X-A: a\r\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"DEL in a value", HS_B(RQ("X-A: a\x7f\r\n")), WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    {"an HTTP response sent to the server", HS_B(HS_RFC_RESPONSE), WICK_ERR_HS_MALFORMED, 0, 0,
     NULL},
    /* Syntax errors are reported in line order, even before the end. */
    {"error before the end of the block", HS_B(RQ_LINE "X-A : 1\r\nHost: h\r\n"),
     WICK_ERR_HS_MALFORMED, 0, 0, NULL},
    /* --- Request target (RFC 9112 3.2) ---------------------------------- */
    {"relative target", HS_B("GET chat HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"space in target", HS_B("GET /a b HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"double space after method", HS_B("GET  / HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"CTL in target", HS_B("GET /a\x01 HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"DEL in target", HS_B("GET /a\x7f HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"non-ASCII target", HS_B("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0,
     NULL},
    {"fragment in target", HS_B("GET /a#b HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"asterisk-form", HS_B("GET * HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    {"authority-form", HS_B("GET example.com:443 HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0,
     NULL},
    {"scheme without //", HS_B("GET ws:chat HTTP/1.1\r\n\r\n"), WICK_ERR_HS_TARGET, 0, 0, NULL},
    /* --- RFC 6455 4.2.1, item by item -------------------------------------- */
    {"1: method POST", HS_B("POST /chat HTTP/1.1\r\n" RQ_HOST RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_METHOD, 0, 0, NULL},
    {"1: method is case-sensitive", HS_B("get /chat HTTP/1.1\r\n" RQ_HOST RQ_UPG RQ_CONN RQ_KEY
                                         RQ_VER "\r\n"),
     WICK_ERR_HS_METHOD, 0, 0, NULL},
    {"1: HTTP/1.0 upgrade", HS_B("GET /chat HTTP/1.0\r\n" RQ_HOST RQ_UPG RQ_CONN RQ_KEY RQ_VER
                                 "\r\n"),
     WICK_ERR_HS_HTTP_VERSION, 0, 0, NULL},
    {"1: HTTP/2.0 in an HTTP/1 request line", HS_B("GET /chat HTTP/2.0\r\n\r\n"),
     WICK_ERR_HS_HTTP_VERSION, 0, 0, NULL},
    {"2: Host missing", HS_B(RQ_LINE RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"), WICK_ERR_HS_HOST, 0, 0,
     NULL},
    {"2: Host empty", HS_B(RQ_LINE "Host:\r\n" RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_HOST, 0, 0, NULL},
    {"2: Host with a space", HS_B(RQ_LINE "Host: a b\r\n" RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_HOST, 0, 0, NULL},
    {"2: Host with a path", HS_B(RQ_LINE "Host: a/b\r\n" RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_HOST, 0, 0, NULL},
    {"2: Host with a bad port", HS_B(RQ_LINE "Host: a:8x\r\n" RQ_UPG RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_HOST, 0, 0, NULL},
    {"2: two Host fields (RFC 9112 3.2)", HS_B(RQ("Host: other.example\r\n")),
     WICK_ERR_HS_DUPLICATE, 0, 0, NULL},
    {"2: two Host fields, plain HTTP", HS_B("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
     WICK_ERR_HS_DUPLICATE, 0, 0, NULL},
    {"3: Upgrade names another protocol", HS_B(RQ_LINE RQ_HOST "Upgrade: h2c\r\n" RQ_CONN RQ_KEY
                                               RQ_VER "\r\n"),
     WICK_ERR_HS_UPGRADE, 0, 0, NULL},
    {"3: Upgrade websockets (not the token)", HS_B(RQ_LINE RQ_HOST "Upgrade: websockets\r\n" RQ_CONN
                                                   RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_UPGRADE, 0, 0, NULL},
    {"3: Upgrade empty", HS_B(RQ_LINE RQ_HOST "Upgrade:\r\n" RQ_CONN RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_UPGRADE, 0, 0, NULL},
    {"4: Connection missing", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_CONNECTION, 0, 0, NULL},
    {"4: Connection keep-alive only", HS_B(RQ_LINE RQ_HOST RQ_UPG "Connection: keep-alive\r\n" RQ_KEY
                                           RQ_VER "\r\n"),
     WICK_ERR_HS_CONNECTION, 0, 0, NULL},
    {"4: Connection Upgraded (not the token)",
     HS_B(RQ_LINE RQ_HOST RQ_UPG "Connection: Upgraded\r\n" RQ_KEY RQ_VER "\r\n"),
     WICK_ERR_HS_CONNECTION, 0, 0, NULL},
    {"5: key missing", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN RQ_VER "\r\n"), WICK_ERR_HS_KEY, 0, 0,
     NULL},
    {"5: key of 10 bytes", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"
                                RQ_VER "\r\n"),
     WICK_ERR_HS_KEY, 0, 0, NULL},
    {"5: key of 17 bytes (24 chars)",
     HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQA=\r\n" RQ_VER
          "\r\n"),
     WICK_ERR_HS_KEY, 0, 0, NULL},
    {"5: key of 18 bytes (24 chars)",
     HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n" RQ_VER
          "\r\n"),
     WICK_ERR_HS_KEY, 0, 0, NULL},
    {"5: key not base64", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=!\r\n" RQ_VER "\r\n"),
     WICK_ERR_HS_KEY, 0, 0, NULL},
    {"5: key not canonical", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" RQ_VER "\r\n"),
     WICK_ERR_HS_KEY, 0, 0, NULL},
    {"5: two keys", HS_B(RQ("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n")),
     WICK_ERR_HS_DUPLICATE, 0, 0, NULL},
    {"6: version missing", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN RQ_KEY "\r\n"), WICK_ERR_HS_VERSION,
     0, 0, NULL},
    {"6: version 8", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN RQ_KEY "Sec-WebSocket-Version: 8\r\n\r\n"),
     WICK_ERR_HS_VERSION, 0, 0, NULL},
    {"6: version list", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN RQ_KEY
                             "Sec-WebSocket-Version: 13, 8\r\n\r\n"),
     WICK_ERR_HS_VERSION, 0, 0, NULL},
    {"6: version 013", HS_B(RQ_LINE RQ_HOST RQ_UPG RQ_CONN RQ_KEY
                            "Sec-WebSocket-Version: 013\r\n\r\n"),
     WICK_ERR_HS_VERSION, 0, 0, NULL},
    {"6: two versions", HS_B(RQ("Sec-WebSocket-Version: 13\r\n")), WICK_ERR_HS_DUPLICATE, 0, 0,
     NULL},
    {"7: two Origin fields", HS_B(RQ("Origin: http://a\r\nOrigin: http://b\r\n")),
     WICK_ERR_HS_DUPLICATE, 0, 0, NULL},
    {"8: subprotocol not a token", HS_B(RQ("Sec-WebSocket-Protocol: chat, sup@r\r\n")),
     WICK_ERR_HS_PROTOCOL, 0, 0, NULL},
    {"8: subprotocol field empty", HS_B(RQ("Sec-WebSocket-Protocol:\r\n")), WICK_ERR_HS_PROTOCOL, 0,
     0, NULL},
    {"8: subprotocol field only commas", HS_B(RQ("Sec-WebSocket-Protocol: , ,\r\n")),
     WICK_ERR_HS_PROTOCOL, 0, 0, NULL},
    {"8: more subprotocols than WICK_MAX_PROTOCOLS",
     HS_B(RQ("Sec-WebSocket-Protocol: a,b,c,d,e\r\nSec-WebSocket-Protocol: f,g,h,i\r\n")),
     WICK_ERR_HS_TOO_MANY_HEADERS, 0, 0, NULL},
    {"9: extension list empty", HS_B(RQ("Sec-WebSocket-Extensions:\r\n")), WICK_ERR_HS_EXTENSION,
     0, 0, NULL},
    {"9: extension param without name", HS_B(RQ("Sec-WebSocket-Extensions: foo; =1\r\n")),
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"9: unterminated quoted value", HS_B(RQ("Sec-WebSocket-Extensions: foo; a=\"1\r\n")),
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"9: two names without a comma", HS_B(RQ("Sec-WebSocket-Extensions: foo bar\r\n")),
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"9: second field malformed", HS_B(RQ("Sec-WebSocket-Extensions: foo\r\n"
                                          "Sec-WebSocket-Extensions: ;\r\n")),
     WICK_ERR_HS_EXTENSION, 0, 0, NULL},
    {"9: more extensions than WICK_MAX_EXTENSIONS",
     HS_B(RQ("Sec-WebSocket-Extensions: a,b,c,d,e\r\nSec-WebSocket-Extensions: f,g,h,i\r\n")),
     WICK_ERR_HS_TOO_MANY_HEADERS, 0, 0, NULL},
    {"9: more params than WICK_MAX_EXT_PARAMS",
     HS_B(RQ("Sec-WebSocket-Extensions: a;p;q;r;s;t;u;v\r\n")), WICK_ERR_HS_TOO_MANY_HEADERS, 0, 0,
     NULL},
    /* --- Limits -------------------------------------------------------------- */
    {"header count over a runtime limit", HS_B(RQ("A: 1\r\nB: 2\r\n")),
     WICK_ERR_HS_TOO_MANY_HEADERS, 0, 6, NULL},
    {"block over a runtime byte limit", HS_B(HS_RFC_REQUEST), WICK_ERR_HS_TOO_LARGE, 229, 0,
     "WICK_ERR_HS_TOO_LARGE leftover=230"},
    {"block exactly at a runtime byte limit", HS_B(HS_RFC_REQUEST), WICK_OK, 230, 0, NULL},
    {"garbage line over the limit", HS_B("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), WICK_ERR_HS_TOO_LARGE,
     20, 0, NULL},
    /* --- Incomplete input: still waiting --------------------------------- */
    {"truncated block", HS_B(RQ_MIN), WICK_NEED_MORE, 0, 0, "WICK_NEED_MORE leftover=159"},
    {"empty input", HS_B(""), WICK_NEED_MORE, 0, 0, "WICK_NEED_MORE leftover=0"},
};

/* --- The split driver glue -------------------------------------------- */

struct sv_ctx {
    wick_hs_request r;
    wick_hs_limits lim;
    bool use_lim;
    bool finished;
    split_buf t;
};

static void sv_render(split_buf *t, wick_err e, const wick_hs_request *r, size_t used)
{
    split_buf_printf(t, "%s", wick_err_name(e));
    if (e != WICK_OK && e != WICK_ERR_HS_NOT_UPGRADE) {
        return;
    }
    split_buf_printf(t, " consumed=%zu", used);
    hs_trace_str(t, "method", r->method);
    hs_trace_str(t, "target", r->target);
    split_buf_printf(t, " minor=%d", r->http_minor);
    hs_trace_str(t, "host", r->host);
    hs_trace_str(t, "origin", r->origin);
    hs_trace_str(t, "key", r->key);
    split_buf_printf(t, " protos=[");
    for (size_t i = 0; i < r->num_protocols; i++) {
        split_buf_printf(t, "%s", i ? "," : "");
        split_buf_bytes(t, (const uint8_t *)r->protocols[i].ptr, r->protocols[i].len);
    }
    split_buf_printf(t, "]");
    hs_trace_exts(t, r->extensions, r->num_extensions);
    split_buf_printf(t, " nheaders=%zu", r->num_headers);
}

static void sv_begin(void *ctx)
{
    struct sv_ctx *x = ctx;
    wick_hs_request_init(&x->r, x->use_lim ? &x->lim : NULL);
    x->finished = false;
    split_buf_reset(&x->t);
}

static int sv_feed(void *ctx, uint8_t *buf, size_t len, size_t *consumed)
{
    struct sv_ctx *x = ctx;
    size_t used = 12345;
    wick_err e = wick_hs_server_parse(&x->r, (const char *)buf, len, &used);
    *consumed = 0;
    if (e == WICK_NEED_MORE) {
        if (used != 0) {
            split_buf_printf(&x->t, "NEED_MORE with consumed=%zu ", used);
        }
        return SPLIT_NEED_MORE;
    }
    sv_render(&x->t, e, &x->r, used);
    x->finished = true;
    /* Called again after completion: the same status and count. */
    size_t again = 999;
    if (wick_hs_server_parse(&x->r, (const char *)buf, len, &again) != e ||
        again != ((e == WICK_OK || e == WICK_ERR_HS_NOT_UPGRADE) ? used : 0)) {
        split_buf_printf(&x->t, " (not sticky)");
    }
    *consumed = (e == WICK_OK || e == WICK_ERR_HS_NOT_UPGRADE) ? used : 0;
    return SPLIT_STOP;
}

static void sv_end(void *ctx, size_t leftover)
{
    struct sv_ctx *x = ctx;
    if (!x->finished) {
        split_buf_printf(&x->t, "WICK_NEED_MORE");
    }
    split_buf_printf(&x->t, " leftover=%zu", leftover);
}

static const char *sv_result(void *ctx)
{
    return split_buf_str(&((struct sv_ctx *)ctx)->t);
}

static const split_ops sv_ops = {sv_begin, sv_feed, sv_end, sv_result};

/* Runs one input under every split; returns the whole-input result. */
static wick_err sv_run(const char *name, const char *in, size_t len, size_t max_bytes,
                       size_t max_headers, const char *want_trace)
{
    struct sv_ctx *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->use_lim = max_bytes != 0 || max_headers != 0;
    x->lim.max_header_bytes = max_bytes;
    x->lim.max_headers = max_headers;
    split_opts o = {0, 8, 0x5eed};
    int rc = split_run_all(&sv_ops, x, (const uint8_t *)in, len, want_trace, &o);
    if (rc != 0) {
        print_error("case \"%s\": runs disagree (see above)\n", name);
    }
    assert_int_equal(rc, 0);
    /* The reference: the whole input at once. */
    wick_hs_request_init(&x->r, x->use_lim ? &x->lim : NULL);
    size_t used = 0;
    wick_err e = wick_hs_server_parse(&x->r, in, len, &used);
    split_buf_free(&x->t);
    free(x);
    return e;
}

static void test_sv_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sv_cases / sizeof sv_cases[0]; i++) {
        const struct sv_case *c = &sv_cases[i];
        wick_err e = sv_run(c->name, c->in.ptr, c->in.len, c->max_bytes, c->max_headers, c->trace);
        if (e != c->want) {
            print_error("case \"%s\": got %s want %s\n", c->name, wick_err_name(e),
                        wick_err_name(c->want));
        }
        assert_int_equal(e, c->want);
        /* Each handshake error maps to the HTTP answer (RFC 6455 4.4 for
         * the version, RFC 6585 5 for the limits). */
        if (wick_err_is_error(e)) {
            int want_status = (e == WICK_ERR_HS_VERSION) ? 426
                              : (e == WICK_ERR_HS_TOO_LARGE || e == WICK_ERR_HS_TOO_MANY_HEADERS)
                                  ? 431
                                  : 400;
            assert_int_equal(wick_err_http_status(e), want_status);
            /* Handshake errors are answered in HTTP, never with a close frame. */
            assert_int_equal(wick_err_close_code(e), 0);
        }
    }
}

/* Default limits, built at run time: WICK_MAX_HEADERS fields and
 * WICK_MAX_HEADER_BYTES bytes are accepted, one more is not. */
static char *sv_build(size_t extra_headers, size_t pad_to)
{
    size_t cap = 2 * WICK_MAX_HEADER_BYTES + 64 * extra_headers + 512;
    char *b = malloc(cap);
    assert_non_null(b);
    size_t n = (size_t)snprintf(b, cap, "%s", RQ_MIN);
    for (size_t i = 0; i < extra_headers; i++) {
        n += (size_t)snprintf(b + n, cap - n, "X-%zu: v\r\n", i);
    }
    if (pad_to > 0) {
        /* One X-Pad field that makes the whole block exactly pad_to bytes. */
        const size_t over = sizeof("X-Pad: \r\n\r\n") - 1;
        assert_true(pad_to > n + over);
        n += (size_t)snprintf(b + n, cap - n, "X-Pad: ");
        while (n < pad_to - 4) {
            b[n++] = 'p';
        }
        n += (size_t)snprintf(b + n, cap - n, "\r\n");
    }
    snprintf(b + n, cap - n, "\r\n");
    return b;
}

static void test_sv_default_limits(void **state)
{
    (void)state;
    const size_t base = 5; /* fields in RQ_MIN */
    struct {
        size_t extra, pad;
        wick_err want;
    } rows[] = {
        {WICK_MAX_HEADERS - base, 0, WICK_OK},
        {WICK_MAX_HEADERS - base + 1, 0, WICK_ERR_HS_TOO_MANY_HEADERS},
        {0, WICK_MAX_HEADER_BYTES, WICK_OK},
        {0, WICK_MAX_HEADER_BYTES + 1, WICK_ERR_HS_TOO_LARGE},
        {0, 3 * WICK_MAX_HEADER_BYTES / 2, WICK_ERR_HS_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *b = sv_build(rows[i].extra, rows[i].pad);
        size_t len = strlen(b);
        if (rows[i].pad > 0) {
            assert_int_equal(len, rows[i].pad);
        }
        assert_int_equal(sv_run("default limits", b, len, 0, 0, NULL), rows[i].want);
        free(b);
    }
    /* A runtime max_headers above the compile-time capacity is clamped. */
    char *b = sv_build(WICK_MAX_HEADERS - base + 1, 0);
    assert_int_equal(sv_run("clamped", b, strlen(b), 0, 1000, NULL), WICK_ERR_HS_TOO_MANY_HEADERS);
    free(b);
}

/* The parser must stay linear when fed one byte at a time: a 1 MiB
 * header-less stream stops at the limit (and does not time out). */
static void test_sv_garbage(void **state)
{
    (void)state;
    uint64_t rng = 42;
    for (int round = 0; round < 200; round++) {
        char buf[300];
        size_t len = split_rng_below(&rng, sizeof buf) + 1;
        for (size_t i = 0; i < len; i++) {
            /* Mostly header-ish bytes, some anything. */
            static const char alpha[] = "GET /HTTP1.: \r\n\tUpgrade websocket";
            buf[i] = (split_rng_below(&rng, 4) == 0) ? (char)split_rng_below(&rng, 256)
                                                      : alpha[split_rng_below(&rng, sizeof alpha - 1)];
        }
        wick_err e = sv_run("garbage", buf, len, 0, 0, NULL);
        assert_true(e == WICK_NEED_MORE || e == WICK_OK || e <= WICK_ERR_HS_MALFORMED);
    }
    static char big[1 << 20];
    memset(big, 'a', sizeof big);
    wick_hs_request r;
    wick_hs_request_init(&r, NULL);
    wick_err e = WICK_NEED_MORE;
    size_t n = 0;
    for (n = 1; n <= sizeof big && e == WICK_NEED_MORE; n++) {
        e = wick_hs_server_parse(&r, big, n, NULL);
    }
    assert_int_equal(e, WICK_ERR_HS_TOO_LARGE);
    /* Reported as soon as max_header_bytes bytes are here without an end:
     * a caller whose buffer holds exactly that many bytes still learns it. */
    assert_int_equal(n - 1, WICK_MAX_HEADER_BYTES);
}

static void test_sv_api(void **state)
{
    (void)state;
    /* Early refusal: the first byte of a TLS ClientHello is not a method
     * character, so there is no need to wait for a line end. */
    static wick_hs_request zeroed; /* no init call: defaults apply */
    assert_int_equal(wick_hs_server_parse(&zeroed, "\x16", 1, NULL), WICK_ERR_HS_MALFORMED);
    memset(&zeroed, 0, sizeof zeroed);
    assert_int_equal(wick_hs_server_parse(&zeroed, HS_RFC_REQUEST, strlen(HS_RFC_REQUEST), NULL),
                     WICK_OK);
    wick_hs_request r;
    const char *in = HS_RFC_REQUEST "X-Custom: one\r\n";
    wick_hs_request_init(&r, NULL);
    assert_int_equal(wick_hs_server_parse(NULL, in, 4, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_parse(&r, NULL, 4, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_parse(&r, in, 30, NULL), WICK_NEED_MORE);
    /* The buffer may only grow. */
    assert_int_equal(wick_hs_server_parse(&r, in, 10, NULL), WICK_ERR_ARG);
    size_t used = 0;
    assert_int_equal(wick_hs_server_parse(&r, in, strlen(HS_RFC_REQUEST), &used), WICK_OK);
    assert_int_equal(used, strlen(HS_RFC_REQUEST));
    wick_str v;
    assert_true(wick_hs_request_header(&r, "sec-websocket-protocol", &v));
    assert_int_equal(v.len, strlen("chat, superchat"));
    assert_memory_equal(v.ptr, "chat, superchat", v.len);
    assert_true(v.ptr >= in && v.ptr < in + used); /* a view, not a copy */
    assert_false(wick_hs_request_header(&r, "X-Custom", &v));
    assert_false(wick_hs_request_header(NULL, "Host", &v));
    assert_true(wick_hs_request_header(&r, "HOST", NULL));
}

/* --- Responses ------------------------------------------------------------ */

static wick_hs_request *sv_parsed(const char *in)
{
    static wick_hs_request r;
    wick_hs_request_init(&r, NULL);
    assert_int_equal(wick_hs_server_parse(&r, in, strlen(in), NULL), WICK_OK);
    return &r;
}

static void test_sv_accept(void **state)
{
    (void)state;
    char out[512];
    size_t n = 0;
    const wick_hs_request *r = sv_parsed(HS_RFC_REQUEST);
    /* RFC 6455 1.2 / 4.2.2: the example answer, byte for byte. */
    wick_hs_accept_opts o = {{"chat", 4}, {NULL, 0}, NULL, 0};
    assert_int_equal(wick_hs_server_accept(r, &o, out, sizeof out, &n), WICK_OK);
    assert_int_equal(n, strlen(HS_RFC_RESPONSE));
    assert_memory_equal(out, HS_RFC_RESPONSE, n);
    /* Exact capacity works; one byte less does not. */
    assert_int_equal(wick_hs_server_accept(r, &o, out, n, &n), WICK_OK);
    assert_int_equal(wick_hs_server_accept(r, &o, out, n - 1, &n), WICK_ERR_BUFFER_TOO_SMALL);
    /* No options: no subprotocol. */
    assert_int_equal(wick_hs_server_accept(r, NULL, out, sizeof out, &n), WICK_OK);
    const char *want0 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n\r\n";
    assert_int_equal(n, strlen(want0));
    assert_memory_equal(out, want0, n);
    /* Extensions and extra fields. */
    wick_header extra[2] = {{{"Set-Cookie", 10}, {"a=b", 3}}, {{"X-Y", 3}, {"", 0}}};
    wick_hs_accept_opts o2 = {{"superchat", 9}, {"permessage-deflate", 18}, extra, 2};
    assert_int_equal(wick_hs_server_accept(r, &o2, out, sizeof out, &n), WICK_OK);
    const char *want2 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"
                        "Sec-WebSocket-Protocol: superchat\r\n"
                        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                        "Set-Cookie: a=b\r\nX-Y: \r\n\r\n";
    assert_int_equal(n, strlen(want2));
    assert_memory_equal(out, want2, n);
    /* Refusals. */
    struct {
        wick_hs_accept_opts o;
    } bad[] = {
        {{{"Chat", 4}, {NULL, 0}, NULL, 0}},       /* not offered (case-sensitive) */
        {{{"chat2", 5}, {NULL, 0}, NULL, 0}},      /* not offered */
        {{{NULL, 0}, {"a\r\nb: c", 7}, NULL, 0}},  /* CR LF injection */
    };
    assert_int_equal(wick_hs_server_accept(r, &bad[0].o, out, sizeof out, &n), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_accept(r, &bad[1].o, out, sizeof out, &n), WICK_ERR_ARG);
    assert_int_equal(wick_hs_server_accept(r, &bad[2].o, out, sizeof out, &n), WICK_ERR_ARG);
    wick_header inj[1] = {{{"X-A", 3}, {"1\nX-B: 2", 8}}};
    wick_hs_accept_opts o3 = {{NULL, 0}, {NULL, 0}, inj, 1};
    assert_int_equal(wick_hs_server_accept(r, &o3, out, sizeof out, &n), WICK_ERR_ARG);
    wick_header badname[1] = {{{"X A", 3}, {"1", 1}}};
    wick_hs_accept_opts o4 = {{NULL, 0}, {NULL, 0}, badname, 1};
    assert_int_equal(wick_hs_server_accept(r, &o4, out, sizeof out, &n), WICK_ERR_ARG);
    /* Only an accepted request can be answered with 101. */
    wick_hs_request pending;
    wick_hs_request_init(&pending, NULL);
    assert_int_equal(wick_hs_server_accept(&pending, NULL, out, sizeof out, &n), WICK_ERR_ARG);
    wick_hs_request plain;
    wick_hs_request_init(&plain, NULL);
    const char *pl = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_int_equal(wick_hs_server_parse(&plain, pl, strlen(pl), NULL), WICK_ERR_HS_NOT_UPGRADE);
    assert_int_equal(wick_hs_server_accept(&plain, NULL, out, sizeof out, &n), WICK_ERR_ARG);
}

struct reject_case {
    wick_err err;
    const char *want;
};

static const struct reject_case reject_cases[] = {
    {WICK_ERR_HS_VERSION,
     "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
     "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 39\r\n"
     "Connection: Upgrade, close\r\n\r\nSec-WebSocket-Version missing or not 13"},
    {WICK_ERR_HS_KEY, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: 56\r\nConnection: close\r\n\r\n"
                      "Sec-WebSocket-Key missing or not 16 base64-encoded bytes"},
    {WICK_ERR_HS_TOO_LARGE,
     "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Length: 35\r\nConnection: close\r\n\r\nheader block exceeds the size limit"},
    {WICK_ERR_HS_TOO_MANY_HEADERS,
     "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
     "Content-Length: 22\r\nConnection: close\r\n\r\ntoo many header fields"},
};

static void test_sv_reject(void **state)
{
    (void)state;
    char out[512];
    size_t n = 0;
    for (size_t i = 0; i < sizeof reject_cases / sizeof reject_cases[0]; i++) {
        assert_int_equal(wick_hs_server_reject(reject_cases[i].err, out, sizeof out, &n), WICK_OK);
        if (n != strlen(reject_cases[i].want) || memcmp(out, reject_cases[i].want, n) != 0) {
            print_error("got:\n%.*s\n", (int)n, out);
        }
        assert_int_equal(n, strlen(reject_cases[i].want));
        assert_memory_equal(out, reject_cases[i].want, n);
        assert_int_equal(wick_hs_server_reject(reject_cases[i].err, out, n - 1, &n),
                         WICK_ERR_BUFFER_TOO_SMALL);
    }
    /* Every handshake error has an answer. */
    for (int e = -200; e >= -216; e--) {
        assert_int_equal(wick_hs_server_reject((wick_err)e, out, sizeof out, &n), WICK_OK);
        assert_true(n > 12 && memcmp(out, "HTTP/1.1 4", 10) == 0);
    }
    /* Not a handshake error: no HTTP status for it. */
    assert_int_equal(wick_hs_server_reject(WICK_ERR_UTF8, out, sizeof out, &n), WICK_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sv_table),  cmocka_unit_test(test_sv_default_limits),
        cmocka_unit_test(test_sv_garbage), cmocka_unit_test(test_sv_api),
        cmocka_unit_test(test_sv_accept), cmocka_unit_test(test_sv_reject),
    };
    return cmocka_run_group_tests_name("hs_server", tests, NULL, NULL);
}
