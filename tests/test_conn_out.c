/* Connection engine, output side: sending, client masking, the closing
 * handshake and state flags in both roles, backpressure with the waiting
 * pong/close, prepared frames, init/reset and reentrancy rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/trace.h"
#include "wick.h"

typedef struct fixture {
    wick_conn c;
    trace tr;
    uint8_t out[HARNESS_OUT_CAP];
    size_t cap;
    split_buf s;
} fixture;

static fixture F;

static void open_conn(wick_role role, size_t out_cap)
{
    wick_conn_config cfg;
    wick_conn_release(&F.c);
    trace_reset(&F.tr);
    F.tr.hook = NULL;
    F.tr.random_fails = false;
    wick_conn_config_default(&cfg, role);
    cfg.out_buf = F.out;
    cfg.out_cap = out_cap;
    F.cap = out_cap;
    assert_int_equal(wick_conn_init(&F.c, &cfg, &trace_callbacks, &F.tr), WICK_OK);
}

/* Output rendered as in trace.h (mask removed, flagged if wrong). */
static const char *out_str(void)
{
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&F.c, &n);
    split_buf_reset(&F.s);
    trace_render_out(&F.s, p, n, wick_conn_role(&F.c));
    return split_buf_str(&F.s);
}

static void drain_all(void)
{
    size_t n = 0;
    (void)wick_conn_out_peek(&F.c, &n);
    wick_conn_out_consume(&F.c, n);
}

/* Feeds bytes written as hex/'text', masked when the conn is a server. */
static wick_err feed(const char *hex)
{
    uint8_t raw[512], in[600];
    size_t n = trace_hex(hex, raw, sizeof raw);
    assert_true(n != (size_t)-1);
    if (wick_conn_role(&F.c) == WICK_ROLE_SERVER) {
        n = trace_mask_frames(raw, n, in, sizeof in);
    } else {
        memcpy(in, raw, n);
    }
    size_t used = 0;
    wick_err err = wick_conn_recv(&F.c, in, n, &used);
    if (err != WICK_PAUSED) {
        assert_int_equal(used, n);
    }
    return err;
}

static void test_send_server(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 512);
    /* RFC 6455 5.7: unmasked "Hello", then fragmented "Hel" + "lo". */
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "Hello", 5, true), WICK_OK);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "Hel", 3, false), WICK_OK);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "x", 1, true), WICK_ERR_STATE);
    assert_int_equal(wick_conn_ping(&F.c, "p", 1), WICK_OK); /* between fragments */
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_CONT, "lo", 2, true), WICK_OK);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_CONT, "x", 1, true), WICK_ERR_STATE);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, NULL, 0, true), WICK_OK);
    assert_string_equal(out_str(),
                        "81 05 48 65 6c 6c 6f 01 03 48 65 6c 89 01 70 80 02 6c 6f 82 00");
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&F.c, &n);
    static const uint8_t first[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(n, 21);
    assert_memory_equal(p, first, sizeof first);
    assert_int_equal(wick_conn_out_pending(&F.c), 21);
    assert_true(wick_conn_state(&F.c) & WICK_WANT_WRITE);
    /* Partial consume, then the rest. */
    wick_conn_out_consume(&F.c, 7);
    p = wick_conn_out_peek(&F.c, &n);
    assert_int_equal(n, 14);
    assert_ptr_equal(p, F.out + 7);
    wick_conn_out_consume(&F.c, 14);
    assert_null(wick_conn_out_peek(&F.c, &n));
    assert_int_equal(n, 0);
    assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ);
    /* Drained: the next frame starts at the buffer's start again. */
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, "a", 1, true), WICK_OK);
    assert_ptr_equal(wick_conn_out_peek(&F.c, &n), F.out);
    /* Argument errors. */
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_PING, "a", 1, true), WICK_ERR_ARG);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, NULL, 1, true), WICK_ERR_ARG);
    assert_int_equal(wick_conn_send(NULL, WICK_OP_TEXT, "a", 1, true), WICK_ERR_ARG);
    assert_int_equal(wick_conn_ping(&F.c, F.out, 126), WICK_ERR_ARG);
}

/* RFC 6455 5.3: a client masks every frame with 4 fresh bytes from
 * cb->random; unmasking with the same key gives the payload back. */
static void test_send_client_masking(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_CLIENT, 512);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "Hello", 5, true), WICK_OK);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "Hello", 5, true), WICK_OK);
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&F.c, &n);
    assert_int_equal(n, 22);
    /* The keys are the first 8 bytes of the test's deterministic source. */
    uint64_t rng = 0x1234567887654321u;
    uint8_t keys[8];
    for (int i = 0; i < 8; i++) {
        keys[i] = (uint8_t)split_rng_next(&rng);
    }
    for (int f = 0; f < 2; f++) {
        const uint8_t *fr = p + 11 * f;
        assert_int_equal(fr[0], 0x81);
        assert_int_equal(fr[1], 0x85);
        assert_memory_equal(fr + 2, keys + 4 * f, 4);
        uint8_t plain[5];
        for (int i = 0; i < 5; i++) {
            plain[i] = (uint8_t)(fr[6 + i] ^ keys[4 * f + (i % 4)]);
        }
        assert_memory_equal(plain, "Hello", 5);
    }
    assert_memory_not_equal(p + 2, p + 13, 4); /* fresh key per frame */
    drain_all();
    /* Control frames are masked too; the auto-pong as well. */
    assert_int_equal(wick_conn_ping(&F.c, "", 0), WICK_OK);
    assert_int_equal(feed("89 02 'hi'"), WICK_OK);
    assert_string_equal(out_str(), "89 00 8a 02 68 69");
    p = wick_conn_out_peek(&F.c, &n);
    assert_int_equal(p[1], 0x80);
    assert_int_equal(p[7], 0x82);
    /* A failing random source: nothing is queued. */
    drain_all();
    F.tr.random_fails = true;
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "x", 1, true), WICK_ERR_RANDOM);
    assert_int_equal(wick_conn_ping(&F.c, "x", 1), WICK_ERR_RANDOM);
    assert_int_equal(wick_conn_close(&F.c, 1000, NULL, 0), WICK_ERR_RANDOM);
    assert_int_equal(wick_conn_out_pending(&F.c), 0);
    assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ);
    /* A ping then cannot be answered: the connection fails with 1011 and,
     * with no way to mask a close frame, just asks for TCP to close. */
    assert_int_equal(feed("89 00"), WICK_ERR_RANDOM);
    assert_string_equal(trace_str(&F.tr), "ping \"hi\" | error WICK_ERR_RANDOM");
    assert_int_equal(wick_conn_out_pending(&F.c), 0);
    assert_int_equal(wick_conn_state(&F.c), WICK_CLOSING | WICK_CLOSED | WICK_SHOULD_CLOSE_TCP);
}

/* RFC 6455 7.1.1-7.1.3: the closing handshake and the TCP close, both
 * roles, both initiators. */
static void test_close_handshake(void **state)
{
    (void)state;
    for (int r = 0; r < 2; r++) {
        wick_role role = r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
        unsigned tcp = r ? 0u : (unsigned)WICK_SHOULD_CLOSE_TCP;

        /* We start it. */
        open_conn(role, 512);
        assert_int_equal(wick_conn_close(&F.c, 1000, "bye", 3), WICK_OK);
        assert_string_equal(out_str(), "88 05 03 e8 62 79 65");
        assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ | WICK_WANT_WRITE | WICK_CLOSING);
        assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "x", 1, true), WICK_ERR_CLOSED);
        assert_int_equal(wick_conn_ping(&F.c, "x", 1), WICK_ERR_CLOSED);
        assert_int_equal(wick_conn_close(&F.c, 1000, NULL, 0), WICK_ERR_CLOSED);
        assert_int_equal(wick_conn_send_space(&F.c), 0);
        drain_all();
        assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ | WICK_CLOSING);
        /* The peer may still send data and pings before its close; data is
         * delivered, pings get no pong after our close. */
        assert_int_equal(feed("81 01 'a' 89 00 88 02 03 e8"), WICK_OK);
        assert_string_equal(trace_str(&F.tr),
                            "begin text | data fin=1 \"a\" | ping \"\" | close 1000 \"\"");
        assert_int_equal(wick_conn_out_pending(&F.c), 0); /* no echo, no pong */
        assert_int_equal(wick_conn_state(&F.c), WICK_CLOSING | WICK_CLOSED | tcp);
        assert_int_equal(wick_conn_close_code(&F.c), 1000);
        assert_int_equal(wick_conn_error(&F.c), WICK_OK);
        /* Input after the handshake is consumed and ignored. */
        assert_int_equal(feed("81 01 'b'"), WICK_OK);

        /* The peer starts it: the echo carries the same code. */
        open_conn(role, 512);
        assert_int_equal(wick_conn_close_code(&F.c), 0);
        assert_int_equal(feed("88 06 0f a0 'ciao'"), WICK_OK);
        assert_string_equal(trace_str(&F.tr), "close 4000 \"ciao\"");
        assert_string_equal(out_str(), "88 02 0f a0");
        assert_int_equal(wick_conn_state(&F.c), WICK_WANT_WRITE | WICK_CLOSING | WICK_CLOSED);
        assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "x", 1, true), WICK_ERR_CLOSED);
        assert_int_equal(wick_conn_close(&F.c, 1000, NULL, 0), WICK_ERR_CLOSED);
        drain_all();
        assert_int_equal(wick_conn_state(&F.c), WICK_CLOSING | WICK_CLOSED | tcp);

        /* A failure: both roles close TCP once the close frame is out. */
        open_conn(role, 512);
        assert_int_equal(feed("80 00"), WICK_ERR_PROTO_CONTINUATION);
        assert_string_equal(out_str(), "88 02 03 ea");
        assert_int_equal(wick_conn_state(&F.c), WICK_WANT_WRITE | WICK_CLOSING | WICK_CLOSED);
        drain_all();
        assert_int_equal(wick_conn_state(&F.c), WICK_CLOSING | WICK_CLOSED | WICK_SHOULD_CLOSE_TCP);
        assert_int_equal(wick_conn_error(&F.c), WICK_ERR_PROTO_CONTINUATION);
        assert_int_equal(wick_conn_close_code(&F.c), 0);
        assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "x", 1, true), WICK_ERR_CLOSED);

        /* A close with no code is echoed empty; close(0) sends none. */
        open_conn(role, 512);
        assert_int_equal(wick_conn_close(&F.c, 0, NULL, 0), WICK_OK);
        assert_string_equal(out_str(), "88 00");
    }
    /* Argument checks (RFC 6455 5.5.1, 7.4). */
    open_conn(WICK_ROLE_SERVER, 512);
    char big[124];
    memset(big, 'r', sizeof big);
    assert_int_equal(wick_conn_close(&F.c, 1005, NULL, 0), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&F.c, 999, NULL, 0), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&F.c, 0, "x", 1), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&F.c, 1000, big, 124), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&F.c, 1000, "\xff", 1), WICK_ERR_ARG);
    assert_int_equal(wick_conn_out_pending(&F.c), 0);
    assert_int_equal(wick_conn_close(&F.c, 4999, big, 123), WICK_OK);
    assert_int_equal(wick_conn_out_pending(&F.c), 127);
}

/* Fills the output buffer with whole binary messages until no data frame
 * fits any more: all but the close reserve is used. */
static void fill(void)
{
    static const uint8_t junk[125];
    for (;;) {
        size_t room = wick_conn_send_space(&F.c);
        if (room == 0) {
            break;
        }
        size_t n = room < 64 ? room : 64;
        assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, junk, n, true), WICK_OK);
    }
    assert_true(F.cap - wick_conn_out_pending(&F.c) < WICK_OUT_RESERVE + 8);
}

/* A ping whose pong does not fit is not taken (WICK_BLOCKED, the bytes
 * untouched and unconsumed): a peer that does not read cannot make the
 * engine buffer pongs. Drained, the same bytes go through. */
static void test_pong_backpressure(void **state)
{
    (void)state;
    for (int r = 0; r < 2; r++) {
        wick_role role = r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
        open_conn(role, WICK_OUT_MIN);
        fill();
        size_t before = wick_conn_out_pending(&F.c);
        uint8_t raw[32], in[48], copy[48];
        size_t n = trace_hex("89 03 'one' 89 03 'two'", raw, sizeof raw);
        if (role == WICK_ROLE_SERVER) {
            n = trace_mask_frames(raw, n, in, sizeof in);
        } else {
            memcpy(in, raw, n);
        }
        memcpy(copy, in, n);
        size_t used = 99;
        assert_int_equal(wick_conn_recv(&F.c, in, n, &used), WICK_BLOCKED);
        assert_int_equal(used, 0);
        assert_memory_equal(in, copy, n); /* still masked: can be passed again */
        assert_string_equal(trace_str(&F.tr), "");
        assert_int_equal(wick_conn_out_pending(&F.c), before);
        assert_int_equal(wick_conn_state(&F.c) & WICK_WANT_WRITE, WICK_WANT_WRITE);
        /* Room for one pong: the first ping goes, the second waits. */
        wick_conn_out_consume(&F.c, r ? 9 : 5);
        assert_int_equal(wick_conn_recv(&F.c, in, n, &used), WICK_BLOCKED);
        assert_int_equal(used, n / 2);
        assert_string_equal(trace_str(&F.tr), "ping \"one\"");
        drain_all();
        assert_int_equal(wick_conn_recv(&F.c, in + used, n - used, &used), WICK_OK);
        assert_string_equal(trace_str(&F.tr), "ping \"one\" | ping \"two\"");
        assert_string_equal(out_str(), "8a 03 74 77 6f");
    }

    /* The close always fits (the reserve); after it no pong is due, so a
     * ping is taken even with the output full. */
    open_conn(WICK_ROLE_SERVER, WICK_OUT_MIN);
    fill();
    size_t before = wick_conn_out_pending(&F.c);
    assert_int_equal(wick_conn_close(&F.c, 1001, "gone", 4), WICK_OK);
    assert_int_equal(wick_conn_out_pending(&F.c), before + 8);
    assert_int_equal(feed("89 01 'p'"), WICK_OK);
    assert_int_equal(wick_conn_out_pending(&F.c), before + 8);
    assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ | WICK_WANT_WRITE | WICK_CLOSING);
    /* A close with the longest reason fits too, in both roles. */
    for (int r = 0; r < 2; r++) {
        static const char reason[123] = "r";
        open_conn(r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER, WICK_OUT_MIN);
        fill();
        before = wick_conn_out_pending(&F.c);
        assert_int_equal(wick_conn_close(&F.c, 1000, reason, 1), WICK_OK);
        open_conn(r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER, WICK_OUT_MIN);
        fill();
        char full[123];
        memset(full, 'x', sizeof full);
        assert_int_equal(wick_conn_close(&F.c, 1000, full, sizeof full), WICK_OK);
        assert_int_equal(wick_conn_out_pending(&F.c), before + (r ? 131u : 127u));
        assert_true(wick_conn_out_pending(&F.c) <= WICK_OUT_MIN);
    }
}

/* A failure while the output is full: the close frame still goes in (the
 * reserve), and SHOULD_CLOSE_TCP comes only once it is out. */
static void test_close_on_failure_when_full(void **state)
{
    (void)state;
    for (int r = 0; r < 2; r++) {
        open_conn(r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER, WICK_OUT_MIN);
        fill();
        size_t before = wick_conn_out_pending(&F.c);
        assert_int_equal(feed("81 02 ff ff"), WICK_ERR_UTF8);
        assert_int_equal(wick_conn_out_pending(&F.c), before + (r ? 8u : 4u));
        assert_int_equal(wick_conn_state(&F.c), WICK_WANT_WRITE | WICK_CLOSING | WICK_CLOSED);
        wick_conn_out_consume(&F.c, before);
        assert_string_equal(out_str(), "88 02 03 ef");
        assert_int_equal(wick_conn_state(&F.c), WICK_WANT_WRITE | WICK_CLOSING | WICK_CLOSED);
        drain_all();
        assert_int_equal(wick_conn_state(&F.c), WICK_CLOSING | WICK_CLOSED | WICK_SHOULD_CLOSE_TCP);
    }
}

static void test_send_space_and_some(void **state)
{
    (void)state;
    static uint8_t big[70000];
    /* Data may use all but the close reserve. */
    const size_t usable = WICK_OUT_MIN - WICK_OUT_RESERVE;
    open_conn(WICK_ROLE_SERVER, 1000);
    assert_int_equal(wick_conn_send_space(&F.c), 1000 - WICK_OUT_RESERVE - 4);
    open_conn(WICK_ROLE_CLIENT, 1000);
    assert_int_equal(wick_conn_send_space(&F.c), 1000 - WICK_OUT_RESERVE - 8);
    open_conn(WICK_ROLE_SERVER, WICK_OUT_MIN);
    assert_int_equal(wick_conn_send_space(&F.c), usable - 4);
    /* Never fits; would fit later; fits exactly. */
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, big, usable - 3, true),
                     WICK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, big, 100, true), WICK_OK);
    assert_int_equal(wick_conn_send_space(&F.c), usable - 102 - 2);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, big, usable - 102 - 1, true),
                     WICK_ERR_WOULD_BLOCK);
    assert_int_equal(wick_conn_out_pending(&F.c), 102);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, big, usable - 102 - 2, true), WICK_OK);
    assert_int_equal(wick_conn_send_space(&F.c), 0);
    assert_int_equal(wick_conn_out_pending(&F.c), usable);
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_BINARY, NULL, 0, true), WICK_ERR_WOULD_BLOCK);

    /* send_some: a message larger than the buffer goes out in pieces. */
    open_conn(WICK_ROLE_CLIENT, 4096);
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 31);
    }
    size_t sent = 0, frames = 0, acc = 0;
    uint8_t op = WICK_OP_BINARY;
    uint8_t *joined = malloc(sizeof big);
    assert_non_null(joined);
    size_t jl = 0;
    while (sent < sizeof big) {
        wick_err err = wick_conn_send_some(&F.c, op, big + sent, sizeof big - sent, true, &acc);
        if (err == WICK_ERR_WOULD_BLOCK) {
            assert_int_equal(acc, 0);
            /* Drain: unmask every frame and collect the payload. */
            size_t n = 0;
            const uint8_t *p = wick_conn_out_peek(&F.c, &n);
            size_t pos = 0;
            while (pos < n) {
                uint8_t b1 = p[pos + 1] & 0x7f;
                size_t hl = b1 == 126 ? 4 : 2;
                size_t pl = b1 == 126 ? ((size_t)p[pos + 2] << 8 | p[pos + 3]) : b1;
                assert_true(b1 != 127);
                assert_true(p[pos + 1] & 0x80);
                assert_int_equal(p[pos] & 0x0f, frames == 0 ? WICK_OP_BINARY : WICK_OP_CONT);
                bool fin = (p[pos] & 0x80) != 0;
                const uint8_t *key = p + pos + hl;
                for (size_t i = 0; i < pl; i++) {
                    joined[jl++] = (uint8_t)(p[pos + hl + 4 + i] ^ key[i % 4]);
                }
                frames++;
                pos += hl + 4 + pl;
                assert_true(!fin || jl == sizeof big);
            }
            wick_conn_out_consume(&F.c, n);
            continue;
        }
        assert_int_equal(err, WICK_OK);
        assert_true(acc > 0);
        sent += acc;
        op = WICK_OP_CONT;
    }
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&F.c, &n);
    assert_int_equal(p[0], 0x80); /* last frame: FIN + CONT */
    uint8_t b1 = p[1] & 0x7f;
    size_t hl = b1 == 126 ? 4 : 2;
    size_t pl = b1 == 126 ? ((size_t)p[2] << 8 | p[3]) : b1;
    for (size_t i = 0; i < pl; i++) {
        joined[jl++] = (uint8_t)(p[hl + 4 + i] ^ p[hl + (i % 4)]);
    }
    assert_int_equal(jl, sizeof big);
    assert_memory_equal(joined, big, sizeof big);
    assert_true(frames >= 17);
    free(joined);
    /* Not in a message: CONT is a state error; a new message is allowed. */
    assert_int_equal(wick_conn_send_some(&F.c, WICK_OP_CONT, "a", 1, true, &acc), WICK_ERR_STATE);
    assert_int_equal(wick_conn_send_some(&F.c, WICK_OP_TEXT, "a", 1, false, &acc), WICK_OK);
    assert_int_equal(acc, 1);
    assert_int_equal(wick_conn_send_some(&F.c, WICK_OP_TEXT, "a", 1, true, &acc), WICK_ERR_STATE);
    assert_int_equal(wick_conn_send_some(&F.c, WICK_OP_CONT, "", 0, true, &acc), WICK_OK);
    assert_int_equal(acc, 0);
    assert_int_equal(wick_conn_send_some(&F.c, WICK_OP_TEXT, "a", 1, true, NULL), WICK_ERR_ARG);
}

/* Fan-out (issue 3): one encoding, copied into many server outputs. */
static void test_prepared(void **state)
{
    (void)state;
    uint8_t buf[64];
    wick_prepared pm;
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "Hello", 5, buf, sizeof buf, &pm), WICK_OK);
    assert_int_equal(pm.len, 7);
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "Hello", 5, buf, 6, &pm),
                     WICK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wick_prepare(WICK_OP_PING, "Hello", 5, buf, sizeof buf, &pm), WICK_ERR_ARG);
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "Hello", 5, buf, sizeof buf, &pm), WICK_OK);

    static wick_conn conns[3];
    static uint8_t outs[3][WICK_OUT_MIN];
    static trace trs[3];
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    for (int i = 0; i < 3; i++) {
        cfg.out_buf = outs[i];
        cfg.out_cap = sizeof outs[i];
        assert_int_equal(wick_conn_init(&conns[i], &cfg, &trace_callbacks, &trs[i]), WICK_OK);
        assert_int_equal(wick_conn_send_prepared(&conns[i], &pm), WICK_OK);
        size_t n = 0;
        const uint8_t *p = wick_conn_out_peek(&conns[i], &n);
        assert_int_equal(n, 7);
        assert_memory_equal(p, "\x81\x05Hello", 7);
    }
    /* Inside a fragmented message, after close, on a client, too big. */
    assert_int_equal(wick_conn_send(&conns[0], WICK_OP_TEXT, "a", 1, false), WICK_OK);
    assert_int_equal(wick_conn_send_prepared(&conns[0], &pm), WICK_ERR_STATE);
    assert_int_equal(wick_conn_close(&conns[1], 1000, NULL, 0), WICK_OK);
    assert_int_equal(wick_conn_send_prepared(&conns[1], &pm), WICK_ERR_CLOSED);
    static uint8_t huge[WICK_OUT_MIN + 10], huge_frame[WICK_OUT_MIN + 10];
    wick_prepared ph;
    assert_int_equal(
        wick_prepare(WICK_OP_BINARY, huge, WICK_OUT_MIN, huge_frame, sizeof huge_frame, &ph),
        WICK_OK);
    assert_int_equal(wick_conn_send_prepared(&conns[2], &ph), WICK_ERR_BUFFER_TOO_SMALL);
    while (wick_conn_send_prepared(&conns[2], &pm) == WICK_OK) {
    }
    assert_int_equal(wick_conn_send_prepared(&conns[2], &pm), WICK_ERR_WOULD_BLOCK);
    assert_int_equal(wick_conn_out_pending(&conns[2]),
                     ((WICK_OUT_MIN - WICK_OUT_RESERVE) / 7) * 7);
    open_conn(WICK_ROLE_CLIENT, 512);
    assert_int_equal(wick_conn_send_prepared(&F.c, &pm), WICK_ERR_STATE);
    assert_int_equal(wick_conn_send_prepared(&F.c, NULL), WICK_ERR_ARG);
}

static void test_init_errors(void **state)
{
    (void)state;
    wick_conn c;
    wick_conn_config cfg;
    uint8_t out[WICK_OUT_MIN];
    wick_callbacks no_rand = trace_callbacks;
    no_rand.random = NULL;
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
    assert_int_equal(cfg.max_message, WICK_DEFAULT_MAX_MESSAGE);
    assert_int_equal(wick_conn_init(&c, &cfg, &trace_callbacks, NULL), WICK_ERR_ARG); /* no out */
    cfg.out_buf = out;
    cfg.out_cap = sizeof out - 1;
    assert_int_equal(wick_conn_init(&c, &cfg, &trace_callbacks, NULL), WICK_ERR_BUFFER_TOO_SMALL);
    cfg.out_cap = sizeof out;
    assert_int_equal(wick_conn_init(&c, &cfg, &no_rand, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_conn_init(NULL, &cfg, &trace_callbacks, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_conn_init(&c, NULL, &trace_callbacks, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_conn_init(&c, &cfg, NULL, NULL), WICK_ERR_ARG);
    cfg.role = (wick_role)7;
    assert_int_equal(wick_conn_init(&c, &cfg, &trace_callbacks, NULL), WICK_ERR_ARG);
    cfg.role = WICK_ROLE_SERVER;
    int u = 5;
    assert_int_equal(wick_conn_init(&c, &cfg, &no_rand, &u), WICK_OK); /* server needs none */
    assert_int_equal(wick_conn_role(&c), WICK_ROLE_SERVER);
    assert_ptr_equal(wick_conn_user(&c), &u);
    assert_int_equal(wick_conn_state(&c), WICK_WANT_READ);
    assert_int_equal(wick_conn_error(&c), WICK_OK);
    /* Release on a zeroed struct, twice. */
    wick_conn z;
    memset(&z, 0, sizeof z);
    wick_conn_release(&z);
    wick_conn_release(&z);
    wick_conn_release(NULL);
    uint8_t b[2] = {0x81, 0x00};
    assert_int_equal(wick_conn_recv(NULL, b, 2, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_conn_recv(&c, NULL, 2, NULL), WICK_ERR_ARG);
}

/* Reset after a failure gives a fresh OPEN connection. */
static void test_reset(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 512);
    assert_int_equal(feed("01 01 'a'"), WICK_OK);
    assert_int_equal(feed("81 00"), WICK_ERR_PROTO_FRAGMENT);
    assert_int_equal(feed("81 00"), WICK_ERR_PROTO_FRAGMENT); /* sticky */
    assert_int_equal(F.tr.errors, 1);
    assert_int_equal(wick_conn_reset(&F.c), WICK_OK);
    assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ);
    assert_int_equal(wick_conn_out_pending(&F.c), 0);
    trace_reset(&F.tr);
    assert_int_equal(feed("81 01 'b'"), WICK_OK);
    assert_string_equal(trace_str(&F.tr), "begin text | data fin=1 \"b\"");
    assert_int_equal(wick_conn_send(&F.c, WICK_OP_TEXT, "c", 1, true), WICK_OK);
}

/* Inside callbacks: recv and reset are refused, send/ping/close work. */
static int reentry_hook(trace *t, wick_conn *c, const char *ev)
{
    uint8_t b[2] = {0x81, 0x00};
    char note[96];
    snprintf(note, sizeof note, "[%s recv=%s reset=%s]", ev,
             wick_err_name(wick_conn_recv(c, b, 2, NULL)), wick_err_name(wick_conn_reset(c)));
    trace_note(t, note);
    if (strcmp(ev, "data-fin") == 0) {
        wick_err e = wick_conn_send(c, WICK_OP_TEXT, "echo", 4, true);
        trace_note(t, wick_err_name(e));
    }
    if (strcmp(ev, "ping") == 0) {
        trace_note(t, wick_err_name(wick_conn_close(c, 1000, NULL, 0)));
    }
    return 0;
}

static void test_reentrancy(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 512);
    F.tr.hook = reentry_hook;
    assert_int_equal(feed("81 02 'hi' 89 00 81 01 'x'"), WICK_OK);
    assert_string_equal(trace_str(&F.tr),
                        "begin text | data fin=1 \"hi\" | "
                        "[data-fin recv=WICK_ERR_STATE reset=WICK_ERR_STATE] | "
                        "WICK_OK | ping \"\" | [ping recv=WICK_ERR_STATE reset=WICK_ERR_STATE] | "
                        "WICK_OK | begin text | data fin=1 \"x\" | "
                        "[data-fin recv=WICK_ERR_STATE reset=WICK_ERR_STATE] | "
                        "WICK_ERR_CLOSED");
    /* Echo, pong, close: in that order. */
    assert_string_equal(out_str(), "81 04 65 63 68 6f 8a 00 88 02 03 e8");
    assert_int_equal(wick_conn_state(&F.c), WICK_WANT_READ | WICK_WANT_WRITE | WICK_CLOSING);
}

/* Pause at every callback with a direct check of *consumed: the bytes
 * after the pause are exactly the ones not yet processed. */
static int pause_hook(trace *t, wick_conn *c, const char *ev)
{
    (void)t;
    (void)c;
    (void)ev;
    return WICK_PAUSE;
}

static void test_pause_consumed(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_CLIENT, 512);
    F.tr.hook = pause_hook;
    uint8_t in[32];
    size_t n = trace_hex("01 02 'ab' 89 01 'p' 80 01 'c' 88 00", in, sizeof in);
    size_t used = 0, pos = 0;
    static const size_t want_pos[] = {4, 7, 10, 12};
    static const char *const want_ev[] = {
        "begin text | data fin=0 \"ab\"",
        "begin text | data fin=0 \"ab\" | ping \"p\"",
        "begin text | data fin=0 \"ab\" | ping \"p\" | data fin=1 \"c\"",
        "begin text | data fin=0 \"ab\" | ping \"p\" | data fin=1 \"c\" | close 1005 \"\"",
    };
    for (size_t i = 0; i < 4; i++) {
        wick_err err = wick_conn_recv(&F.c, in + pos, n - pos, &used);
        assert_int_equal(err, WICK_PAUSED);
        pos += used;
        assert_int_equal(pos, want_pos[i]);
        assert_string_equal(trace_str(&F.tr), want_ev[i]);
    }
    assert_int_equal(wick_conn_recv(&F.c, in + pos, n - pos, &used), WICK_OK);
    assert_int_equal(used, 0);
}

static int group_setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    wick_conn_release(&F.c);
    trace_free(&F.tr);
    split_buf_free(&F.s);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_server),
        cmocka_unit_test(test_send_client_masking),
        cmocka_unit_test(test_close_handshake),
        cmocka_unit_test(test_pong_backpressure),
        cmocka_unit_test(test_close_on_failure_when_full),
        cmocka_unit_test(test_send_space_and_some),
        cmocka_unit_test(test_prepared),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_reentrancy),
        cmocka_unit_test(test_pause_consumed),
    };
    return cmocka_run_group_tests_name("conn_out", tests, group_setup, group_teardown);
}
