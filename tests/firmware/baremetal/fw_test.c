/*
 * The bare-metal test: wick on an emulated Cortex-M (tests/firmware/qemu.sh
 * runs it under qemu-system-arm). It checks, against values written here
 * from the RFCs (not from wick's output):
 *   - the server handshake (RFC 6455 1.2, 1.3, 4.2) and the client's;
 *   - both roles of the engine over byte streams: text, binary,
 *     fragmented, ping, close, every kind of protocol error with its close
 *     code, invalid UTF-8, a message over the size limit. Each stream is
 *     fed through a receive buffer of WICK_RECV_MIN bytes, 1, 5 and 131
 *     bytes at a time, with an output buffer of WICK_OUT_MIN bytes: the
 *     smallest memory the API allows;
 * and reports the stack high-water mark (the stack is painted at reset)
 * and the RAM a minimal client and server connection need.
 * Streams are encoded by the few lines of enc() below, not by wick, and
 * what wick sends is decoded by out_decode(), also independent of wick.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "wick.h"

static int passed, failed;

/* Stack depth just before the library calls of each group (the deepest
 * seen), to tell wick's share of the high-water mark from the harness's. */
static size_t engine_base, hs_base;

static void note_base(size_t *base)
{
    size_t here = board_stack_here();
    *base = here > *base ? here : *base;
}

/* --- Console ------------------------------------------------------------ */

static void put_uint(size_t v)
{
    char b[24];
    size_t i = sizeof b - 1;
    b[i] = '\0';
    do {
        b[--i] = (char)('0' + v % 10U);
        v /= 10U;
    } while (v != 0 && i > 0);
    board_puts(b + i);
}

static void check(bool ok, const char *group, const char *name, const char *detail)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    board_puts("FAIL ");
    board_puts(group);
    board_puts(": ");
    board_puts(name);
    if (detail != NULL) {
        board_puts(": ");
        board_puts(detail);
    }
    board_puts("\n");
}

/* --- A bounded text builder for traces ------------------------------------ */

typedef struct text {
    char s[192];
    size_t n;
} text;

static void t_add(text *t, const char *s, size_t len)
{
    for (size_t i = 0; i < len && t->n + 1 < sizeof t->s; i++) {
        t->s[t->n++] = s[i];
    }
    t->s[t->n] = '\0';
}

static void t_str(text *t, const char *s)
{
    t_add(t, s, strlen(s));
}

static void t_uint(text *t, uint32_t v)
{
    char b[12];
    size_t i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10U);
        v /= 10U;
    } while (v != 0);
    t_add(t, b + i, sizeof b - i);
}

static void t_hex(text *t, uint32_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        char ch = hex[(v >> (4 * i)) & 0xFU];
        t_add(t, &ch, 1);
    }
}

/* "<len>:<text>" for short text, ":<hex>" for short binary, "#<fnv>" for
 * anything over 16 bytes (FNV-1a, 32 bits). */
static void t_payload(text *t, bool is_text, const uint8_t *p, size_t len)
{
    t_uint(t, (uint32_t)len);
    if (len > 16) {
        uint32_t h = 2166136261U;
        for (size_t i = 0; i < len; i++) {
            h = (h ^ p[i]) * 16777619U;
        }
        t_str(t, "#");
        t_hex(t, h, 8);
        return;
    }
    t_str(t, ":");
    for (size_t i = 0; i < len; i++) {
        if (is_text) {
            t_add(t, (const char *)p + i, 1);
        } else {
            t_hex(t, p[i], 2);
        }
    }
}

/* --- Test-side frame encoder and decoder (RFC 6455 5.2) -------------------- */

static const uint8_t key_rfc[4] = {0x37, 0xfa, 0x21, 0x3d}; /* RFC 6455 5.7 */

/* Generated payloads: byte i is 'a' + i % 26 (valid UTF-8). */
static uint8_t gen_byte(size_t i)
{
    return (uint8_t)('a' + i % 26U);
}

/* Writes one frame: b0 (FIN, RSV, opcode), payload masked with key (or
 * not, key NULL); data NULL means generated. Returns the size. */
static size_t enc(uint8_t *out, uint8_t b0, const uint8_t *key, const char *data, size_t len)
{
    size_t n = 0;
    out[n++] = b0;
    uint8_t m = key != NULL ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else {
        out[n++] = (uint8_t)(m | 126);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    }
    if (key != NULL) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t b = data != NULL ? (uint8_t)data[i] : gen_byte(i);
        out[n++] = key != NULL ? (uint8_t)(b ^ key[i % 4]) : b;
    }
    return n;
}

/* Renders the frames in out[0..len) as "pong5:Hello;close1000;", checking
 * that they are masked exactly when a client sent them. */
static void out_decode(text *t, const uint8_t *out, size_t len, bool client)
{
    size_t p = 0;
    while (p + 2 <= len) {
        uint8_t op = out[p] & 0x0F;
        bool masked = (out[p + 1] & 0x80) != 0;
        size_t n = out[p + 1] & 0x7F;
        p += 2;
        if (n >= 126 || masked != client) {
            t_str(t, "bad-frame;");
            return;
        }
        uint8_t key[4] = {0, 0, 0, 0};
        if (masked) {
            memcpy(key, out + p, 4);
            p += 4;
        }
        uint8_t pl[125];
        for (size_t i = 0; i < n && p + i < len; i++) {
            pl[i] = (uint8_t)(out[p + i] ^ key[i % 4]);
        }
        p += n;
        if (op == WICK_OP_CLOSE) {
            t_str(t, "close");
            if (n >= 2) {
                t_uint(t, (uint32_t)((pl[0] << 8) | pl[1]));
            }
        } else {
            t_str(t, op == WICK_OP_PONG ? "pong" : op == WICK_OP_PING ? "ping" : "data");
            t_payload(t, true, pl, n);
        }
        t_str(t, ";");
    }
    if (p != len) {
        t_str(t, "truncated;");
    }
}

/* --- Engine cases ----------------------------------------------------------- */

#define K key_rfc /* masked, with the RFC 6455 5.7 key */
#define N NULL    /* unmasked */

typedef struct frame {
    uint8_t b0;
    const uint8_t *key;
    const char *data; /* NULL: generated */
    size_t len;
} frame;

typedef struct engine_case {
    const char *name;
    wick_role role;
    frame frames[4]; /* up to the first with b0 == 0 */
    const char *raw; /* bytes after the frames (malformed input) */
    size_t raw_len;
    const char *events; /* what the callbacks saw */
    const char *out;    /* what the connection sent */
    wick_err status;    /* what the last wick_conn_recv() returned */
    bool closed;        /* WICK_CLOSED at the end */
} engine_case;

/* Server: whole messages of up to 120 bytes (max_message 120). Client:
 * streamed delivery, no limit but the default. */
#define SERVER_MAX_MESSAGE 120U

static const engine_case cases[] = {
    /* Server role: client frames are masked (RFC 6455 5.3). */
    {"5.7 masked text Hello",
     WICK_ROLE_SERVER,
     {{0x81, K, "Hello", 5}},
     NULL,
     0,
     "T5:Hello;",
     "",
     WICK_OK,
     false},
    {"binary",
     WICK_ROLE_SERVER,
     {{0x82, K, "\x00\x01\xfe", 3}},
     NULL,
     0,
     "B3:0001fe;",
     "",
     WICK_OK,
     false},
    {"fragmented text, ping in between (5.4)",
     WICK_ROLE_SERVER,
     {{0x01, K, "Hel", 3}, {0x89, K, "ping", 4}, {0x80, K, "lo", 2}},
     NULL,
     0,
     "ping4:ping;T5:Hello;",
     "pong4:ping;",
     WICK_OK,
     false},
    {"120-byte binary in three fragments",
     WICK_ROLE_SERVER,
     {{0x02, K, NULL, 40}, {0x00, K, NULL, 40}, {0x80, K, NULL, 40}},
     NULL,
     0,
     "B120#7a487fad;",
     "",
     WICK_OK,
     false},
    {"close 1000 with a reason (5.5.1)",
     WICK_ROLE_SERVER,
     {{0x88, K,
       "\x03\xe8"
       "bye",
       5}},
     NULL,
     0,
     "close1000:bye;",
     "close1000;",
     WICK_OK,
     true},
    {"close without a code",
     WICK_ROLE_SERVER,
     {{0x88, K, "", 0}},
     NULL,
     0,
     "close1005:;",
     "close;",
     WICK_OK,
     true},
    {"unmasked client frame (5.1)",
     WICK_ROLE_SERVER,
     {{0x81, N, "Hi", 2}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_MASK,
     true},
    {"reserved opcode 3",
     WICK_ROLE_SERVER,
     {{0x83, K, "", 0}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_OPCODE,
     true},
    {"RSV1 without an extension",
     WICK_ROLE_SERVER,
     {{0xC1, K, "x", 1}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_RSV,
     true},
    {"ping without FIN (5.5)",
     WICK_ROLE_SERVER,
     {{0x09, K, "", 0}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_CONTROL_FRAGMENTED,
     true},
    {"ping of 126 bytes (5.5)",
     WICK_ROLE_SERVER,
     {{0x89, K, NULL, 126}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_CONTROL_TOO_BIG,
     true},
    {"continuation without a message",
     WICK_ROLE_SERVER,
     {{0x80, K, "x", 1}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_CONTINUATION,
     true},
    {"new message inside a fragmented one",
     WICK_ROLE_SERVER,
     {{0x01, K, "a", 1}, {0x81, K, "b", 1}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_FRAGMENT,
     true},
    {"close with a 1-byte payload",
     WICK_ROLE_SERVER,
     {{0x88, K, "\x03", 1}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_CLOSE_PAYLOAD,
     true},
    {"close code 1005 on the wire (7.4.1)",
     WICK_ROLE_SERVER,
     {{0x88, K, "\x03\xed", 2}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_CLOSE_CODE,
     true},
    {"invalid UTF-8: a surrogate (8.1)",
     WICK_ROLE_SERVER,
     {{0x81, K,
       "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
       "edited",
       20}},
     NULL,
     0,
     "error1007;",
     "close1007;",
     WICK_ERR_UTF8,
     true},
    {"invalid UTF-8 across fragments",
     WICK_ROLE_SERVER,
     {{0x01, K, "\xce", 1}, {0x80, K, "A", 1}},
     NULL,
     0,
     "error1007;",
     "close1007;",
     WICK_ERR_UTF8,
     true},
    {"invalid UTF-8 in a close reason",
     WICK_ROLE_SERVER,
     {{0x88, K, "\x03\xe8\xff", 3}},
     NULL,
     0,
     "error1007;",
     "close1007;",
     WICK_ERR_UTF8,
     true},
    {"text over max_message",
     WICK_ROLE_SERVER,
     {{0x81, K, NULL, SERVER_MAX_MESSAGE + 1}},
     NULL,
     0,
     "error1009;",
     "close1009;",
     WICK_ERR_TOO_BIG,
     true},
    /* Client role: server frames are unmasked; what the client sends is
     * masked (out_decode checks). */
    {"5.7 unmasked text Hello",
     WICK_ROLE_CLIENT,
     {{0x81, N, "Hello", 5}},
     NULL,
     0,
     "T5:Hello;",
     "",
     WICK_OK,
     false},
    {"5.7 fragmented Hel + lo",
     WICK_ROLE_CLIENT,
     {{0x01, N, "Hel", 3}, {0x80, N, "lo", 2}},
     NULL,
     0,
     "T5:Hello;",
     "",
     WICK_OK,
     false},
    {"5.7 256-byte binary, streamed",
     WICK_ROLE_CLIENT,
     {{0x82, N, NULL, 256}},
     NULL,
     0,
     "B256#5c8c62ad;",
     "",
     WICK_OK,
     false},
    {"5.7 ping Hello: masked pong",
     WICK_ROLE_CLIENT,
     {{0x89, N, "Hello", 5}},
     NULL,
     0,
     "ping5:Hello;",
     "pong5:Hello;",
     WICK_OK,
     false},
    {"server close 1001",
     WICK_ROLE_CLIENT,
     {{0x88, N, "\x03\xe9", 2}},
     NULL,
     0,
     "close1001:;",
     "close1001;",
     WICK_OK,
     true},
    {"masked server frame (5.1)",
     WICK_ROLE_CLIENT,
     {{0x81, K, "Hi", 2}},
     NULL,
     0,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_MASK,
     true},
    {"invalid UTF-8 (client)",
     WICK_ROLE_CLIENT,
     {{0x81, N, "\xff", 1}},
     NULL,
     0,
     "error1007;",
     "close1007;",
     WICK_ERR_UTF8,
     true},
    {"64-bit length with the top bit set",
     WICK_ROLE_CLIENT,
     {{0}},
     "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00",
     10,
     "error1002;",
     "close1002;",
     WICK_ERR_PROTO_LENGTH,
     true},
};

/* --- Callbacks: one trace per run ------------------------------------------- */

typedef struct run_state {
    text events;
    uint8_t msg[256]; /* streamed chunks gathered for the trace (client) */
    size_t msg_len;
    uint8_t next_random;
} run_state;

static void ev_message(run_state *s, uint8_t opcode, const uint8_t *data, size_t len)
{
    t_str(&s->events, opcode == WICK_OP_TEXT ? "T" : "B");
    t_payload(&s->events, opcode == WICK_OP_TEXT, data, len);
    t_str(&s->events, ";");
}

static int on_data(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, unsigned flags,
                   void *user)
{
    (void)c;
    run_state *s = user;
    for (size_t i = 0; i < len && s->msg_len < sizeof s->msg; i++) {
        s->msg[s->msg_len++] = data[i];
    }
    if (flags & WICK_DATA_FIN) {
        ev_message(s, opcode, s->msg, s->msg_len);
        s->msg_len = 0;
    }
    return 0;
}

static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    ev_message(user, opcode, data, len);
    return 0;
}

static int on_control(text *t, const char *what, const uint8_t *data, size_t len)
{
    t_str(t, what);
    t_payload(t, true, data, len);
    t_str(t, ";");
    return 0;
}

static int on_ping(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    return on_control(&((run_state *)user)->events, "ping", data, len);
}

static int on_pong(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    return on_control(&((run_state *)user)->events, "pong", data, len);
}

static int on_close(wick_conn *c, uint16_t code, const char *reason, size_t len, void *user)
{
    (void)c;
    text *t = &((run_state *)user)->events;
    t_str(t, "close");
    t_uint(t, code);
    t_str(t, ":");
    t_add(t, reason, len);
    t_str(t, ";");
    return 0;
}

static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    text *t = &((run_state *)user)->events;
    t_str(t, "error");
    t_uint(t, wick_err_close_code(err));
    t_str(t, ";");
}

/* Client masks: deterministic here; a device uses its hardware RNG. */
static int fill_random(void *user, uint8_t *out, size_t n)
{
    run_state *s = user;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(0x5A + 0x11 * s->next_random++);
    }
    return 0;
}

static const wick_callbacks server_cb = {.on_message = on_message,
                                         .on_ping = on_ping,
                                         .on_pong = on_pong,
                                         .on_close = on_close,
                                         .on_error = on_error};
static const wick_callbacks client_cb = {.on_data = on_data,
                                         .on_ping = on_ping,
                                         .on_pong = on_pong,
                                         .on_close = on_close,
                                         .on_error = on_error,
                                         .random = fill_random};

/* The smallest memory the API allows: one connection's state and buffers.
 * The server also has a reassembly buffer for whole-message delivery. */
static wick_conn conn;
static uint8_t out_buf[WICK_OUT_MIN];
static uint8_t rx[WICK_RECV_MIN];
static uint8_t msg_buf[SERVER_MAX_MESSAGE];

static uint8_t stream[512];
static uint8_t sent[512];

/* Feeds the case's stream `step` bytes at a time through rx[], keeping
 * what wick leaves unconsumed in front of the next bytes, and collects
 * everything the connection sends. */
static void run_case(const engine_case *k, size_t step)
{
    size_t len = 0;
    for (size_t i = 0; i < 4; i++) {
        const frame *f = &k->frames[i];
        if (f->b0 == 0 && f->key == NULL && f->data == NULL && f->len == 0) {
            break;
        }
        len += enc(stream + len, f->b0, f->key, f->data, f->len);
    }
    if (k->raw != NULL) {
        memcpy(stream + len, k->raw, k->raw_len);
        len += k->raw_len;
    }
    static run_state s;
    memset(&s, 0, sizeof s);
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, k->role);
    cfg.out_buf = out_buf;
    cfg.out_cap = sizeof out_buf;
    if (k->role == WICK_ROLE_SERVER) {
        cfg.msg_buf = msg_buf;
        cfg.msg_cap = sizeof msg_buf;
        cfg.max_message = SERVER_MAX_MESSAGE;
    }
    const wick_callbacks *cb = k->role == WICK_ROLE_SERVER ? &server_cb : &client_cb;
    wick_err st = wick_conn_init(&conn, &cfg, cb, &s);
    size_t pos = 0, have = 0, nsent = 0;
    while (st == WICK_OK || st == WICK_NEED_MORE || st == WICK_BLOCKED) {
        size_t n = len - pos;
        n = n < step ? n : step;
        n = n < sizeof rx - have ? n : sizeof rx - have;
        if (n == 0 && st == WICK_NEED_MORE) {
            break; /* the stream ended inside a frame */
        }
        memcpy(rx + have, stream + pos, n);
        have += n;
        pos += n;
        size_t used = 0;
        note_base(&engine_base);
        st = wick_conn_recv(&conn, rx, have, &used);
        size_t out_len = 0;
        const uint8_t *out = wick_conn_out_peek(&conn, &out_len);
        if (out_len > sizeof sent - nsent) {
            out_len = sizeof sent - nsent;
        }
        if (out_len > 0) {
            memcpy(sent + nsent, out, out_len);
            nsent += out_len;
        }
        wick_conn_out_consume(&conn, out_len);
        memmove(rx, rx + used, have - used);
        have -= used;
        if (pos == len && have == 0 && st == WICK_OK) {
            break;
        }
    }
    text out_t = {{0}, 0};
    out_decode(&out_t, sent, nsent, k->role == WICK_ROLE_CLIENT);
    bool closed = (wick_conn_state(&conn) & WICK_CLOSED) != 0;
    text d = {{0}, 0};
    t_str(&d, "step ");
    t_uint(&d, (uint32_t)step);
    t_str(&d, ": events '");
    t_str(&d, s.events.s);
    t_str(&d, "' sent '");
    t_str(&d, out_t.s);
    t_str(&d, "' status ");
    t_str(&d, wick_err_name(st));
    t_str(&d, closed ? " closed" : " open");
    bool ok = strcmp(s.events.s, k->events) == 0 && strcmp(out_t.s, k->out) == 0 &&
              st == k->status && closed == k->closed;
    check(ok, k->role == WICK_ROLE_SERVER ? "server" : "client", k->name, d.s);
    wick_conn_release(&conn);
}

static void test_engine(void)
{
    static const size_t steps[] = {1, 5, WICK_RECV_MIN};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t j = 0; j < sizeof steps / sizeof steps[0]; j++) {
            run_case(&cases[i], steps[j]);
        }
    }
}

/* --- Handshake ---------------------------------------------------------------- */

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
    note_base(&hs_base);
    /* Whole, then growing one byte at a time (the parser resumes). */
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        wick_hs_request_init(&r, NULL);
        wick_err e = WICK_NEED_MORE;
        size_t used = 0;
        for (size_t have = bytewise ? 1 : len; have <= len && e == WICK_NEED_MORE; have++) {
            e = wick_hs_server_parse(&r, rfc_request, have, &used);
        }
        check(e == WICK_OK && used == len && str_is(r.key, "dGhlIHNhbXBsZSBub25jZQ==") &&
                  r.num_protocols == 2 && str_is(r.protocols[1], "superchat") &&
                  str_is(r.host, "server.example.com") && str_is(r.target, "/chat"),
              "handshake", bytewise ? "RFC 6455 1.2 request, byte by byte" : "RFC 6455 1.2 request",
              wick_err_name(e));
    }
    wick_hs_accept_opts opts = {{"chat", 4}, {NULL, 0}, NULL, 0};
    size_t n = 0;
    wick_err e = wick_hs_server_accept(&r, &opts, hs_out, sizeof hs_out, &n);
    check(e == WICK_OK && n == sizeof rfc_response - 1 &&
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
    check(e == WICK_ERR_HS_VERSION && wick_err_http_status(e) == 426 && rej == WICK_OK &&
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
    check(e == WICK_ERR_HS_METHOD && wick_err_http_status(e) == 400, "handshake",
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
    note_base(&hs_base);
    wick_err e = wick_hs_client_request(&c, &o, nonce, NULL, hs_out, sizeof hs_out, &n);
    check(e == WICK_OK && memcmp(hs_out, "GET /chat HTTP/1.1\r\n", 20) == 0 &&
              has(hs_out, n, "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n") &&
              has(hs_out, n, "\r\nSec-WebSocket-Version: 13\r\n"),
          "handshake", "client request with the RFC 6455 1.3 key", wick_err_name(e));
    size_t used = 0;
    e = wick_hs_client_verify(&c, rfc_response, sizeof rfc_response - 1, &used);
    check(e == WICK_OK && used == sizeof rfc_response - 1 && str_is(c.protocol, "chat"),
          "handshake", "client verifies the RFC 6455 1.2 response", wick_err_name(e));

    static char bad[sizeof rfc_response];
    memcpy(bad, rfc_response, sizeof bad);
    bad[sizeof "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Accept: " -
        1] = 't';
    (void)wick_hs_client_request(&c, &o, nonce, NULL, hs_out, sizeof hs_out, &n);
    e = wick_hs_client_verify(&c, bad, sizeof bad - 1, &used);
    check(e == WICK_ERR_HS_ACCEPT, "handshake", "client rejects a wrong accept key (4.1 item 4)",
          wick_err_name(e));
}

/* --- Report -------------------------------------------------------------------- */

static void report_ram(void)
{
    size_t base = sizeof(wick_conn) + WICK_OUT_MIN + WICK_RECV_MIN;
    board_puts("RAM per connection (minimal): wick_conn ");
    put_uint(sizeof(wick_conn));
    board_puts(" + output WICK_OUT_MIN ");
    put_uint(WICK_OUT_MIN);
    board_puts(" + receive WICK_RECV_MIN ");
    put_uint(WICK_RECV_MIN);
    board_puts(" = ");
    put_uint(base);
    board_puts(" bytes (client, or server with streamed delivery); this test's server adds a ");
    put_uint(sizeof msg_buf);
    board_puts("-byte reassembly buffer.\nDuring the handshake only: wick_hs_request ");
    put_uint(sizeof(wick_hs_request));
    board_puts(", wick_hs_client ");
    put_uint(sizeof(wick_hs_client));
    board_puts(" bytes (reusable once the connection is open).\n");
}

int main(void)
{
    board_puts("wick bare-metal test on ");
    board_puts(board_cpu());
    board_puts("\n");
    board_stack_mark();
    test_server_handshake();
    test_client_handshake();
    size_t hs_stack = board_stack_used();
    board_stack_mark();
    test_engine();
    size_t engine_stack = board_stack_used();
    report_ram();
    if (board_stack_size() != 0) {
        board_puts("stack high-water mark (of ");
        put_uint(board_stack_size());
        board_puts("): handshake ");
        put_uint(hs_stack);
        board_puts(" bytes, of which ");
        put_uint(hs_stack - hs_base);
        board_puts(" below the wick call; engine ");
        put_uint(engine_stack);
        board_puts(" bytes, of which ");
        put_uint(engine_stack - engine_base);
        board_puts(" below wick_conn_recv() (wick and this test's callbacks)\n");
    }
    put_uint((size_t)passed);
    board_puts(" passed, ");
    put_uint((size_t)failed);
    board_puts(" failed\n");
    return failed == 0 && passed > 0 ? 0 : 1;
}
