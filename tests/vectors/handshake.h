/* Opening handshake vectors (RFC 6455 1.2, 1.3, 4.1, 4.2.2) shared by the
 * handshake tests and the fuzz seed generator. Data only. */
#ifndef WICK_VECTORS_HANDSHAKE_H
#define WICK_VECTORS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wick.h"

/* RFC 6455 1.2: the client's handshake. */
#define HS_RFC_REQUEST                                                                             \
    "GET /chat HTTP/1.1\r\n"                                                                       \
    "Host: server.example.com\r\n"                                                                 \
    "Upgrade: websocket\r\n"                                                                       \
    "Connection: Upgrade\r\n"                                                                      \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                                             \
    "Origin: http://example.com\r\n"                                                               \
    "Sec-WebSocket-Protocol: chat, superchat\r\n"                                                  \
    "Sec-WebSocket-Version: 13\r\n"                                                                \
    "\r\n"

/* RFC 6455 1.2: the server's handshake (accept from 1.3). */
#define HS_RFC_RESPONSE                                                                            \
    "HTTP/1.1 101 Switching Protocols\r\n"                                                         \
    "Upgrade: websocket\r\n"                                                                       \
    "Connection: Upgrade\r\n"                                                                      \
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"                                      \
    "Sec-WebSocket-Protocol: chat\r\n"                                                             \
    "\r\n"

/* RFC 6455 1.3: the nonce behind dGhlIHNhbXBsZSBub25jZQ== is the 16 bytes
 * "the sample nonce". */
#define HS_RFC_NONCE "the sample nonce"
#define HS_RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define HS_RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* RFC 6455 5.7: a single-frame masked text message "Hello" (client to
 * server) and an unmasked one (server to client). */
#define HS_FRAME_MASKED_HELLO "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
#define HS_FRAME_HELLO "\x81\x05\x48\x65\x6c\x6c\x6f"

/* A byte string with its length (embedded NULs allowed). */
typedef struct hs_bytes {
    const char *ptr;
    size_t len;
} hs_bytes;
#define HS_B(lit) {(lit), sizeof(lit) - 1}

#endif /* WICK_VECTORS_HANDSHAKE_H */
