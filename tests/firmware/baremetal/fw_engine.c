/*
 * The engine part of the bare-metal test: both roles of wick_conn over byte
 * streams (text, binary, fragmented, ping, close, every kind of protocol
 * error with its close code, invalid UTF-8, a message over the size limit),
 * each checked against events, sent bytes, status and state written here
 * from RFC 6455, not recorded from wick. Each stream is fed through a
 * receive buffer of WICK_RECV_MIN bytes, 1, 5 and 131 bytes at a time, with
 * an output buffer of WICK_OUT_MIN bytes: the smallest memory the API
 * allows. Streams are encoded by enc() below, not by wick, and what wick
 * sends is decoded by out_decode(), also independent of wick.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fw.h"
#include "wick.h"

/* Stack depth at the wick_conn_recv() calls (the deepest seen). */
static size_t engine_base;

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
static void out_decode(fw_text *t, const uint8_t *out, size_t len, bool client)
{
    size_t p = 0;
    while (p + 2 <= len) {
        uint8_t op = out[p] & 0x0F;
        bool masked = (out[p + 1] & 0x80) != 0;
        size_t n = out[p + 1] & 0x7F;
        p += 2;
        if (n >= 126 || masked != client) {
            fw_str(t, "bad-frame;");
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
            fw_str(t, "close");
            if (n >= 2) {
                fw_uint(t, (uint32_t)((pl[0] << 8) | pl[1]));
            }
        } else {
            fw_str(t, op == WICK_OP_PONG ? "pong" : op == WICK_OP_PING ? "ping" : "data");
            fw_payload(t, true, pl, n);
        }
        fw_str(t, ";");
    }
    if (p != len) {
        fw_str(t, "truncated;");
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
    fw_text events;
    uint8_t msg[256]; /* streamed chunks gathered for the trace (client) */
    size_t msg_len;
    uint8_t next_random;
} run_state;

static void ev_message(run_state *s, uint8_t opcode, const uint8_t *data, size_t len)
{
    fw_str(&s->events, opcode == WICK_OP_TEXT ? "T" : "B");
    fw_payload(&s->events, opcode == WICK_OP_TEXT, data, len);
    fw_str(&s->events, ";");
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

static int on_control(fw_text *t, const char *what, const uint8_t *data, size_t len)
{
    fw_str(t, what);
    fw_payload(t, true, data, len);
    fw_str(t, ";");
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
    fw_text *t = &((run_state *)user)->events;
    fw_str(t, "close");
    fw_uint(t, code);
    fw_str(t, ":");
    fw_add(t, reason, len);
    fw_str(t, ";");
    return 0;
}

static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    fw_text *t = &((run_state *)user)->events;
    fw_str(t, "error");
    fw_uint(t, wick_err_close_code(err));
    fw_str(t, ";");
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
        fw_note_base(&engine_base);
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
    fw_text out_t = {{0}, 0};
    out_decode(&out_t, sent, nsent, k->role == WICK_ROLE_CLIENT);
    bool closed = (wick_conn_state(&conn) & WICK_CLOSED) != 0;
    fw_text d = {{0}, 0};
    fw_str(&d, "step ");
    fw_uint(&d, (uint32_t)step);
    fw_str(&d, ": events '");
    fw_str(&d, s.events.s);
    fw_str(&d, "' sent '");
    fw_str(&d, out_t.s);
    fw_str(&d, "' status ");
    fw_str(&d, wick_err_name(st));
    fw_str(&d, closed ? " closed" : " open");
    bool ok = strcmp(s.events.s, k->events) == 0 && strcmp(out_t.s, k->out) == 0 &&
              st == k->status && closed == k->closed;
    fw_check(ok, k->role == WICK_ROLE_SERVER ? "server" : "client", k->name, d.s);
    wick_conn_release(&conn);
}

size_t fw_engine_msg_cap(void)
{
    return sizeof msg_buf;
}

void fw_test_engine(size_t *base)
{
    static const size_t steps[] = {1, 5, WICK_RECV_MIN};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t j = 0; j < sizeof steps / sizeof steps[0]; j++) {
            run_case(&cases[i], steps[j]);
        }
    }
    *base = engine_base;
}
