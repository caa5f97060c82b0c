/*
 * RFC 6455 5.7 example frames, byte for byte.
 *
 * Each row is one frame: the fields a writer is given, the payload, and
 * the exact bytes on the wire. For the two large frames the RFC gives only
 * the header ("[256 bytes of binary data]"); there `wire` is the header and
 * the payload is generated: byte i is (uint8_t)i (see frame_vec_payload_byte).
 * A masked frame is sent by a client and parsed by a server.
 */
#ifndef WICK_TEST_VECTORS_FRAMES_H
#define WICK_TEST_VECTORS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct frame_vec {
    const char *name;
    bool fin;
    uint8_t opcode;
    bool masked;
    uint8_t mask[4];
    const uint8_t *payload; /* NULL: generated, see frame_vec_payload_byte() */
    size_t payload_len;
    const uint8_t *wire; /* whole frame, or the header alone when payload is NULL */
    size_t wire_len;
} frame_vec;

static inline uint8_t frame_vec_payload_byte(size_t i)
{
    return (uint8_t)i;
}

#define FV_BYTES(s) (const uint8_t *)(s), sizeof(s) - 1

static const frame_vec frame_vectors[] = {
    /* RFC 6455 5.7: a single-frame unmasked text message. */
    {"5.7 unmasked text Hello", true, 0x1, false, {0, 0, 0, 0}, FV_BYTES("Hello"),
     FV_BYTES("\x81\x05\x48\x65\x6c\x6c\x6f")},
    /* RFC 6455 5.7: a single-frame masked text message. */
    {"5.7 masked text Hello", true, 0x1, true, {0x37, 0xfa, 0x21, 0x3d}, FV_BYTES("Hello"),
     FV_BYTES("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")},
    /* RFC 6455 5.7: a fragmented unmasked text message, first fragment. */
    {"5.7 fragmented Hel", false, 0x1, false, {0, 0, 0, 0}, FV_BYTES("Hel"),
     FV_BYTES("\x01\x03\x48\x65\x6c")},
    /* RFC 6455 5.7: ... and its final continuation fragment. */
    {"5.7 fragmented lo", true, 0x0, false, {0, 0, 0, 0}, FV_BYTES("lo"),
     FV_BYTES("\x80\x02\x6c\x6f")},
    /* RFC 6455 5.7: unmasked Ping with body "Hello". */
    {"5.7 unmasked ping", true, 0x9, false, {0, 0, 0, 0}, FV_BYTES("Hello"),
     FV_BYTES("\x89\x05\x48\x65\x6c\x6c\x6f")},
    /* RFC 6455 5.7: masked Pong with body "Hello". */
    {"5.7 masked pong", true, 0xA, true, {0x37, 0xfa, 0x21, 0x3d}, FV_BYTES("Hello"),
     FV_BYTES("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")},
    /* RFC 6455 5.7: 256 bytes binary message in a single unmasked frame. */
    {"5.7 256 bytes binary", true, 0x2, false, {0, 0, 0, 0}, NULL, 256,
     FV_BYTES("\x82\x7E\x01\x00")},
    /* RFC 6455 5.7: 64KiB binary message in a single unmasked frame. */
    {"5.7 64KiB binary", true, 0x2, false, {0, 0, 0, 0}, NULL, 65536,
     FV_BYTES("\x82\x7F\x00\x00\x00\x00\x00\x01\x00\x00")},
};

#define FRAME_VECTORS_COUNT (sizeof(frame_vectors) / sizeof(frame_vectors[0]))

#endif /* WICK_TEST_VECTORS_FRAMES_H */
