/* permessage-deflate budgets on chat traffic (docs/performance.md,
 * "permessage-deflate"): for each per-connection budget, what a server
 * agrees with Chromium's offer ("permessage-deflate;
 * client_max_window_bits"), the arena wick_pmd_init() needs for it, the
 * arena's high-water mark after traffic both ways (wick_pmd_arena_used),
 * and the compression ratio of 1000 chat room messages (JSON like the
 * chat example's "chat" broadcasts) sent by the server with context
 * takeover: uncompressed frame bytes / compressed frame bytes on the wire.
 * The last row is plain zlib at its defaults (windows 15/15, memLevel 8,
 * level 6, one sync flush per message), its memory counted through
 * zalloc.
 *
 *   bench_pmd [MESSAGES=1000]
 *
 * Both ends are wick_conns in memory (server and client), so every
 * message is also checked to arrive intact. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <wick.h>

#define MAX_MSG 1024

static void die(const char *what)
{
    fprintf(stderr, "bench_pmd: %s\n", what);
    exit(1);
}

static uint64_t rng = 0x243F6A8885A308D3u;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* One room message as the chat server broadcasts it (examples/chat,
 * protocol.c: id, type, room, from, from_name, ts, payload). */
static size_t chat_message(unsigned i, char *out, size_t cap)
{
    static const char *const words[] = {
        "the",     "deploy",  "is",      "done",    "and",    "tests",  "pass",   "on",
        "main",    "can",     "you",     "review",  "my",     "change", "today",  "thanks",
        "lunch",   "at",      "noon",    "meeting", "moved",  "to",     "friday", "please",
        "check",   "graphs",  "latency", "looks",   "fine",   "server", "room",   "message",
        "weekend", "release", "notes",   "ready",   "ticket", "closed", "yes",    "no"};
    static const char *const users[] = {"alice", "bob",   "carol", "dave",
                                        "erin",  "frank", "grace", "heidi"};
    unsigned u = next_rand() % 8;
    int n = snprintf(out, cap,
                     "{\"id\":\"m%u\",\"type\":\"chat\",\"room\":\"lobby\",\"from\":\"c%u\","
                     "\"from_name\":\"%s\",\"ts\":%llu,\"payload\":{\"text\":\"",
                     i, 100 + u * 37, users[u], 1732867200000ull + i * 2713ull + next_rand() % 999);
    unsigned nw = 2 + next_rand() % 18;
    for (unsigned w = 0; w < nw; w++) {
        const char *s = words[next_rand() % 40];
        n += snprintf(out + n, cap - (size_t)n, "%s%s", w ? " " : "", s);
    }
    if (next_rand() % 4 == 0) {
        n += snprintf(out + n, cap - (size_t)n, " (%u)", next_rand() % 100000);
    }
    n += snprintf(out + n, cap - (size_t)n, "\"}}");
    return (size_t)n;
}

/* --- Two wick_conns in memory ------------------------------------------ */
typedef struct end {
    wick_conn conn;
    uint8_t out[1 << 16];
    const uint8_t *want; /* the message expected next */
    size_t want_len;
    unsigned got;
} end;

static int on_message(wick_conn *c, uint8_t op, const uint8_t *data, size_t len, void *user)
{
    (void)c;
    (void)op;
    end *e = user;
    if (len != e->want_len || memcmp(data, e->want, len) != 0) {
        die("a message arrived changed");
    }
    e->got++;
    return 0;
}

static int rnd(void *user, uint8_t *out, size_t n)
{
    (void)user;
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)next_rand();
    }
    return 0;
}

static const wick_callbacks cbs = {.on_message = on_message, .random = rnd};
static uint8_t msgbuf_a[1 << 16], msgbuf_b[1 << 16];

/* Sends one text message from a to b; returns the bytes on the wire. */
static size_t send_one(end *a, end *b, const char *msg, size_t len)
{
    b->want = (const uint8_t *)msg;
    b->want_len = len;
    unsigned before = b->got;
    if (wick_conn_send(&a->conn, WICK_OP_TEXT, msg, len, true) != WICK_OK) {
        die("send");
    }
    size_t n = 0;
    const uint8_t *o = wick_conn_out_peek(&a->conn, &n);
    static uint8_t wire[1 << 16];
    memcpy(wire, o, n);
    wick_conn_out_consume(&a->conn, n);
    size_t used = 0;
    if (wick_conn_recv(&b->conn, wire, n, &used) != WICK_OK || used != n || b->got != before + 1) {
        die("receive");
    }
    return n;
}

/* --- zlib at its defaults, memory counted -------------------------------- */
static size_t zlib_bytes;

static voidpf count_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    zlib_bytes += (size_t)items * size;
    return calloc(items, size);
}

static void count_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

static void zlib_row(unsigned nmsg)
{
    z_stream d, f;
    memset(&d, 0, sizeof d);
    memset(&f, 0, sizeof f);
    d.zalloc = f.zalloc = count_alloc;
    d.zfree = f.zfree = count_free;
    zlib_bytes = 0;
    if (deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        die("deflateInit2");
    }
    size_t dbytes = zlib_bytes;
    zlib_bytes = 0;
    if (inflateInit2(&f, -15) != Z_OK) {
        die("inflateInit2");
    }
    rng = 0x243F6A8885A308D3u;
    unsigned long long plain = 0, wire = 0;
    static char msg[MAX_MSG], back[MAX_MSG];
    static uint8_t z[MAX_MSG * 2];
    for (unsigned i = 0; i < nmsg; i++) {
        size_t len = chat_message(i, msg, sizeof msg);
        d.next_in = (Bytef *)msg;
        d.avail_in = (uInt)len;
        d.next_out = z;
        d.avail_out = sizeof z;
        if (deflate(&d, Z_SYNC_FLUSH) != Z_OK || d.avail_in != 0) {
            die("deflate");
        }
        size_t zl = sizeof z - d.avail_out - 4; /* RFC 7692 7.2.1: tail removed */
        plain += len + (len < 126 ? 2 : 4);
        wire += zl + (zl < 126 ? 2 : 4);
        static const uint8_t tail[4] = {0, 0, 0xFF, 0xFF};
        memcpy(z + zl, tail, 4);
        f.next_in = z;
        f.avail_in = (uInt)(zl + 4);
        f.next_out = (Bytef *)back;
        f.avail_out = sizeof back;
        if (inflate(&f, Z_SYNC_FLUSH) != Z_OK || sizeof back - f.avail_out != len ||
            memcmp(back, msg, len) != 0) {
            die("zlib round trip");
        }
    }
    printf("| zlib defaults | 15 / 15, memLevel 8 | - | %zu (deflate %zu + inflate %zu) | %.2f |\n",
           dbytes + zlib_bytes, dbytes, zlib_bytes, (double)plain / (double)wire);
    deflateEnd(&d);
    inflateEnd(&f);
}

/* --- One budget ----------------------------------------------------------- */
static uint8_t server_arena[1 << 20], client_arena[1 << 20];

static void budget_row(size_t budget, unsigned nmsg)
{
    static const char offer[] = "permessage-deflate; client_max_window_bits";
    wick_ext ext[1];
    size_t next = 0;
    if (wick_ext_parse(offer, sizeof offer - 1, ext, 1, &next) != WICK_OK) {
        die("parse");
    }
    wick_pmd_config scfg;
    wick_pmd_config_default(&scfg);
    scfg.budget = budget;
    wick_pmd_params agreed;
    char answer[WICK_PMD_HEADER_MAX];
    size_t alen = 0;
    if (wick_pmd_accept(&scfg, ext, next, &agreed, answer, sizeof answer, &alen) != WICK_OK) {
        die("accept");
    }
    if (!agreed.enabled) {
        printf("| %zu | declined | - | - | - |\n", budget);
        return;
    }
    size_t need = wick_pmd_arena_size(&scfg, &agreed, WICK_ROLE_SERVER);
    wick_pmd sp, cp;
    if (wick_pmd_init(&sp, &scfg, &agreed, WICK_ROLE_SERVER, server_arena, need) != WICK_OK) {
        die("server pmd");
    }
    /* The browser's side: zlib-sized, whatever the agreement allows. */
    wick_pmd_config ccfg;
    wick_pmd_config_default(&ccfg);
    ccfg.budget = sizeof client_arena;
    size_t cneed = wick_pmd_arena_size(&ccfg, &agreed, WICK_ROLE_CLIENT);
    if (wick_pmd_init(&cp, &ccfg, &agreed, WICK_ROLE_CLIENT, client_arena, cneed) != WICK_OK) {
        die("client pmd");
    }
    static end s, c;
    memset(&s, 0, sizeof s);
    memset(&c, 0, sizeof c);
    wick_conn_config cfg;
    wick_conn_config_default(&cfg, WICK_ROLE_SERVER);
    cfg.out_buf = s.out;
    cfg.out_cap = sizeof s.out;
    cfg.msg_buf = msgbuf_a;
    cfg.msg_cap = sizeof msgbuf_a;
    cfg.extension = wick_pmd_extension(&sp);
    if (wick_conn_init(&s.conn, &cfg, &cbs, &s) != WICK_OK) {
        die("server conn");
    }
    wick_conn_config_default(&cfg, WICK_ROLE_CLIENT);
    cfg.out_buf = c.out;
    cfg.out_cap = sizeof c.out;
    cfg.msg_buf = msgbuf_b;
    cfg.msg_cap = sizeof msgbuf_b;
    cfg.extension = wick_pmd_extension(&cp);
    if (wick_conn_init(&c.conn, &cfg, &cbs, &c) != WICK_OK) {
        die("client conn");
    }
    rng = 0x243F6A8885A308D3u;
    unsigned long long plain = 0, wire = 0;
    static char msg[MAX_MSG];
    for (unsigned i = 0; i < nmsg; i++) {
        size_t len = chat_message(i, msg, sizeof msg);
        plain += len + (len < 126 ? 2 : 4); /* the uncompressed frame */
        wire += send_one(&s, &c, msg, len);
        /* Traffic the other way too, so the server's inflater is in use. */
        if (i % 10 == 0) {
            send_one(&c, &s, msg, len);
        }
    }
    printf("| %zu | `%.*s` | %zu | %zu | %.2f |\n", budget, (int)alen, answer, need,
           wick_pmd_arena_used(&sp), (double)plain / (double)wire);
    wick_conn_release(&s.conn);
    wick_conn_release(&c.conn);
    wick_pmd_release(&sp);
    wick_pmd_release(&cp);
}

int main(int argc, char **argv)
{
    unsigned nmsg = argc > 1 ? (unsigned)atoi(argv[1]) : 1000;
    if (!wick_pmd_available()) {
        die("wick built without a compression backend (WICK_ZLIB=0)");
    }
    static const size_t budgets[] = {8192, 16384, 32768, 65536, 131072, 300 * 1024};
    printf("# bench_pmd: %u chat messages, server to browser (Chromium's offer), context "
           "takeover; zlib %s\n",
           nmsg, zlibVersion());
    printf("| budget (B) | negotiated (server's answer) | arena needed (B) | arena used after "
           "traffic (B) | ratio |\n");
    printf("|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        budget_row(budgets[i], nmsg);
    }
    zlib_row(nmsg);
    return 0;
}
