/*
 * TLS with OpenSSL, non-blocking: wick never sees any of it (it is
 * sans-I/O: it takes and gives plaintext bytes), so wss is only this file.
 *
 * The handshake is driven from the loop: each SSL_do_handshake() that
 * wants the socket readable or writable sets tls_rd/tls_wr, io_update()
 * waits for that, and the owner's on_open comes when it is done. The
 * stream's deadline (the server's handshake timeout, the client's
 * connect timeout) covers it. Reads and writes map SSL_ERROR_WANT_* to
 * "would block" the same way.
 *
 * Writes: an SSL_write() that would block must be retried with the same
 * bytes. The write queue keeps them at its head, but not at the same
 * address (the queue grows with realloc(), compacts with memmove(), and a
 * write tried straight from the caller's buffer queues its rest), so the
 * contexts accept a moving buffer (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
 * without it OpenSSL fails the retry with "bad write retry" and the
 * connection is lost as soon as the socket fills).
 *
 * Server: a client that speaks plain HTTP to the TLS port gets a short
 * 400 answer in plain text before we close (we look at the first bytes
 * with MSG_PEEK: a TLS connection starts with a handshake record, 0x16).
 * Client: SNI, and the certificate checked against the system store (or
 * --ca FILE) and the host name, unless --insecure.
 */
#include "io.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* See the top of the file for the moving buffer. */
#define TLS_MODES                                                                                  \
    (SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS)

void io_tls_log_errors(const io_loop *loop, const char *what)
{
    unsigned long e;
    char buf[256];
    bool any = false;
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "%s: %s: %s\n", loop->name, what, buf);
        any = true;
    }
    if (!any) {
        fprintf(stderr, "%s: %s: %s\n", loop->name, what, errno ? strerror(errno) : "failed");
    }
}

io_tls_ctx *io_tls_server(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "TLS: cannot use certificate %s with key %s\n", cert, key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, TLS_MODES);
    return ctx;
}

io_tls_ctx *io_tls_client(const char *ca, bool insecure)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ERR_print_errors_fp(stderr);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, TLS_MODES);
    if (insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return ctx;
    }
    int ok = ca != NULL ? SSL_CTX_load_verify_locations(ctx, ca, NULL)
                        : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "TLS: cannot load CA certificates%s%s\n", ca ? " from " : "", ca ? ca : "");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

void io_tls_free_ctx(io_tls_ctx *ctx)
{
    SSL_CTX_free(ctx);
}

/* SNI. SSL_set_tlsext_host_name() is a macro that casts the name to
 * void *, which clang's -Wcast-qual rejects for a const string; this is
 * that macro's call, with the cast made through uintptr_t (OpenSSL copies
 * the name and never writes to it). */
static int set_sni(SSL *ssl, const char *name)
{
    return (int)SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         (void *)(uintptr_t)name);
}

bool io_tls_start(io_stream *s, io_tls_ctx *ctx, const char *sni)
{
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, s->fd) != 1) {
        SSL_free(ssl);
        return false;
    }
    if (s->is_server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
        /* SNI, and the name the certificate must carry (not for an IP
         * address literal, which SNI does not allow; it is checked too). */
        bool ip = strspn(sni, "0123456789.") == strlen(sni) || strchr(sni, ':') != NULL;
        if ((!ip && set_sni(ssl, sni) != 1) || (!ip && SSL_set1_host(ssl, sni) != 1) ||
            (ip && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), sni) != 1)) {
            SSL_free(ssl);
            return false;
        }
    }
    s->ssl = ssl;
    if (s->state == IO_OPEN) {
        s->state = IO_HANDSHAKE;
    }
    return true;
}

/* Maps the result of an SSL call (op: h handshake, r read, w write): sets tls_rd/tls_wr for the
 * WANT_* cases and returns 0 for them, -1 for a failure. */
static int want(io_stream *s, int r, char op, const char *what)
{
    int e = SSL_get_error(s->ssl, r);
    bool rd = e == SSL_ERROR_WANT_READ, wr = e == SSL_ERROR_WANT_WRITE;
    /* A read waiting for input is the owner's business (s->reading), and a
     * write waiting for room is the write queue's (EPOLLOUT): only the
     * crossed cases, and the handshake, need a flag. */
    s->tls_rd = rd && op != 'r';
    s->tls_wr = wr && op != 'w';
    if (rd || wr) {
        return 0;
    }
    if (e != SSL_ERROR_ZERO_RETURN && (e != SSL_ERROR_SYSCALL || errno != 0)) {
        if (s->loop->verbose || s->state == IO_HANDSHAKE) {
            io_tls_log_errors(s->loop, what);
        }
    }
    ERR_clear_error();
    return -1;
}

/* A plain-HTTP client on the TLS port: answer in plain text and close. */
static bool plain_http_on_tls_port(io_stream *s)
{
    char b[4];
    ssize_t n = recv(s->fd, b, sizeof(b), MSG_PEEK);
    if (n < 3 || memcmp(b, "GET", 3) != 0) {
        return false;
    }
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: 39\r\n"
                                 "Connection: close\r\n\r\n"
                                 "This port speaks TLS: use https or wss\n";
    fprintf(stderr, "%s: fd %d: plain HTTP on the TLS port, answered 400\n", s->loop->name, s->fd);
    ssize_t w = send(s->fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
    (void)w;
    return true;
}

int io_tls_handshake(io_stream *s)
{
    ERR_clear_error();
    if (s->is_server && !SSL_is_init_finished(s->ssl) && SSL_in_before(s->ssl) &&
        plain_http_on_tls_port(s)) {
        return -1;
    }
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->tls_rd = s->tls_wr = false;
        return 1;
    }
    if (want(s, r, 'h', "TLS handshake") == 0) {
        return 0;
    }
    if (!s->is_server) {
        long v = SSL_get_verify_result(s->ssl);
        if (v != X509_V_OK) {
            fprintf(stderr, "%s: certificate verification failed: %s\n", s->loop->name,
                    X509_verify_cert_error_string(v));
        }
    }
    return -1;
}

ssize_t io_tls_read(io_stream *s, void *buf, size_t cap)
{
    ERR_clear_error();
    int r = SSL_read(s->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (r > 0) {
        s->tls_rd = s->tls_wr = false;
        return r;
    }
    return want(s, r, 'r', "TLS read") == 0 ? 0 : -1;
}

ssize_t io_tls_write(io_stream *s, const void *buf, size_t len)
{
    ERR_clear_error();
    int r = SSL_write(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (r > 0) {
        s->tls_rd = s->tls_wr = false;
        return r;
    }
    return want(s, r, 'w', "TLS write") == 0 ? 0 : -1;
}

void io_tls_shutdown(io_stream *s)
{
    ERR_clear_error();
    if (SSL_is_init_finished(s->ssl)) {
        (void)SSL_shutdown(s->ssl);
    }
    ERR_clear_error();
}

void io_tls_free(io_stream *s)
{
    SSL_free(s->ssl);
    s->ssl = NULL;
}
