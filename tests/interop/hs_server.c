/*
 * hs_server: a tiny blocking, single-threaded test server for the opening
 * handshake (tests/interop/test_handshake.py drives it).
 *
 *   hs_server PORT      (0: an ephemeral port on 127.0.0.1; prints
 *                        "listening on PORT" as its first line)
 *
 * Per connection: reads the request and parses it with
 * wick_hs_server_parse(); rejects bad requests with wick_hs_server_reject()
 * (plain HTTP gets a small 200 page); otherwise answers with
 * wick_hs_server_accept(), choosing the subprotocol "chat" when offered,
 * sends one unmasked text frame "hello" (built by hand: 81 05 'hello'),
 * waits for the client's close frame (parsed by hand; bytes that arrived
 * with the request count), echoes it and closes. A test program, not
 * library code: it uses POSIX sockets and stdio.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "wick.h"

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until the client's close frame (RFC 6455 5.5.1) and echoes its
 * payload back in an unmasked close frame. buf[0..len) holds the bytes
 * already received after the handshake. */
static void wait_close(int fd, unsigned char *buf, size_t len, size_t cap)
{
    for (;;) {
        /* Try to take one whole frame from the front of buf. */
        while (len >= 2) {
            unsigned op = buf[0] & 0x0Fu;
            int masked = (buf[1] & 0x80u) != 0;
            unsigned long long plen = buf[1] & 0x7Fu;
            size_t hl = 2;
            if (plen == 126) {
                if (len < 4) {
                    break;
                }
                plen = ((unsigned)buf[2] << 8) | buf[3];
                hl = 4;
            } else if (plen == 127) {
                if (len < 10) {
                    break;
                }
                plen = 0;
                for (int i = 0; i < 8; i++) {
                    plen = (plen << 8) | buf[2 + i];
                }
                hl = 10;
            }
            size_t kl = masked ? 4 : 0;
            if (plen > cap || len < hl + kl + plen) {
                if (hl + kl + plen > cap) {
                    fprintf(stderr, "hs_server: frame too big for this test server\n");
                    return;
                }
                break;
            }
            unsigned char *pl = buf + hl + kl;
            if (masked) {
                for (size_t i = 0; i < plen; i++) {
                    pl[i] ^= buf[hl + (i & 3)];
                }
            }
            if (op == 0x8) {
                unsigned char reply[2 + 125];
                size_t rl = plen > 125 ? 125 : (size_t)plen;
                reply[0] = 0x88;
                reply[1] = (unsigned char)rl;
                memcpy(reply + 2, pl, rl);
                send_all(fd, reply, 2 + rl);
                return;
            }
            size_t used = hl + kl + (size_t)plen;
            memmove(buf, buf + used, len - used);
            len -= used;
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        len += (size_t)n;
    }
}

static void serve(int fd)
{
    static char buf[WICK_MAX_HEADER_BYTES + 4096];
    static char out[WICK_MAX_HEADER_BYTES];
    size_t len = 0, used = 0, out_len = 0;
    wick_hs_request r;
    wick_hs_request_init(&r, NULL);
    wick_err e = WICK_NEED_MORE;
    while (e == WICK_NEED_MORE) {
        ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        len += (size_t)n;
        e = wick_hs_server_parse(&r, buf, len, &used);
    }
    if (e == WICK_ERR_HS_NOT_UPGRADE) {
        static const char page[] = "hs_server: plain HTTP\n";
        if (wick_http_response(200, NULL, page, sizeof page - 1, NULL, 0, true, out, sizeof out,
                               &out_len) == WICK_OK) {
            send_all(fd, out, out_len);
        }
        return;
    }
    if (e != WICK_OK) {
        fprintf(stderr, "hs_server: rejected: %s\n", wick_err_name(e));
        if (wick_hs_server_reject(e, out, sizeof out, &out_len) == WICK_OK) {
            send_all(fd, out, out_len);
        }
        return;
    }
    wick_hs_accept_opts opts;
    memset(&opts, 0, sizeof opts);
    for (size_t i = 0; i < r.num_protocols; i++) {
        if (r.protocols[i].len == 4 && memcmp(r.protocols[i].ptr, "chat", 4) == 0) {
            opts.protocol = r.protocols[i];
        }
    }
    e = wick_hs_server_accept(&r, &opts, out, sizeof out, &out_len);
    if (e != WICK_OK) {
        fprintf(stderr, "hs_server: accept: %s\n", wick_err_name(e));
        return;
    }
    static const unsigned char hello[7] = {0x81, 0x05, 'h', 'e', 'l', 'l', 'o'};
    if (send_all(fd, out, out_len) != 0 || send_all(fd, hello, sizeof hello) != 0) {
        return;
    }
    /* Bytes after the header block are the client's first frames. */
    size_t rest = len - used;
    memmove(buf, buf + used, rest);
    wait_close(fd, (unsigned char *)buf, rest, sizeof buf);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 16) != 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    printf("listening on %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("accept");
            return 1;
        }
        /* A stuck client must not hang the test run. */
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        serve(fd);
        close(fd);
    }
}
