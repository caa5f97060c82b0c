/*
 * hs_client: a tiny blocking test client for the client side of the
 * opening handshake (tests/interop/test_handshake.py drives it against a
 * Python `websockets` server).
 *
 *   hs_client PORT [SUBPROTOCOL...]
 *
 * Connects to 127.0.0.1:PORT, writes the request with
 * wick_hs_client_request() (target /chat, the given subprotocols, a
 * permessage-deflate offer), verifies the answer with
 * wick_hs_client_verify(), prints "status=N protocol=P extensions=N", then
 * reads one unmasked server frame by hand (bytes that came with the
 * response count), prints "message=TEXT", sends a masked close 1000 and
 * waits for the server's close. On a failed handshake it prints
 * "error=WICK_ERR_... status=N" and exits with 2.
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

static int read_more(int fd, char *buf, size_t *len, size_t cap)
{
    for (;;) {
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        *len += (size_t)n;
        return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hs_client PORT [SUBPROTOCOL...]\n");
        return 1;
    }
    int port = atoi(argv[1]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        return 1;
    }
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    uint8_t nonce[16];
    FILE *ur = fopen("/dev/urandom", "rb");
    if (ur == NULL || fread(nonce, 1, sizeof nonce, ur) != sizeof nonce) {
        perror("urandom");
        return 1;
    }
    fclose(ur);
    static wick_str protos[16];
    size_t np = 0;
    for (int i = 2; i < argc && np < 16; i++) {
        protos[np].ptr = argv[i];
        protos[np].len = strlen(argv[i]);
        np++;
    }
    char host[32];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    static const char ext[] = "permessage-deflate; client_max_window_bits";
    wick_hs_client_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.target.ptr = "/chat";
    opts.target.len = 5;
    opts.host.ptr = host;
    opts.host.len = strlen(host);
    opts.protocols = protos;
    opts.num_protocols = np;
    opts.extensions.ptr = ext;
    opts.extensions.len = sizeof ext - 1;

    static wick_hs_client c;
    static char buf[WICK_MAX_HEADER_BYTES + 4096];
    size_t n = 0;
    wick_err e = wick_hs_client_request(&c, &opts, nonce, NULL, buf, sizeof buf, &n);
    if (e != WICK_OK || send_all(fd, buf, n) != 0) {
        fprintf(stderr, "hs_client: request: %s\n", wick_err_name(e));
        return 1;
    }
    size_t len = 0, used = 0;
    e = WICK_NEED_MORE;
    while (e == WICK_NEED_MORE) {
        if (read_more(fd, buf, &len, sizeof buf) != 0) {
            fprintf(stderr, "hs_client: connection closed during the handshake\n");
            return 1;
        }
        e = wick_hs_client_verify(&c, buf, len, &used);
    }
    if (e != WICK_OK) {
        printf("error=%s status=%d\n", wick_err_name(e), c.status);
        return 2;
    }
    printf("status=%d protocol=%.*s extensions=%zu\n", c.status, (int)c.protocol.len,
           c.protocol.ptr ? c.protocol.ptr : "", c.num_extensions);
    /* The server's first frame: unmasked, short (RFC 6455 5.2). */
    memmove(buf, buf + used, len - used);
    len -= used;
    while (len < 2 || len < 2u + (unsigned char)(buf[1] & 0x7F)) {
        if (read_more(fd, buf, &len, sizeof buf) != 0) {
            fprintf(stderr, "hs_client: connection closed before a frame\n");
            return 1;
        }
    }
    unsigned plen = (unsigned char)buf[1] & 0x7Fu;
    if ((buf[1] & 0x80) != 0 || plen > 125) {
        fprintf(stderr, "hs_client: unexpected frame header\n");
        return 1;
    }
    printf("message=%.*s\n", (int)plen, buf + 2);
    fflush(stdout);
    /* Masked close 1000 (RFC 6455 5.3: the client masks). */
    unsigned char close_frame[8] = {0x88, 0x82, 0x11, 0x22, 0x33, 0x44, 0x03 ^ 0x11, 0xe8 ^ 0x22};
    send_all(fd, close_frame, sizeof close_frame);
    len = 0;
    while (read_more(fd, buf, &len, sizeof buf) == 0 && len < sizeof buf) {
    }
    close(fd);
    return 0;
}
