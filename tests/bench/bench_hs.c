/* Handshake benchmark (issue 7): accept keys per second
 * (wick_accept_key, with whichever SHA-1 the library was built with: the
 * Makefile builds this program twice, against the built-in SHA-1 and a
 * WICK_OPENSSL=1 library), full server handshakes per second (parse plus
 * 101 response), and wick_sha1() against OpenSSL's SHA-1 through one
 * reused EVP context, called directly here.
 *
 * usage: bench_hs [REPS] [LABEL] */
#include <openssl/evp.h>

#include "bench_common.h"
#include "wick.h"

#define ITERS 200000U

static const char request[] = "GET /chat HTTP/1.1\r\n"
                              "Host: server.example.com\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Origin: http://example.com\r\n"
                              "Sec-WebSocket-Protocol: chat, superchat\r\n"
                              "Sec-WebSocket-Version: 13\r\n"
                              "User-Agent: bench/1.0\r\n"
                              "\r\n";

static double t_accept(void)
{
    char key[24];
    memcpy(key, "dGhlIHNhbXBsZSBub25jZQ==", 24);
    char out[WICK_ACCEPT_LEN];
    double t0 = bench_now();
    for (unsigned i = 0; i < ITERS; i++) {
        key[i % 20] = (char)('A' + (i & 15)); /* vary the input */
        if (wick_accept_key(key, 24, out) != WICK_OK) {
            exit(1);
        }
        __asm__ volatile("" : : "r"(out) : "memory");
    }
    return bench_now() - t0;
}

static double t_full(void)
{
    static wick_hs_request r;
    char out[512];
    double t0 = bench_now();
    for (unsigned i = 0; i < ITERS; i++) {
        size_t used = 0, olen = 0;
        wick_hs_request_init(&r, NULL);
        if (wick_hs_server_parse(&r, request, sizeof request - 1, &used) != WICK_OK ||
            wick_hs_server_accept(&r, NULL, out, sizeof out, &olen) != WICK_OK) {
            fprintf(stderr, "handshake failed\n");
            exit(1);
        }
        __asm__ volatile("" : : "r"(out) : "memory");
    }
    return bench_now() - t0;
}

static double t_sha_wick(const uint8_t *in, size_t n, unsigned iters)
{
    uint8_t d[WICK_SHA1_LEN];
    double t0 = bench_now();
    for (unsigned i = 0; i < iters; i++) {
        wick_sha1(in, n, d);
        __asm__ volatile("" : : "r"(d) : "memory");
    }
    return bench_now() - t0;
}

static double t_sha_evp(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *in, size_t n,
                        unsigned iters)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    double t0 = bench_now();
    for (unsigned i = 0; i < iters; i++) {
        if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, in, n) != 1 ||
            EVP_DigestFinal_ex(ctx, d, &dl) != 1) {
            exit(1);
        }
        __asm__ volatile("" : : "r"(d) : "memory");
    }
    return bench_now() - t0;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    const char *label = argc > 2 ? argv[2] : "builtin";
    if (reps < 1 || reps > BENCH_MAX_REPS) {
        reps = 11;
    }
    bench_banner("hs: handshake");
    double a[BENCH_MAX_REPS], f[BENCH_MAX_REPS];
    for (int r = 0; r < reps; r++) {
        a[r] = ITERS / t_accept();
        f[r] = ITERS / t_full();
    }
    bench_stat sa = bench_stats(a, reps), sf = bench_stats(f, reps);
    printf("hs[%s] accept keys/s     %10.0f [%10.0f %10.0f]\n", label, sa.med, sa.min, sa.max);
    printf("hs[%s] full handshakes/s %10.0f [%10.0f %10.0f]  (parse + 101 response)\n", label,
           sf.med, sf.min, sf.max);
    /* wick_sha1 (this build's backend) vs OpenSSL EVP, reused context. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = EVP_sha1();
    uint8_t *in = malloc(16384);
    if (ctx == NULL || in == NULL) {
        return 1;
    }
    uint64_t rng = 1;
    for (size_t i = 0; i < 16384; i++) {
        in[i] = (uint8_t)bench_rng(&rng);
    }
    /* 60 bytes: a Sec-WebSocket-Key plus the GUID, what a handshake hashes. */
    static const size_t lens[] = {60, 16384};
    for (size_t l = 0; l < 2; l++) {
        unsigned iters = lens[l] == 60 ? 500000U : 4000U;
        double w[BENCH_MAX_REPS], o[BENCH_MAX_REPS], x[BENCH_MAX_REPS];
        for (int r = 0; r < reps; r++) {
            double tw = t_sha_wick(in, lens[l], iters);
            double to = t_sha_evp(ctx, md, in, lens[l], iters);
            w[r] = iters / tw;
            o[r] = iters / to;
            x[r] = to / tw;
        }
        bench_stat sw = bench_stats(w, reps), so = bench_stats(o, reps), sx = bench_stats(x, reps);
        printf("sha1[%s] %5zu B  wick_sha1 %9.0f/s (%6.3f GB/s)  EVP %9.0f/s (%6.3f GB/s)  "
               "wick/EVP %5.2f [%5.2f %5.2f]\n",
               label, lens[l], sw.med, sw.med * (double)lens[l] / 1e9, so.med,
               so.med * (double)lens[l] / 1e9, sx.med, sx.min, sx.max);
    }
    EVP_MD_CTX_free(ctx);
    free(in);
    return 0;
}
