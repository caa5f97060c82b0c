/* Callback traces and the wick_conn split harness; see trace.h. */
#include "support/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sep(trace *t)
{
    if (t->ev.len != 0) {
        split_buf_printf(&t->ev, " | ");
    }
}

void trace_quote(split_buf *b, const uint8_t *p, size_t n)
{
    if (n > TRACE_DATA_MAX) {
        /* Long payloads: length plus a checksum keeps traces short but
         * still compares every byte. */
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++) {
            h = (h ^ p[i]) * 16777619u;
        }
        split_buf_printf(b, "<%zu bytes %08x>", n, (unsigned)h);
        return;
    }
    split_buf_printf(b, "\"");
    split_buf_bytes(b, p, n);
    split_buf_printf(b, "\"");
}

static void flush_data(trace *t, bool fin)
{
    if (!t->data_open) {
        return;
    }
    sep(t);
    split_buf_printf(&t->ev, "data fin=%d ", fin ? 1 : 0);
    trace_quote(&t->ev, t->dbuf, t->dlen);
    t->dlen = 0;
    t->data_open = false;
}

static const char *op_name(uint8_t op)
{
    return op == WICK_OP_TEXT ? "text" : op == WICK_OP_BINARY ? "binary" : "?";
}

/* Common tail of every callback: count, fail_at, pause, hook. */
static int finish(trace *t, wick_conn *c, const char *event)
{
    int rc = t->pause_all ? WICK_PAUSE : 0;
    t->calls++;
    if (t->fail_at != 0 && t->calls == t->fail_at) {
        rc = -1;
    }
    if (t->hook != NULL) {
        int h = t->hook(t, c, event);
        if (h != 0) {
            rc = h;
        }
    }
    return rc;
}

static int cb_data(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, unsigned flags,
                   void *user)
{
    trace *t = user;
    bool fin = (flags & WICK_DATA_FIN) != 0;
    if ((flags & WICK_DATA_FIRST) != 0) {
        /* The first chunk of a message: rendered as its start. */
        flush_data(t, false);
        sep(t);
        split_buf_printf(&t->ev, "begin %s", op_name(opcode));
        t->opcode = opcode;
    } else if (opcode != t->opcode) {
        split_buf_printf(&t->ev, " !opcode-changed");
    }
    if ((flags & ~(unsigned)(WICK_DATA_FIRST | WICK_DATA_FIN)) != 0) {
        split_buf_printf(&t->ev, " !flags");
    }
    if (data == NULL) {
        split_buf_printf(&t->ev, " !NULL-data");
    }
    if (len != 0) {
        if (t->dcap - t->dlen < len) {
            size_t cap = t->dcap ? t->dcap * 2 : 256;
            while (cap - t->dlen < len) {
                cap *= 2;
            }
            uint8_t *nb = realloc(t->dbuf, cap);
            if (nb == NULL) {
                abort();
            }
            t->dbuf = nb;
            t->dcap = cap;
        }
        memcpy(t->dbuf + t->dlen, data, len);
        t->dlen += len;
    }
    t->data_open = true;
    if (fin) {
        flush_data(t, true);
    }
    return finish(t, c, fin ? "data-fin" : "data");
}

static int cb_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    trace *t = user;
    flush_data(t, false);
    sep(t);
    split_buf_printf(&t->ev, "message %s ", op_name(opcode));
    if (data == NULL) {
        split_buf_printf(&t->ev, "!NULL-data ");
    }
    trace_quote(&t->ev, data, len);
    return finish(t, c, "message");
}

static int cb_ping(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    trace *t = user;
    flush_data(t, false);
    sep(t);
    split_buf_printf(&t->ev, "ping ");
    trace_quote(&t->ev, data, len);
    return finish(t, c, "ping");
}

static int cb_pong(wick_conn *c, const uint8_t *data, size_t len, void *user)
{
    trace *t = user;
    flush_data(t, false);
    sep(t);
    split_buf_printf(&t->ev, "pong ");
    trace_quote(&t->ev, data, len);
    return finish(t, c, "pong");
}

static int cb_close(wick_conn *c, uint16_t code, const char *reason, size_t len, void *user)
{
    trace *t = user;
    flush_data(t, false);
    sep(t);
    split_buf_printf(&t->ev, "close %u ", (unsigned)code);
    trace_quote(&t->ev, (const uint8_t *)reason, len);
    return finish(t, c, "close");
}

static void cb_error(wick_conn *c, wick_err err, void *user)
{
    trace *t = user;
    (void)c;
    flush_data(t, false);
    sep(t);
    split_buf_printf(&t->ev, "error %s", wick_err_name(err));
    t->errors++;
}

static int cb_random(void *user, uint8_t *out, size_t n)
{
    trace *t = user;
    if (t->random_fails) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)split_rng_next(&t->rng);
    }
    return 0;
}

const wick_callbacks trace_callbacks = {
    .on_data = cb_data,
    .on_message = cb_message,
    .on_ping = cb_ping,
    .on_pong = cb_pong,
    .on_close = cb_close,
    .on_error = cb_error,
    .random = cb_random,
};

void trace_reset(trace *t)
{
    split_buf_reset(&t->ev);
    t->dlen = 0;
    t->data_open = false;
    t->calls = 0;
    t->errors = 0;
    t->rng = 0x1234567887654321u;
}

void trace_free(trace *t)
{
    split_buf_free(&t->ev);
    free(t->dbuf);
    t->dbuf = NULL;
    t->dlen = 0;
    t->dcap = 0;
}

void trace_note(trace *t, const char *text)
{
    flush_data(t, false);
    sep(t);
    split_buf_printf(&t->ev, "%s", text);
}

const char *trace_str(trace *t)
{
    flush_data(t, false);
    return split_buf_str(&t->ev);
}

void trace_render_out(split_buf *b, const uint8_t *out, size_t len, wick_role role)
{
    size_t pos = 0;
    if (len == 0) {
        split_buf_printf(b, "-");
        return;
    }
    while (pos < len) {
        if (len - pos < 2) {
            split_buf_printf(b, "%s!partial", pos ? " " : "");
            return;
        }
        uint8_t b0 = out[pos], b1 = out[pos + 1];
        bool masked = (b1 & 0x80) != 0;
        uint64_t plen = b1 & 0x7f;
        size_t hl = 2;
        if (plen == 126) {
            hl = 4;
        } else if (plen == 127) {
            hl = 10;
        }
        if (len - pos < hl + (masked ? 4u : 0u)) {
            split_buf_printf(b, "%s!partial", pos ? " " : "");
            return;
        }
        if (hl == 4) {
            plen = ((uint64_t)out[pos + 2] << 8) | out[pos + 3];
        } else if (hl == 10) {
            plen = 0;
            for (size_t i = 0; i < 8; i++) {
                plen = (plen << 8) | out[pos + 2 + i];
            }
        }
        const uint8_t *key = out + pos + hl;
        size_t body = pos + hl + (masked ? 4u : 0u);
        if (plen > len - body) {
            split_buf_printf(b, "%s!partial", pos ? " " : "");
            return;
        }
        split_buf_printf(b, "%s%02x %02x", pos ? " " : "", b0, (unsigned)(b1 & 0x7f));
        for (size_t i = 2; i < hl; i++) {
            split_buf_printf(b, " %02x", out[pos + i]);
        }
        if (masked != (role == WICK_ROLE_CLIENT)) {
            split_buf_printf(b, " !mask");
        }
        for (size_t i = 0; i < (size_t)plen; i++) {
            uint8_t v = out[body + i];
            if (masked) {
                v = (uint8_t)(v ^ key[i % 4]);
            }
            split_buf_printf(b, " %02x", v);
        }
        pos = body + (size_t)plen;
    }
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

size_t trace_hex(const char *s, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (*s != '\0') {
        if (*s == ' ') {
            s++;
        } else if (*s == '\'') {
            s++;
            while (*s != '\0' && *s != '\'') {
                if (n == cap) {
                    return (size_t)-1;
                }
                buf[n++] = (uint8_t)*s++;
            }
            if (*s != '\'') {
                return (size_t)-1;
            }
            s++;
        } else {
            int hi = hexval(s[0]);
            int lo = hi < 0 ? -1 : hexval(s[1]);
            if (lo < 0 || n == cap) {
                return (size_t)-1;
            }
            buf[n++] = (uint8_t)(hi * 16 + lo);
            s += 2;
        }
    }
    return n;
}

size_t trace_mask_frames(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t pos = 0, o = 0;
    while (pos < len) {
        size_t hl = 2;
        if (len - pos >= 2) {
            uint8_t l7 = in[pos + 1] & 0x7f;
            hl = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
        }
        if (len - pos < hl || (in[pos + 1] & 0x80) != 0) {
            /* Not a whole unmasked header: copy the rest as is. */
            if (cap - o < len - pos) {
                return (size_t)-1;
            }
            memcpy(out + o, in + pos, len - pos);
            return o + len - pos;
        }
        uint64_t plen = in[pos + 1] & 0x7f;
        if (hl == 4) {
            plen = ((uint64_t)in[pos + 2] << 8) | in[pos + 3];
        } else if (hl == 10) {
            plen = 0;
            for (size_t i = 0; i < 8; i++) {
                plen = (plen << 8) | in[pos + 2 + i];
            }
        }
        size_t avail = len - pos - hl;
        size_t n = plen < avail ? (size_t)plen : avail;
        if (cap - o < hl + 4 + n) {
            return (size_t)-1;
        }
        memcpy(out + o, in + pos, hl);
        out[o + 1] |= 0x80;
        memcpy(out + o + hl, key, 4);
        for (size_t i = 0; i < n; i++) {
            out[o + hl + 4 + i] = (uint8_t)(in[pos + hl + i] ^ key[i % 4]);
        }
        o += hl + 4 + n;
        pos += hl + n;
    }
    return o;
}

/* --- Harness ----------------------------------------------------------- */

void harness_init(harness *h, wick_role role)
{
    memset(h, 0, sizeof(*h));
    wick_conn_config_default(&h->cfg, role);
    h->drain = true;
}

void harness_free(harness *h)
{
    wick_conn_release(&h->conn);
    trace_free(&h->tr);
    split_buf_free(&h->result);
    free(h->raw_out);
    h->raw_out = NULL;
}

static void drain(harness *h)
{
    size_t n = 0;
    const uint8_t *p = wick_conn_out_peek(&h->conn, &n);
    while (n != 0) {
        if (h->raw_cap - h->raw_len < n) {
            size_t cap = h->raw_cap ? h->raw_cap * 2 : 1024;
            while (cap - h->raw_len < n) {
                cap *= 2;
            }
            uint8_t *nb = realloc(h->raw_out, cap);
            if (nb == NULL) {
                abort();
            }
            h->raw_out = nb;
            h->raw_cap = cap;
        }
        memcpy(h->raw_out + h->raw_len, p, n);
        h->raw_len += n;
        wick_conn_out_consume(&h->conn, n);
        p = wick_conn_out_peek(&h->conn, &n);
    }
}

static void h_begin(void *ctx)
{
    harness *h = ctx;
    wick_conn_release(&h->conn);
    trace_reset(&h->tr);
    h->raw_len = 0;
    h->last = WICK_OK;
    h->cfg.out_buf = h->out_buf;
    if (h->cfg.out_cap == 0) {
        h->cfg.out_cap = sizeof(h->out_buf);
    }
    wick_err err = wick_conn_init(&h->conn, &h->cfg, h->cb ? h->cb : &trace_callbacks, &h->tr);
    if (err != WICK_OK) {
        trace_note(&h->tr, "init failed");
    }
}

static int h_feed(void *ctx, uint8_t *buf, size_t len, size_t *consumed)
{
    harness *h = ctx;
    size_t used = 0;
    wick_err err = wick_conn_recv(&h->conn, buf, len, &used);
    *consumed = used;
    h->last = err;
    if (h->drain) {
        drain(h);
    }
    if (used > len) {
        return SPLIT_FAIL;
    }
    if (err == WICK_NEED_MORE) {
        if (used == len) {
            trace_note(&h->tr, "!need-more-with-nothing-left");
        }
        return SPLIT_NEED_MORE;
    }
    if (err == WICK_BLOCKED && !h->drain) {
        return SPLIT_STOP;
    }
    if (err != WICK_OK && err != WICK_PAUSED && err != WICK_BLOCKED) {
        if (used != len) {
            trace_note(&h->tr, "!consumed-on-error");
        }
        return SPLIT_STOP;
    }
    return SPLIT_OK;
}

static void h_end(void *ctx, size_t leftover)
{
    harness *h = ctx;
    (void)leftover;
    /* A pause on the last bytes may leave end-of-message work deferred:
     * resume with no input until nothing is left. */
    for (int i = 0; i < 8 && h->last == WICK_PAUSED; i++) {
        h->last = wick_conn_recv(&h->conn, NULL, 0, NULL);
        if (h->drain) {
            drain(h);
        }
    }
    split_buf_reset(&h->result);
    split_buf_printf(&h->result, "%s => %s || ", trace_str(&h->tr), wick_err_name(h->last));
    trace_render_out(&h->result, h->raw_out, h->raw_len, h->cfg.role);
}

static const char *h_result(void *ctx)
{
    harness *h = ctx;
    return split_buf_str(&h->result);
}

const split_ops harness_ops = {h_begin, h_feed, h_end, h_result};

int harness_run(harness *h, const uint8_t *in, size_t len, const char *want, bool pause)
{
    h->tr.pause_all = false;
    int rc = split_run_all(&harness_ops, h, in, len, want, NULL);
    if (rc == 0 && pause) {
        h->tr.pause_all = true;
        rc = split_run_all(&harness_ops, h, in, len, want, NULL);
        h->tr.pause_all = false;
    }
    return rc;
}
