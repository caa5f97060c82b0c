/*
 * Connections per peer address, for io_loop.max_per_ip (net.c).
 *
 * An address is an IPv4 address, or an IPv6 /64 (one host usually holds a
 * whole /64, so counting single IPv6 addresses would count nothing). An
 * IPv4-mapped IPv6 address counts as its IPv4 address. A table entry
 * exists only while the address has a live connection, so the table holds
 * at most io_loop.live entries (32 bytes each) besides its buckets; the
 * hash is keyed with a random seed, so chains cannot be aimed at.
 */
#include "io.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#define PEER_BUCKETS 4096u

struct io_peer {
    struct io_peer *next;
    uint32_t count;
    uint8_t len;
    uint8_t addr[16];
};

static uint64_t peer_hash(const io_loop *loop, const uint8_t *a, size_t len)
{
    uint64_t h = loop->peer_seed ^ 0xcbf29ce484222325ull; /* FNV-1a, seeded */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ a[i]) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

void io_peer_key(const struct sockaddr *sa, uint8_t out[16], uint8_t *len)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    *len = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out, &in->sin_addr, 4);
        *len = 4;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (memcmp(b, mapped, sizeof(mapped)) == 0) {
            memcpy(out, b + 12, 4);
            *len = 4;
        } else {
            memcpy(out, b, 8); /* the /64 */
            *len = 8;
        }
    }
}

static struct io_peer **peer_slot(io_loop *loop, const uint8_t *a, uint8_t len)
{
    struct io_peer **pp = &loop->peers[peer_hash(loop, a, len) % PEER_BUCKETS];
    while (*pp != NULL && ((*pp)->len != len || memcmp((*pp)->addr, a, len) != 0)) {
        pp = &(*pp)->next;
    }
    return pp;
}

bool io_peer_admit(io_loop *loop, io_stream *s, const struct sockaddr *sa)
{
    io_peer_key(sa, s->peer, &s->peer_len);
    if (loop->max_per_ip == 0 || s->peer_len == 0) {
        return true; /* not counted (a Unix socket, say) */
    }
    if (loop->peers == NULL) {
        loop->peers = calloc(PEER_BUCKETS, sizeof(*loop->peers));
        if (loop->peers == NULL ||
            getrandom(&loop->peer_seed, sizeof(loop->peer_seed), 0) != sizeof(loop->peer_seed)) {
            return false;
        }
    }
    struct io_peer **pp = peer_slot(loop, s->peer, s->peer_len);
    if (*pp == NULL) {
        struct io_peer *p = calloc(1, sizeof(*p));
        if (p == NULL) {
            return false;
        }
        p->len = s->peer_len;
        memcpy(p->addr, s->peer, s->peer_len);
        *pp = p;
    }
    if ((*pp)->count >= loop->max_per_ip) {
        return false;
    }
    (*pp)->count++;
    s->peer_counted = true;
    return true;
}

void io_peer_release(io_stream *s)
{
    io_loop *loop = s->loop;
    if (!s->peer_counted || loop->peers == NULL) {
        return;
    }
    s->peer_counted = false;
    struct io_peer **pp = peer_slot(loop, s->peer, s->peer_len);
    struct io_peer *p = *pp;
    if (p != NULL && --p->count == 0) {
        *pp = p->next;
        free(p);
    }
}

void io_peer_free(io_loop *loop)
{
    if (loop->peers == NULL) {
        return;
    }
    for (size_t i = 0; i < PEER_BUCKETS; i++) {
        while (loop->peers[i] != NULL) {
            struct io_peer *p = loop->peers[i];
            loop->peers[i] = p->next;
            free(p);
        }
    }
    free(loop->peers);
    loop->peers = NULL;
}
