/* Receive-path benchmark (issue 7): one deterministic stream of
 * client-masked frames, fed in 64 KiB chunks to
 *   - wick's connection engine (server role, UTF-8 validation on,
 *     streaming delivery through on_data),
 *   - wslay's event API (no buffering, so it streams through
 *     on_frame_recv_chunk; it validates text frames too), fed the same
 *     bytes from memory through its recv callback,
 *   - memcpy of the same bytes (the physical limit of an in-place unmask).
 * wick unmasks in place, so every repetition starts from a fresh copy of
 * the masked stream, made OUTSIDE the timed region (for all three).
 * Ratios are computed per repetition, then summarised.
 *
 * usage: bench_stream [REPS] [MIB_PER_STREAM] [ONLY_KIND] [wick]
 * (ONLY_KIND: run one stream, e.g. 16B; "wick": time wick alone, for
 * profiling) */
#include <sys/types.h>

#include <wslay/wslay.h>

#include "bench_common.h"
#include "wick.h"

#define CHUNK (64U * 1024U)

typedef struct stream {
    const char *name;
    uint8_t *buf;
    size_t len;
    size_t msgs;
    size_t payload; /* total payload bytes */
} stream;

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

/* sizes[] == NULL: the mix (random size class per message). */
static void make_stream(stream *s, const char *name, size_t size, size_t target, uint64_t seed)
{
    static const size_t mix[] = {0, 16, 125, 1024, 16384, 1048576};
    s->name = name;
    s->buf = malloc(target + (1U << 21));
    uint8_t *pl = malloc(1U << 20);
    if (s->buf == NULL || pl == NULL) {
        exit(1);
    }
    uint64_t rng = seed;
    s->len = s->msgs = s->payload = 0;
    while (s->len < target) {
        size_t n = size;
        if (size == (size_t)-1) {
            /* Mix: weighted towards small messages, like real traffic. */
            unsigned k = (unsigned)(bench_rng(&rng) % 100);
            n = k < 20 ? mix[0] : k < 50 ? mix[1] : k < 75 ? mix[2] : k < 92 ? mix[3]
                : k < 99 ? mix[4] : mix[5];
        }
        bool text = (bench_rng(&rng) & 1) != 0;
        if (text) {
            bench_text(&rng, TEXT_MIXED, pl, n);
        } else {
            for (size_t i = 0; i < n; i += 8) {
                uint64_t r = bench_rng(&rng);
                memcpy(pl + i, &r, n - i < 8 ? n - i : 8);
            }
        }
        s->len += put_frame(s->buf + s->len, text ? WICK_OP_TEXT : WICK_OP_BINARY, pl, n, &rng);
        s->msgs++;
        s->payload += n;
    }
    free(pl);
}

/* --- wick ------------------------------------------------------------- */

typedef struct wick_sink {
    size_t bytes, msgs;
} wick_sink;

static int w_on_data(wick_conn *c, const uint8_t *data, size_t len, bool fin, void *user)
{
    (void)c;
    (void)data;
    wick_sink *k = user;
    k->bytes += len;
    k->msgs += fin;
    return 0;
}

static const wick_callbacks w_cbs = {.on_data = w_on_data};

static double run_wick(uint8_t *buf, size_t len, const stream *s)
{
    static uint8_t out[4096];
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = out;
    cfg.out_cap = sizeof out;
    wick_conn c;
    wick_sink k = {0, 0};
    if (wick_conn_init(&c, &cfg, &w_cbs, &k) != WICK_OK) {
        exit(1);
    }
    double t0 = bench_now();
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        size_t used = 0;
        wick_err e = wick_conn_recv(&c, buf + off, n, &used);
        if (e != WICK_OK || used != n) {
            fprintf(stderr, "wick: %s at %zu\n", wick_err_name(e), off);
            exit(1);
        }
    }
    double t = bench_now() - t0;
    wick_conn_release(&c);
    if (k.msgs != s->msgs || k.bytes != s->payload) {
        fprintf(stderr, "wick: got %zu msgs %zu bytes, want %zu %zu\n", k.msgs, k.bytes, s->msgs,
                s->payload);
        exit(1);
    }
    return t;
}

/* --- wslay ------------------------------------------------------------ */

typedef struct wslay_src {
    const uint8_t *p;
    size_t len, off;
    size_t bytes, msgs;
} wslay_src;

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
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

static void ws_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *a,
                     void *user)
{
    (void)ctx;
    wslay_src *s = user;
    s->bytes += a->data_length;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *user)
{
    (void)ctx;
    (void)a;
    wslay_src *s = user;
    s->msgs++;
}

static double run_wslay(uint8_t *buf, size_t len, const stream *st)
{
    struct wslay_event_callbacks cb = {ws_recv, ws_send, NULL, NULL, ws_chunk, NULL, ws_msg};
    wslay_src s = {buf, 0, 0, 0, 0};
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &cb, &s) != 0) {
        exit(1);
    }
    wslay_event_config_set_no_buffering(ctx, 1);
    wslay_event_config_set_max_recv_msg_length(ctx, UINT64_C(1) << 40);
    double t0 = bench_now();
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        s.p = buf + off;
        s.len = n;
        s.off = 0;
        if (wslay_event_recv(ctx) != 0) {
            fprintf(stderr, "wslay: recv failed at %zu\n", off);
            exit(1);
        }
    }
    double t = bench_now() - t0;
    wslay_event_context_free(ctx);
    if (s.msgs != st->msgs || s.bytes != st->payload) {
        fprintf(stderr, "wslay: got %zu msgs %zu bytes, want %zu %zu\n", s.msgs, s.bytes,
                st->msgs, st->payload);
        exit(1);
    }
    return t;
}

static double run_memcpy(uint8_t *dst, const uint8_t *src, size_t len)
{
    double t0 = bench_now();
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        memcpy(dst + off, src + off, n);
    }
    /* Keep the copy observable. */
    __asm__ volatile("" : : "r"(dst) : "memory");
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
    printf("%-8s %-7s GB/s %7.3f [%7.3f %7.3f]  Mmsg/s %8.3f [%8.3f %8.3f]\n", s->name, what,
           g.med, g.min, g.max, m.med / 1e6, m.min / 1e6, m.max / 1e6);
}

static void ratio(const char *what, const stream *s, const double *num, const double *den,
                  int reps)
{
    double r[BENCH_MAX_REPS];
    for (int i = 0; i < reps; i++) {
        r[i] = den[i] / num[i]; /* time ratio = speed ratio */
    }
    bench_stat x = bench_stats(r, reps);
    printf("%-8s %-18s %8.3f [%8.3f %8.3f]\n", s->name, what, x.med, x.min, x.max);
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
    } kinds[] = {{"0B", 0},        {"16B", 16},         {"125B", 125}, {"1KiB", 1024},
                 {"16KiB", 16384}, {"1MiB", 1048576}, {"mix", (size_t)-1}};
    bench_banner("stream: client-masked frames in 64 KiB chunks, half text (UTF-8 checked)");
    printf("# %d repetitions, %zu MiB per stream; masked copy made outside the timed region\n",
           reps, mib);
    printf("# columns: median [min max]; ratios are per repetition (speed A / speed B)\n");
    const char *only = argc > 3 ? argv[3] : NULL;
    bool wick_only = argc > 4 && strcmp(argv[4], "wick") == 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        if (only != NULL && strcmp(only, kinds[k].name) != 0) {
            continue;
        }
        stream s;
        make_stream(&s, kinds[k].name, kinds[k].size, mib << 20, 0x5EED0000u + k);
        uint8_t *work = malloc(s.len);
        uint8_t *dst = malloc(s.len);
        if (work == NULL || dst == NULL) {
            return 1;
        }
        memset(work, 0, s.len);
        (void)run_memcpy(dst, s.buf, s.len); /* fault the pages in */
        double tw[BENCH_MAX_REPS], ts[BENCH_MAX_REPS], tm[BENCH_MAX_REPS];
        for (int r = 0; r < reps; r++) {
            memcpy(work, s.buf, s.len);
            tw[r] = run_wick(work, s.len, &s);
            if (wick_only) {
                ts[r] = tm[r] = tw[r];
                continue;
            }
            memcpy(work, s.buf, s.len);
            ts[r] = run_wslay(work, s.len, &s);
            tm[r] = run_memcpy(dst, s.buf, s.len);
        }
        printf("# %s: %zu messages, %zu wire bytes\n", s.name, s.msgs, s.len);
        report("wick", &s, tw, reps);
        report("wslay", &s, ts, reps);
        report("memcpy", &s, tm, reps);
        ratio("wick/memcpy", &s, tw, tm, reps);
        ratio("wick/wslay", &s, tw, ts, reps);
        fflush(stdout);
        free(work);
        free(dst);
        free(s.buf);
    }
    return 0;
}
