/*
 * fuzz_inflate: the receive side of permessage-deflate (RFC 7692 7.2.2)
 * on a server-role wick_conn with a wick_pmd, checked against plain zlib.
 *
 * "The message" (RFC 7692 7.2.2): the payloads of a message's frames,
 * concatenated, followed by 00 00 ff ff, inflated as raw DEFLATE with the
 * client's window (client_max_window_bits) and, unless
 * client_no_context_takeover was agreed, the window left by the previous
 * compressed messages. A block with BFINAL set ends the message's data
 * (7.2.3.4: what follows is ignored; the next message is a new stream,
 * which may still refer back into the window). The data is valid when
 * zlib inflates it with no error and stops on a block boundary (the
 * appended empty stored block must be a whole block of its own). The
 * reference below is a second zlib stream
 * fed the whole message at once with Z_BLOCK, written independently of
 * src/wick_pmd*.c. It inflates with a 15-bit window, so it accepts a
 * distance past the client's window (a broken promise, 7.1.2.2) that a
 * receiver may or may not notice depending on where its inflate calls
 * end; a WICK_ERR_INFLATE it does not explain must be explained by a
 * strict replay with the client's window (strict_fails()).
 *
 * Messages are built from the input: raw input bytes as compressed data
 * (mostly invalid), or zlib's deflate of input bytes with an input-chosen
 * window, level and memLevel (the generating "client" keeps its context
 * between messages unless client_no_context_takeover): plain bytes, ASCII
 * text, highly compressible "bombs" (up to 256 KiB of one byte or a short
 * pattern), ending in a sync flush (tail stripped) or a final block,
 * sometimes with one byte changed; plus uncompressed messages. Each is
 * split into 1-8 frames (RSV1 on the first only), pings may sit between
 * fragments, and the wire is fed to wick_conn_recv() in input-chosen
 * pieces.
 *
 * Checks, message by message until the connection fails:
 *   - what wick delivered (on_data pieces, or on_message) is a prefix of
 *     zlib's output, and all of it when the message succeeds;
 *   - success only when zlib reports no error, the output is within
 *     max_message, text is valid UTF-8 (1007 otherwise) and the bomb
 *     guard (max_ratio) allows the whole message, and always then unless
 *     the data breaks the client's window;
 *   - WICK_ERR_INFLATE only when zlib reports an error or the data breaks
 *     the window, and whenever zlib errs and nothing else failed first;
 *   - WICK_ERR_TOO_BIG only when the output exceeds max_message, and no
 *     more than max_message delivered; WICK_ERR_INFLATE_RATIO only when
 *     the output exceeds max_ratio times the compressed bytes received
 *     before the failing wick_conn_recv() call plus 1 KiB, and no more
 *     delivered than max_ratio times what was received by its end plus
 *     1 KiB; WICK_ERR_UTF8 only for text whose inflated bytes are not
 *     valid UTF-8, with no byte past the first bad one delivered;
 *   - for generated streams on a consistent context, zlib's output is
 *     the generator's input (the reference itself is right);
 *   - WICK_PAUSED only when a callback paused, and then at once: when
 *     every callback pauses, at most one runs per wick_conn_recv(); the
 *     bytes wick did not take come back as they were given (masked).
 *
 * Input: byte 0 = flags (bit 0 client_no_context_takeover, bit 1 whole
 * delivery, bit 2 WICK_PMD_DECOMPRESS_ONLY, bits 3-5 max_ratio choice,
 * bit 6 server_no_context_takeover, bit 7 the generating client ignores
 * client_max_window_bits and deflates with 15); byte 1 =
 * client_max_window_bits (8 + b % 8) and the generator's window, level,
 * memLevel (bits 3-7); byte 2 = max_message
 * choice; byte 3 = split seed, and in bits 0-1 n: every n-th callback
 * pauses (0: none); then messages: a control byte (bits 0-1
 * kind: raw, generated, uncompressed, generated with a final block; bit 2
 * text; bits 3-4 content: bytes, ASCII, one-byte bomb, pattern bomb; bits
 * 5-7 frames - 1), a u16 length, a mutation byte (non-zero: change the
 * byte at that offset of the stream), then the bytes.
 */
#include <zlib.h>

#include "fuzz_util.h"

#define MAX_MSGS      12U
#define MAX_RAW       4096U
#define MAX_BOMB      (1U << 18)
#define MAX_OUT       (8U << 20) /* reference output cap (raw 4 KiB < 1100x) */
#define RATIO_SLACK   1024U
#define MAX_FRAMES    8U
#define MAX_WIRE_MSGS (MAX_MSGS * MAX_FRAMES)

static const uint64_t max_messages[8] = {0, 1, 100, 1024, 5000, 65536, 200000, 1U << 20};
static const uint32_t max_ratios[8] = {0, 0, 1, 2, 10, 100, 1000, 5000};

/* --- Growable byte buffer ------------------------------------------------ */
typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void buf_reserve(buf *b, size_t more)
{
    if (b->len + more <= b->cap) {
        return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) {
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        abort();
    }
    b->p = p;
    b->cap = cap;
}

static void buf_put(buf *b, const void *src, size_t n)
{
    buf_reserve(b, n);
    if (n) {
        memcpy(b->p + b->len, src, n);
    }
    b->len += n;
}

/* --- What the wire carries, message by message --------------------------- */
typedef struct msg {
    uint8_t opcode;
    bool compressed;
    bool known;  /* `plain` is what zlib must give back (consistent context) */
    buf plain;   /* the generator's input (uncompressed: the payload) */
    buf payload; /* the concatenated frame payloads */
    /* Payload position on the wire, frame by frame. */
    size_t nframes;
    size_t frame_off[MAX_FRAMES], frame_len[MAX_FRAMES];
    bool ref_end; /* the reference found a final block (the window empties) */
} msg;

/* The reference's verdict on one message. */
typedef struct ref_result {
    buf out;         /* zlib's output (before any error) */
    bool data_error; /* zlib error, or the data stops inside a block */
    bool stream_end; /* a final block ended the message's data */
} ref_result;

/* --- What wick delivered ----------------------------------------------- */
typedef struct sink {
    bool whole;
    size_t done;       /* messages completed */
    buf got[MAX_MSGS]; /* delivered bytes, message by message */
    bool started;      /* WICK_DATA_FIRST seen for the one in progress */
    unsigned errs;     /* on_error calls */
    wick_err err;
    const msg *msgs;
    unsigned calls, pause_every; /* every n-th callback pauses (0: none) */
    bool paused;                 /* one did during this wick_conn_recv() */
} sink;

static int pause_or_go(sink *s)
{
    s->calls++;
    if (s->pause_every != 0 && s->calls % s->pause_every == 0) {
        s->paused = true;
        return WICK_PAUSE;
    }
    return 0;
}

static int on_data(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, unsigned flags,
                   void *user)
{
    (void)c;
    sink *s = (sink *)user;
    FZ_CHECK(!s->whole);
    FZ_CHECK(((flags & WICK_DATA_FIRST) != 0) == !s->started);
    FZ_CHECK(opcode == s->msgs[s->done].opcode);
    s->started = true;
    buf_put(&s->got[s->done], data, len);
    if (flags & WICK_DATA_FIN) {
        s->started = false;
        s->done++;
    }
    return pause_or_go(s);
}

static int on_message(wick_conn *c, uint8_t opcode, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    sink *s = (sink *)user;
    FZ_CHECK(s->whole);
    FZ_CHECK(opcode == s->msgs[s->done].opcode);
    buf_put(&s->got[s->done], data, len);
    s->done++;
    return pause_or_go(s);
}

static void on_error(wick_conn *c, wick_err err, void *user)
{
    (void)c;
    sink *s = (sink *)user;
    s->errs++;
    s->err = err;
}

static const wick_callbacks stream_cb = {.on_data = on_data, .on_error = on_error};
static const wick_callbacks whole_cb = {.on_message = on_message, .on_error = on_error};

static void *fz_alloc_hook(size_t n, void *ud)
{
    (void)ud;
    return malloc(n ? n : 1);
}

static void fz_free_hook(void *p, size_t n, void *ud)
{
    (void)n;
    (void)ud;
    free(p);
}

static const wick_allocator heap = {fz_alloc_hook, fz_free_hook, NULL};

/* --- Generator: the client's compressor ---------------------------------- */

/* Deflates plain into out with the flush asked for (Z_SYNC_FLUSH: the
 * 00 00 ff ff tail is stripped, RFC 7692 7.2.1). */
static void gen_deflate(z_stream *z, const buf *plain, int flush, buf *out)
{
    z->next_in = plain->p;
    z->avail_in = (uInt)plain->len;
    for (;;) {
        buf_reserve(out, 4096);
        z->next_out = out->p + out->len;
        z->avail_out = (uInt)(out->cap - out->len);
        int rc = deflate(z, flush);
        FZ_CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
        out->len = out->cap - z->avail_out;
        if (z->avail_out != 0 && z->avail_in == 0) {
            break;
        }
    }
    if (flush == Z_SYNC_FLUSH && out->len == 0) {
        /* zlib makes no second flush without input in between: an empty
         * message is then one 0x00 (RFC 7692 7.2.3.6). */
        buf_put(out, "", 1);
        return;
    }
    if (flush == Z_SYNC_FLUSH) {
        static const uint8_t tail[4] = {0x00, 0x00, 0xFF, 0xFF};
        FZ_CHECK(out->len >= 4 && memcmp(out->p + out->len - 4, tail, 4) == 0);
        out->len -= 4;
    }
}

/* --- Reference: zlib inflates the whole message -------------------------- */
static void ref_inflate(z_stream *z, const buf *payload, ref_result *r)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xFF, 0xFF};
    buf in = {NULL, 0, 0};
    buf_put(&in, payload->p, payload->len);
    buf_put(&in, tail, 4);
    r->out.len = 0;
    r->data_error = false;
    r->stream_end = false;
    z->next_in = in.p;
    z->avail_in = (uInt)in.len;
    /* Z_BLOCK: inflate() stops at each block boundary, where zlib's
     * data_type has +128 (a block header comes next), so where the data
     * stops is known independently of how wick asks zlib. A call that
     * makes no progress (Z_BUF_ERROR) leaves that flag unknown: the flag
     * from the last call that made progress stands. +64 with it: the
     * block that ended was a final one, the message's data is over. */
    bool boundary = false;
    for (;;) {
        buf_reserve(&r->out, 65536);
        z->next_out = r->out.p + r->out.len;
        z->avail_out = (uInt)(r->out.cap - r->out.len);
        int rc = inflate(z, Z_BLOCK);
        r->out.len = r->out.cap - z->avail_out;
        FZ_CHECK(r->out.len <= MAX_OUT);
        if (rc == Z_STREAM_END) {
            r->stream_end = true;
            break;
        }
        if (rc == Z_OK) {
            boundary = (z->data_type & 128) != 0;
            if (boundary && (z->data_type & 64) != 0) {
                r->stream_end = true; /* the final block is over */
                break;
            }
        } else if (rc != Z_BUF_ERROR) {
            r->data_error = true;
            break;
        }
        if (z->avail_out != 0 && (z->avail_in == 0 || rc == Z_BUF_ERROR)) {
            break; /* all input used and all output out */
        }
    }
    /* The data must stop where a block header would come next. */
    if (!r->stream_end && !r->data_error && (z->avail_in != 0 || !boundary)) {
        r->data_error = true;
    }
    free(in.p);
}

/* --- Second reference: strict about the agreed window ------------------- */

/* zlib checks a distance against its window (2^bits) plus what the current
 * inflate() call has written so far, so a distance past 2^bits passes when
 * the bytes it points to are still in the call's output buffer and fails
 * when a call ended between them. The reference above (window 15, one large
 * buffer) is therefore lax: it rejects only distances before the start of
 * the data. The stream's promise (RFC 7692 7.1.2) is stricter, and whether
 * a receiver with a 2^bits window notices a broken promise depends on where
 * its calls end: wick's zlib backend writes 1 KiB pieces, wick's own
 * inflater notices always. So a failure the lax reference does not explain
 * must be explained by this one: the same messages inflated with the
 * agreed window and one byte of output per call, which checks every copy
 * against the window alone. True when it fails on message `upto` or an
 * earlier one (earlier ones may have broken the promise where wick's calls
 * let it pass). Slow, so used only to explain a failure. */
static bool strict_fails(const msg *msgs, size_t upto, unsigned bits, bool cnct)
{
    uint8_t tail[4] = {0x00, 0x00, 0xFF, 0xFF}; /* next_in is not const */
    z_stream z;
    memset(&z, 0, sizeof(z));
    FZ_CHECK(inflateInit2(&z, -(int)bits) == Z_OK);
    bool failed = false;
    for (size_t i = 0; i <= upto && !failed; i++) {
        const msg *m = &msgs[i];
        if (!m->compressed) {
            continue;
        }
        for (unsigned part = 0; part < 2 && !failed; part++) {
            z.next_in = part == 0 ? m->payload.p : tail;
            z.avail_in = part == 0 ? (uInt)m->payload.len : 4U;
            int rc = Z_OK;
            while (rc == Z_OK) {
                uint8_t byte;
                z.next_out = &byte;
                z.avail_out = 1;
                rc = inflate(&z, Z_NO_FLUSH);
                if (z.avail_out == 1 && z.avail_in == 0) {
                    break; /* input used up and nothing more to write */
                }
            }
            failed = rc == Z_DATA_ERROR;
            if (rc == Z_STREAM_END) {
                break; /* the final block ended the message's data */
            }
        }
        if (cnct) {
            FZ_CHECK(inflateReset(&z) == Z_OK);
        } else if (m->ref_end) {
            FZ_CHECK(inflateResetKeep(&z) == Z_OK);
        }
    }
    inflateEnd(&z);
    return failed;
}

/* Payload bytes of m on the wire before offset `at`. */
static size_t payload_before(const msg *m, size_t at)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nframes; i++) {
        if (at > m->frame_off[i]) {
            size_t k = at - m->frame_off[i];
            n += k < m->frame_len[i] ? k : m->frame_len[i];
        }
    }
    return n;
}

/* Offset of the first byte that cannot be part of valid UTF-8, or len;
 * *complete tells whether the text ends on a character boundary. */
static size_t utf8_bad(const buf *b, bool *complete)
{
    fz_utf8 u;
    fz_utf8_init(&u);
    size_t at = fz_utf8_scan(&u, b->p, b->len);
    *complete = fz_utf8_complete(&u);
    return at;
}

/* --- Building the messages ----------------------------------------------- */
static void make_content(fz_in *in, unsigned kind, size_t len, buf *plain)
{
    const uint8_t *src;
    if (kind == 2 || kind == 3) {
        /* Bomb: up to 256 KiB from a byte or a short pattern. */
        size_t n = len * 4U < MAX_BOMB ? len * 4U : MAX_BOMB;
        uint8_t pat[8] = {0};
        size_t plen = kind == 2 ? 1U : 1U + (fz_u8(in) & 7U);
        size_t got = fz_take(in, plen, &src);
        if (got) {
            memcpy(pat, src, got);
        }
        buf_reserve(plain, n);
        for (size_t i = 0; i < n; i++) {
            plain->p[i] = pat[i % plen];
        }
        plain->len = n;
        return;
    }
    size_t got = fz_take(in, len, &src);
    buf_put(plain, src, got);
    if (kind == 1) {
        for (size_t i = 0; i < plain->len; i++) {
            plain->p[i] = (uint8_t)(0x20U + plain->p[i] % 0x5FU);
        }
    }
}

/* Appends one frame to the wire, masked with a key from the generator. */
static void put_frame(buf *wire, uint8_t opcode, bool fin, uint8_t rsv, const uint8_t *p,
                      size_t len, uint64_t *seed, size_t *payload_off)
{
    uint8_t key[4];
    uint64_t r = fz_rng(seed);
    memcpy(key, &r, 4);
    size_t hsz = wick_frame_header_size(len, true);
    buf_reserve(wire, hsz + len);
    size_t n = 0;
    FZ_CHECK(wick_frame_write(opcode, fin, rsv, key, p, len, wire->p + wire->len,
                              wire->cap - wire->len, &n) == WICK_OK);
    FZ_CHECK(n == hsz + len);
    if (payload_off != NULL) {
        *payload_off = wire->len + hsz;
    }
    wire->len += n;
}

static void frame_message(msg *m, unsigned nframes, bool pings, buf *wire, uint64_t *seed)
{
    size_t cuts[MAX_FRAMES + 1];
    cuts[0] = 0;
    cuts[nframes] = m->payload.len;
    for (unsigned i = 1; i < nframes; i++) {
        size_t c = m->payload.len ? (size_t)(fz_rng(seed) % (m->payload.len + 1U)) : 0;
        cuts[i] = c;
    }
    /* Sort the inner cuts (insertion sort, at most 7). */
    for (unsigned i = 2; i < nframes; i++) {
        for (unsigned j = i; j > 1 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    }
    m->nframes = nframes;
    for (unsigned i = 0; i < nframes; i++) {
        uint8_t op = i == 0 ? m->opcode : WICK_OP_CONT;
        uint8_t rsv = i == 0 && m->compressed ? WICK_RSV1 : 0;
        size_t len = cuts[i + 1] - cuts[i];
        put_frame(wire, op, i + 1 == nframes, rsv,
                  m->payload.p != NULL ? m->payload.p + cuts[i] : NULL, len, seed,
                  &m->frame_off[i]);
        m->frame_len[i] = len;
        if (pings && i + 1 < nframes && (fz_rng(seed) & 1U)) {
            put_frame(wire, WICK_OP_PING, true, 0, (const uint8_t *)"p", 1, seed, NULL);
        }
    }
}

/* --- The run ---------------------------------------------------------- */
static uint8_t arena[400U * 1024U];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size};
    uint8_t conf = fz_u8(&in);
    uint8_t wb = fz_u8(&in);
    uint8_t limit = fz_u8(&in);
    uint8_t split = fz_u8(&in);
    uint64_t seed = (uint64_t)split * 0x9E37U + 1U;

    bool cnct = (conf & 1U) != 0;
    bool whole = (conf & 2U) != 0;
    unsigned cbits = 8U + (wb & 7U);
    uint64_t max_message = max_messages[limit & 7U];
    if ((limit & 8U) != 0) {
        max_message = (uint64_t)(limit >> 4) * 997U + 1U;
    }
    uint32_t max_ratio = max_ratios[(conf >> 3) & 7U];

    /* The server's pmd and connection. */
    wick_pmd_params p;
    memset(&p, 0, sizeof(p));
    p.enabled = true;
    p.client_no_context_takeover = cnct;
    p.server_no_context_takeover = (conf & 0x40U) != 0;
    p.client_max_window_bits = (uint8_t)cbits;
    p.server_max_window_bits = 15;
    wick_pmd_config cfg;
    wick_pmd_config_default(&cfg);
    cfg.budget = sizeof(arena);
    cfg.max_ratio = max_ratio;
    cfg.flags = (conf & 4U) ? WICK_PMD_DECOMPRESS_ONLY : 0U;
    size_t need = wick_pmd_arena_size(&cfg, &p, WICK_ROLE_SERVER);
    FZ_CHECK(need > 0 && need <= sizeof(arena));
    wick_pmd pmd;
    FZ_CHECK(wick_pmd_init(&pmd, &cfg, &p, WICK_ROLE_SERVER, arena, need) == WICK_OK);

    /* The generating client: window <= the agreed one (zlib's raw deflate
     * has no 8-bit window; at 9 it uses distances up to 250, within 8). */
    unsigned gbits = 9U + (unsigned)((wb >> 3) & 7U) % 7U;
    if (gbits > cbits) {
        gbits = cbits < 9U ? 9U : cbits; /* 9 bits: distances <= 250 */
    }
    if ((conf & 0x80U) != 0) {
        gbits = 15; /* a client that breaks its promise (7.1.2.2) */
    }
    int level = 1 + (wb >> 5) % 9;
    int mem_level = 1 + (int)((wb >> 3) & 7U) + (wb >> 7);
    z_stream gen;
    memset(&gen, 0, sizeof(gen));
    FZ_CHECK(deflateInit2(&gen, level, Z_DEFLATED, -(int)gbits, mem_level, Z_DEFAULT_STRATEGY) ==
             Z_OK);
    z_stream ref; /* lax: see strict_fails() */
    memset(&ref, 0, sizeof(ref));
    FZ_CHECK(inflateInit2(&ref, -15) == Z_OK);

    /* Build the messages and the wire. */
    msg msgs[MAX_MSGS];
    size_t nmsgs = 0;
    buf wire = {NULL, 0, 0};
    bool consistent = true; /* the generator's context is the reference's */
    while (in.n > 0 && nmsgs < MAX_MSGS) {
        uint8_t ctl = fz_u8(&in);
        size_t len = fz_u16(&in);
        uint8_t mut = fz_u8(&in);
        msg *m = &msgs[nmsgs++];
        memset(m, 0, sizeof(*m));
        unsigned kind = ctl & 3U;
        m->opcode = (ctl & 4U) ? WICK_OP_TEXT : WICK_OP_BINARY;
        m->compressed = kind != 2;
        if (kind == 0) {
            /* Raw bytes as compressed data. */
            const uint8_t *src;
            size_t got = fz_take(&in, len % (MAX_RAW + 1U), &src);
            buf_put(&m->payload, src, got);
            consistent = consistent && cnct;
        } else {
            make_content(&in, (ctl >> 3) & 3U, len, &m->plain);
            if (kind == 2) {
                buf_put(&m->payload, m->plain.p, m->plain.len);
                m->known = true;
            } else {
                bool final = kind == 3;
                gen_deflate(&gen, &m->plain, final ? Z_FINISH : Z_SYNC_FLUSH, &m->payload);
                if (final || cnct) {
                    FZ_CHECK(deflateReset(&gen) == Z_OK);
                }
                if (final && !cnct && m->plain.len != 0) {
                    /* After a final block the receiver keeps its window
                     * (7.2.2): the next stream refers back into this one. */
                    FZ_CHECK(deflateSetDictionary(&gen, m->plain.p, (uInt)m->plain.len) == Z_OK);
                }
                bool mutated = mut != 0 && m->payload.len > 0;
                m->known = !mutated && (cnct || consistent);
                if (mutated) {
                    m->payload.p[mut % m->payload.len] ^= (uint8_t)(1U + (mut >> 4));
                    consistent = cnct;
                } else if (cnct) {
                    consistent = true; /* both sides start from empty windows */
                }
            }
        }
        unsigned nframes = 1U + ((ctl >> 5) & 7U);
        frame_message(m, nframes, (ctl & 0x80U) != 0 && (mut & 1U), &wire, &seed);
    }

    /* Feed the wire in input-chosen pieces; wick unmasks in place. */
    sink s;
    memset(&s, 0, sizeof(s));
    s.whole = whole;
    s.msgs = msgs;
    s.pause_every = split & 3U;
    wick_conn c;
    wick_conn_config cc;
    wick_conn_config_default(&cc, WICK_ROLE_SERVER);
    static uint8_t out[1U << 16];
    cc.out_buf = out;
    cc.out_cap = sizeof(out);
    cc.max_message = max_message;
    cc.extension = wick_pmd_extension(&pmd);
    if (whole) {
        cc.allocator = &heap;
    }
    FZ_CHECK(wick_conn_init(&c, &cc, whole ? &whole_cb : &stream_cb, &s) == WICK_OK);
    uint8_t *w = fz_dup(wire.p, wire.len);
    size_t pos = 0, end = 0;
    size_t fail_msg = 0, fail_from = 0, fail_to = 0;
    wick_err rc = WICK_OK;
    bool paused = false;
    while (pos < wire.len || paused) {
        size_t from = pos;
        end += fz_chunk(&seed, wire.len - end > 0 ? wire.len - end : 1);
        if (end > wire.len) {
            end = wire.len;
        }
        size_t used = 0;
        s.paused = false;
        unsigned calls = s.calls;
        rc = wick_conn_recv(&c, w + pos, end - pos, &used);
        FZ_CHECK(s.pause_every != 1 || s.calls - calls <= 1U); /* prompt */
        size_t pend = 0;
        (void)wick_conn_out_peek(&c, &pend);
        wick_conn_out_consume(&c, pend);
        if (rc == WICK_NEED_MORE) {
            rc = WICK_OK; /* an incomplete header waits for more */
        }
        paused = rc == WICK_PAUSED;
        if (paused) {
            /* Only when a callback asked; what wick did not take is given
             * back as it came (masked), to be passed again. */
            FZ_CHECK(s.paused && used <= end - pos);
            FZ_CHECK(memcmp(w + pos + used, wire.p + pos + used, end - pos - used) == 0);
            rc = WICK_OK;
        } else if (rc != WICK_OK) {
            FZ_CHECK(wick_err_is_error(rc));
            fail_msg = s.done;
            fail_from = from;
            fail_to = end;
            break;
        }
        FZ_CHECK(used <= end - pos);
        pos += used;
        if (!paused && end == wire.len && used == 0) {
            break;
        }
    }
    FZ_CHECK(rc != WICK_OK || pos == wire.len);
    FZ_CHECK(s.errs == (rc != WICK_OK ? 1U : 0U));

    /* Replay the messages through the reference. */
    ref_result r;
    memset(&r, 0, sizeof(r));
    size_t last = rc != WICK_OK ? fail_msg + 1 : nmsgs;
    FZ_CHECK(last <= nmsgs);
    FZ_CHECK(rc != WICK_OK || s.done == nmsgs);
    for (size_t i = 0; i < last; i++) {
        msg *m = &msgs[i];
        bool failing = rc != WICK_OK && i == fail_msg;
        if (m->compressed) {
            ref_inflate(&ref, &m->payload, &r);
        } else {
            r.out.len = 0;
            buf_put(&r.out, m->payload.p, m->payload.len);
            r.data_error = false;
            r.stream_end = false;
        }
        if (m->known && !r.data_error) {
            FZ_CHECK(r.out.len == m->plain.len);
            FZ_CHECK(r.out.len == 0 || memcmp(r.out.p, m->plain.p, r.out.len) == 0);
        }
        bool complete = true;
        size_t bad = m->opcode == WICK_OP_TEXT ? utf8_bad(&r.out, &complete) : r.out.len;
        bool utf8_fail = m->opcode == WICK_OP_TEXT && (bad < r.out.len || !complete);
        bool big = max_message != 0 && r.out.len > max_message;
        size_t total_in = m->payload.len;
        bool ratio_final = m->compressed && max_ratio != 0 &&
                           r.out.len > (uint64_t)total_in * max_ratio + RATIO_SLACK;
        if (!failing) {
            /* Delivered whole and right. */
            FZ_CHECK(!r.data_error && !utf8_fail && !big && !ratio_final);
            FZ_CHECK(s.done > i);
            FZ_CHECK(s.got[i].len == r.out.len);
            FZ_CHECK(r.out.len == 0 || memcmp(s.got[i].p, r.out.p, r.out.len) == 0);
        } else {
            const buf *d = &s.got[i]; /* streamed part of the failing message */
            FZ_CHECK(d->len <= r.out.len);
            FZ_CHECK(d->len == 0 || memcmp(d->p, r.out.p, d->len) == 0);
            FZ_CHECK(!whole || d->len == 0);
            size_t p_prev = payload_before(m, fail_from);
            size_t p_end = payload_before(m, fail_to);
            switch (rc) {
            case WICK_ERR_INFLATE:
                FZ_CHECK(m->compressed);
                FZ_CHECK(r.data_error || strict_fails(msgs, i, cbits, cnct));
                break;
            case WICK_ERR_TOO_BIG:
                FZ_CHECK(big);
                FZ_CHECK(d->len <= max_message);
                break;
            case WICK_ERR_INFLATE_RATIO:
                FZ_CHECK(m->compressed && max_ratio != 0);
                FZ_CHECK(r.out.len > (uint64_t)p_prev * max_ratio + RATIO_SLACK);
                FZ_CHECK(d->len <= (uint64_t)p_end * max_ratio + RATIO_SLACK);
                break;
            case WICK_ERR_UTF8:
                FZ_CHECK(utf8_fail);
                FZ_CHECK(d->len <= bad);
                break;
            default:
                fprintf(stderr, "unexpected %s on message %zu\n", wick_err_name(rc), i);
                FZ_CHECK(0);
            }
            /* Nothing else may have gone wrong: one of the four held. */
            FZ_CHECK(r.data_error || utf8_fail || big || rc == WICK_ERR_INFLATE_RATIO ||
                     rc == WICK_ERR_INFLATE);
        }
        /* Without context takeover the next message starts from an empty
         * window; with it, after a final block, a new stream keeps the
         * window (7.2.2, 7.2.3.4). */
        m->ref_end = r.stream_end;
        if (m->compressed && cnct) {
            FZ_CHECK(inflateReset(&ref) == Z_OK);
        } else if (m->compressed && r.stream_end) {
            FZ_CHECK(inflateResetKeep(&ref) == Z_OK);
        }
    }

    wick_conn_release(&c);
    wick_pmd_release(&pmd);
    deflateEnd(&gen);
    inflateEnd(&ref);
    free(w);
    free(wire.p);
    free(r.out.p);
    for (size_t i = 0; i < nmsgs; i++) {
        free(s.got[i].p);
        free(msgs[i].plain.p);
        free(msgs[i].payload.p);
    }
    return 0;
}
