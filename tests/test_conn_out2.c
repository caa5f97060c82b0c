/* Connection engine, output side, second part: API misuse (WICK_ERR_ARG)
 * on every sender and accessor, senders on a failed connection
 * (WICK_ERR_CLOSED), size overflow, and prepared frames of any length. */
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

static wick_conn C;
static trace TR;
static uint8_t OUT[512];

static void open_conn(wick_role role, size_t cap)
{
    wick_conn_config cfg;
    wick_conn_release(&C);
    trace_reset(&TR);
    TR.hook = NULL;
    TR.random_fails = false;
    wick_conn_config_default(&cfg, role);
    cfg.out_buf = OUT;
    cfg.out_cap = cap;
    assert_int_equal(wick_conn_init(&C, &cfg, &trace_callbacks, &TR), WICK_OK);
}

static void drain(void)
{
    size_t n = 0;
    (void)wick_conn_out_peek(&C, &n);
    wick_conn_out_consume(&C, n);
}

/* An unmasked frame to a server is a protocol error (RFC 6455 5.1): the
 * conn fails, queues close 1002 and reports WICK_CLOSED. */
static void fail_server(void)
{
    uint8_t in[] = {0x81, 0x00};
    size_t used = 0;
    wick_err err = wick_conn_recv(&C, in, sizeof in, &used);
    assert_true(err < 0);
    assert_int_equal(wick_conn_error(&C), err);
    assert_int_equal(wick_err_close_code(err), 1002);
}

static void test_null_conn(void **state)
{
    (void)state;
    size_t n = 99;
    size_t acc = 7;
    wick_prepared p = {(const uint8_t *)"\x81\x00", 2};
    assert_int_equal(wick_conn_send_space(NULL), 0);
    assert_int_equal(wick_conn_send(NULL, WICK_OP_TEXT, "a", 1, true), WICK_ERR_ARG);
    assert_int_equal(wick_conn_send_some(NULL, WICK_OP_TEXT, "a", 1, true, &acc), WICK_ERR_ARG);
    assert_int_equal(acc, 0);
    assert_int_equal(wick_conn_ping(NULL, "a", 1), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(NULL, 1000, NULL, 0), WICK_ERR_ARG);
    assert_int_equal(wick_conn_send_prepared(NULL, &p), WICK_ERR_ARG);
    assert_null(wick_conn_out_peek(NULL, &n));
    assert_int_equal(n, 0);
    assert_null(wick_conn_out_peek(NULL, NULL));
    wick_conn_out_consume(NULL, 5); /* no crash, nothing to check but ASan */
    assert_int_equal(wick_conn_out_pending(NULL), 0);
    assert_int_equal(wick_conn_state(NULL), 0);
    assert_int_equal(wick_conn_close_code(NULL), 0);
    assert_int_equal(wick_conn_error(NULL), WICK_ERR_ARG);
    assert_int_equal(wick_conn_role(NULL), WICK_ROLE_SERVER);
    assert_null(wick_conn_user(NULL));
}

static void test_bad_args(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 300);
    assert_ptr_equal(wick_conn_user(&C), &TR);
    assert_int_equal(wick_conn_role(&C), WICK_ROLE_SERVER);
    /* ping: NULL data with a length, and more than 125 bytes (5.5). */
    assert_int_equal(wick_conn_ping(&C, NULL, 1), WICK_ERR_ARG);
    assert_int_equal(wick_conn_ping(&C, OUT, 126), WICK_ERR_ARG);
    /* close: NULL reason with a length, reason over 123 bytes, a length
     * without a code, a code not allowed on the wire, bad UTF-8. */
    static const char big[124] = {0};
    assert_int_equal(wick_conn_close(&C, 1000, NULL, 1), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&C, 1000, big, 124), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&C, 0, "x", 1), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&C, 1005, NULL, 0), WICK_ERR_ARG);
    assert_int_equal(wick_conn_close(&C, 1000, "\xff", 1), WICK_ERR_ARG);
    /* send_some without somewhere to put the count. */
    assert_int_equal(wick_conn_send_some(&C, WICK_OP_TEXT, "a", 1, true, NULL), WICK_ERR_ARG);
    /* send_prepared: NULL prepared, NULL frame with a length. */
    wick_prepared bad = {NULL, 3};
    assert_int_equal(wick_conn_send_prepared(&C, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_conn_send_prepared(&C, &bad), WICK_ERR_ARG);
    /* None of this touched the output or the state. */
    assert_int_equal(wick_conn_out_pending(&C), 0);
    /* An empty ping may pass NULL (RFC 6455 5.5.2: payload optional). */
    assert_int_equal(wick_conn_ping(&C, NULL, 0), WICK_OK);
    size_t n = 0;
    const uint8_t *o = wick_conn_out_peek(&C, &n);
    assert_int_equal(n, 2);
    assert_int_equal(o[0], 0x89);
    assert_int_equal(o[1], 0x00);
    drain();
    assert_int_equal(wick_conn_state(&C), WICK_WANT_READ);
    assert_int_equal(wick_conn_error(&C), WICK_OK);
}

static void test_prepare_args(void **state)
{
    (void)state;
    uint8_t buf[16];
    wick_prepared p = {NULL, 0};
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "a", 1, buf, sizeof buf, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "a", 1, NULL, sizeof buf, &p), WICK_ERR_ARG);
    assert_int_equal(wick_prepare(WICK_OP_TEXT, NULL, 1, buf, sizeof buf, &p), WICK_ERR_ARG);
    assert_int_equal(wick_prepare(WICK_OP_PING, "a", 1, buf, sizeof buf, &p), WICK_ERR_ARG);
    assert_int_equal(wick_prepare(WICK_OP_CONT, "a", 1, buf, sizeof buf, &p), WICK_ERR_ARG);
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "abc", 3, buf, 4, &p), WICK_ERR_BUFFER_TOO_SMALL);
    assert_null(p.frame);
    /* An empty binary message: NULL data is fine with length 0. */
    assert_int_equal(wick_prepare(WICK_OP_BINARY, NULL, 0, buf, sizeof buf, &p), WICK_OK);
    assert_ptr_equal(p.frame, buf);
    assert_int_equal(p.len, 2);
    assert_int_equal(buf[0], 0x82);
    assert_int_equal(buf[1], 0x00);
}

/* A prepared frame of length 0 queues nothing and succeeds. */
static void test_prepared_empty(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 300);
    wick_prepared none = {NULL, 0};
    assert_int_equal(wick_conn_send_prepared(&C, &none), WICK_OK);
    assert_int_equal(wick_conn_out_pending(&C), 0);
    uint8_t buf[8];
    wick_prepared p;
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "hi", 2, buf, sizeof buf, &p), WICK_OK);
    assert_int_equal(wick_conn_send_prepared(&C, &p), WICK_OK);
    size_t n = 0;
    const uint8_t *o = wick_conn_out_peek(&C, &n);
    static const uint8_t want[] = {0x81, 0x02, 'h', 'i'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(o, want, sizeof want);
    /* Peek without a length still returns the window. */
    assert_ptr_equal(wick_conn_out_peek(&C, NULL), o);
}

/* A length whose frame size overflows size_t cannot fit: the check comes
 * before the data is read. */
static void test_size_overflow(void **state)
{
    (void)state;
    const char one = 'x';
    open_conn(WICK_ROLE_SERVER, 300);
    assert_int_equal(wick_conn_send(&C, WICK_OP_BINARY, &one, SIZE_MAX, true),
                     WICK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wick_conn_send(&C, WICK_OP_BINARY, &one, SIZE_MAX - 5, true),
                     WICK_ERR_BUFFER_TOO_SMALL);
    open_conn(WICK_ROLE_CLIENT, 300);
    assert_int_equal(wick_conn_send(&C, WICK_OP_BINARY, &one, SIZE_MAX - 13, true),
                     WICK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wick_conn_out_pending(&C), 0);
    /* The message did not start: a CONT is still out of place. */
    assert_int_equal(wick_conn_send(&C, WICK_OP_CONT, "a", 1, true), WICK_ERR_STATE);
}

/* After a protocol failure every sender reports WICK_ERR_CLOSED, the
 * space is 0, and the state says closed once the close 1002 is out. */
static void test_failed_conn(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 300);
    size_t before = wick_conn_send_space(&C);
    /* 300 - the close reserve - 4 header bytes (126 form) */
    assert_int_equal(before, 300 - WICK_OUT_RESERVE - 4);
    fail_server();
    assert_int_equal(wick_conn_send_space(&C), 0);
    size_t acc = 9;
    uint8_t buf[8];
    wick_prepared p;
    assert_int_equal(wick_prepare(WICK_OP_TEXT, "hi", 2, buf, sizeof buf, &p), WICK_OK);
    assert_int_equal(wick_conn_send(&C, WICK_OP_TEXT, "a", 1, true), WICK_ERR_CLOSED);
    assert_int_equal(wick_conn_send_some(&C, WICK_OP_TEXT, "a", 1, true, &acc), WICK_ERR_CLOSED);
    assert_int_equal(acc, 0);
    assert_int_equal(wick_conn_ping(&C, "a", 1), WICK_ERR_CLOSED);
    assert_int_equal(wick_conn_close(&C, 1000, "bye", 3), WICK_ERR_CLOSED);
    assert_int_equal(wick_conn_send_prepared(&C, &p), WICK_ERR_CLOSED);
    size_t n = 0;
    const uint8_t *o = wick_conn_out_peek(&C, &n);
    static const uint8_t want[] = {0x88, 0x02, 0x03, 0xea};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(o, want, sizeof want);
    assert_int_equal(wick_conn_state(&C), WICK_WANT_WRITE | WICK_CLOSING | WICK_CLOSED);
    drain();
    assert_int_equal(wick_conn_state(&C), WICK_CLOSING | WICK_CLOSED | WICK_SHOULD_CLOSE_TCP);
    assert_int_equal(wick_conn_out_pending(&C), 0);
}

/* Consuming more than is queued empties the window, no more. */
static void test_consume_clamp(void **state)
{
    (void)state;
    open_conn(WICK_ROLE_SERVER, 300);
    assert_int_equal(wick_conn_send(&C, WICK_OP_TEXT, "abc", 3, true), WICK_OK);
    wick_conn_out_consume(&C, 2);
    assert_int_equal(wick_conn_out_pending(&C), 3);
    wick_conn_out_consume(&C, 1000);
    assert_int_equal(wick_conn_out_pending(&C), 0);
    size_t n = 5;
    assert_null(wick_conn_out_peek(&C, &n));
    assert_int_equal(n, 0);
    /* The next frame starts at the buffer's start. */
    assert_int_equal(wick_conn_send(&C, WICK_OP_TEXT, "d", 1, true), WICK_OK);
    assert_ptr_equal(wick_conn_out_peek(&C, &n), OUT);
    assert_int_equal(n, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_conn),      cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_prepare_args),   cmocka_unit_test(test_prepared_empty),
        cmocka_unit_test(test_size_overflow),  cmocka_unit_test(test_failed_conn),
        cmocka_unit_test(test_consume_clamp),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    wick_conn_release(&C);
    trace_free(&TR);
    return rc;
}
