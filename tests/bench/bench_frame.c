/* Serializer benchmark (issue 7): wick_frame_write() for server (unmasked)
 * and client (masked) frames of 0 bytes to 1 MiB, against wslay's frame
 * layer (wslay_frame_send with a send callback copying into memory).
 * Both write whole frames (header + payload) into the same buffer.
 *
 * usage: bench_frame [REPS] */
#include <sys/types.h>

#include <wslay/wslay.h>

#include "bench_common.h"
#include "wick.h"

#define OUT_CAP ((1U << 20) + 64U)

typedef struct sink {
    uint8_t *out;
    size_t len;
    uint64_t rng;
} sink;

static ssize_t fs_send(const uint8_t *data, size_t len, int flags, void *user)
{
    (void)flags;
    sink *k = user;
    memcpy(k->out + k->len, data, len);
    k->len += len;
    return (ssize_t)len;
}

static ssize_t fs_recv(uint8_t *buf, size_t len, int flags, void *user)
{
    (void)buf;
    (void)len;
    (void)flags;
    (void)user;
    return -1;
}

static int fs_genmask(uint8_t *buf, size_t len, void *user)
{
    sink *k = user;
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)bench_rng(&k->rng);
    }
    return 0;
}

static double time_wick(const uint8_t *pl, size_t n, bool masked, uint8_t *out, size_t iters)
{
    uint64_t rng = 42;
    const size_t want = n + wick_frame_header_size(n, masked); /* outside the timed loop */
    double t0 = bench_now();
    for (size_t i = 0; i < iters; i++) {
        uint8_t key[4];
        size_t ol = 0;
        const uint8_t *k = NULL;
        if (masked) {
            uint64_t r = bench_rng(&rng);
            memcpy(key, &r, 4);
            k = key;
        }
        if (wick_frame_write(WICK_OP_BINARY, true, 0, k, pl, n, out, OUT_CAP, &ol) != WICK_OK ||
            ol != want) {
            fprintf(stderr, "wick_frame_write failed\n");
            exit(1);
        }
        __asm__ volatile("" : : "r"(out) : "memory");
    }
    return bench_now() - t0;
}

static double time_wslay(const uint8_t *pl, size_t n, bool masked, uint8_t *out, size_t iters)
{
    sink k = {out, 0, 42};
    struct wslay_frame_callbacks cb = {fs_send, fs_recv, fs_genmask};
    wslay_frame_context_ptr ctx;
    if (wslay_frame_context_init(&ctx, &cb, &k) != 0) {
        exit(1);
    }
    double t0 = bench_now();
    for (size_t i = 0; i < iters; i++) {
        struct wslay_frame_iocb io;
        memset(&io, 0, sizeof io);
        io.fin = 1;
        io.opcode = WSLAY_BINARY_FRAME;
        io.mask = masked;
        io.payload_length = n;
        io.data = pl;
        io.data_length = n;
        k.len = 0;
        size_t sent = 0;
        do {
            io.data = pl + sent;
            io.data_length = n - sent;
            ssize_t r = wslay_frame_send(ctx, &io);
            if (r < 0) {
                fprintf(stderr, "wslay_frame_send failed\n");
                exit(1);
            }
            sent += (size_t)r;
        } while (sent < n);
        if (k.len != n + wick_frame_header_size(n, masked)) {
            fprintf(stderr, "wslay wrote %zu\n", k.len);
            exit(1);
        }
        __asm__ volatile("" : : "r"(out) : "memory");
    }
    double t = bench_now() - t0;
    wslay_frame_context_free(ctx);
    return t;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    if (reps < 1 || reps > BENCH_MAX_REPS) {
        reps = 11;
    }
    static const size_t sizes[] = {0, 16, 125, 1024, 16384, 65536, 1048576};
    uint8_t *pl = malloc(1U << 20);
    uint8_t *out = malloc(OUT_CAP);
    if (pl == NULL || out == NULL) {
        return 1;
    }
    uint64_t rng = 7;
    for (size_t i = 0; i < (1U << 20); i++) {
        pl[i] = (uint8_t)bench_rng(&rng);
    }
    memset(out, 0, OUT_CAP);
    bench_banner("frame: serializer, whole frame (header + payload) into memory");
    printf("# %d repetitions; median [min max]; ratio per repetition\n", reps);
    for (int masked = 0; masked < 2; masked++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            /* About 32 MiB or 2M frames per repetition, whichever is less. */
            size_t iters = (32U << 20) / (n + 16);
            if (iters > 2000000) {
                iters = 2000000;
            }
            double tw[BENCH_MAX_REPS], ts[BENCH_MAX_REPS], fw[BENCH_MAX_REPS],
                fs[BENCH_MAX_REPS], rr[BENCH_MAX_REPS];
            for (int r = 0; r < reps; r++) {
                tw[r] = time_wick(pl, n, masked, out, iters);
                ts[r] = time_wslay(pl, n, masked, out, iters);
                fw[r] = (double)iters / tw[r];
                fs[r] = (double)iters / ts[r];
                rr[r] = ts[r] / tw[r];
            }
            bench_stat a = bench_stats(fw, reps);
            bench_stat b = bench_stats(fs, reps);
            bench_stat x = bench_stats(rr, reps);
            printf("%-6s %8zu B  wick Mframes/s %9.3f [%9.3f %9.3f] GB/s %6.2f  "
                   "wslay Mframes/s %8.3f GB/s %6.2f  wick/wslay %7.2f [%7.2f %7.2f]\n",
                   masked ? "client" : "server", n, a.med / 1e6, a.min / 1e6, a.max / 1e6,
                   a.med * (double)n / 1e9, b.med / 1e6, b.med * (double)n / 1e9, x.med, x.min,
                   x.max);
            fflush(stdout);
        }
    }
    free(pl);
    free(out);
    return 0;
}
