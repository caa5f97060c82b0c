/* UTF-8 validator benchmark (issues 7 and 10): wick_utf8_feed() on ASCII,
 * Latin plus CJK, and emoji-heavy text, in 64 KiB buffers and in 125-byte
 * messages (init + feed + finish per message), against a byte-at-a-time
 * DFA reference written here, and against memcpy.
 *
 * Everything runs on one 64 KiB working set per text, validated over and
 * over, so the bytes are in L2 as recv() into a reused buffer leaves them;
 * the memcpy baseline copies that 64 KiB buffer into another, over and
 * over (the speed limit for touching hot bytes once). Each repetition
 * times the three back to back; ratios are per repetition.
 *
 * usage: bench_utf8 [REPS] */
#include <stdbool.h>

#include "bench_common.h"
#include "wick.h"

#define TOTAL (8U << 20) /* bytes validated per repetition */
#define WSET  65536U     /* the hot working set, validated TOTAL / WSET times */

/* --- Byte-at-a-time reference DFA (built from the RFC 3629 grammar at
 * startup; one table lookup and one check per byte). ------------------ */
enum { R_OK = 0, R_T1, R_T2, R_T3, R_E0, R_ED, R_F0, R_F4, R_BAD, R_N };
static uint8_t ref_next[R_N][256];

static void ref_build(void)
{
    for (int s = 0; s < R_N; s++) {
        for (int b = 0; b < 256; b++) {
            uint8_t n = R_BAD;
            bool cont = b >= 0x80 && b <= 0xBF;
            switch (s) {
            case R_OK:
                n = b < 0x80                ? R_OK
                    : b >= 0xC2 && b <= 0xDF ? R_T1
                    : b == 0xE0              ? R_E0
                    : b == 0xED              ? R_ED
                    : b >= 0xE1 && b <= 0xEF ? R_T2
                    : b == 0xF0              ? R_F0
                    : b >= 0xF1 && b <= 0xF3 ? R_T3
                    : b == 0xF4              ? R_F4
                                             : R_BAD;
                break;
            case R_T1:
                n = cont ? R_OK : R_BAD;
                break;
            case R_T2:
                n = cont ? R_T1 : R_BAD;
                break;
            case R_T3:
                n = cont ? R_T2 : R_BAD;
                break;
            case R_E0:
                n = b >= 0xA0 && b <= 0xBF ? R_T1 : R_BAD;
                break;
            case R_ED:
                n = b >= 0x80 && b <= 0x9F ? R_T1 : R_BAD;
                break;
            case R_F0:
                n = b >= 0x90 && b <= 0xBF ? R_T2 : R_BAD;
                break;
            case R_F4:
                n = b >= 0x80 && b <= 0x8F ? R_T2 : R_BAD;
                break;
            default:
                break;
            }
            ref_next[s][b] = n;
        }
    }
}

__attribute__((noinline)) static bool ref_valid(const uint8_t *p, size_t n)
{
    unsigned s = R_OK;
    for (size_t i = 0; i < n; i++) {
        s = ref_next[s][p[i]];
        if (s == R_BAD) {
            return false;
        }
    }
    return s == R_OK;
}

static bool wick_valid(const uint8_t *p, size_t n)
{
    wick_utf8 u;
    wick_utf8_init(&u);
    return wick_utf8_feed(&u, p, n, NULL) == WICK_OK && wick_utf8_finish(&u) == WICK_OK;
}

typedef bool (*valid_fn)(const uint8_t *, size_t);

/* Validates the working set msg bytes at a time, over and over, until
 * TOTAL bytes have been checked. */
static double run(valid_fn f, const uint8_t *set, size_t msg)
{
    size_t per_pass = (WSET / msg) * msg;
    double t0 = bench_now();
    for (size_t done = 0; done < TOTAL; done += per_pass) {
        for (size_t off = 0; off + msg <= WSET; off += msg) {
            if (!f(set + off, msg)) {
                fprintf(stderr, "bench_utf8: rejected valid text at %zu\n", off);
                exit(1);
            }
        }
    }
    return bench_now() - t0;
}

/* The speed limit: memcpy of one hot 64 KiB buffer into another, over and
 * over (both stay in L2, as a recv() into a reused buffer leaves them). */
static double run_memcpy(const uint8_t *set, uint8_t *dst)
{
    double t0 = bench_now();
    for (size_t done = 0; done < TOTAL; done += WSET) {
        memcpy(dst, set, WSET);
        __asm__ volatile("" : : "r"(dst) : "memory");
    }
    return bench_now() - t0;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    if (reps < 1 || reps > BENCH_MAX_REPS) {
        reps = 11;
    }
    ref_build();
    static const struct {
        const char *name;
        int kind;
    } kinds[] = {{"ascii", TEXT_ASCII}, {"latin+cjk", TEXT_CJK}, {"emoji", TEXT_EMOJI}};
    static const size_t msgs[] = {65536, 125};
    uint8_t *buf = malloc(WSET);
    uint8_t *dst = malloc(WSET);
    if (buf == NULL || dst == NULL) {
        return 1;
    }
    bench_banner("utf8: validator alone (wick_utf8_feed) vs byte-at-a-time DFA vs memcpy");
    printf("# %d repetitions of %u MiB from one hot %u KiB working set; memcpy copies that "
           "64 KiB buffer; GB/s median [min max]; ratios per repetition\n",
           reps, TOTAL >> 20, WSET >> 10);
    for (size_t k = 0; k < 3; k++) {
        for (size_t m = 0; m < 2; m++) {
            size_t msg = msgs[m];
            uint64_t rng = 0xABCD + k;
            /* Each message is valid on its own. */
            for (size_t off = 0; off + msg <= WSET; off += msg) {
                bench_text(&rng, kinds[k].kind, buf + off, msg);
            }
            double gw[BENCH_MAX_REPS], gr[BENCH_MAX_REPS], gm[BENCH_MAX_REPS];
            double xr[BENCH_MAX_REPS], xm[BENCH_MAX_REPS];
            for (int r = 0; r < reps; r++) {
                double tw = run(wick_valid, buf, msg);
                double tr = run(ref_valid, buf, msg);
                double tm = run_memcpy(buf, dst);
                gw[r] = TOTAL / tw / 1e9;
                gr[r] = TOTAL / tr / 1e9;
                gm[r] = TOTAL / tm / 1e9;
                xr[r] = tr / tw;
                xm[r] = tm / tw;
            }
            bench_stat a = bench_stats(gw, reps), b = bench_stats(gr, reps),
                       c = bench_stats(gm, reps), d = bench_stats(xr, reps),
                       e = bench_stats(xm, reps);
            printf("%-10s %6zu B  wick %6.2f [%6.2f %6.2f]  dfa %5.2f  memcpy %6.2f  "
                   "wick/dfa %6.2f [%6.2f %6.2f]  wick/memcpy %5.2f [%5.2f %5.2f]\n",
                   kinds[k].name, msg, a.med, a.min, a.max, b.med, c.med, d.med, d.min, d.max,
                   e.med, e.min, e.max);
            fflush(stdout);
        }
    }
    free(buf);
    free(dst);
    return 0;
}
