/*
 * autobahn_client: the standard Autobahn|Testsuite test client, built on
 * wick and the examples' I/O layer (examples/io).
 *
 *   autobahn_client [--ca FILE] [--insecure] [--no-deflate] [--deflate-* ...]
 *                   ws[s]://HOST:PORT [AGENT]
 *
 * It asks the fuzzing server GET /getCaseCount (the answer is one text
 * message holding the count), then for each case N connects to
 * /runCase?case=N&agent=AGENT and echoes every text and binary message back
 * until the server closes, and finally connects to
 * /updateReports?agent=AGENT. AGENT defaults to "wick". One connection at
 * a time. Exits 0 when the case count and the report update worked (the
 * server grades the cases; some of them answer the handshake wrongly on
 * purpose), 1 otherwise.
 *
 * Every connection offers permessage-deflate (RFC 7692) unless
 * --no-deflate; the --deflate-* options shape the offer. With
 * AUTOBAHN_CLIENT_VERBOSE set, connection events (and the compression
 * parameters agreed) are logged on stderr.
 */
#include "io/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_MS 120000 /* no byte from the server for this long: give up */

enum mode {
    MODE_COUNT, /* /getCaseCount: keep the number */
    MODE_ECHO,  /* /runCase: echo everything */
    MODE_QUIET  /* /updateReports: only close */
};

typedef struct session {
    io_loop loop;
    enum mode mode;
    long count; /* MODE_COUNT: the number received, -1 before */
    bool opened;
} session;

static session ses;

static void on_open(ws_conn *c)
{
    (void)c;
    ses.opened = true;
}

static int on_message(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    if (ses.mode == MODE_ECHO) {
        ws_send(c, opcode, data, len);
    } else if (ses.mode == MODE_COUNT && opcode == WICK_OP_TEXT && len > 0 && len < 16) {
        char num[16];
        memcpy(num, data, len);
        num[len] = '\0';
        ses.count = strtol(num, NULL, 10);
        ws_close(c, WICK_CLOSE_NORMAL, NULL);
    }
    return 0;
}

static void on_close(ws_conn *c, bool clean)
{
    (void)c;
    (void)clean;
    ses.loop.quit = true;
}

static const ws_callbacks client_cb = {
    .on_open = on_open, .on_message = on_message, .on_close = on_close};

/* One connection to target, run until it is gone. Returns whether the
 * opening handshake succeeded. */
static bool run_session(const io_url *base, const char *target, io_tls_ctx *tls,
                        const ws_config *cfg, enum mode mode)
{
    io_url u = *base;
    snprintf(u.target, sizeof(u.target), "%s", target);
    ses.mode = mode;
    ses.opened = false;
    ses.loop.quit = false;
    if (ws_connect(&ses.loop, &u, tls, cfg, NULL) == NULL) {
        return false;
    }
    io_loop_run(&ses.loop);
    return ses.opened;
}

static void usage(void)
{
    fputs("usage: autobahn_client [--ca FILE] [--insecure] [--no-deflate] [--deflate-* ...]\n"
          "                       ws[s]://HOST:PORT [AGENT]\n",
          stderr);
    fputs(io_deflate_usage, stderr);
}

int main(int argc, char **argv)
{
    io_deflate deflate;
    io_deflate_default(&deflate);
    const char *pos[2] = {NULL, NULL}, *ca = NULL;
    int npos = 0;
    bool insecure = false;
    for (int i = 1; i < argc; i++) {
        int d = io_deflate_option(&deflate, argc, argv, &i);
        if (d > 0) {
            continue;
        }
        if (d == 0 && strcmp(argv[i], "--insecure") == 0) {
            insecure = true;
        } else if (d == 0 && strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
            ca = argv[++i];
        } else if (d < 0 || argv[i][0] == '-' || npos == 2) {
            usage();
            return 2;
        } else {
            pos[npos++] = argv[i];
        }
    }
    io_url base;
    if (npos == 0 || !io_url_parse(pos[0], &base)) {
        usage();
        return 2;
    }
    const char *agent = pos[1] != NULL ? pos[1] : "wick";
    if (!io_loop_init(&ses.loop, "autobahn_client")) {
        return 1;
    }
    ses.loop.verbose = getenv("AUTOBAHN_CLIENT_VERBOSE") != NULL;
    io_tls_ctx *tls = base.tls ? io_tls_client(ca, insecure) : NULL;
    if (base.tls && tls == NULL) {
        return 1;
    }
    ws_config cfg = {
        .cb = &client_cb, .deflate = &deflate, .hs_timeout_ms = IDLE_MS, .idle_ms = IDLE_MS};

    ses.count = -1;
    if (!run_session(&base, "/getCaseCount", tls, &cfg, MODE_COUNT) || ses.count < 0) {
        fprintf(stderr, "autobahn_client: could not get the case count\n");
        return 1;
    }
    printf("autobahn_client: %ld cases\n", ses.count);
    fflush(stdout);

    /* A case whose handshake we refuse is not an error here: some cases
     * send a bad answer on purpose, and the server grades every case. */
    int refused = 0;
    char target[512];
    for (long n = 1; n <= ses.count; n++) {
        snprintf(target, sizeof(target), "/runCase?case=%ld&agent=%s", n, agent);
        if (!run_session(&base, target, tls, &cfg, MODE_ECHO)) {
            fprintf(stderr, "autobahn_client: case %ld: no connection\n", n);
            refused++;
        }
    }
    snprintf(target, sizeof(target), "/updateReports?agent=%s", agent);
    if (!run_session(&base, target, tls, &cfg, MODE_QUIET)) {
        fprintf(stderr, "autobahn_client: could not update the reports\n");
        return 1;
    }
    printf("autobahn_client: done (%d cases without a connection)\n", refused);
    io_loop_free(&ses.loop);
    io_tls_free_ctx(tls);
    return 0;
}
