/*
 * echo_client: a small WebSocket client on top of wick and the examples'
 * I/O layer (examples/io).
 *
 *   echo_client [options] ws[s]://HOST[:PORT][/PATH] [MESSAGE ...]
 *
 * Connects, performs the opening handshake, sends each MESSAGE as a text
 * message (or, with no MESSAGE, each line read from stdin), prints every
 * message that comes back on a line of its own, then closes with 1000 and
 * waits for the server's close frame and its FIN. Options:
 *
 *   --binary       send binary messages instead of text
 *   --fragment N   send each message as fragments of N bytes
 *   --ping         send a ping first and print "pong PAYLOAD" when the
 *                  pong comes back
 *   --timeout S    give up after S seconds without an answer (default 30)
 *   --ca FILE      wss: trust the certificates in FILE (PEM) instead of
 *                  the system store
 *   --insecure     wss: do not check the server's certificate (tests only)
 *   --no-deflate   do not offer permessage-deflate (see usage())
 *
 * wss:// URLs use TLS with SNI, and the server's certificate is checked
 * against the trusted certificates and the host name. When the server
 * agrees permessage-deflate, one line on stderr says with which
 * parameters. Exit status: 0 when every message came back and the closing
 * handshake completed, 1 otherwise, 2 for bad usage.
 */
#include "io/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ping_payload[] = "echo_client";

typedef struct client {
    io_loop loop;
    ws_conn *ws;
    char **messages; /* NULL: lines from stdin */
    int num_messages, next_arg;
    bool binary, ping, pong_seen, close_sent, ok, stdin_eof;
    size_t fragment;
    int64_t timeout_ms;
    unsigned long sent, received;
    char *lines; /* stdin bytes not sent yet */
    size_t lines_len;
} client;

static client cl;

/* Sends one message, in fragments when asked to. */
static void send_message(const char *m, size_t len)
{
    uint8_t op = cl.binary ? WICK_OP_BINARY : WICK_OP_TEXT;
    if (cl.fragment == 0) {
        ws_send(cl.ws, op, m, len);
    } else {
        size_t off = 0;
        do {
            size_t n = len - off < cl.fragment ? len - off : cl.fragment;
            ws_send_part(cl.ws, op, m + off, n, off + n == len);
            op = WICK_OP_CONT;
            off += n;
        } while (off < len);
    }
    cl.sent++;
}

/* Sends what is ready, then closes once everything came back. */
static void pump(void)
{
    if (cl.ws == NULL || !cl.ws->open || cl.close_sent) {
        return;
    }
    while (cl.messages != NULL && cl.next_arg < cl.num_messages) {
        const char *m = cl.messages[cl.next_arg++];
        send_message(m, strlen(m));
    }
    char *nl;
    while (cl.lines_len > 0 &&
           ((nl = memchr(cl.lines, '\n', cl.lines_len)) != NULL || cl.stdin_eof)) {
        size_t take = nl != NULL ? (size_t)(nl - cl.lines) + 1 : cl.lines_len;
        size_t len = nl != NULL ? take - 1 : take;
        send_message(cl.lines, len > 0 && cl.lines[len - 1] == '\r' ? len - 1 : len);
        memmove(cl.lines, cl.lines + take, cl.lines_len - take);
        cl.lines_len -= take;
    }
    bool all_sent = cl.messages != NULL || (cl.stdin_eof && cl.lines_len == 0);
    /* Waiting for the server has a deadline; waiting for the user not. */
    io_set_deadline(cl.ws->s, cl.received < cl.sent ? cl.timeout_ms : 0);
    if (all_sent && cl.received >= cl.sent && (!cl.ping || cl.pong_seen)) {
        cl.close_sent = true;
        ws_close(cl.ws, WICK_CLOSE_NORMAL, NULL);
    }
}

static void on_open(ws_conn *c)
{
    if (c->dc.params.enabled) {
        char line[256];
        io_deflate_describe(&c->dc, line, sizeof(line));
        fprintf(stderr, "echo_client: %s\n", line);
    }
    if (cl.ping) {
        ws_ping(c, ping_payload, sizeof(ping_payload) - 1);
    }
    pump();
}

static int on_message(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    (void)c;
    (void)opcode;
    if (len > 0) {
        fwrite(data, 1, len, stdout);
    }
    fputc('\n', stdout);
    fflush(stdout);
    cl.received++;
    pump();
    return 0;
}

static int on_pong(ws_conn *c, const uint8_t *data, size_t len)
{
    (void)c;
    printf("pong %.*s\n", (int)len, len > 0 ? (const char *)data : "");
    fflush(stdout);
    cl.pong_seen = len == sizeof(ping_payload) - 1 && memcmp(data, ping_payload, len) == 0;
    pump();
    return 0;
}

static void on_close(ws_conn *c, bool clean)
{
    if (c->open) {
        uint16_t code = wick_conn_close_code(&c->conn);
        wick_err e = wick_conn_error(&c->conn);
        if (e != WICK_OK) {
            fprintf(stderr, "echo_client: connection failed: %s\n", wick_strerror(e));
        } else if (code != 0 && code != WICK_CLOSE_NORMAL) {
            fprintf(stderr, "echo_client: server closed with %u\n", (unsigned)code);
        } else if (!clean) {
            fprintf(stderr, "echo_client: the connection ended without a closing handshake\n");
        }
    }
    cl.ok = clean && cl.received >= cl.sent;
    if (clean && cl.received < cl.sent) {
        fprintf(stderr, "echo_client: %lu of %lu messages came back\n", cl.received, cl.sent);
    }
    cl.ws = NULL;
    cl.loop.quit = true;
}

static const ws_callbacks client_cb = {
    .on_open = on_open, .on_message = on_message, .on_pong = on_pong, .on_close = on_close};

/* stdin, watched by the loop like a socket. */
static void stdin_readable(io_stream *s)
{
    char *p = realloc(cl.lines, cl.lines_len + 65536);
    if (p == NULL) {
        io_close(s);
        return;
    }
    cl.lines = p;
    ssize_t n = io_read(s, cl.lines + cl.lines_len, 65536);
    if (n == 0) {
        return;
    }
    if (n > 0) {
        cl.lines_len += (size_t)n;
    } else {
        io_close(s);
    }
    pump();
}

static void stdin_closed(io_stream *s)
{
    (void)s;
    cl.stdin_eof = true;
    pump();
}

static const io_stream_cb stdin_cb = {.on_readable = stdin_readable, .on_close = stdin_closed};

static void usage(void)
{
    fputs("usage: echo_client [--binary] [--fragment N] [--ping] [--timeout S]\n"
          "                   [--ca FILE] [--insecure] [--no-deflate] [--deflate-* ...]\n"
          "                   ws[s]://HOST[:PORT][/PATH] [MESSAGE ...]\n"
          "  sends each MESSAGE (or each line of stdin) and prints what comes back\n",
          stderr);
    fputs(io_deflate_usage, stderr);
}

int main(int argc, char **argv)
{
    io_deflate deflate;
    io_deflate_default(&deflate);
    const char *url = NULL, *ca = NULL;
    bool insecure = false;
    cl.timeout_ms = 30000;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        unsigned long long v = 0;
        int d = io_deflate_option(&deflate, argc, argv, &i);
        if (d < 0) {
            usage();
            return 2;
        } else if (d > 0) {
            continue;
        } else if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--binary") == 0) {
            cl.binary = true;
        } else if (strcmp(a, "--ping") == 0) {
            cl.ping = true;
        } else if (strcmp(a, "--insecure") == 0) {
            insecure = true;
        } else if (strcmp(a, "--ca") == 0 && i + 1 < argc) {
            ca = argv[++i];
        } else if ((strcmp(a, "--fragment") == 0 || strcmp(a, "--timeout") == 0) && i + 1 < argc &&
                   io_parse_uint(argv[i + 1], 1000000000, &v) && v > 0) {
            if (a[2] == 'f') {
                cl.fragment = (size_t)v;
            } else {
                cl.timeout_ms = (int64_t)(v > 86400 ? 86400 : v) * 1000;
            }
            i++;
        } else if (a[0] == '-' && a[1] == '-') {
            usage();
            return 2;
        } else if (url == NULL) {
            url = a;
        } else {
            break; /* the first message: everything from here is a message */
        }
    }
    if (url == NULL && i < argc) {
        url = argv[i++];
    }
    io_url u;
    if (url == NULL) {
        usage();
        return 2;
    }
    if (!io_url_parse(url, &u)) {
        return 2;
    }
    if (i < argc) {
        cl.messages = argv + i;
        cl.num_messages = argc - i;
    }
    if (!io_loop_init(&cl.loop, "echo_client")) {
        return 1;
    }
    io_tls_ctx *tls = u.tls ? io_tls_client(ca, insecure) : NULL;
    ws_config cfg = {.cb = &client_cb, .deflate = &deflate, .hs_timeout_ms = cl.timeout_ms};
    if ((u.tls && tls == NULL) || (cl.ws = ws_connect(&cl.loop, &u, tls, &cfg, NULL)) == NULL) {
        return 1;
    }
    if (cl.messages == NULL) {
        io_stream *in = io_stream_new(&cl.loop, STDIN_FILENO, &stdin_cb, NULL);
        if (in == NULL) {
            fputs("echo_client: cannot watch stdin\n", stderr);
            return 1;
        }
        in->pipe = true;
        in->reading = true;
        io_update(in);
    }
    io_loop_run(&cl.loop);
    io_loop_free(&cl.loop);
    io_tls_free_ctx(tls);
    free(cl.lines);
    return cl.ok ? 0 : 1;
}
