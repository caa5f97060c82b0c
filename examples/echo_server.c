/*
 * echo_server: a WebSocket echo server on top of wick and the examples'
 * I/O layer (examples/io: epoll, non-blocking sockets, optional TLS).
 *
 *   echo_server [PORT] [--host ADDR] [--timeout SECS] [--idle SECS] [-v]
 *               [--tls-cert FILE --tls-key FILE] [--no-deflate] [--deflate-* ...]
 *
 * PORT defaults to 8080; 0 picks an ephemeral port. The server listens on
 * 127.0.0.1 unless --host says otherwise, and prints "listening on PORT"
 * as its first line on stdout. Every text and binary message is echoed
 * back unchanged, as one frame; pings are answered by the engine. A plain
 * HTTP GET of "/" gets a small HTML page, any other path a 404.
 *
 * With --tls-cert and --tls-key it speaks TLS only (wss://, https://).
 * permessage-deflate is accepted when offered (see --no-deflate).
 * SIGINT/SIGTERM: every client gets a close frame with 1001, the server
 * waits up to two seconds for them, then exits with status 0.
 *
 * Everything about sockets, buffers, backpressure, timeouts and closing is
 * in examples/io; this file is what an echo server has to decide.
 */
#include "io/ws.h"

#include <stdio.h>
#include <string.h>

static const char index_html[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\"><title>wick echo server</title></head>\n"
    "<body><h1>wick echo server</h1>\n"
    "<p>This is the wick WebSocket echo server. Connect with a WebSocket client\n"
    "to any path on this host and port: every text and binary message is sent\n"
    "back unchanged.</p></body></html>\n";

/* A whole message arrived: send it back. */
static int on_message(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    ws_send(c, opcode, data, len); /* fails only when closing: nothing to do */
    return 0;
}

/* A request that is not an upgrade: GET / gets the page, other paths a
 * 404, other methods a 405. */
static void on_http(ws_conn *c, const wick_hs_request *r)
{
    size_t path_len = strcspn(r->target.ptr, "?");
    if (path_len > r->target.len) {
        path_len = r->target.len;
    }
    bool is_get = r->method.len == 3 && memcmp(r->method.ptr, "GET", 3) == 0;
    if (!is_get) {
        ws_http_answer(c, 405, NULL, "method not allowed\n", 19);
    } else if (path_len == 1 && r->target.ptr[0] == '/') {
        ws_http_answer(c, 200, "text/html; charset=utf-8", index_html, sizeof(index_html) - 1);
    } else {
        ws_http_answer(c, 404, NULL, "not found\n", 10);
    }
}

static const ws_callbacks echo_cb = {.on_http = on_http, .on_message = on_message};

static void usage(void)
{
    fputs("usage: echo_server [PORT] [--host ADDR] [--timeout SECS] [--idle SECS] [-v]\n"
          "                   [--tls-cert FILE --tls-key FILE] [--no-deflate] [--deflate-*]\n"
          "  PORT          TCP port (default 8080; 0: pick one)\n"
          "  --host ADDR   address to listen on (default 127.0.0.1)\n"
          "  --timeout S   opening handshake timeout in seconds, TLS included (default 30)\n"
          "  --idle S      close WebSocket connections idle for S seconds (default: never)\n"
          "  --tls-cert F  certificate chain (PEM): serve wss:// and https:// only\n"
          "  --tls-key F   its private key (PEM)\n"
          "  -v            log connection events to stderr\n",
          stderr);
    fputs(io_deflate_usage, stderr);
}

int main(int argc, char **argv)
{
    io_deflate deflate;
    io_deflate_default(&deflate);
    ws_config cfg = {.cb = &echo_cb, .deflate = &deflate, .hs_timeout_ms = 30000};
    const char *host = "127.0.0.1", *port = "8080", *cert = NULL, *key = NULL;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int d = io_deflate_option(&deflate, argc, argv, &i);
        bool more = i + 1 < argc;
        if (d != 0) {
            if (d < 0) {
                usage();
                return 2;
            }
        } else if (strcmp(a, "--host") == 0 && more) {
            host = argv[++i];
        } else if (strcmp(a, "--timeout") == 0 && more) {
            cfg.hs_timeout_ms = io_parse_seconds(argv[++i]);
        } else if (strcmp(a, "--idle") == 0 && more) {
            cfg.idle_ms = io_parse_seconds(argv[++i]);
        } else if (strcmp(a, "--tls-cert") == 0 && more) {
            cert = argv[++i];
        } else if (strcmp(a, "--tls-key") == 0 && more) {
            key = argv[++i];
        } else if (strcmp(a, "-v") == 0) {
            verbose = true;
        } else if (a[0] != '-' && a[0] != '\0') {
            port = a;
        } else {
            usage();
            return 2;
        }
        if (cfg.hs_timeout_ms < 0 || cfg.idle_ms < 0) {
            usage();
            return 2;
        }
    }
    if ((cert == NULL) != (key == NULL)) {
        fputs("echo_server: --tls-cert and --tls-key go together\n", stderr);
        return 2;
    }
    io_loop loop;
    if (!io_loop_init(&loop, "echo_server")) {
        return 1;
    }
    loop.verbose = verbose;
    io_tls_ctx *tls = cert != NULL ? io_tls_server(cert, key) : NULL;
    if ((cert != NULL && tls == NULL) || !ws_listen(&loop, host, port, tls, &cfg)) {
        return 1;
    }
    io_loop_run(&loop);
    io_loop_free(&loop);
    io_tls_free_ctx(tls);
    return 0;
}
