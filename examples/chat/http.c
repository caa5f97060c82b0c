/*
 * The HTTP side of the one port: collects the request header block,
 * parses it with wick_hs_server_parse(), and then
 *   - GET /chat with a valid upgrade: checks the Origin, picks up an auth
 *     token (?token= or the chat_token cookie), answers 101 and hands the
 *     connection to the engine (client_start_ws);
 *   - plain GET / and GET /NAME: serves index.html or the file NAME from
 *     --public DIR (names are [A-Za-z0-9._-], no leading dot);
 *   - anything else: 404, 405, 426, or the handshake error's status.
 * Plain responses carry "Connection: close"; the socket then lingers
 * (client_linger) until the browser closes its side.
 */
#include "chat.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REQ_CAP  WICK_MAX_HEADER_BYTES
#define MAX_FILE (1024 * 1024)

void http_queue_raw(struct client *c, const void *data, size_t len)
{
    uint8_t *n = realloc(c->raw, c->raw_len + len);
    if (n == NULL) {
        return;
    }
    memcpy(n + c->raw_len, data, len);
    c->raw = n;
    c->raw_len += len;
    loop_mark_dirty(c);
}

static void respond(struct client *c, int status, const char *type, const void *body, size_t len)
{
    static const wick_header extra[] = {
        {{"Cache-Control", 13}, {"no-cache", 8}},
        {{"X-Content-Type-Options", 22}, {"nosniff", 7}},
    };
    size_t cap = len + 512;
    char *out = malloc(cap);
    size_t out_len = 0;
    if (out == NULL || wick_http_response(status, type, body, len, extra, 2, true, out, cap,
                                          &out_len) != WICK_OK) {
        free(out);
        client_kill(c, "response failed");
        return;
    }
    http_queue_raw(c, out, out_len);
    free(out);
    c->phase = PH_HTTP_SEND;
    c->deadline = now_ms() + cfg.close_ms;
}

static void respond_text(struct client *c, int status, const char *msg)
{
    respond(c, status, NULL, msg, strlen(msg));
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

static void serve_file(struct client *c, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg.public_dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
        if (fd >= 0) {
            close(fd);
        }
        respond_text(c, 404, "Not Found\n");
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
        respond_text(c, 500, "Internal Server Error\n");
        return;
    }
    respond(c, 200, content_type(name), body, size);
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

static void upgrade(struct client *c, size_t consumed)
{
    wick_hs_request *r = c->hs;
    if (!origin_allowed(r)) {
        char q[256];
        log_line(LOG_INFO, "origin_rejected", "id=%s origin=\"%s\"", c->id,
                 log_quote(r->origin.ptr, r->origin.len, q, sizeof q));
        respond_text(c, 403, "Origin not allowed\n");
        return;
    }
    bool bad_token = false;
    if (cfg.secret_len > 0) {
        wick_str tok = {NULL, 0};
        const char *q = memchr(r->target.ptr, '?', r->target.len);
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
                                 (long long)time(NULL), c->name)) {
                c->authed = true;
            } else {
                bad_token = true;
            }
        }
    }
    /* permessage-deflate: the first offer that fits the budget. */
    char ext[WICK_PMD_HEADER_MAX];
    size_t ext_len = 0;
    wick_hs_accept_opts opts;
    memset(&opts, 0, sizeof opts);
    memset(&c->deflate, 0, sizeof c->deflate);
    if (cfg.deflate && wick_pmd_accept(&deflate_cfg, r->extensions, r->num_extensions, &c->deflate,
                                       ext, sizeof ext, &ext_len) == WICK_OK) {
        opts.extensions.ptr = ext;
        opts.extensions.len = ext_len;
    }
    char out[1024];
    size_t out_len = 0;
    if (wick_hs_server_accept(r, &opts, out, sizeof out, &out_len) != WICK_OK) {
        respond_text(c, 500, "Internal Server Error\n");
        return;
    }
    http_queue_raw(c, out, out_len);
    /* The bytes after the header block are the first WebSocket bytes. */
    size_t rest_len = c->req_len - consumed;
    uint8_t *rest = NULL;
    if (rest_len > 0) {
        rest = malloc(rest_len);
        if (rest == NULL) {
            client_kill(c, "out of memory");
            return;
        }
        memcpy(rest, c->req + consumed, rest_len);
    }
    free(c->req);
    c->req = NULL;
    free(c->hs);
    c->hs = NULL;
    if (bad_token) {
        /* RFC 6455 7.4.1: 1008 for a policy violation. */
        if (client_start_ws(c, NULL, 0)) {
            log_line(LOG_INFO, "auth_failed", "id=%s source=handshake", c->id);
            client_close(c, WICK_CLOSE_POLICY, "Invalid token");
        } else {
            client_kill(c, "out of memory");
        }
    } else if (!client_start_ws(c, rest, rest_len)) {
        client_kill(c, "out of memory");
    }
    free(rest);
}

void http_on_readable(struct client *c, const uint8_t *buf, size_t len)
{
    if (c->req == NULL) {
        c->req = malloc(REQ_CAP);
        c->hs = malloc(sizeof *c->hs);
        if (c->req == NULL || c->hs == NULL) {
            client_kill(c, "out of memory");
            return;
        }
        wick_hs_request_init(c->hs, NULL);
    }
    size_t room = REQ_CAP - c->req_len;
    size_t take = len < room ? len : room;
    memcpy(c->req + c->req_len, buf, take);
    c->req_len += take;
    size_t consumed = 0;
    wick_err e = wick_hs_server_parse(c->hs, c->req, c->req_len, &consumed);
    if (e == WICK_NEED_MORE) {
        if (c->req_len == REQ_CAP) { /* full, and still no complete header block */
            respond_text(c, 431, "Request Header Fields Too Large\n");
        }
        return;
    }
    wick_hs_request *r = c->hs;
    if (e != WICK_OK && e != WICK_ERR_HS_NOT_UPGRADE) {
        char out[512];
        size_t out_len = 0;
        log_line(LOG_INFO, "bad_request", "id=%s error=%s", c->id, wick_err_name(e));
        if (wick_hs_server_reject(e, out, sizeof out, &out_len) == WICK_OK) {
            http_queue_raw(c, out, out_len);
            c->phase = PH_HTTP_SEND;
            c->deadline = now_ms() + cfg.close_ms;
        } else {
            client_kill(c, "bad request");
        }
        return;
    }
    size_t path_len = r->target.len;
    const char *q = memchr(r->target.ptr, '?', r->target.len);
    if (q != NULL) {
        path_len = (size_t)(q - r->target.ptr);
    }
    const char *path = r->target.ptr;
    bool is_chat = path_len == 5 && memcmp(path, "/chat", 5) == 0;
    char lq[256];
    log_line(LOG_DEBUG, "request", "id=%s method=%.*s path=\"%s\" upgrade=%d", c->id,
             (int)(r->method.len > 16 ? 16 : r->method.len), r->method.ptr,
             log_quote(path, path_len, lq, sizeof lq), e == WICK_OK);
    if (e == WICK_OK) {
        if (!is_chat) {
            respond_text(c, 404, "Not Found\n");
        } else {
            upgrade(c, consumed);
        }
        return;
    }
    if (!(r->method.len == 3 && memcmp(r->method.ptr, "GET", 3) == 0)) {
        respond_text(c, 405, "Method Not Allowed\n");
        return;
    }
    if (is_chat) {
        respond_text(c, 426, "This endpoint speaks WebSocket\n");
        return;
    }
    if (path_len == 1 && path[0] == '/') {
        serve_file(c, "index.html");
        return;
    }
    if (path_len >= 2 && safe_file_name(path + 1, path_len - 1)) {
        char name[65];
        memcpy(name, path + 1, path_len - 1);
        name[path_len - 1] = '\0';
        serve_file(c, name);
        return;
    }
    respond_text(c, 404, "Not Found\n");
}
