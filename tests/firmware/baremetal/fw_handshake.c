/* The handshake part of the bare-metal test: the server side of RFC 6455
 * 1.2 / 1.3 / 4.2 (whole and byte by byte, the 101 answer, a 426 and a
 * refused POST) and the client side (the request with the 1.3 key, the RFC
 * response verified, a wrong accept key refused). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fw.h"
#include "wick.h"

/* Stack depth at the handshake calls (the deepest seen). */
static size_t hs_base;

/* RFC 6455 1.2 and 1.3. */
static const char rfc_request[] = "GET /chat HTTP/1.1\r\n"
                                  "Host: server.example.com\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Origin: http://example.com\r\n"
                                  "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "\r\n";
static const char rfc_response[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                   "Sec-WebSocket-Protocol: chat\r\n"
                                   "\r\n";

static bool has(const char *buf, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static bool str_is(wick_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static char hs_out[512];

static void test_server_handshake(void)
{
    static wick_hs_request r;
    const size_t len = sizeof rfc_request - 1;
    fw_note_base(&hs_base);
    /* Whole, then growing one byte at a time (the parser resumes). */
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        wick_hs_request_init(&r, NULL);
        wick_err e = WICK_NEED_MORE;
        size_t used = 0;
        for (size_t have = bytewise ? 1 : len; have <= len && e == WICK_NEED_MORE; have++) {
            e = wick_hs_server_parse(&r, rfc_request, have, &used);
        }
        fw_check(e == WICK_OK && used == len && str_is(r.key, "dGhlIHNhbXBsZSBub25jZQ==") &&
                     r.num_protocols == 2 && str_is(r.protocols[1], "superchat") &&
                     str_is(r.host, "server.example.com") && str_is(r.target, "/chat"),
                 "handshake",
                 bytewise ? "RFC 6455 1.2 request, byte by byte" : "RFC 6455 1.2 request",
                 wick_err_name(e));
    }
    wick_hs_accept_opts opts = {{"chat", 4}, {NULL, 0}, NULL, 0};
    size_t n = 0;
    wick_err e = wick_hs_server_accept(&r, &opts, hs_out, sizeof hs_out, &n);
    fw_check(e == WICK_OK && n == sizeof rfc_response - 1 &&
                 memcmp(hs_out, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0 &&
                 has(hs_out, n, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") &&
                 has(hs_out, n, "\r\nSec-WebSocket-Protocol: chat\r\n"),
             "handshake", "101 response with the RFC 6455 1.3 accept key", wick_err_name(e));

    static const char v12[] =
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 12\r\n\r\n";
    wick_hs_request_init(&r, NULL);
    e = wick_hs_server_parse(&r, v12, sizeof v12 - 1, NULL);
    wick_err rej = wick_hs_server_reject(e, hs_out, sizeof hs_out, &n);
    fw_check(e == WICK_ERR_HS_VERSION && wick_err_http_status(e) == 426 && rej == WICK_OK &&
                 memcmp(hs_out, "HTTP/1.1 426 ", 13) == 0 &&
                 has(hs_out, n, "\r\nSec-WebSocket-Version: 13\r\n"),
             "handshake", "version 12 gets 426 with Sec-WebSocket-Version: 13 (4.4)",
             wick_err_name(e));

    static const char post[] =
        "POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    wick_hs_request_init(&r, NULL);
    e = wick_hs_server_parse(&r, post, sizeof post - 1, NULL);
    fw_check(e == WICK_ERR_HS_METHOD && wick_err_http_status(e) == 400, "handshake",
             "an upgrade must be a GET (4.2.1 item 1)", wick_err_name(e));
}

static void test_client_handshake(void)
{
    static wick_hs_client c;
    static const uint8_t nonce[16] = "the sample nonce"; /* RFC 6455 1.3 key */
    static const wick_str protos[2] = {{"chat", 4}, {"superchat", 9}};
    wick_hs_client_opts o;
    memset(&o, 0, sizeof o);
    o.target = (wick_str){"/chat", 5};
    o.host = (wick_str){"server.example.com", 18};
    o.protocols = protos;
    o.num_protocols = 2;
    size_t n = 0;
    fw_note_base(&hs_base);
    wick_err e = wick_hs_client_request(&c, &o, nonce, NULL, hs_out, sizeof hs_out, &n);
    fw_check(e == WICK_OK && memcmp(hs_out, "GET /chat HTTP/1.1\r\n", 20) == 0 &&
                 has(hs_out, n, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n") &&
                 has(hs_out, n, "\r\nSec-WebSocket-Version: 13\r\n"),
             "handshake", "client request with the RFC 6455 1.3 key", wick_err_name(e));
    size_t used = 0;
    e = wick_hs_client_verify(&c, rfc_response, sizeof rfc_response - 1, &used);
    fw_check(e == WICK_OK && used == sizeof rfc_response - 1 && str_is(c.protocol, "chat"),
             "handshake", "client verifies the RFC 6455 1.2 response", wick_err_name(e));

    static char bad[sizeof rfc_response];
    memcpy(bad, rfc_response, sizeof bad);
    bad[sizeof "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: " -
        1] = 't';
    (void)wick_hs_client_request(&c, &o, nonce, NULL, hs_out, sizeof hs_out, &n);
    e = wick_hs_client_verify(&c, bad, sizeof bad - 1, &used);
    fw_check(e == WICK_ERR_HS_ACCEPT, "handshake", "client rejects a wrong accept key (4.1 item 4)",
             wick_err_name(e));
}

void fw_test_handshakes(size_t *base)
{
    test_server_handshake();
    test_client_handshake();
    *base = hs_base;
}
