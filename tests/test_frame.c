/* Frame codec tests (RFC 6455 5.2): the parser under every split of its
 * input, the writers, and a random round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/split.h"
#include "vectors/frames.h"
#include "wick.h"

/* --- Parser trace ---------------------------------------------------------
 *
 * One line per frame: "H fin=1 rsv=0 op=1 m=1 key=37fa213d len=5" for the
 * header, then "D len=5 "Hello"" when the frame ends (payloads over 32
 * bytes print as an FNV-1a hash), each followed by "|". Errors print as
 * "E WICK_ERR_...". Payload chunks are joined, so any chunking of the same
 * stream gives the same trace. */

#define SMALL_PAYLOAD 32

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001B3u;
    }
    return h;
}

#define FNV_INIT 0xCBF29CE484222325u

static void fmt_header(split_buf *b, const wick_frame_header *h)
{
    split_buf_printf(b, "H fin=%d rsv=%x op=%x m=%d key=%02x%02x%02x%02x len=%llu|", h->fin,
                     h->rsv, h->opcode, h->masked, h->mask[0], h->mask[1], h->mask[2], h->mask[3],
                     (unsigned long long)h->payload_len);
}

static void fmt_payload(split_buf *b, const uint8_t *p, size_t n, uint64_t hash)
{
    if (n <= SMALL_PAYLOAD) {
        split_buf_printf(b, "D len=%zu \"", n);
        split_buf_bytes(b, p, n);
        split_buf_printf(b, "\"|");
    } else {
        split_buf_printf(b, "D len=%zu fnv=%016llx|", n, (unsigned long long)hash);
    }
}

typedef struct pctx {
    wick_frame_parser p;
    wick_role role;
    uint8_t rsv_allowed;
    uint64_t max_frame;
    split_buf trace;
    wick_frame_header cur;
    uint64_t got;
    uint64_t hash;
    uint8_t small[SMALL_PAYLOAD];
} pctx;

static void p_begin(void *ctx)
{
    pctx *c = ctx;
    wick_frame_parser_init(&c->p, c->role, c->rsv_allowed, c->max_frame);
    split_buf_reset(&c->trace);
    memset(&c->cur, 0, sizeof(c->cur));
    c->got = 0;
    c->hash = FNV_INIT;
}

static bool same_header(const wick_frame_header *a, const wick_frame_header *b)
{
    return a->fin == b->fin && a->rsv == b->rsv && a->opcode == b->opcode &&
           a->masked == b->masked && memcmp(a->mask, b->mask, 4) == 0 &&
           a->payload_len == b->payload_len;
}

static void on_data(pctx *c, const wick_frame_event *ev)
{
    if (!same_header(&ev->header, &c->cur)) {
        split_buf_printf(&c->trace, "BADHDR|");
    }
    if (ev->offset != c->got) {
        split_buf_printf(&c->trace, "BADOFF %llu!=%llu|", (unsigned long long)ev->offset,
                         (unsigned long long)c->got);
    }
    if (ev->len == 0 && !ev->frame_end) {
        split_buf_printf(&c->trace, "EMPTY|");
    }
    for (size_t i = 0; i < ev->len; i++) {
        if (c->got + i < SMALL_PAYLOAD) {
            c->small[c->got + i] = ev->data[i];
        }
    }
    c->hash = fnv(c->hash, ev->data, ev->len);
    c->got += ev->len;
    if (ev->frame_end) {
        if (c->got != c->cur.payload_len) {
            split_buf_printf(&c->trace, "SHORT|");
        }
        fmt_payload(&c->trace, c->small, (size_t)c->got, c->hash);
    }
}

static int p_feed(void *ctx, uint8_t *buf, size_t len, size_t *consumed)
{
    pctx *c = ctx;
    size_t used = 0;
    for (;;) {
        wick_frame_event ev;
        size_t n = 0;
        wick_err e = wick_frame_parser_feed(&c->p, buf + used, len - used, &n, &ev);
        if (e != WICK_OK) {
            split_buf_printf(&c->trace, "E %s|", wick_err_name(e));
            *consumed = used;
            return SPLIT_STOP;
        }
        if (n > len - used) {
            split_buf_printf(&c->trace, "OVERRUN|");
            return SPLIT_FAIL;
        }
        used += n;
        if (ev.type == WICK_FRAME_NONE) {
            if (used != len) {
                split_buf_printf(&c->trace, "NONE-WITH-INPUT|");
            }
            break;
        }
        if (ev.type == WICK_FRAME_HEADER) {
            c->cur = ev.header;
            c->got = 0;
            c->hash = FNV_INIT;
            fmt_header(&c->trace, &ev.header);
        } else {
            on_data(c, &ev);
        }
    }
    *consumed = used;
    return SPLIT_OK;
}

static const char *p_result(void *ctx)
{
    return split_buf_str(&((pctx *)ctx)->trace);
}

static const split_ops parse_ops = {p_begin, p_feed, NULL, p_result};

/* --- Helpers for vectors ------------------------------------------------- */

static uint8_t *vec_payload(const frame_vec *v)
{
    uint8_t *p = malloc(v->payload_len ? v->payload_len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < v->payload_len; i++) {
        p[i] = v->payload != NULL ? v->payload[i] : frame_vec_payload_byte(i);
    }
    return p;
}

/* The whole frame on the wire: the vector's bytes plus a generated payload. */
static uint8_t *vec_wire(const frame_vec *v, size_t *len)
{
    size_t extra = v->payload != NULL ? 0 : v->payload_len;
    uint8_t *w = malloc(v->wire_len + extra);
    assert_non_null(w);
    memcpy(w, v->wire, v->wire_len);
    for (size_t i = 0; i < extra; i++) {
        w[v->wire_len + i] = frame_vec_payload_byte(i);
    }
    *len = v->wire_len + extra;
    return w;
}

static void vec_expect(split_buf *b, const frame_vec *v)
{
    wick_frame_header h;
    memset(&h, 0, sizeof(h));
    h.fin = v->fin;
    h.opcode = v->opcode;
    h.masked = v->masked;
    memcpy(h.mask, v->mask, 4);
    h.payload_len = v->payload_len;
    fmt_header(b, &h);
    uint8_t *pl = vec_payload(v);
    fmt_payload(b, pl, v->payload_len, fnv(FNV_INIT, pl, v->payload_len));
    free(pl);
}

static split_opts big_opts(size_t len)
{
    split_opts o;
    memset(&o, 0, sizeof(o));
    if (len > 4096) {
        o.max_points = 128;
        o.random_runs = 6;
    }
    return o;
}

/* RFC 6455 5.7: each example frame parses to exactly its fields and
 * payload, under every split. */
static void test_rfc_vectors_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < FRAME_VECTORS_COUNT; i++) {
        const frame_vec *v = &frame_vectors[i];
        pctx c;
        memset(&c, 0, sizeof(c));
        c.role = v->masked ? WICK_ROLE_SERVER : WICK_ROLE_CLIENT;
        split_buf want = {0};
        vec_expect(&want, v);
        size_t len = 0;
        uint8_t *w = vec_wire(v, &len);
        split_opts o = big_opts(len);
        int rc = split_run_all(&parse_ops, &c, w, len, split_buf_str(&want), &o);
        if (rc != 0) {
            fail_msg("vector %s", v->name);
        }
        free(w);
        split_buf_free(&want);
        split_buf_free(&c.trace);
    }
}

/* RFC 6455 5.7: all unmasked examples back to back form one stream
 * (including the fragmented "Hel" + "lo"), and so do the masked ones. */
static void test_rfc_vectors_stream(void **state)
{
    (void)state;
    for (int masked = 0; masked < 2; masked++) {
        split_buf want = {0};
        uint8_t *stream = NULL;
        size_t slen = 0;
        for (size_t i = 0; i < FRAME_VECTORS_COUNT; i++) {
            const frame_vec *v = &frame_vectors[i];
            if (v->masked != (masked != 0) || v->payload_len > 256) {
                continue;
            }
            size_t len = 0;
            uint8_t *w = vec_wire(v, &len);
            stream = realloc(stream, slen + len);
            assert_non_null(stream);
            memcpy(stream + slen, w, len);
            slen += len;
            free(w);
            vec_expect(&want, v);
        }
        pctx c;
        memset(&c, 0, sizeof(c));
        c.role = masked ? WICK_ROLE_SERVER : WICK_ROLE_CLIENT;
        assert_int_equal(split_run_all(&parse_ops, &c, stream, slen, split_buf_str(&want), NULL),
                         0);
        free(stream);
        split_buf_free(&want);
        split_buf_free(&c.trace);
    }
}

/* RFC 6455 5.7 in the other direction: the writers produce the example
 * bytes exactly, both as a whole frame and as header + in-place mask. */
static void test_rfc_vectors_write(void **state)
{
    (void)state;
    for (size_t i = 0; i < FRAME_VECTORS_COUNT; i++) {
        const frame_vec *v = &frame_vectors[i];
        size_t wlen = 0;
        uint8_t *wire = vec_wire(v, &wlen);
        uint8_t *pl = vec_payload(v);
        uint8_t *out = malloc(wlen);
        assert_non_null(out);
        size_t olen = 0;
        assert_int_equal(wick_frame_write(v->opcode, v->fin, 0, v->masked ? v->mask : NULL, pl,
                                          v->payload_len, out, wlen, &olen),
                         WICK_OK);
        assert_int_equal(olen, wlen);
        assert_memory_equal(out, wire, wlen);
        /* One byte less room is refused. */
        assert_int_equal(wick_frame_write(v->opcode, v->fin, 0, v->masked ? v->mask : NULL, pl,
                                          v->payload_len, out, wlen - 1, &olen),
                         WICK_ERR_BUFFER_TOO_SMALL);

        /* Header only, then the payload masked in place (no copy). */
        wick_frame_header h;
        memset(&h, 0, sizeof(h));
        h.fin = v->fin;
        h.opcode = v->opcode;
        h.masked = v->masked;
        memcpy(h.mask, v->mask, 4);
        h.payload_len = v->payload_len;
        size_t hlen = 0;
        memset(out, 0, wlen);
        assert_int_equal(wick_frame_header_write(&h, out, wlen, &hlen), WICK_OK);
        assert_int_equal(hlen, wick_frame_header_size(v->payload_len, v->masked));
        assert_int_equal(hlen + v->payload_len, wlen);
        memcpy(out + hlen, pl, v->payload_len);
        if (v->masked) {
            size_t phase = 0;
            /* In two pieces, to use the phase. */
            size_t half = v->payload_len / 2 + 1;
            if (half > v->payload_len) {
                half = v->payload_len;
            }
            wick_mask_apply(out + hlen, half, v->mask, &phase);
            wick_mask_apply(out + hlen + half, v->payload_len - half, v->mask, &phase);
            assert_int_equal(phase, v->payload_len & 3u);
        }
        assert_memory_equal(out, wire, wlen);
        free(out);
        free(pl);
        free(wire);
    }
}

/* --- Failing frames: one per rule ---------------------------------------- */

typedef struct bad_case {
    const char *name;
    const char *in;
    size_t len;
    wick_role role; /* the receiver */
    uint8_t rsv_allowed;
    uint64_t max_frame;
    wick_err want; /* WICK_OK: the frame is accepted */
} bad_case;

#define BYTES(s) s, sizeof(s) - 1
#define SRV      WICK_ROLE_SERVER
#define CLI      WICK_ROLE_CLIENT

static const bad_case bad_cases[] = {
    /* RFC 6455 5.2: RSV bits without an extension. */
    {"rsv1", BYTES("\xc1\x00"), CLI, 0, 0, WICK_ERR_PROTO_RSV},
    {"rsv2", BYTES("\xa1\x00"), CLI, 0, 0, WICK_ERR_PROTO_RSV},
    {"rsv3", BYTES("\x91\x00"), CLI, 0, 0, WICK_ERR_PROTO_RSV},
    {"rsv1 allowed", BYTES("\xc1\x00"), CLI, WICK_RSV1, 0, WICK_OK},
    {"rsv2 with rsv1 allowed", BYTES("\xe1\x00"), CLI, WICK_RSV1, 0, WICK_ERR_PROTO_RSV},
    {"rsv on control, allowed", BYTES("\xc9\x00"), CLI, WICK_RSV1, 0, WICK_OK},
    {"rsv masked server", BYTES("\xc1\x80\x01\x02\x03\x04"), SRV, 0, 0, WICK_ERR_PROTO_RSV},
    /* RFC 6455 5.2: reserved opcodes. */
    {"op 3", BYTES("\x83\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op 4", BYTES("\x84\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op 5", BYTES("\x85\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op 6", BYTES("\x86\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op 7", BYTES("\x87\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op b", BYTES("\x8b\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op c", BYTES("\x8c\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op d", BYTES("\x8d\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op e", BYTES("\x8e\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op f", BYTES("\x8f\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    {"op 3 no fin", BYTES("\x03\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
    /* RFC 6455 5.5: control frames must not be fragmented. */
    {"close no fin", BYTES("\x08\x00"), CLI, 0, 0, WICK_ERR_PROTO_CONTROL_FRAGMENTED},
    {"ping no fin", BYTES("\x09\x00"), CLI, 0, 0, WICK_ERR_PROTO_CONTROL_FRAGMENTED},
    {"pong no fin", BYTES("\x0a\x00"), CLI, 0, 0, WICK_ERR_PROTO_CONTROL_FRAGMENTED},
    {"ping no fin masked", BYTES("\x09\x80\x01\x02\x03\x04"), SRV, 0, 0,
     WICK_ERR_PROTO_CONTROL_FRAGMENTED},
    /* RFC 6455 5.5: control payload <= 125 (an extended length is over). */
    {"ping 126", BYTES("\x89\x7e\x00\x7e"), CLI, 0, 0, WICK_ERR_PROTO_CONTROL_TOO_BIG},
    {"close 64-bit", BYTES("\x88\x7f\x00\x00\x00\x00\x00\x00\x00\x7e"), CLI, 0, 0,
     WICK_ERR_PROTO_CONTROL_TOO_BIG},
    {"pong 126 non-minimal 5", BYTES("\x8a\x7e\x00\x05"), CLI, 0, 0,
     WICK_ERR_PROTO_CONTROL_TOO_BIG},
    {"ping 125 ok", BYTES("\x89\x7d"), CLI, 0, 0, WICK_OK},
    /* RFC 6455 5.1: masking by role. */
    {"server gets unmasked", BYTES("\x81\x00"), SRV, 0, 0, WICK_ERR_PROTO_MASK},
    {"client gets masked", BYTES("\x81\x80\x01\x02\x03\x04"), CLI, 0, 0, WICK_ERR_PROTO_MASK},
    {"server gets unmasked ping", BYTES("\x89\x00"), SRV, 0, 0, WICK_ERR_PROTO_MASK},
    /* RFC 6455 5.2: the 64-bit length's most significant bit must be 0. */
    {"len top bit", BYTES("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00"), CLI, 0, 0,
     WICK_ERR_PROTO_LENGTH},
    {"len all ones", BYTES("\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff"), CLI, 0, 0,
     WICK_ERR_PROTO_LENGTH},
    {"len top bit masked", BYTES("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01\x01\x02\x03\x04"), SRV,
     0, 0, WICK_ERR_PROTO_LENGTH},
    {"len 2^63-1 ok", BYTES("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"), CLI, 0, 0, WICK_OK},
    /* Frame size limit (close code 1009). */
    {"max 100, 7-bit 101", BYTES("\x82\x65"), CLI, 0, 100, WICK_ERR_FRAME_TOO_BIG},
    {"max 100, 7-bit 100", BYTES("\x82\x64"), CLI, 0, 100, WICK_OK},
    {"max 200, 16-bit 201", BYTES("\x82\x7e\x00\xc9"), CLI, 0, 200, WICK_ERR_FRAME_TOO_BIG},
    {"max 65536, 64-bit 65537", BYTES("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x01"), CLI, 0, 65536,
     WICK_ERR_FRAME_TOO_BIG},
    {"max 65536, 64-bit 65536 masked", BYTES("\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04"),
     SRV, 0, 65536, WICK_OK},
    /* Non-minimal lengths are accepted (RFC 6455 5.2 binds senders). */
    {"non-minimal 16-bit 5", BYTES("\x82\x7e\x00\x05"), CLI, 0, 0, WICK_OK},
    {"non-minimal 64-bit 5", BYTES("\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05"), CLI, 0, 0, WICK_OK},
    /* The second frame of a stream is checked as well. */
    {"second frame bad", BYTES("\x81\x01\x41\x83\x00"), CLI, 0, 0, WICK_ERR_PROTO_OPCODE},
};

/* Every rule's failing (and boundary) case, with the exact error and close
 * code, under every split; then stickiness. */
static void test_bad_frames(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *bc = &bad_cases[i];
        pctx c;
        memset(&c, 0, sizeof(c));
        c.role = bc->role;
        c.rsv_allowed = bc->rsv_allowed;
        c.max_frame = bc->max_frame;
        int rc = split_run_all(&parse_ops, &c, (const uint8_t *)bc->in, bc->len, NULL, NULL);
        if (rc != 0) {
            fail_msg("case %s: splits differ", bc->name);
        }
        /* The whole-input trace ends with the error, or has a header. */
        char *tr = NULL;
        size_t whole = bc->len;
        assert_int_equal(split_run_sizes(&parse_ops, &c, (const uint8_t *)bc->in, bc->len, &whole,
                                         1, &tr),
                         0);
        if (bc->want != WICK_OK) {
            char tail[96];
            snprintf(tail, sizeof(tail), "E %s|", wick_err_name(bc->want));
            size_t tl = strlen(tail);
            size_t n = strlen(tr);
            if (n < tl || strcmp(tr + n - tl, tail) != 0) {
                fail_msg("case %s: trace %s, want it to end in %s", bc->name, tr, tail);
            }
            uint16_t code = bc->want == WICK_ERR_FRAME_TOO_BIG ? 1009 : 1002;
            assert_int_equal(wick_err_close_code(bc->want), code);
            /* Sticky: more input (even valid) gives the same error. */
            uint8_t more[2] = {0x81, 0x00};
            wick_frame_event ev;
            size_t used = 99;
            assert_int_equal(wick_frame_parser_feed(&c.p, more, sizeof(more), &used, &ev),
                             bc->want);
            assert_int_equal(used, 0);
            assert_int_equal(wick_frame_parser_feed(&c.p, NULL, 0, &used, &ev), bc->want);
        } else if (strstr(tr, "E ") != NULL || strncmp(tr, "H ", 2) != 0) {
            fail_msg("case %s: trace %s, want a header and no error", bc->name, tr);
        }
        free(tr);
        split_buf_free(&c.trace);
    }
}

/* The parsed header fields of every accepted boundary case. */
static void test_header_fields(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        wick_role role;
        const char *want;
    } rows[] = {
        {BYTES("\xc9\x00"), CLI, "H fin=1 rsv=40 op=9 m=0 key=00000000 len=0|D len=0 \"\"|"},
        {BYTES("\x82\x7e\x00\x05"), CLI, "H fin=1 rsv=0 op=2 m=0 key=00000000 len=5|"},
        {BYTES("\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"), CLI,
         "H fin=1 rsv=0 op=2 m=0 key=00000000 len=9223372036854775807|"},
        {BYTES("\x00\x81\xaa\xbb\xcc\xdd\xab"), SRV,
         "H fin=0 rsv=0 op=0 m=1 key=aabbccdd len=1|D len=1 \"\\x01\"|"},
        {BYTES("\x82\x7e\x00\x00\x88\x00"), CLI,
         "H fin=1 rsv=0 op=2 m=0 key=00000000 len=0|D len=0 \"\"|"
         "H fin=1 rsv=0 op=8 m=0 key=00000000 len=0|D len=0 \"\"|"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        pctx c;
        memset(&c, 0, sizeof(c));
        c.role = rows[i].role;
        c.rsv_allowed = 0x70;
        assert_int_equal(split_run_all(&parse_ops, &c, (const uint8_t *)rows[i].in, rows[i].len,
                                       rows[i].want, NULL),
                         0);
        split_buf_free(&c.trace);
    }
}

/* Event-level contract: one event per call, HEADER then DATA, the empty
 * frame's single DATA event needs no input, offsets and frame_end. */
static void test_events(void **state)
{
    (void)state;
    wick_frame_parser p;
    wick_frame_event ev;
    size_t used = 0;
    uint8_t in[] = {0x81, 0x00, 0x82, 0x03, 'a', 'b', 'c'};
    wick_frame_parser_init(&p, WICK_ROLE_CLIENT, 0, 0);
    assert_int_equal(wick_frame_parser_feed(&p, in, sizeof(in), &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_HEADER);
    assert_int_equal(used, 2);
    assert_int_equal(ev.header.opcode, WICK_OP_TEXT);
    /* Zero-length payload: one DATA event, even with no input. */
    assert_int_equal(wick_frame_parser_feed(&p, NULL, 0, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_DATA);
    assert_int_equal(ev.len, 0);
    assert_true(ev.frame_end);
    assert_int_equal(used, 0);
    assert_int_equal(wick_frame_parser_feed(&p, NULL, 0, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_NONE);
    assert_int_equal(wick_frame_parser_feed(&p, in + 2, 5, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_HEADER);
    assert_int_equal(used, 2);
    assert_int_equal(ev.header.payload_len, 3);
    assert_int_equal(wick_frame_parser_feed(&p, in + 4, 1, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_DATA);
    assert_ptr_equal(ev.data, in + 4);
    assert_int_equal(ev.len, 1);
    assert_int_equal(ev.offset, 0);
    assert_false(ev.frame_end);
    /* No input mid-payload: nothing. */
    assert_int_equal(wick_frame_parser_feed(&p, in + 5, 0, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_NONE);
    assert_int_equal(wick_frame_parser_feed(&p, in + 5, 2, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_DATA);
    assert_int_equal(ev.len, 2);
    assert_int_equal(ev.offset, 1);
    assert_true(ev.frame_end);
    assert_int_equal(used, 2);
    /* The payload chunk stops at the frame's end even with more input. */
    uint8_t two[] = {0x82, 0x01, 'x', 0x82, 0x01, 'y'};
    assert_int_equal(wick_frame_parser_feed(&p, two, sizeof(two), &used, &ev), WICK_OK);
    assert_int_equal(used, 2);
    assert_int_equal(wick_frame_parser_feed(&p, two + 2, 4, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_DATA);
    assert_int_equal(ev.len, 1);
    assert_int_equal(used, 1);
    assert_true(ev.frame_end);
}

/* Masked payload is unmasked in place in the caller's buffer, and the key
 * phase carries across calls (RFC 6455 5.3). */
static void test_unmask_in_place(void **state)
{
    (void)state;
    uint8_t in[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    for (size_t cut = 6; cut <= sizeof(in); cut++) {
        uint8_t b[sizeof(in)];
        memcpy(b, in, sizeof(in));
        wick_frame_parser p;
        wick_frame_event ev;
        size_t used = 0;
        wick_frame_parser_init(&p, WICK_ROLE_SERVER, 0, 0);
        assert_int_equal(wick_frame_parser_feed(&p, b, cut, &used, &ev), WICK_OK);
        assert_int_equal(used, 6);
        assert_int_equal(ev.type, WICK_FRAME_HEADER);
        if (cut > 6) {
            assert_int_equal(wick_frame_parser_feed(&p, b + 6, cut - 6, &used, &ev), WICK_OK);
            assert_ptr_equal(ev.data, b + 6);
        }
        if (cut < sizeof(in)) {
            assert_int_equal(wick_frame_parser_feed(&p, b + cut, sizeof(in) - cut, &used, &ev),
                             WICK_OK);
            assert_true(ev.frame_end);
            assert_ptr_equal(ev.data, b + cut);
        }
        assert_memory_equal(b + 6, "Hello", 5);
        assert_memory_equal(b, in, 6);
    }
}

/* API misuse: WICK_ERR_ARG, and the parser state is left as it was. */
static void test_parser_args(void **state)
{
    (void)state;
    wick_frame_parser p;
    wick_frame_event ev;
    size_t used = 0;
    uint8_t b[2] = {0x81, 0x00};
    wick_frame_parser_init(&p, WICK_ROLE_CLIENT, 0, 0);
    assert_int_equal(wick_frame_parser_feed(NULL, b, 2, &used, &ev), WICK_ERR_ARG);
    assert_int_equal(wick_frame_parser_feed(&p, NULL, 2, &used, &ev), WICK_ERR_ARG);
    assert_int_equal(wick_frame_parser_feed(&p, b, 2, NULL, &ev), WICK_ERR_ARG);
    assert_int_equal(wick_frame_parser_feed(&p, b, 2, &used, NULL), WICK_ERR_ARG);
    assert_int_equal(wick_frame_parser_feed(&p, b, 2, &used, &ev), WICK_OK);
    assert_int_equal(ev.type, WICK_FRAME_HEADER);
}

/* --- Writer --------------------------------------------------------------- */

static void test_header_size(void **state)
{
    (void)state;
    static const struct {
        uint64_t len;
        size_t plain;
    } rows[] = {{0, 2},      {1, 2},      {125, 2},    {126, 4},
                {127, 4},    {65535, 4},  {65536, 10}, {0x7fffffffffffffffu, 10}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        assert_int_equal(wick_frame_header_size(rows[i].len, false), rows[i].plain);
        assert_int_equal(wick_frame_header_size(rows[i].len, true), rows[i].plain + 4);
    }
}

static void test_writer_errors(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t n = 0;
    wick_frame_header h;
    memset(&h, 0, sizeof(h));
    h.fin = true;
    h.opcode = 0x2;
    assert_int_equal(wick_frame_header_write(NULL, out, sizeof(out), &n), WICK_ERR_ARG);
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), NULL), WICK_ERR_ARG);
    assert_int_equal(wick_frame_header_write(&h, NULL, 4, &n), WICK_ERR_ARG);
    h.opcode = 16;
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), &n), WICK_ERR_ARG);
    h.opcode = 0xF; /* reserved opcodes can be written (for tests and tools) */
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), &n), WICK_OK);
    assert_int_equal(out[0], 0x8F);
    h.opcode = 2;
    h.rsv = 0x80;
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), &n), WICK_ERR_ARG);
    h.rsv = 0x01;
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), &n), WICK_ERR_ARG);
    h.rsv = 0x70;
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), &n), WICK_OK);
    assert_int_equal(out[0], 0xF2);
    h.rsv = 0;
    h.payload_len = 0x8000000000000000u;
    assert_int_equal(wick_frame_header_write(&h, out, sizeof(out), &n), WICK_ERR_ARG);
    /* Exactly enough room works; one byte less does not, for each size. */
    static const uint64_t lens[] = {0, 125, 126, 65535, 65536};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        for (int m = 0; m < 2; m++) {
            h.payload_len = lens[i];
            h.masked = m != 0;
            size_t need = wick_frame_header_size(lens[i], h.masked);
            assert_int_equal(wick_frame_header_write(&h, out, need - 1, &n),
                             WICK_ERR_BUFFER_TOO_SMALL);
            assert_int_equal(wick_frame_header_write(&h, out, need, &n), WICK_OK);
            assert_int_equal(n, need);
        }
    }
    h.masked = false;
    h.payload_len = 0;
    assert_int_equal(wick_frame_header_write(&h, NULL, 0, &n), WICK_ERR_BUFFER_TOO_SMALL);
    /* Whole frame: NULL payload with a length, and room for the payload. */
    assert_int_equal(wick_frame_write(2, true, 0, NULL, NULL, 3, out, sizeof(out), &n),
                     WICK_ERR_ARG);
    assert_int_equal(wick_frame_write(2, true, 0, NULL, NULL, 0, out, sizeof(out), &n), WICK_OK);
    assert_int_equal(n, 2);
    const uint8_t pl[5] = {1, 2, 3, 4, 5};
    assert_int_equal(wick_frame_write(2, true, 0, NULL, pl, 5, out, 6, &n),
                     WICK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(wick_frame_write(2, true, 0, NULL, pl, 5, out, 7, &n), WICK_OK);
    assert_int_equal(wick_frame_write(16, true, 0, NULL, pl, 5, out, 7, &n), WICK_ERR_ARG);
}

/* --- Random round trip ---------------------------------------------------- */

static const uint64_t edge_lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 125, 126, 127, 65535, 65536};
#define NUM_EDGE_LENS (sizeof(edge_lens) / sizeof(edge_lens[0]))
static const uint8_t data_ops[] = {WICK_OP_CONT, WICK_OP_TEXT, WICK_OP_BINARY};
static const uint8_t ctl_ops[] = {WICK_OP_CLOSE, WICK_OP_PING, WICK_OP_PONG};

/* Random frames written by one role and parsed by the other give exactly
 * what went in, under many splits. */
static void test_round_trip(void **state)
{
    (void)state;
    uint64_t rng = 0xF00DF00D12345678u;
    for (int round = 0; round < 6; round++) {
        for (int r = 0; r < 2; r++) {
            wick_role sender = r ? WICK_ROLE_CLIENT : WICK_ROLE_SERVER;
            uint8_t *stream = NULL;
            size_t slen = 0;
            split_buf want = {0};
            /* Round 0 has every edge length once, in order; later rounds
             * pick lengths and frame kinds at random. */
            int nframes = round == 0 ? (int)NUM_EDGE_LENS : 1 + (int)split_rng_below(&rng, 12);
            for (int f = 0; f < nframes; f++) {
                bool ctl = round != 0 && split_rng_below(&rng, 4) == 0;
                size_t len;
                if (round == 0) {
                    len = (size_t)edge_lens[f];
                } else if (ctl) {
                    len = split_rng_below(&rng, 126);
                } else if (split_rng_below(&rng, 2) == 0) {
                    len = (size_t)edge_lens[split_rng_below(&rng, NUM_EDGE_LENS)];
                } else {
                    len = split_rng_below(&rng, 400);
                }
                wick_frame_header h;
                memset(&h, 0, sizeof(h));
                h.opcode = ctl ? ctl_ops[split_rng_below(&rng, 3)]
                               : data_ops[split_rng_below(&rng, 3)];
                h.fin = ctl || split_rng_below(&rng, 2) == 0;
                h.rsv = (uint8_t)(split_rng_below(&rng, 8) << 4);
                h.masked = sender == WICK_ROLE_CLIENT;
                if (h.masked) {
                    uint64_t k = split_rng_next(&rng);
                    memcpy(h.mask, &k, 4);
                }
                h.payload_len = len;
                uint8_t *pl = malloc(len ? len : 1);
                assert_non_null(pl);
                for (size_t i = 0; i < len; i++) {
                    pl[i] = (uint8_t)split_rng_next(&rng);
                }
                size_t cap = len + 14;
                stream = realloc(stream, slen + cap);
                assert_non_null(stream);
                size_t n = 0;
                assert_int_equal(wick_frame_write(h.opcode, h.fin, h.rsv,
                                                  h.masked ? h.mask : NULL, pl, len,
                                                  stream + slen, cap, &n),
                                 WICK_OK);
                assert_int_equal(n, wick_frame_header_size(len, h.masked) + len);
                slen += n;
                fmt_header(&want, &h);
                fmt_payload(&want, pl, len, fnv(FNV_INIT, pl, len));
                free(pl);
            }
            pctx c;
            memset(&c, 0, sizeof(c));
            c.role = sender == WICK_ROLE_CLIENT ? WICK_ROLE_SERVER : WICK_ROLE_CLIENT;
            c.rsv_allowed = 0x70;
            split_opts o;
            memset(&o, 0, sizeof(o));
            o.max_points = 96;
            o.random_runs = 8;
            o.seed = (uint64_t)round * 2 + (uint64_t)r + 1;
            assert_int_equal(split_run_all(&parse_ops, &c, stream, slen, split_buf_str(&want), &o),
                             0);
            free(stream);
            split_buf_free(&want);
            split_buf_free(&c.trace);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_vectors_parse), cmocka_unit_test(test_rfc_vectors_stream),
        cmocka_unit_test(test_rfc_vectors_write), cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_header_fields),     cmocka_unit_test(test_events),
        cmocka_unit_test(test_unmask_in_place),   cmocka_unit_test(test_parser_args),
        cmocka_unit_test(test_header_size),       cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
