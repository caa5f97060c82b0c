/* Receive-path benchmark (issue 10): one deterministic stream of
 * client-masked frames per size, half of the messages text, received the
 * way an application receives them. Two modes, each against wslay's event
 * API:
 *   stream  the application streams and knows text from binary:
 *           wick on_data (opcode on every chunk); wslay with no buffering,
 *           on_frame_recv_start (opcode) + on_frame_recv_chunk + _end;
 *   whole   the application wants whole messages: wick on_message with a
 *           1 MiB msg_buf; wslay with its own buffering, on_msg_recv.
 * Every timed callback counts messages, text messages and bytes, and the
 * counts are checked after each run; an untimed verification pass per
 * library and mode hashes (opcode, payload) of every message and compares
 * with the hash taken when the stream was made.
 *
 * Input as recv() leaves it: the stream is cut into 64 KiB chunks, and
 * each chunk is copied into one 64 KiB receive buffer (hot in cache)
 * before the timed call. wick's bytes left unconsumed (an incomplete
 * header or control frame, WICK_NEED_MORE) stay at the front of that
 * buffer and the next chunk is appended after them. wslay pulls the
 * chunk through its recv callback, which copies it into wslay's own
 * buffer (timed: that copy is how wslay's API takes input). The baseline
 * is memcpy of one hot 64 KiB buffer into another, as many times as the
 * stream has chunks: the physical limit for touching every byte once.
 *
 * usage: bench_stream [REPS] [MIB_PER_STREAM] [ONLY_KIND] [wick]
 * (ONLY_KIND: run one stream, e.g. 16B; "wick": time wick alone, for
 * profiling). BENCH_TEXT=ascii|mixed|cjk picks the script of the text
 * messages (default mixed: half ASCII, the rest 2- to 4-byte characters). */
#include <sys/types.h>

#include <wslay/wslay.h>

#include "bench_common.h"
#include "wick.h"

#define CHUNK   (64U * 1024U)
#define MSG_MAX (1U << 20)

typedef struct stream {
    const char *name;
    uint8_t *buf;
    size_t len;
    size_t msgs, texts;
    size_t payload; /* total payload bytes */
    uint64_t hash;  /* of every (opcode, payload) in order */
} stream;

/* Message hash: FNV-1a over the payload bytes, then the opcode; chained
 * over the messages. Independent of how a message was chunked. */
#define HASH_INIT UINT64_C(0xcbf29ce484222325)
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    }
    return h;
}
static uint64_t hash_end(uint64_t h, unsigned opcode)
{
    return (h ^ (0x100U + opcode)) * UINT64_C(0x100000001b3);
}

/* Appends one masked client frame carrying payload p[0..n). */
static size_t put_frame(uint8_t *out, uint8_t opcode, const uint8_t *p, size_t n, uint64_t *rng)
{
    uint8_t key[4];
    uint64_t r = bench_rng(rng);
    memcpy(key, &r, 4);
    size_t hl = 0;
    wick_err e = wick_frame_write(opcode, true, 0, key, p, n, out, n + 14, &hl);
    if (e != WICK_OK) {
        fprintf(stderr, "bench_stream: frame_write: %s\n", wick_strerror(e));
        exit(1);
    }
    return hl;
}

/* Script of the text messages: BENCH_TEXT=ascii|mixed (default)|cjk. */
static int text_kind(void)
{
    const char *t = getenv("BENCH_TEXT");
    if (t != NULL && strcmp(t, "ascii") == 0) {
        return TEXT_ASCII;
    }
    if (t != NULL && strcmp(t, "cjk") == 0) {
        return TEXT_CJK;
    }
    return TEXT_MIXED;
}

/* size (size_t)-1: the mix (random size class per message). */
static void make_stream(stream *s, const char *name, size_t size, size_t target, uint64_t seed)
{
    static const size_t mix[] = {0, 16, 125, 1024, 16384, 1048576};
    s->name = name;
    s->buf = malloc(target + (1U << 21));
    uint8_t *pl = malloc(MSG_MAX);
    if (s->buf == NULL || pl == NULL) {
        exit(1);
    }
    uint64_t rng = seed;
    s->len = s->msgs = s->texts = s->payload = 0;
    s->hash = HASH_INIT;
    while (s->len < target) {
        size_t n = size;
        if (size == (size_t)-1) {
            /* Mix: weighted towards small messages, like real traffic. */
            unsigned k = (unsigned)(bench_rng(&rng) % 100);
            n = k < 20   ? mix[0]
                : k < 50 ? mix[1]
                : k < 75 ? mix[2]
                : k < 92 ? mix[3]
                : k < 99 ? mix[4]
                         : mix[5];
        }
        bool text = (bench_rng(&rng) & 1) != 0;
        if (text) {
            bench_text(&rng, text_kind(), pl, n);
        } else {
            for (size_t i = 0; i < n; i += 8) {
                uint64_t r = bench_rng(&rng);
                memcpy(pl + i, &r, n - i < 8 ? n - i : 8);
            }
        }
        uint8_t op = text ? WICK_OP_TEXT : WICK_OP_BINARY;
        s->hash = hash_end(hash_bytes(s->hash, pl, n), op);
        s->len += put_frame(s->buf + s->len, op, pl, n, &rng);
        s->msgs++;
        s->texts += text;
        s->payload += n;
    }
    free(pl);
}

/* What the callbacks of every contender collect. */
typedef struct sink {
    size_t bytes, msgs, texts;
    uint64_t hash, cur; /* verification pass only */
    uint8_t op;         /* wslay streaming: opcode of the current frame */
} sink;

static void sink_check(const char *who, const sink *k, const stream *s, bool verify)
{
    if (k->msgs != s->msgs || k->texts != s->texts || k->bytes != s->payload ||
        (verify && k->hash != s->hash)) {
        fprintf(stderr,
                "%s: got %zu msgs (%zu text) %zu bytes hash %016llx, want %zu (%zu) %zu %016llx\n",
                who, k->msgs, k->texts, k->bytes, (unsigned long long)k->hash, s->msgs, s->texts,
                s->payload, (unsigned long long)s->hash);
        exit(1);
    }
}

/* --- wick ------------------------------------------------------------- */

static int w_data(wick_conn *c, uint8_t op, const uint8_t *data, size_t len, unsigned flags,
                  void *user)
{
    (void)c;
    (void)data;
    sink *k = user;
    k->bytes += len;
    if (flags & WICK_DATA_FIN) {
        k->msgs++;
        k->texts += op == WICK_OP_TEXT;
    }
    return 0;
}

static int w_data_verify(wick_conn *c, uint8_t op, const uint8_t *data, size_t len, unsigned flags,
                         void *user)
{
    sink *k = user;
    if (flags & WICK_DATA_FIRST) {
        k->cur = k->hash;
    }
    k->cur = hash_bytes(k->cur, data, len);
    if (flags & WICK_DATA_FIN) {
        k->hash = hash_end(k->cur, op);
    }
    return w_data(c, op, data, len, flags, user);
}

static int w_msg(wick_conn *c, uint8_t op, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    (void)data;
    sink *k = user;
    k->bytes += len;
    k->msgs++;
    k->texts += op == WICK_OP_TEXT;
    return 0;
}

static int w_msg_verify(wick_conn *c, uint8_t op, const uint8_t *data, size_t len, void *user)
{
    sink *k = user;
    k->hash = hash_end(hash_bytes(k->hash, data, len), op);
    return w_msg(c, op, data, len, user);
}

static const wick_callbacks w_stream = {.on_data = w_data};
static const wick_callbacks w_stream_verify = {.on_data = w_data_verify};
static const wick_callbacks w_whole = {.on_message = w_msg};
static const wick_callbacks w_whole_verify = {.on_message = w_msg_verify};

static uint8_t w_msg_buf[MSG_MAX];
static uint8_t rbuf[CHUNK + WICK_RECV_MIN]; /* the receive buffer */

static double run_wick(const uint8_t *src, const stream *s, bool whole, bool verify)
{
    static uint8_t out[4096];
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = out;
    cfg.out_cap = sizeof out;
    if (whole) {
        cfg.msg_buf = w_msg_buf;
        cfg.msg_cap = sizeof w_msg_buf;
    }
    const wick_callbacks *cb =
        whole ? (verify ? &w_whole_verify : &w_whole) : (verify ? &w_stream_verify : &w_stream);
    wick_conn c;
    sink k = {0, 0, 0, HASH_INIT, 0, 0};
    if (wick_conn_init(&c, &cfg, cb, &k) != WICK_OK) {
        exit(1);
    }
    double t = 0;
    size_t keep = 0;
    for (size_t off = 0; off < s->len; off += CHUNK) {
        size_t n = s->len - off < CHUNK ? s->len - off : CHUNK;
        memcpy(rbuf + keep, src + off, n); /* recv() */
        size_t used = 0;
        double t0 = bench_now();
        wick_err e = wick_conn_recv(&c, rbuf, keep + n, &used);
        t += bench_now() - t0;
        if (e != WICK_OK && e != WICK_NEED_MORE) {
            fprintf(stderr, "wick: %s at %zu\n", wick_err_name(e), off);
            exit(1);
        }
        keep = keep + n - used;
        memmove(rbuf, rbuf + used, keep);
    }
    wick_conn_release(&c);
    sink_check(whole ? "wick whole" : "wick stream", &k, s, verify);
    return t;
}

/* --- wslay ------------------------------------------------------------ */

typedef struct wslay_src {
    const uint8_t *p;
    size_t len, off;
    sink k;
} wslay_src;

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    wslay_src *s = user;
    size_t n = s->len - s->off;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len) {
        n = len;
    }
    memcpy(buf, s->p + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)ctx;
    (void)data;
    (void)flags;
    (void)user;
    return (ssize_t)len;
}

static void ws_start(wslay_event_context_ptr ctx,
                     const struct wslay_event_on_frame_recv_start_arg *a, void *user)
{
    (void)ctx;
    wslay_src *s = user;
    s->k.op = a->opcode;
    s->k.cur = s->k.hash;
}

static void ws_chunk(wslay_event_context_ptr ctx,
                     const struct wslay_event_on_frame_recv_chunk_arg *a, void *user)
{
    (void)ctx;
    wslay_src *s = user;
    s->k.bytes += a->data_length;
}

static void ws_chunk_verify(wslay_event_context_ptr ctx,
                            const struct wslay_event_on_frame_recv_chunk_arg *a, void *user)
{
    wslay_src *s = user;
    s->k.cur = hash_bytes(s->k.cur, a->data, a->data_length);
    ws_chunk(ctx, a, user);
}

static void ws_end(wslay_event_context_ptr ctx, void *user)
{
    (void)ctx;
    wslay_src *s = user;
    s->k.msgs++;
    s->k.texts += s->k.op == WSLAY_TEXT_FRAME;
}

static void ws_end_verify(wslay_event_context_ptr ctx, void *user)
{
    wslay_src *s = user;
    s->k.hash = hash_end(s->k.cur, s->k.op);
    ws_end(ctx, user);
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *user)
{
    (void)ctx;
    wslay_src *s = user;
    if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME) {
        return;
    }
    s->k.bytes += a->msg_length;
    s->k.msgs++;
    s->k.texts += a->opcode == WSLAY_TEXT_FRAME;
}

static void ws_msg_verify(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                          void *user)
{
    wslay_src *s = user;
    s->k.hash = hash_end(hash_bytes(s->k.hash, a->msg, a->msg_length), a->opcode);
    ws_msg(ctx, a, user);
}

static double run_wslay(const uint8_t *src, const stream *st, bool whole, bool verify)
{
    struct wslay_event_callbacks cb = {ws_recv, ws_send, NULL, NULL, NULL, NULL, NULL};
    if (whole) {
        cb.on_msg_recv_callback = verify ? ws_msg_verify : ws_msg;
    } else {
        cb.on_frame_recv_start_callback = ws_start;
        cb.on_frame_recv_chunk_callback = verify ? ws_chunk_verify : ws_chunk;
        cb.on_frame_recv_end_callback = verify ? ws_end_verify : ws_end;
    }
    wslay_src s;
    memset(&s, 0, sizeof s);
    s.k.hash = HASH_INIT;
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &cb, &s) != 0) {
        exit(1);
    }
    wslay_event_config_set_no_buffering(ctx, whole ? 0 : 1);
    wslay_event_config_set_max_recv_msg_length(ctx, MSG_MAX);
    double t = 0;
    for (size_t off = 0; off < st->len; off += CHUNK) {
        size_t n = st->len - off < CHUNK ? st->len - off : CHUNK;
        memcpy(rbuf, src + off, n); /* recv() */
        s.p = rbuf;
        s.len = n;
        s.off = 0;
        double t0 = bench_now();
        int rc = wslay_event_recv(ctx);
        t += bench_now() - t0;
        if (rc != 0) {
            fprintf(stderr, "wslay: recv failed at %zu\n", off);
            exit(1);
        }
    }
    wslay_event_context_free(ctx);
    sink_check(whole ? "wslay whole" : "wslay stream", &s.k, st, verify);
    return t;
}

/* memcpy of one hot 64 KiB buffer into another, once per chunk. */
static double run_memcpy(size_t len)
{
    static uint8_t a[CHUNK], b[CHUNK];
    memset(a, 0x5a, sizeof a);
    memcpy(b, a, sizeof b);
    double t0 = bench_now();
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        memcpy(b, a, n);
        __asm__ volatile("" : : "r"(b) : "memory"); /* keep every copy */
    }
    return bench_now() - t0;
}

static void report(const char *what, const stream *s, const double *t, int reps)
{
    double gbs[BENCH_MAX_REPS], mps[BENCH_MAX_REPS];
    for (int r = 0; r < reps; r++) {
        gbs[r] = (double)s->len / t[r] / 1e9;
        mps[r] = (double)s->msgs / t[r];
    }
    bench_stat g = bench_stats(gbs, reps);
    bench_stat m = bench_stats(mps, reps);
    printf("%-6s %-13s GB/s %7.2f [%7.2f %7.2f]  Mmsg/s %8.2f [%8.2f %8.2f]\n", s->name, what,
           g.med, g.min, g.max, m.med / 1e6, m.min / 1e6, m.max / 1e6);
}

static void ratio(const char *what, const stream *s, const double *num, const double *den, int reps)
{
    double r[BENCH_MAX_REPS];
    for (int i = 0; i < reps; i++) {
        r[i] = den[i] / num[i]; /* time ratio = speed ratio */
    }
    bench_stat x = bench_stats(r, reps);
    printf("%-6s %-24s %7.2f [%7.2f %7.2f]\n", s->name, what, x.med, x.min, x.max);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    size_t mib = argc > 2 ? (size_t)atoi(argv[2]) : 16;
    if (reps < 1 || reps > BENCH_MAX_REPS) {
        reps = 11;
    }
    static const struct {
        const char *name;
        size_t size;
    } kinds[] = {{"0B", 0},        {"16B", 16},       {"125B", 125},      {"1KiB", 1024},
                 {"16KiB", 16384}, {"1MiB", 1048576}, {"mix", (size_t)-1}};
    bench_banner("stream: client-masked frames, 64 KiB recv chunks, half text (UTF-8 checked)");
    printf(
        "# %d repetitions, %zu MiB per stream; baseline: hot 64 KiB memcpy per chunk; text: %s\n",
        reps, mib, getenv("BENCH_TEXT") != NULL ? getenv("BENCH_TEXT") : "mixed");
    printf("# columns: median [min max]; ratios are per repetition (speed A / speed B)\n");
    const char *only = argc > 3 ? argv[3] : NULL;
    bool wick_only = argc > 4 && strcmp(argv[4], "wick") == 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (only != NULL && strcmp(only, kinds[k].name) != 0) {
            continue;
        }
        stream s;
        make_stream(&s, kinds[k].name, kinds[k].size, mib << 20, 0x5EED0000u + k);
        /* Untimed verification: every message, byte for byte. */
        for (int m = 0; m < 2; m++) {
            (void)run_wick(s.buf, &s, m == 1, true);
            if (!wick_only) {
                (void)run_wslay(s.buf, &s, m == 1, true);
            }
        }
        printf("# %s: %zu messages (%zu text), %zu wire bytes; verified\n", s.name, s.msgs, s.texts,
               s.len);
        double tm[BENCH_MAX_REPS];
        double tw[2][BENCH_MAX_REPS], ts[2][BENCH_MAX_REPS];
        for (int r = 0; r < reps; r++) {
            for (int m = 0; m < 2; m++) {
                tw[m][r] = run_wick(s.buf, &s, m == 1, false);
                ts[m][r] = wick_only ? tw[m][r] : run_wslay(s.buf, &s, m == 1, false);
            }
            tm[r] = run_memcpy(s.len);
        }
        report("memcpy", &s, tm, reps);
        for (int m = 0; m < 2; m++) {
            const char *mode = m ? "whole" : "stream";
            char a[32], b[32];
            snprintf(a, sizeof a, "wick %s", mode);
            snprintf(b, sizeof b, "wslay %s", mode);
            report(a, &s, tw[m], reps);
            report(b, &s, ts[m], reps);
            snprintf(a, sizeof a, "wick/memcpy %s", mode);
            snprintf(b, sizeof b, "wick/wslay %s", mode);
            ratio(a, &s, tw[m], tm, reps);
            ratio(b, &s, tw[m], ts[m], reps);
        }
        fflush(stdout);
        free(s.buf);
    }
    return 0;
}
