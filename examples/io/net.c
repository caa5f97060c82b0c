/*
 * Sockets: listening and accepting (the server side), non-blocking
 * connect and ws:// / wss:// URLs (the client side). Name resolution uses
 * getaddrinfo(), which blocks: fine for examples that connect once at
 * start-up; a server resolving names per request would want c-ares or a
 * thread.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

bool io_listen(io_loop *loop, const char *host, const char *port, io_tls_ctx *tls,
               const io_stream_cb *cb, void (*on_accept)(io_loop *loop, io_stream *s))
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", loop->name, host, gai_strerror(rc));
        return false;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0 || !io_loop_watch_listener(loop, fd)) {
        fprintf(stderr, "%s: cannot listen on %s port %s: %s\n", loop->name, host, port,
                strerror(errno));
        return false;
    }
    loop->accept_tls = tls;
    loop->accept_cb = cb;
    loop->on_accept = on_accept;
    /* The first line on stdout: tests start us on port 0 and read it. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char serv[NI_MAXSERV] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, serv, sizeof(serv), NI_NUMERICSERV);
    }
    printf("listening on %s\n", serv);
    fflush(stdout);
    return true;
}

void io_accept_all(io_loop *loop)
{
    while (loop->lfd >= 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(loop->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if ((errno == EMFILE || errno == ENFILE) && loop->spare_fd >= 0) {
                /* Out of descriptors: the listening socket would stay
                 * readable forever (level-triggered). Shed one connection
                 * with the spare descriptor, then keep it again. */
                close(loop->spare_fd);
                int tmp = accept(loop->lfd, NULL, NULL);
                if (tmp >= 0) {
                    close(tmp);
                }
                loop->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                fprintf(stderr, "%s: out of descriptors: a connection was refused\n", loop->name);
            }
            return; /* EAGAIN */
        }
        if (loop->max_live > 0 && loop->live >= loop->max_live) {
            io_log(loop, "fd %d: over the connection limit, closed", fd);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        io_stream *s = io_stream_new(loop, fd, loop->accept_cb, NULL);
        if (s == NULL) {
            close(fd);
            continue;
        }
        s->is_server = true;
        if (!io_peer_admit(loop, s, (const struct sockaddr *)&ss)) {
            /* Over --max-per-ip: a short answer the peer may read (the
             * socket's buffer is empty: one send() takes it), then close. */
            loop->per_ip_refused++;
            io_log(loop, "fd %d: over the per-address limit, closed", fd);
            if (loop->per_ip_reply != NULL) {
                ssize_t w = send(fd, loop->per_ip_reply, strlen(loop->per_ip_reply),
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                (void)w;
            }
            io_close(s);
            continue;
        }
        io_log(loop, "fd %d: accepted", fd);
        if (loop->accept_tls != NULL && !io_tls_start(s, loop->accept_tls, NULL)) {
            io_close(s);
            continue;
        }
        loop->on_accept(loop, s); /* sets s->user, the deadline, reading */
        io_update(s);
    }
}

io_stream *io_connect(io_loop *loop, const io_url *u, io_tls_ctx *tls, const io_stream_cb *cb,
                      void *user)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", loop->name, u->host, gai_strerror(rc));
        return NULL;
    }
    int fd = -1;
    bool now = false;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            now = true;
        } else if (errno != EINPROGRESS) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot connect to %s port %s: %s\n", loop->name, u->host, u->port,
                strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    io_stream *s = io_stream_new(loop, fd, cb, user);
    if (s == NULL) {
        close(fd);
        return NULL;
    }
    s->state = IO_CONNECTING;
    if (tls != NULL && !io_tls_start(s, tls, u->host)) {
        io_tls_log_errors(loop, "TLS setup");
        s->user = NULL; /* the caller frees its own state */
        io_close(s);
        return NULL;
    }
    (void)now; /* connected at once (loopback): the EPOLLOUT comes anyway */
    io_update(s);
    return s;
}

/* Splits the authority p[0..alen) into host and port (HOST may be
 * [IPv6]); the port defaults from the scheme. */
static bool split_authority(const char *p, size_t alen, io_url *u)
{
    const char *end = p + alen, *hs = p, *he, *port = NULL;
    if (*p == '[') {
        he = memchr(p, ']', alen);
        if (he == NULL || (he + 1 < end && he[1] != ':')) {
            return false;
        }
        hs = p + 1;
        port = he + 1 < end ? he + 2 : NULL;
    } else {
        he = memchr(p, ':', alen);
        port = he != NULL ? he + 1 : NULL;
        he = he != NULL ? he : end;
    }
    size_t hlen = (size_t)(he - hs);
    size_t plen = port != NULL ? (size_t)(end - port) : 0;
    if (hlen == 0 || hlen >= sizeof(u->host) || plen >= sizeof(u->port) ||
        (port != NULL && (plen == 0 || strspn(port, "0123456789") < plen))) {
        return false;
    }
    memcpy(u->host, hs, hlen);
    if (port != NULL) {
        memcpy(u->port, port, plen);
    } else {
        strcpy(u->port, u->tls ? "443" : "80");
    }
    return true;
}

/* ws://HOST[:PORT][/PATH] or wss://... */
bool io_url_parse(const char *url, io_url *u)
{
    memset(u, 0, sizeof(*u));
    const char *p = url;
    if (strncasecmp(url, "ws://", 5) == 0) {
        p += 5;
    } else if (strncasecmp(url, "wss://", 6) == 0) {
        p += 6;
        u->tls = true;
    } else {
        fprintf(stderr, "not a ws:// or wss:// URL: %s\n", url);
        return false;
    }
    size_t alen = strcspn(p, "/?#");
    const char *rest = p + alen;
    size_t tlen = strcspn(rest, "#");
    if (!split_authority(p, alen, u) || tlen + 2 > sizeof(u->target)) {
        fprintf(stderr, "bad URL: %s\n", url);
        return false;
    }
    /* The Host header: the authority as given (port only when given). */
    snprintf(u->host_hdr, sizeof(u->host_hdr), "%.*s", (int)alen, p);
    if (tlen == 0 || rest[0] != '/') {
        u->target[0] = '/';
    }
    strncat(u->target, rest, tlen);
    return true;
}
