/* Connection engine hooks: the allocator (counting, failing the Nth
 * allocation, release mid-message) and the receive-side extension. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/failalloc.h"
#include "support/trace.h"
#include "wick.h"

static harness H;

static void reset_harness(wick_role role)
{
    wick_conn_release(&H.conn);
    wick_conn_config_default(&H.cfg, role);
    H.cb = NULL;
    H.tr.hook = NULL;
    H.tr.fail_at = 0;
    H.drain = true;
}

/* --- Allocator hook ------------------------------------------------------ */

/* The bytes of `hex` as the peer of the harness's role sends them (masked
 * for a server) into in[0..cap); returns their length. */
static size_t wire_input(const char *hex, uint8_t *in, size_t cap)
{
    uint8_t raw[2048];
    size_t n = trace_hex(hex, raw, sizeof raw);
    assert_true(n != (size_t)-1 && n <= cap);
    if (H.cfg.role == WICK_ROLE_SERVER) {
        n = trace_mask_frames(raw, n, in, cap);
        assert_true(n != (size_t)-1);
    } else {
        memcpy(in, raw, n);
    }
    return n;
}

/* One run with the whole input in one call; the result (caller frees). */
static char *run_whole(const uint8_t *in, size_t n)
{
    char *got = NULL;
    size_t whole = n;
    assert_int_equal(split_run_sizes(&harness_ops, &H, in, n, &whole, 1, &got), 0);
    return got;
}

static void feed_hex_all(const char *hex, const char *want)
{
    uint8_t in[2100];
    size_t n = wire_input(hex, in, sizeof in);
    assert_int_equal(split_run_all(&harness_ops, &H, in, n, want, NULL), 0);
}

/* Builds hex for a fragmented binary message of frames of sizes[] bytes
 * filled with 'x' (written as 78). */
static void frag_hex(char *out, size_t cap, const size_t *sizes, size_t n)
{
    size_t o = 0;
    for (size_t f = 0; f < n; f++) {
        unsigned b0 = (f == 0 ? 0x2u : 0x0u) | (f + 1 == n ? 0x80u : 0u);
        if (sizes[f] <= 125) {
            o += (size_t)snprintf(out + o, cap - o, "%02x %02zx ", b0, sizes[f]);
        } else {
            o += (size_t)snprintf(out + o, cap - o, "%02x 7e %02zx %02zx ", b0, sizes[f] >> 8,
                                  sizes[f] & 0xff);
        }
        for (size_t i = 0; i < sizes[f]; i++) {
            o += (size_t)snprintf(out + o, cap - o, "78");
        }
        o += (size_t)snprintf(out + o, cap - o, " ");
    }
}

static void test_conn_alloc_counting(void **state)
{
    (void)state;
    static char hex[6000];
    static const size_t sizes[] = {10, 100, 900};
    frag_hex(hex, sizeof hex, sizes, 3);
    const char *want = "message binary <1010 bytes c2a1222d> => WICK_OK || -";
    failalloc fa;

    /* Without reassembly (no on_message): the engine never allocates. */
    static wick_callbacks no_msg;
    no_msg = trace_callbacks;
    no_msg.on_message = NULL;
    reset_harness(WICK_ROLE_SERVER);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cb = &no_msg;
    feed_hex_all(hex, "begin binary | data fin=1 <1010 bytes c2a1222d> => WICK_OK || -");
    assert_int_equal(fa.attempts, 0);

    /* Whole-message delivery with the allocator: messages that are one
     * frame inside one input are handed over from the input, so nothing is
     * allocated (text, binary, empty, 16-bit length). */
    reset_harness(WICK_ROLE_SERVER);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    {
        static char one[1200];
        size_t o = (size_t)snprintf(one, sizeof one, "81 02 'hi' 82 00 82 7e 00 c8 ");
        for (int i = 0; i < 200; i++) {
            o += (size_t)snprintf(one + o, sizeof one - o, "7a");
        }
        uint8_t in[450];
        char *got = run_whole(in, wire_input(one, in, sizeof in));
        assert_string_equal(got, "message text \"hi\" | message binary \"\" | message binary "
                                 "<200 bytes be294485> => WICK_OK || -");
        free(got);
        assert_int_equal(fa.attempts, 0);
    }

    /* With it: capacity grows at each header (64, then 2x or the need):
     * 3 allocations per message for 10 + 100 + 900 bytes, all freed, each
     * with its size; the same count for every split. */
    reset_harness(WICK_ROLE_SERVER);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    uint8_t in[1200];
    size_t n = wire_input(hex, in, sizeof in);
    char *got = run_whole(in, n);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(fa.allocs, 3);
    assert_int_equal(fa.frees, 3);
    assert_int_equal(fa.live, 0);
    failalloc_init(&fa, 0);
    feed_hex_all(hex, want);
    unsigned runs = fa.allocs / 3;
    assert_true(runs > 100);
    assert_int_equal(fa.allocs, runs * 3);
    assert_int_equal(fa.bad_frees, 0);
    assert_int_equal(fa.live, 0);

    /* WICK_CONF_OVERSIZE_STREAM: past max_message the buffer is given back
     * at once and the message only streams (no on_message). */
    reset_harness(WICK_ROLE_SERVER);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cfg.max_message = 50;
    H.cfg.flags = WICK_CONF_OVERSIZE_STREAM;
    got = run_whole(in, n);
    assert_string_equal(got, "begin binary | data fin=1 <1010 bytes c2a1222d> => WICK_OK || -");
    free(got);
    assert_int_equal(fa.allocs, 1);
    assert_int_equal(fa.frees, 1);
    assert_int_equal(fa.live, 0);
    assert_int_equal(fa.bad_frees, 0);

    /* msg_buf first, the allocator only beyond it (contents carried). */
    static uint8_t mb[50];
    reset_harness(WICK_ROLE_CLIENT);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cfg.msg_buf = mb;
    H.cfg.msg_cap = sizeof mb;
    feed_hex_all("01 03 'abc' 80 02 'de'", "message text \"abcde\" => WICK_OK || -");
    assert_int_equal(fa.attempts, 0);
    static const size_t s2[] = {40, 20};
    frag_hex(hex, sizeof hex, s2, 2);
    failalloc_init(&fa, 0);
    split_buf w = {0};
    uint8_t sixty[60];
    memset(sixty, 'x', sizeof sixty);
    split_buf_printf(&w, "message binary ");
    trace_quote(&w, sixty, 60);
    split_buf_printf(&w, " => WICK_OK || -");
    feed_hex_all(hex, split_buf_str(&w));
    split_buf_free(&w);
    assert_true(fa.allocs > 0);
    assert_int_equal(fa.live, 0);
    assert_int_equal(fa.bad_frees, 0);
    wick_conn_release(&H.conn);
}

/* RFC 6455 7.1.7 with WICK_ERR_NOMEM: close 1011, nothing leaks. */
static void test_conn_alloc_failing(void **state)
{
    (void)state;
    static char hex[6000];
    static const size_t sizes[] = {10, 100, 900};
    frag_hex(hex, sizeof hex, sizes, 3);
    /* Whole-message delivery: nothing of the message reaches the caller. */
    static const char *const want[] = {
        "error WICK_ERR_NOMEM => WICK_ERR_NOMEM || 88 02 03 f3",
        "error WICK_ERR_NOMEM => WICK_ERR_NOMEM || 88 02 03 f3",
        "error WICK_ERR_NOMEM => WICK_ERR_NOMEM || 88 02 03 f3",
    };
    for (unsigned k = 1; k <= 3; k++) {
        failalloc fa;
        reset_harness(WICK_ROLE_SERVER);
        failalloc_init(&fa, k);
        H.cfg.allocator = &fa.a;
        /* Every run allocates afresh: fail the kth attempt of each run by
         * restarting the counter in a hook-free way: one run at a time. */
        uint8_t in[1200];
        size_t n = wire_input(hex, in, sizeof in);
        char *got = run_whole(in, n);
        if (strcmp(got, want[k - 1]) != 0) {
            fail_msg("fail_at %u: %s", k, got);
        }
        free(got);
        /* One byte at a time as well. */
        failalloc_init(&fa, k);
        size_t *ones = malloc(n * sizeof *ones);
        assert_non_null(ones);
        for (size_t i = 0; i < n; i++) {
            ones[i] = 1;
        }
        assert_int_equal(split_run_sizes(&harness_ops, &H, in, n, ones, n, &got), 0);
        assert_string_equal(got, want[k - 1]);
        free(got);
        free(ones);
        assert_int_equal(wick_conn_error(&H.conn), WICK_ERR_NOMEM);
        wick_conn_release(&H.conn);
        assert_int_equal(fa.live, 0);
        assert_int_equal(fa.bad_frees, 0);
    }
}

/* Release in the middle of a reassembled message frees the buffer at
 * once; the rest of the message streams through on_data (from its first
 * chunk's point of view) and on_message does not fire for it. Messages
 * that arrive whole in the input (the empty one, 'f') need no allocation
 * and an empty one is not given NULL. */
static void test_conn_release_mid_message(void **state)
{
    (void)state;
    failalloc fa;
    reset_harness(WICK_ROLE_CLIENT);
    failalloc_init(&fa, 0);
    H.cfg.allocator = &fa.a;
    H.cfg.out_buf = H.out_buf;
    H.cfg.out_cap = sizeof H.out_buf;
    trace_reset(&H.tr);
    assert_int_equal(wick_conn_init(&H.conn, &H.cfg, &trace_callbacks, &H.tr), WICK_OK);
    uint8_t in[64];
    size_t n = trace_hex("82 00 01 03 'abc'", in, sizeof in);
    assert_int_equal(wick_conn_recv(&H.conn, in, n, NULL), WICK_OK);
    assert_int_equal(fa.allocs, 1);
    assert_int_equal(fa.live, 64);
    wick_conn_release(&H.conn);
    assert_int_equal(fa.live, 0);
    n = trace_hex("80 02 'de' 81 01 'f'", in, sizeof in);
    assert_int_equal(wick_conn_recv(&H.conn, in, n, NULL), WICK_OK);
    assert_string_equal(trace_str(&H.tr), "message binary \"\" | begin text | data fin=1 \"de\" | "
                                          "message text \"f\"");
    wick_conn_release(&H.conn);
    assert_int_equal(fa.allocs, 1);
    assert_int_equal(fa.frees, 1);
    assert_int_equal(fa.bad_frees, 0);
}

/* The allocator hook may pick the close code of its failure (wick.h):
 * wick_conn_close(1013) inside alloc, then NULL: one close frame, 1013. */
static void *alloc_refuse_1013(size_t n, void *ud)
{
    (void)n;
    assert_int_equal(wick_conn_close((wick_conn *)ud, 1013, "busy", 4), WICK_OK);
    return NULL;
}

static void alloc_free_unused(void *p, size_t n, void *ud)
{
    (void)p;
    (void)n;
    (void)ud;
    fail_msg("nothing was allocated");
}

static void test_conn_alloc_close_code(void **state)
{
    (void)state;
    static uint8_t out[1024];
    wick_conn c;
    wick_allocator a = {alloc_refuse_1013, alloc_free_unused, &c};
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
    cfg.out_buf = out;
    cfg.out_cap = sizeof out;
    cfg.allocator = &a;
    assert_int_equal(wick_conn_init(&c, &cfg, &trace_callbacks, &H.tr), WICK_OK);
    trace_reset(&H.tr);
    uint8_t in[] = {0x01, 0x02, 'a', 'b'}; /* a fragment: reassembly starts */
    size_t used = 0;
    assert_int_equal(wick_conn_recv(&c, in, sizeof in, &used), WICK_ERR_NOMEM);
    split_buf b;
    memset(&b, 0, sizeof b);
    size_t on = 0;
    const uint8_t *o = wick_conn_out_peek(&c, &on);
    trace_render_out(&b, o, on, WICK_ROLE_CLIENT);
    assert_string_equal(split_buf_str(&b), "88 06 03 f5 62 75 73 79"); /* 1013 "busy" */
    split_buf_free(&b);
    assert_string_equal(trace_str(&H.tr), "error WICK_ERR_NOMEM");
    wick_conn_release(&c);
}

/* --- Extension hook --------------------------------------------------------
 * A trivial "extension" whose decoding XORs every byte with 0x20 and emits
 * one byte at a time; '!' makes decode fail with an unknown value, '~'
 * with WICK_ERR_TOO_BIG. */

static int xor_decode(void *st, const uint8_t *in, size_t len, bool fin, size_t *used,
                      wick_emit_fn emit, void *ctx)
{
    unsigned *calls = st;
    (*calls)++;
    (void)fin;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '!') {
            return -12345;
        }
        if (in[i] == '~') {
            return WICK_ERR_TOO_BIG;
        }
        uint8_t b = (uint8_t)(in[i] ^ 0x20);
        int rc = emit(ctx, &b, 1);
        if (rc == WICK_PAUSE) {
            *used = i + 1; /* the rest comes again after the pause */
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static unsigned xor_calls;
static const wick_extension xor_ext = {WICK_RSV1, xor_decode, &xor_calls, NULL, NULL};

struct ext_case {
    const char *name;
    unsigned flags; /* WICK_CONF_* */
    uint64_t max_message;
    size_t msg_cap;
    const char *in;
    const char *want;
};

static const struct ext_case ext_cases[] = {
    {"decoded single frame", 0, 0, 0, "c1 05 'HELLO'",
     "begin text | data fin=1 \"hello\" => WICK_OK || -"},
    {"decoded fragments with ping", 0, 0, 0, "41 03 'HEL' 89 00 80 02 'LO'",
     "begin text | data fin=0 \"hel\" | ping \"\" | data fin=1 \"lo\" => WICK_OK || 8a 00"},
    {"decoded binary, empty", 0, 0, 0, "c2 00", "begin binary | data fin=1 \"\" => WICK_OK || -"},
    {"reassembled", 0, 0, 16, "41 03 'HEL' 80 02 'LO'", "message text \"hello\" => WICK_OK || -"},
    {"reassembled single frame (decoded bytes are copied)", 0, 0, 16, "c1 03 'ABC'",
     "message text \"abc\" => WICK_OK || -"},
    {"reassembled, over msg_cap", 0, 0, 4, "c1 05 'HELLO'",
     "error WICK_ERR_TOO_BIG => WICK_ERR_TOO_BIG || 88 02 03 f1"},
    {"not compressed: untouched", 0, 0, 0, "81 02 'AB'",
     "begin text | data fin=1 \"AB\" => WICK_OK || -"},
    {"RSV1 on a continuation", 0, 0, 0, "41 01 'A' c0 01 'B'",
     "begin text | data fin=0 \"a\" | error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 "
     "ea"},
    {"RSV1 on a control frame", 0, 0, 0, "c9 00",
     "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea"},
    {"RSV2 not claimed", 0, 0, 0, "a1 01 'a'",
     "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea"},
    {"decoded bytes are UTF-8 checked", 0, 0, 0, "c1 03 'AB' df",
     "begin text | data fin=0 \"ab\" | error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef"},
    {"decoded text cut short", 0, 0, 0, "c1 02 'A' c2",
     "begin text | data fin=0 \"a\\xe2\" | error WICK_ERR_UTF8 => WICK_ERR_UTF8 || 88 02 03 ef"},
    {"limit on decoded bytes", 0, 3, 0, "c1 05 'HELLO'",
     "begin text | data fin=0 \"hel\" | error WICK_ERR_TOO_BIG => WICK_ERR_TOO_BIG || 88 02 03 f1"},
    {"decode fails: unknown value", 0, 0, 0, "c1 03 'AB!'",
     "begin text | data fin=0 \"ab\" | error WICK_ERR_EXTENSION => WICK_ERR_EXTENSION || "
     "88 02 03 f3"},
    {"decode fails with a wick_err", 0, 0, 0, "c1 03 'AB~'",
     "begin text | data fin=0 \"ab\" | error WICK_ERR_TOO_BIG => WICK_ERR_TOO_BIG || 88 02 03 f1"},
    /* Over max_message while reassembling: the gathered part streams
     * first; a pause there must not lose the decoded byte that overflowed
     * (found by fuzz_conn). */
    {"reassembled, oversize streams on", WICK_CONF_OVERSIZE_STREAM, 4, 16, "c1 06 'HELLO!'",
     "begin text | data fin=0 \"hello\" | error WICK_ERR_EXTENSION => WICK_ERR_EXTENSION || "
     "88 02 03 f3"},
    {"reassembled, oversize streams on, fragments", WICK_CONF_OVERSIZE_STREAM, 4, 16,
     "41 03 'HEL' 00 01 'L' 80 02 'OK'", "begin text | data fin=1 \"hellok\" => WICK_OK || -"},
};

#ifdef WICK_NO_EXTENSIONS
/* Built without the hook (firmware without extensions): a config that
 * asks for one is refused, and RSV1 stays a protocol error (1002). */
static void test_conn_extension(void **state)
{
    (void)state;
    static uint8_t out[256];
    wick_conn c;
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
    cfg.out_buf = out;
    cfg.out_cap = sizeof out;
    cfg.extension = &xor_ext;
    static const wick_callbacks none = {0};
    assert_int_equal(wick_conn_init(&c, &cfg, &none, NULL), WICK_ERR_ARG);
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        if (strcmp(ext_cases[i].name, "decoded single frame") != 0) {
            continue;
        }
        reset_harness(WICK_ROLE_CLIENT);
        uint8_t in[64];
        size_t n = trace_hex(ext_cases[i].in, in, sizeof in);
        assert_true(n != (size_t)-1);
        if (harness_run(&H, in, n, "error WICK_ERR_PROTO_RSV => WICK_ERR_PROTO_RSV || 88 02 03 ea",
                        true) != 0) {
            fail_msg("RSV1 without the hook");
        }
    }
    assert_int_equal(xor_calls, 0);
}
#else
static void test_conn_extension(void **state)
{
    (void)state;
    static uint8_t mb[16];
    for (size_t i = 0; i < sizeof ext_cases / sizeof ext_cases[0]; i++) {
        const struct ext_case *k = &ext_cases[i];
        for (int r = 0; r < 2; r++) {
            reset_harness(r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER);
            H.cfg.extension = &xor_ext;
            H.cfg.flags = k->flags;
            if (k->max_message) {
                H.cfg.max_message = k->max_message;
            }
            if (k->msg_cap) {
                H.cfg.msg_buf = mb;
                H.cfg.msg_cap = k->msg_cap;
            }
            uint8_t raw[256], in[300];
            size_t n = trace_hex(k->in, raw, sizeof raw);
            assert_true(n != (size_t)-1);
            if (r == 0) {
                n = trace_mask_frames(raw, n, in, sizeof in);
            } else {
                memcpy(in, raw, n);
            }
            xor_calls = 0;
            if (harness_run(&H, in, n, k->want, true) != 0) {
                fail_msg("extension case \"%s\"", k->name);
            }
        }
    }
    assert_true(xor_calls > 0);
}
#endif

static int group_setup(void **state)
{
    (void)state;
    harness_init(&H, WICK_ROLE_SERVER);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_free(&H);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_alloc_counting),
        cmocka_unit_test(test_conn_alloc_failing),
        cmocka_unit_test(test_conn_alloc_close_code),
        cmocka_unit_test(test_conn_release_mid_message),
        cmocka_unit_test(test_conn_extension),
    };
    return cmocka_run_group_tests_name("conn_hooks", tests, group_setup, group_teardown);
}
