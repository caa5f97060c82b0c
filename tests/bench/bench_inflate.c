/* wick's inflater (src/wick_inflate.c, issue 16) against zlib's inflate,
 * in output MB/s (uncompressed bytes per second), median of REPS:
 *   - chat: 2000 chat-room JSON messages deflated as permessage-deflate
 *     sends them (level 6, 15-bit window, context takeover, one sync flush
 *     per message, tail kept), inflated message by message into 1 KiB
 *     pieces (what wick_pmd.c hands the engine);
 *   - text: 64 KiB of English-like text deflated in one go (level 6),
 *     inflated into one 64 KiB buffer.
 * The target of issue 16: at least half of zlib's speed on both.
 *
 *   bench_inflate [REPS=11] */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench_common.h"
#include "wick_inflate.h"

#define MSGS     2000
#define TEXT_LEN (64U * 1024U)

static uint8_t plain[MSGS * 256 + TEXT_LEN], comp[MSGS * 256 + TEXT_LEN];
static size_t msg_off[MSGS + 1], comp_off[MSGS + 1];
static uint8_t out[TEXT_LEN + 1024], window[1U << 15];
static wick__inflater S;
static uint64_t seed = 7;

static const char *const words[] = {
    "the",  "deploy", "is",    "done",   "and",     "tests",  "pass", "on",     "main",  "can",
    "you",  "review", "my",    "change", "today",   "thanks", "a",    "window", "of",    "bytes",
    "when", "server", "sends", "every",  "message", "with",   "room", "lobby",  "hello", "world"};

static size_t put_words(char *p, size_t n)
{
    size_t k = 0;
    while (k + 12 < n) {
        k += (size_t)sprintf(p + k, "%s ", words[bench_rng(&seed) % 30U]);
    }
    return k;
}

static size_t deflate_into(z_stream *z, const uint8_t *in, size_t len, uint8_t *dst, size_t cap,
                           int flush)
{
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)len;
    z->next_out = dst;
    z->avail_out = (uInt)cap;
    if (deflate(z, flush) == Z_STREAM_ERROR || z->avail_in != 0) {
        fprintf(stderr, "bench_inflate: deflate failed\n");
        exit(1);
    }
    return cap - z->avail_out;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_inflate: %s\n", what);
    exit(1);
}

/* One pass over the chat messages; returns the bytes made. */
static size_t chat_wick(void)
{
    size_t total = 0;
    wick__inflate_init(&S, window, 15);
    for (int m = 0; m < MSGS; m++) {
        const uint8_t *in = comp + comp_off[m];
        size_t left = comp_off[m + 1] - comp_off[m];
        size_t made = 0;
        for (;;) {
            size_t il = left;
            size_t ol = 1024;
            if (wick__inflate(&S, in, &il, out + made, &ol) != WICK__INF_OK) {
                die("wick: inflate failed");
            }
            in += il;
            left -= il;
            made += ol;
            if (left == 0 && ol < 1024) {
                break;
            }
        }
        if (made != msg_off[m + 1] - msg_off[m]) {
            die("wick: wrong length");
        }
        total += made;
    }
    return total;
}

static size_t chat_zlib(void)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK) {
        die("inflateInit2");
    }
    size_t total = 0;
    for (int m = 0; m < MSGS; m++) {
        z.next_in = comp + comp_off[m];
        z.avail_in = (uInt)(comp_off[m + 1] - comp_off[m]);
        size_t made = 0;
        for (;;) {
            z.next_out = out + made;
            z.avail_out = 1024;
            int rc = inflate(&z, Z_SYNC_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                die("zlib: inflate failed");
            }
            made += 1024 - z.avail_out;
            if (z.avail_in == 0 && z.avail_out != 0) {
                break;
            }
        }
        if (made != msg_off[m + 1] - msg_off[m]) {
            die("zlib: wrong length");
        }
        total += made;
    }
    inflateEnd(&z);
    return total;
}

static size_t text_start, text_clen;

static size_t text_wick(void)
{
    wick__inflate_init(&S, window, 15);
    size_t il = text_clen;
    size_t ol = sizeof(out);
    if (wick__inflate(&S, comp + text_start, &il, out, &ol) < 0 || ol != TEXT_LEN) {
        die("wick: text");
    }
    return ol;
}

static size_t text_zlib(void)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK) {
        die("inflateInit2");
    }
    z.next_in = comp + text_start;
    z.avail_in = (uInt)text_clen;
    z.next_out = out;
    z.avail_out = sizeof(out);
    int rc = inflate(&z, Z_SYNC_FLUSH);
    size_t n = sizeof(out) - z.avail_out;
    inflateEnd(&z);
    if ((rc != Z_OK && rc != Z_STREAM_END) || n != TEXT_LEN) {
        die("zlib: text");
    }
    return n;
}

static double measure(size_t (*fn)(void), int reps, int loops)
{
    double mbs[BENCH_MAX_REPS];
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        size_t bytes = 0;
        for (int i = 0; i < loops; i++) {
            bytes += fn();
        }
        mbs[r] = (double)bytes / (bench_now() - t0) / 1e6;
    }
    return bench_stats(mbs, reps).med;
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 11;
    if (reps < 1 || reps > BENCH_MAX_REPS) {
        reps = 11;
    }
    /* chat messages, deflated as one permessage-deflate sender would */
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        die("deflateInit2");
    }
    size_t p = 0;
    size_t c = 0;
    for (int m = 0; m < MSGS; m++) {
        char text[160];
        put_words(text, 40 + bench_rng(&seed) % 100U);
        msg_off[m] = p;
        comp_off[m] = c;
        p += (size_t)sprintf((char *)plain + p,
                             "{\"type\":\"chat\",\"id\":%d,\"room\":\"lobby\",\"from\":%u,"
                             "\"from_name\":\"user%u\",\"ts\":%u,\"text\":\"%s\"}",
                             1000 + m, (unsigned)(bench_rng(&seed) % 40U),
                             (unsigned)(bench_rng(&seed) % 40U), 1700000000U + (unsigned)m, text);
        c += deflate_into(&z, plain + msg_off[m], p - msg_off[m], comp + c, sizeof(comp) - c,
                          Z_SYNC_FLUSH);
    }
    msg_off[MSGS] = p;
    comp_off[MSGS] = c;
    deflateEnd(&z);
    size_t chat_plain = p;
    size_t chat_comp = c;
    /* 64 KiB of text in one stream */
    text_start = c;
    uint8_t *t = plain + p;
    put_words((char *)t, TEXT_LEN + 12);
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        die("deflateInit2");
    }
    text_clen = deflate_into(&z, t, TEXT_LEN, comp + c, sizeof(comp) - c, Z_FINISH);
    deflateEnd(&z);
    /* both agree with the input before timing */
    chat_wick();
    if (text_wick() != TEXT_LEN || memcmp(out, t, TEXT_LEN) != 0) {
        die("wick: text differs");
    }

    printf("inflate (issue 16): wick's inflater vs zlib %s, output MB/s, median of %d\n",
           zlibVersion(), reps);
    double cw = measure(chat_wick, reps, 5);
    double cz = measure(chat_zlib, reps, 5);
    printf("  chat JSON, %d messages (%zu -> %zu bytes, sync flush each, 1 KiB pieces): "
           "wick %.0f, zlib %.0f, ratio %.2f\n",
           MSGS, chat_plain, chat_comp, cw, cz, cw / cz);
    double tw = measure(text_wick, reps, 50);
    double tz = measure(text_zlib, reps, 50);
    printf("  text, 64 KiB (-> %zu bytes): wick %.0f, zlib %.0f, ratio %.2f\n", text_clen, tw, tz,
           tw / tz);
    return 0;
}
