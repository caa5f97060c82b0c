/*
 * gen_corpus: writes the seed corpora of the fuzz targets into
 * <dir>/<target>/<name>, built from protocol vectors: the RFC 6455 5.7
 * example frames, the RFC 6455 1.2/1.3 handshake, extension headers
 * (RFC 6455 9.1, RFC 7692), UTF-8 samples (RFC 3629, Unicode 3.9 table
 * 3-7 edge cases). Frames are encoded here by a small encoder of our own;
 * each seed carries the configuration prefix its target reads (see the
 * comment at the top of each fuzz/fuzz_*.c).
 *
 * Usage: gen_corpus DIR
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The unit tests' vectors, when present, become seeds too. */
#if defined(__has_include)
#if __has_include("vectors/frames.h")
#include "vectors/frames.h"
#define HAVE_FRAME_VECTORS 1
#endif
#if __has_include("vectors/handshake.h")
#include "vectors/handshake.h"
#define HAVE_HS_VECTORS 1
#endif
#endif

static const char *root;
static unsigned written;

static void mkdir_p(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
}

/* Writes one seed: prefix bytes, then body bytes. */
static void seed(const char *target, const char *name, const uint8_t *prefix, size_t plen,
                 const void *body, size_t blen)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, target);
    mkdir_p(path);
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    if ((plen && fwrite(prefix, 1, plen, f) != plen) ||
        (blen && fwrite(body, 1, blen, f) != blen)) {
        perror(path);
        exit(1);
    }
    fclose(f);
    written++;
}

/* --- A growable byte buffer. */
typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            exit(1);
        }
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put8(bytes *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

/* Encodes one frame (RFC 6455 5.2); mask NULL for an unmasked frame. */
static void frame(bytes *b, unsigned opcode, int fin, unsigned rsv, const uint8_t *mask,
                  const void *payload, uint64_t len)
{
    put8(b, (fin ? 0x80u : 0u) | rsv | opcode);
    unsigned m = mask ? 0x80u : 0u;
    if (len < 126) {
        put8(b, m | (unsigned)len);
    } else if (len <= 0xFFFF) {
        put8(b, m | 126u);
        put8(b, (unsigned)(len >> 8));
        put8(b, (unsigned)len);
    } else {
        put8(b, m | 127u);
        for (int i = 7; i >= 0; i--) {
            put8(b, (unsigned)(len >> (8 * i)));
        }
    }
    if (mask) {
        put(b, mask, 4);
    }
    const uint8_t *p = payload;
    for (uint64_t i = 0; i < len; i++) {
        uint8_t c = p ? p[i] : (uint8_t)i;
        put8(b, mask ? (unsigned)(c ^ mask[i & 3]) : c);
    }
}

static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d}; /* RFC 6455 5.7 */

/* --- frame and roundtrip seeds ------------------------------------------- */

static void frame_seeds(void)
{
    static uint8_t big[65536];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(i * 7u);
    }
    struct {
        const char *name;
        uint8_t conf; /* bit 0: receiver is a client (unmasked frames) */
        int masked;
    } roles[2] = {{"client", 0x01, 0}, {"server", 0x00, 1}};
    for (int r = 0; r < 2; r++) {
        const uint8_t *m = roles[r].masked ? rfc_mask : NULL;
        uint8_t pre[2] = {roles[r].conf, 0x11};
        char name[64];
        bytes b = {0};
        /* RFC 6455 5.7 examples. */
        frame(&b, 0x1, 1, 0, m, "Hello", 5);
        snprintf(name, sizeof(name), "%s-hello", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        b.len = 0;
        frame(&b, 0x1, 0, 0, m, "Hel", 3);
        frame(&b, 0x0, 1, 0, m, "lo", 2);
        snprintf(name, sizeof(name), "%s-fragmented", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        b.len = 0;
        frame(&b, 0x9, 1, 0, m, "Hello", 5);
        frame(&b, 0xA, 1, 0, m, "Hello", 5);
        frame(&b, 0x8, 1, 0, m,
              "\x03\xe8"
              "bye",
              5);
        snprintf(name, sizeof(name), "%s-control", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        b.len = 0;
        frame(&b, 0x2, 1, 0, m, big, 256);
        snprintf(name, sizeof(name), "%s-256", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        b.len = 0;
        frame(&b, 0x2, 1, 0, m, big, 65536);
        snprintf(name, sizeof(name), "%s-64k", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        b.len = 0;
        frame(&b, 0x2, 1, 0, m, NULL, 0);
        frame(&b, 0x1, 1, 0x40, m, "z", 1); /* RSV1: allowed with conf bit 1 */
        snprintf(name, sizeof(name), "%s-empty-rsv1", roles[r].name);
        uint8_t pre_rsv[2] = {(uint8_t)(roles[r].conf | 0x08), 0x22};
        seed("frame", name, pre_rsv, 2, b.p, b.len);
        snprintf(name, sizeof(name), "%s-rsv1-refused", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        /* Broken rules, one each. */
        static const struct {
            const char *name;
            unsigned op, fin;
            uint64_t len;
        } bad[] = {{"opcode3", 0x3, 1, 1},
                   {"opcodeB", 0xB, 1, 1},
                   {"ping-nofin", 0x9, 0, 1},
                   {"ping-126", 0x9, 1, 126}};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            b.len = 0;
            frame(&b, bad[i].op, (int)bad[i].fin, 0, m, big, bad[i].len);
            snprintf(name, sizeof(name), "%s-%s", roles[r].name, bad[i].name);
            seed("frame", name, pre, 2, b.p, b.len);
        }
        /* 64-bit length with the top bit set; and max_frame 125 (bits 4-5). */
        b.len = 0;
        put8(&b, 0x82);
        put8(&b, (m ? 0x80u : 0u) | 127u);
        put8(&b, 0x80);
        for (int i = 0; i < 7; i++) {
            put8(&b, 0);
        }
        snprintf(name, sizeof(name), "%s-len63", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        b.len = 0;
        frame(&b, 0x2, 1, 0, m, big, 200);
        uint8_t pre_max[2] = {(uint8_t)(roles[r].conf | 0x10), 0x33};
        snprintf(name, sizeof(name), "%s-over-max", roles[r].name);
        seed("frame", name, pre_max, 2, b.p, b.len);
        /* Wrong masking for the role. */
        b.len = 0;
        frame(&b, 0x1, 1, 0, m ? NULL : rfc_mask, "Hello", 5);
        snprintf(name, sizeof(name), "%s-wrong-mask", roles[r].name);
        seed("frame", name, pre, 2, b.p, b.len);
        free(b.p);
    }

    /* Round trip scripts: [conf, seed] then per frame ctl, len, (mask),
     * payload. */
    static const uint8_t rt1[] = {0x01, 0x07, 0x09, 5,   1,   2,    3,   4,   'H',  'e', 'l',
                                  'l',  'o',  0x01, 3,   9,   9,    9,   9,   'H',  'e', 'l',
                                  0x08, 2,    5,    5,   5,   5,    'l', 'o', 0x0c, 2,   0,
                                  0,    0,    0,    'h', 'i', 0x8a, 201, 0,   0,    0,   0};
    seed("roundtrip", "client-rfc", NULL, 0, rt1, sizeof(rt1));
    static const uint8_t rt2[] = {0x00, 0x03, 0x09, 5,    'H', 'e',  'l', 'l',  'o', 0x01, 3,
                                  'H',  'e',  'l',  0x08, 2,   'l',  'o', 0x0b, 1,   'p',  0x8a,
                                  200,  0x82, 250,  0x0d, 0,   0x0b, 4,   'p',  'o', 'n',  'g'};
    seed("roundtrip", "server-rfc", NULL, 0, rt2, sizeof(rt2));
    static const uint8_t rt3[] = {0x0f, 0x55, 0x7a, 203, 0x12, 0x34, 0x56, 0x78, 0x9a,
                                  0x59, 7,    1,    2,   3,    4,    5,    6,    7};
    seed("roundtrip", "rsv-long", NULL, 0, rt3, sizeof(rt3));
}

/* --- connection engine seeds --------------------------------------------- */

/* Appends a raw-bytes operation (op 0) carrying a frame. */
static void op_raw(bytes *s, const bytes *wire)
{
    size_t off = 0;
    while (off < wire->len) {
        size_t n = wire->len - off;
        if (n > 254) {
            n = 254;
        }
        put8(s, 0);
        put8(s, (unsigned)n);
        put(s, wire->p + off, n);
        off += n;
    }
}

/* Appends a script-built frame operation (op 2): control byte, length
 * byte, payload, and the mask a server engine expects. */
static void op_built(bytes *s, unsigned ctl, unsigned len, const char *payload, int client)
{
    put8(s, 2);
    put8(s, ctl);
    put8(s, len);
    if (payload) {
        put(s, payload, len);
    } else {
        for (unsigned i = 0; i < len; i++) {
            put8(s, 'a' + i);
        }
    }
    if (!client) {
        put(s, rfc_mask, 4);
    }
}

static void conn_seeds(void)
{
    for (int client = 0; client < 2; client++) {
        const uint8_t *m = client ? NULL : rfc_mask;
        const char *rn = client ? "client" : "server";
        char name[64];
        /* Configuration variants: plain (streamed); whole messages in
         * msg_buf + pauses; tiny output and limits with callback actions;
         * allocator + extension; msg_buf with whole-message delivery off
         * (c[1] bit 7); msg_buf + allocator, delivery off, pauses; whole
         * messages in a 1024-byte msg_buf, tiny limits, OVERSIZE_STREAM. */
        static const uint8_t confs[7][12] = {
            {0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
            {0x10, 0x0e, 0, 0x55, 0x00, 0x11, 0x00, 0, 0, 0, 0, 0},
            {0x80, 0x00, 0, 0, 0, 0, 0, 0x0f, 0x0f, 0, 0, 0},
            {0x60, 0x32, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0},
            {0x10, 0x83, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
            {0x30, 0x8f, 0, 0x24, 0x00, 0, 0, 0, 0, 0, 0, 0},
            {0x98, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        };
        for (int v = 0; v < 7; v++) {
            uint8_t conf[12];
            memcpy(conf, confs[v], 12);
            conf[0] = (uint8_t)(conf[0] | client);
            bytes s = {0}, w = {0};
            /* RFC 6455 5.7: text, fragmented text, ping, then close. */
            frame(&w, 0x1, 1, 0, m, "Hello", 5);
            frame(&w, 0x1, 0, 0, m, "Hel", 3);
            frame(&w, 0x9, 1, 0, m, "Hello", 5);
            frame(&w, 0x0, 1, 0, m, "lo", 2);
            frame(&w, 0x2, 1, 0, m, "\x00\x01\x02", 3);
            if (v == 3) {
                frame(&w, 0x1, 1, 0x40, m, "deflated?", 9);
            }
            op_raw(&s, &w);
            put8(&s, 11); /* resume after any pause */
            put8(&s, 4);  /* send text, fin, 5 bytes */
            put8(&s, 0x04);
            put8(&s, 5);
            put8(&s, 6); /* ping 4 bytes */
            put8(&s, 4);
            put8(&s, 8); /* drain */
            put8(&s, 50);
            w.len = 0;
            frame(&w, 0x8, 1, 0, m,
                  "\x03\xe8"
                  "done",
                  6);
            op_raw(&s, &w);
            put8(&s, 11);
            put8(&s, 8);
            put8(&s, 255);
            snprintf(name, sizeof(name), "%s-rfc-%d", rn, v);
            seed("conn", name, conf, 12, s.p, s.len);

            /* Script-built frames (op 2), sends, a close from our side. */
            s.len = 0;
            op_built(&s, 0x49, 12, NULL, client);  /* text from the pattern, FIN */
            op_built(&s, 0x41, 5, NULL, client);   /* text fragment, no FIN */
            op_built(&s, 0x08, 3, "abc", client);  /* continuation, FIN */
            op_built(&s, 0x04, 4, "ping", client); /* ping */
            static const uint8_t ops[] = {5,    0x1d,
                                          0x01, 0x00, /* send_some binary, u16 length, FIN */
                                          'b',  'i',
                                          'n',  'a',
                                          'r',  'y',
                                          '-',  'p',
                                          'a',  'y',
                                          'l',  'o',
                                          'a',  'd',
                                          '!',  '!',
                                          9,    0xff, /* drain */
                                          7,    0x00 | (2 << 3),
                                          'b',  'y',
                                          'e',  '!',
                                          '!',  'x',
                                          'x',  'x',
                                          'x',  'x',
                                          9,    0xff};
            put(&s, ops, sizeof(ops));
            op_built(&s, 0x13, 2, NULL, client); /* close 1000 from the peer */
            put8(&s, 9);
            put8(&s, 0xff);
            snprintf(name, sizeof(name), "%s-script-%d", rn, v);
            seed("conn", name, conf, 12, s.p, s.len);

            /* A message over max_message (300 under tiny limits) in
             * fragments, a text message fed whole (op 3: zero-copy
             * delivery), then the rest fed in one call (op 71). */
            s.len = 0;
            op_built(&s, 0x42, 100, NULL, client); /* binary, no FIN */
            op_built(&s, 0x00, 100, NULL, client); /* continuation */
            op_built(&s, 0x00, 100, NULL, client);
            op_built(&s, 0x08, 100, NULL, client);       /* continuation, FIN */
            s.p[s.len - (client ? 0 : 4) - 100 - 3] = 3; /* fed whole */
            op_built(&s, 0x49, 24, NULL, client);
            s.p[s.len - (client ? 0 : 4) - 24 - 3] = 3;
            put8(&s, 71);
            put8(&s, 9);
            put8(&s, 0xff);
            snprintf(name, sizeof(name), "%s-big-%d", rn, v);
            seed("conn", name, conf, 12, s.p, s.len);
            free(s.p);
            free(w.p);
        }

        /* WICK_BLOCKED: the smallest output buffer, pings queued by the
         * script, then pings from the peer whose pongs do not fit until
         * the output is drained; then an incomplete header (NEED_MORE). */
        static const uint8_t bconf[12] = {0x10, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        uint8_t conf[12];
        memcpy(conf, bconf, 12);
        conf[0] = (uint8_t)(conf[0] | client);
        bytes s = {0}, w = {0};
        for (int i = 0; i < 3; i++) {
            put8(&s, 6); /* ping, 10 bytes */
            put8(&s, 10);
        }
        for (int i = 0; i < 4; i++) {
            frame(&w, 0x9, 1, 0, m, "0123456789abcdef0123456789abcdef0123456789", 42);
        }
        frame(&w, 0x9, 1, 0, m, "abcdefghijklmnopqrstuvwxyz", 26);
        w.len -= 20; /* the last ping is cut: the caller keeps it */
        op_raw(&s, &w);
        put8(&s, 11); /* offer again (drains first) */
        put8(&s, 71);
        snprintf(name, sizeof(name), "%s-blocked", rn);
        seed("conn", name, conf, 12, s.p, s.len);
        free(s.p);
        free(w.p);
    }
}

/* --- handshake seeds -------------------------------------------------------- */

static const char *const requests[][2] = {
    {"rfc", "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"},
    {"ext", "GET /a/b?c=d HTTP/1.1\r\nhost: localhost:8080\r\nupgrade: WebSocket\r\n"
            "connection: keep-alive, Upgrade\r\nsec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
            "sec-websocket-version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; "
            "client_max_window_bits, x-foo; a=\"b\\\"c\"\r\n"
            "Sec-WebSocket-Extensions: x-bar\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"},
    {"plain-http", "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"},
    {"version-8",
     "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"},
    {"dup-key", "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: "
                "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
    {"post", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"},
    {"http10", "GET / HTTP/1.0\r\nHost: h\r\n\r\n"},
    {"bare-lf", "GET / HTTP/1.1\nHost: h\nUpgrade: websocket\nConnection: Upgrade\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n"},
    {"ows", "GET  /  HTTP/1.1\r\nHost:\th \t\r\nUpgrade : websocket\r\n Connection: Upgrade\r\n"
            "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ=\r\nSec-WebSocket-Version: 13, 13\r\n\r\n"},
    {"absolute",
     "GET http://h/x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
     "Sec-WebSocket-Protocol: a,b,,c , d\r\n\r\n"},
};

static const char *const responses[][2] = {
    {"rfc", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"},
    {"proto",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n"
     "\r\n\x81\x05Hello"},
    {"ext", "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: upgrade\r\n"
            "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n"},
    {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"},
    {"bad-accept",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"},
    {"unoffered-proto",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: other\r\n"
     "\r\n"},
    {"http10", "HTTP/1.0 101 Switching Protocols\r\n\r\n"},
};

static const char *const ext_values[] = {
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    ("permessage-deflate; client_max_window_bits=10; server_no_context_takeover, "
     "x-webkit-deflate-frame"),
    "foo; bar=\"baz\\\"qux\"; n=\"1\"",
    "a, b, c, d, e, f, g, h, i",
    "a; p1; p2; p3; p4; p5; p6; p7",
    " a ;b = c , d",
    ", ,a",
    "x; y=",
    "x; y=\"unterminated",
    "keep-alive, Upgrade",
    "",
};

static const char *const utf8_samples[][2] = {
    {"ascii", "Hello, world"},
    {"greek", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
    {"emoji", "\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9"},
    {"max", "\xf4\x8f\xbf\xbf\xef\xbf\xbf\xdf\xbf"},
    {"overlong2", "\xc0\xaf"},
    {"overlong3", "\xe0\x80\xaf"},
    {"overlong4", "\xf0\x80\x80\xaf"},
    {"surrogate", "ab\xed\xa0\x80"},
    {"above-max", "\xf4\x90\x80\x80"},
    {"truncated", "ok\xe2\x82"},
    {"lone-cont", "\x80\xbf"},
    {"ff", "a\xff"},
    {"f5", "\xf5\x80\x80\x80"},
    {"cut-then-ascii", "\xe2\x82"
                       "A"},
    {"autobahn-6.4.1", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"},
};

static void hs_seeds(void)
{
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        for (uint8_t conf = 0; conf < 4; conf += 3) {
            char name[64];
            snprintf(name, sizeof(name), "%s-%u", requests[i][0], conf);
            uint8_t pre[1] = {(uint8_t)(conf | (uint8_t)(i << 2))};
            seed("hs_server", name, pre, 1, requests[i][1], strlen(requests[i][1]));
        }
    }
    for (size_t i = 0; i < sizeof(responses) / sizeof(responses[0]); i++) {
        for (uint8_t conf = 0; conf < 16; conf += 3) {
            char name[64];
            snprintf(name, sizeof(name), "%s-%u", responses[i][0], conf);
            uint8_t pre[17];
            pre[0] = (uint8_t)(conf | (uint8_t)(i << 4));
            memcpy(pre + 1, "the sample nonce", 16); /* RFC 6455 1.3 */
            seed("hs_client", name, pre, 17, responses[i][1], strlen(responses[i][1]));
        }
    }
    for (size_t i = 0; i < sizeof(ext_values) / sizeof(ext_values[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "ext-%zu", i);
        uint8_t pre[1] = {(uint8_t)(7u | (i % 3u) << 3)};
        seed("hs_ext", name, pre, 1, ext_values[i], strlen(ext_values[i]));
    }
    for (size_t i = 0; i < sizeof(utf8_samples) / sizeof(utf8_samples[0]); i++) {
        uint8_t pre[2] = {(uint8_t)i, (uint8_t)(i * 37u)};
        seed("utf8_diff", utf8_samples[i][0], pre, 2, utf8_samples[i][1],
             strlen(utf8_samples[i][1]));
    }
}

/* permessage-deflate offers and answers (RFC 7692 7.1.3 examples,
 * browsers and libraries, invalid ones) for fuzz_pmd_neg. Its prefix:
 * server config, client config (budget index in bits 0-3, flags in 4-6;
 * bit 7 of the first splices the client's own offer in), capacity. */
static const char *const pmd_values[] = {
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
    ("permessage-deflate; client_max_window_bits; server_max_window_bits=10, "
     "permessage-deflate; client_max_window_bits"),
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    ("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=8; client_max_window_bits=\"9\""),
    "permessage-deflate; server_max_window_bits=13; client_max_window_bits=13",
    "permessage-deflate; server_max_window_bits=016, permessage-deflate; foo",
    "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=15",
    "PerMessage-Deflate; Server_Max_Window_Bits=\"\\1\\2\"; client_max_window_bits",
};

static void pmd_seeds(void)
{
    static const uint8_t confs[][3] = {{0x0F, 0x0F, 128}, {0x00, 0x00, 40}, {0x17, 0x27, 90},
                                       {0x8D, 0x0D, 128}, {0x87, 0xF0, 60}, {0x60, 0x4B, 20}};
    for (size_t i = 0; i < sizeof(pmd_values) / sizeof(pmd_values[0]); i++) {
        for (size_t c = 0; c < sizeof(confs) / sizeof(confs[0]); c++) {
            char name[64];
            snprintf(name, sizeof(name), "pmd-%zu-%zu", i, c);
            seed("pmd_neg", name, confs[c], 3, pmd_values[i], strlen(pmd_values[i]));
        }
    }
}

/* fuzz_inflate: connection settings (flags, window bits and generator
 * settings, max_message choice, split seed), then messages: control byte
 * (kind, text, content, frames), u16 length, mutation byte, bytes. */
static void inflate_seeds(void)
{
    static const uint8_t confs[][4] = {
        {0x00, 0xFF, 0x00, 1}, {0x03, 0x07, 0x05, 2}, {0x2A, 0x5E, 0x03, 3}, {0x19, 0xF9, 0x1E, 4}};
    static const char text[] =
        "{\"type\":\"message\",\"room\":\"lobby\",\"text\":\"hello, world\"}";
    /* RFC 7692 7.2.3.1: "Hello" compressed, sent raw. */
    static const uint8_t hello[] = {0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00};
    for (size_t c = 0; c < sizeof(confs) / sizeof(confs[0]); c++) {
        char name[64];
        bytes b = {0};
        /* Generated text in 3 frames, then the same again (context). */
        for (int k = 0; k < 2; k++) {
            put8(&b, 0x4D); /* generated, text, ASCII, 3 frames */
            put8(&b, 0);
            put8(&b, (unsigned)(sizeof(text) - 1));
            put8(&b, 0);
            put(&b, text, sizeof(text) - 1);
        }
        snprintf(name, sizeof(name), "inflate-text-%zu", c);
        seed("inflate", name, confs[c], 4, b.p, b.len);
        b.len = 0;
        /* Raw RFC example, a one-byte bomb (64 KiB), a final block. */
        put8(&b, 0x04);
        put8(&b, 0);
        put8(&b, sizeof(hello));
        put8(&b, 0);
        put(&b, hello, sizeof(hello));
        put8(&b, 0xF1); /* generated, binary, bomb, 8 frames */
        put8(&b, 0x40);
        put8(&b, 0x00);
        put8(&b, 0);
        put8(&b, 'z');
        put8(&b, 0x2F); /* final block, text, ASCII, 2 frames */
        put8(&b, 0);
        put8(&b, 40);
        put8(&b, 0);
        put(&b, text, 40);
        put8(&b, 0x1E); /* uncompressed text, pattern */
        put8(&b, 0x01);
        put8(&b, 0x00);
        put8(&b, 0);
        put8(&b, 3);
        put(&b, "abc", 3);
        snprintf(name, sizeof(name), "inflate-mix-%zu", c);
        seed("inflate", name, confs[c], 4, b.p, b.len);
        free(b.p);
    }
}

/* fuzz_inflate_diff: window bits and mode, split seed / zlib settings,
 * then a raw stream (mode 0) or data zlib deflates (modes 1, 2). */
static void inflate_diff_seeds(void)
{
    static const uint8_t hello[] = {0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07,
                                    0x00, 0x00, 0x00, 0xFF, 0xFF};
    static const char text[] =
        "{\"type\":\"message\",\"room\":\"lobby\",\"text\":\"hello, world\"} "
        "{\"type\":\"message\",\"room\":\"lobby\",\"text\":\"hello again\"}";
    static const uint8_t confs[][2] = {{0x07, 0x11}, {0x0F, 0x06}, {0x09, 0x9E},
                                       {0x0C, 0x31}, {0x17, 0x4B}, {0x08, 0x00}};
    for (size_t c = 0; c < sizeof(confs) / sizeof(confs[0]); c++) {
        char name[64];
        snprintf(name, sizeof(name), "diff-%zu", c);
        if ((confs[c][0] & 0x18U) == 0) {
            seed("inflate_diff", name, confs[c], 2, hello, sizeof(hello));
        } else {
            seed("inflate_diff", name, confs[c], 2, text, sizeof(text) - 1);
        }
    }
}

/* Seeds from the files in tests/vectors: each RFC 6455 5.7 frame for the frame
 * parser and the engine of the receiving role; the RFC 6455 1.2 handshake
 * for both handshake targets. */
static void vector_seeds(void)
{
#ifdef HAVE_FRAME_VECTORS
    for (size_t i = 0; i < FRAME_VECTORS_COUNT; i++) {
        const frame_vec *v = &frame_vectors[i];
        bytes w = {0};
        put(&w, v->wire, v->wire_len);
        if (v->payload == NULL) {
            for (size_t k = 0; k < v->payload_len; k++) {
                uint8_t c = frame_vec_payload_byte(k);
                put8(&w, v->masked ? (unsigned)(c ^ v->mask[k & 3]) : c);
            }
        }
        char name[96];
        snprintf(name, sizeof(name), "vec-%zu", i);
        uint8_t pre[2] = {v->masked ? 0x00 : 0x01, (uint8_t)i};
        seed("frame", name, pre, 2, w.p, w.len);
        if (w.len < 1024) {
            uint8_t conf[12] = {0};
            conf[0] = v->masked ? 0x00 : 0x01;
            bytes s = {0};
            op_raw(&s, &w);
            seed("conn", name, conf, 12, s.p, s.len);
            free(s.p);
        }
        free(w.p);
    }
#endif
#ifdef HAVE_HS_VECTORS
    static const char req[] = HS_RFC_REQUEST HS_FRAME_MASKED_HELLO;
    uint8_t pre[17] = {0x01};
    seed("hs_server", "vec-rfc", pre, 1, req, sizeof(req) - 1);
    static const char resp[] = HS_RFC_RESPONSE HS_FRAME_HELLO;
    memcpy(pre + 1, HS_RFC_NONCE, 16);
    seed("hs_client", "vec-rfc", pre, 17, resp, sizeof(resp) - 1);
#endif
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    mkdir_p(root);
    frame_seeds();
    conn_seeds();
    hs_seeds();
    pmd_seeds();
    inflate_seeds();
    inflate_diff_seeds();
    vector_seeds();
    printf("gen_corpus: %u seeds in %s\n", written, root);
    return 0;
}
