/*
 * The HTTP side of the one port (examples/io/ws.c reads and parses the
 * request, at most WICK_MAX_HEADER_BYTES, and answers 400/431 itself):
 *   - GET /chat with a valid upgrade: checks the Origin, picks up an auth
 *     token (?token= or the chat_token cookie) and accepts (http_upgrade);
 *   - plain GET / and GET /NAME: serves index.html or the file NAME from
 *     --public DIR (names are [A-Za-z0-9._-], no leading dot);
 *   - anything else: 404, 405 or 426.
 * Plain responses carry "Connection: close"; the socket then lingers
 * until the browser closes its side.
 */
#include "chat.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (1024 * 1024)

const wick_header http_headers[2] = {
    {{"Cache-Control", 13}, {"no-cache", 8}},
    {{"X-Content-Type-Options", 22}, {"nosniff", 7}},
};

static void respond_text(ws_conn *ws, int status, const char *msg)
{
    ws_http_answer(ws, status, NULL, msg, strlen(msg));
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext;
        const char *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot != NULL && i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(dot, types[i].ext) == 0) {
            return types[i].type;
        }
    }
    return "application/octet-stream";
}

static bool safe_file_name(const char *s, size_t len)
{
    if (len == 0 || len > 64 || s[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static void serve_file(ws_conn *ws, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg.public_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
        if (fd >= 0) {
            close(fd);
        }
        respond_text(ws, 404, "Not Found\n");
        return;
    }
    size_t size = (size_t)st.st_size;
    char *body = malloc(size + 1);
    size_t got = 0;
    while (body != NULL && got < size) {
        ssize_t n = read(fd, body + got, size - got);
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (body == NULL || got != size) {
        free(body);
        respond_text(ws, 500, "Internal Server Error\n");
        return;
    }
    ws_http_answer(ws, 200, content_type(name), body, size);
    free(body);
}

/* Finds `key`=VALUE in a query string or cookie list separated by `sep`. */
static bool find_param(wick_str list, const char *key, char sep, wick_str *out)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < list.len) {
        while (i < list.len && (list.ptr[i] == ' ' || list.ptr[i] == sep)) {
            i++;
        }
        size_t start = i;
        while (i < list.len && list.ptr[i] != sep) {
            i++;
        }
        size_t n = i - start;
        if (n > klen && memcmp(list.ptr + start, key, klen) == 0 && list.ptr[start + klen] == '=') {
            out->ptr = list.ptr + start + klen + 1;
            out->len = n - klen - 1;
            return true;
        }
    }
    return false;
}

static bool origin_allowed(const wick_hs_request *r)
{
    if (r->origin.ptr == NULL || cfg.any_origin) {
        return true; /* non-browser clients send no Origin */
    }
    for (size_t i = 0; i < cfg.num_origins; i++) {
        if (strlen(cfg.origins[i]) == r->origin.len &&
            memcmp(cfg.origins[i], r->origin.ptr, r->origin.len) == 0) {
            return true;
        }
    }
    if (cfg.num_origins > 0) {
        return false;
    }
    /* Default: same origin only, http or https on the Host we were asked for. */
    static const char *const schemes[] = {"http://", "https://"};
    for (size_t i = 0; i < 2; i++) {
        size_t sl = strlen(schemes[i]);
        if (r->origin.len == sl + r->host.len && memcmp(r->origin.ptr, schemes[i], sl) == 0 &&
            memcmp(r->origin.ptr + sl, r->host.ptr, r->host.len) == 0) {
            return true;
        }
    }
    return false;
}

/* ws.c's on_upgrade for every upgrade request: 0 accepts (ws.c adds
 * permessage-deflate), or the HTTP status refusing it. */
int http_upgrade(ws_conn *ws, const wick_hs_request *r, wick_hs_accept_opts *opts)
{
    (void)opts;
    const char *q = memchr(r->target.ptr, '?', r->target.len);
    size_t path_len = q != NULL ? (size_t)(q - r->target.ptr) : r->target.len;
    if (!(path_len == 5 && memcmp(r->target.ptr, "/chat", 5) == 0)) {
        return 404;
    }
    if (!origin_allowed(r)) {
        char lq[256];
        log_line(LOG_INFO, "origin_rejected", "origin=\"%s\"",
                 log_quote(r->origin.ptr, r->origin.len, lq, sizeof lq));
        return 403;
    }
    struct client *c = client_new(ws);
    if (c == NULL) {
        return 503;
    }
    if (cfg.secret_len > 0) {
        wick_str tok = {NULL, 0};
        if (q != NULL) {
            size_t off = (size_t)(q + 1 - r->target.ptr);
            wick_str query = {q + 1, r->target.len - off};
            find_param(query, "token", '&', &tok);
        }
        wick_str cookie;
        if (tok.ptr == NULL && wick_hs_request_header(r, "Cookie", &cookie)) {
            find_param(cookie, "chat_token", ';', &tok);
        }
        if (tok.ptr != NULL) {
            if (auth_check_token(cfg.secret, cfg.secret_len, tok.ptr, tok.len,
                                 (long long)time(NULL), c->name, &c->admin)) {
                c->authed = true;
            } else {
                c->bad_token = true; /* RFC 6455 7.4.1: 1008 once open */
            }
        }
    }
    return 0;
}

/* ws.c's on_http: a request that is not an upgrade. */
void http_request(ws_conn *ws, const wick_hs_request *r)
{
    size_t path_len = r->target.len;
    const char *q = memchr(r->target.ptr, '?', r->target.len);
    if (q != NULL) {
        path_len = (size_t)(q - r->target.ptr);
    }
    const char *path = r->target.ptr;
    char lq[256];
    log_line(LOG_DEBUG, "request", "method=%.*s path=\"%s\"",
             (int)(r->method.len > 16 ? 16 : r->method.len), r->method.ptr,
             log_quote(path, path_len, lq, sizeof lq));
    if (!(r->method.len == 3 && memcmp(r->method.ptr, "GET", 3) == 0)) {
        respond_text(ws, 405, "Method Not Allowed\n");
        return;
    }
    if (path_len == 5 && memcmp(path, "/chat", 5) == 0) {
        respond_text(ws, 426, "This endpoint speaks WebSocket\n");
        return;
    }
    if (path_len == 1 && path[0] == '/') {
        serve_file(ws, "index.html");
        return;
    }
    if (path_len >= 2 && safe_file_name(path + 1, path_len - 1)) {
        char name[65];
        memcpy(name, path + 1, path_len - 1);
        name[path_len - 1] = '\0';
        serve_file(ws, name);
        return;
    }
    respond_text(ws, 404, "Not Found\n");
}
