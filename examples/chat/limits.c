/*
 * Rate limits that survive reconnects, and the memory limits' set-up (see
 * limits.h and docs/chat.md "Limits").
 *
 * Each key (an authenticated user, or an anonymous client's address) has a
 * leaky bucket: a level that rises by one per message and drains at the
 * key's budget per window; a message that would lift it over the budget is
 * refused. So a key can send its budget in a burst, then budget per window,
 * whether over one connection or many, one after another or at once.
 *
 * The buckets live in a fixed table of LIM_SETS x LIM_WAYS entries (about
 * 330 KiB, allocated once): a key hashes (keyed with a random seed) to one
 * set of LIM_WAYS; a new key takes an empty or drained way, else the way
 * with the lowest level. A drained bucket is the same as none, so losing it
 * costs nothing; evicting a non-empty one takes LIM_WAYS busy keys in the
 * same set at once, and only gives that key a fresh budget.
 */
#include "limits.h"

#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LIM_SETS  1024u
#define LIM_WAYS  4u
#define LIM_SCALE 1000u /* level units per message */

struct limits_config limits_cfg = {
    .max_per_ip = 64,
    .rate_limit_ip = 0,
    .message_deadline_ms = 30000,
    .reassembly_cap = 64u << 20,
};
ws_budget limits_reasm;

struct bucket {
    uint64_t hash;
    int64_t t;      /* last update (ms) */
    uint64_t level; /* LIM_SCALE per message */
    uint8_t key_len;
    char key[CHAT_MAX_NAME + 2]; /* 'u' + user, or 'a' + address bytes */
};

static struct bucket table[LIM_SETS * LIM_WAYS];
static uint64_t seed;

bool limits_option(int opt, const char *arg)
{
    char *end = NULL;
    unsigned long long v = strtoull(arg, &end, 10);
    bool num = end != arg && *end == '\0' && arg[0] != '-';
    switch (opt) {
    case OPT_MAX_PER_IP:
        if (num && v <= 10000000) {
            limits_cfg.max_per_ip = (size_t)v;
            return true;
        }
        fprintf(stderr, "chat_server: invalid value for --max-per-ip: %s\n", arg);
        return false;
    case OPT_RATE_LIMIT_IP:
        if (num && v > 0 && v <= 1000000000) {
            limits_cfg.rate_limit_ip = (unsigned)v;
            return true;
        }
        fprintf(stderr, "chat_server: invalid value for --rate-limit-ip: %s\n", arg);
        return false;
    case OPT_MESSAGE_DEADLINE: {
        double s = strtod(arg, &end);
        if (end != arg && *end == '\0' && s > 0.0 && s <= 86400.0) {
            limits_cfg.message_deadline_ms = (int64_t)(s * 1000.0 + 0.5);
            return true;
        }
        fprintf(stderr, "chat_server: invalid value for --message-deadline: %s\n", arg);
        return false;
    }
    case OPT_REASSEMBLY_CAP:
        if (num && v >= 1024 && v <= (1ull << 40)) {
            limits_cfg.reassembly_cap = (size_t)v;
            return true;
        }
        fprintf(stderr, "chat_server: invalid value for --reassembly-cap: %s\n", arg);
        return false;
    default:
        return false;
    }
}

void limits_setup(io_loop *loop, ws_config *wcfg)
{
    if (limits_cfg.rate_limit_ip == 0) {
        uint64_t ip = (uint64_t)cfg.rate_limit * 10u;
        limits_cfg.rate_limit_ip = ip > 1000000000u ? 1000000000u : (unsigned)ip;
    }
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        seed = (uint64_t)now_ms() * 0x9e3779b97f4a7c15ull;
    }
    loop->max_per_ip = limits_cfg.max_per_ip;
    loop->per_ip_reply = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"
                         "Content-Length: 32\r\nConnection: close\r\n\r\n"
                         "too many connections from here\r\n";
    limits_reasm.cap = limits_cfg.reassembly_cap;
    wcfg->reasm = &limits_reasm;
    wcfg->msg_deadline_ms = limits_cfg.message_deadline_ms;
}

static uint64_t key_hash(const char *k, size_t len)
{
    uint64_t h = seed ^ 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)k[i]) * 0x100000001b3ull;
    }
    return h ^ (h >> 31);
}

/* The bucket's level now (it drains at `budget` per window). */
static uint64_t drained(const struct bucket *b, int64_t now, unsigned budget)
{
    if (b->key_len == 0 || now <= b->t) {
        return b->key_len == 0 ? 0 : b->level;
    }
    uint64_t dt = (uint64_t)(now - b->t);
    if (dt > (1ull << 23)) {
        return 0; /* over 2 hours idle: drained, whatever the budget and window */
    }
    uint64_t window = cfg.rate_window_ms ? cfg.rate_window_ms : 1;
    uint64_t out = dt * budget * LIM_SCALE / window; /* < 2^23 * 2^30 * 2^10 */
    return out >= b->level ? 0 : b->level - out;
}

bool limits_take(const struct client *c)
{
    char key[sizeof table[0].key];
    size_t len;
    unsigned budget;
    if (c->authed && c->name[0] != '\0') {
        len = strlen(c->name);
        key[0] = 'u';
        memcpy(key + 1, c->name, len);
        len++;
        budget = cfg.rate_limit;
    } else {
        if (c->ws == NULL || c->ws->s->peer_len == 0) {
            return true; /* no address to count against */
        }
        key[0] = 'a';
        memcpy(key + 1, c->ws->s->peer, c->ws->s->peer_len);
        len = 1 + c->ws->s->peer_len;
        budget = limits_cfg.rate_limit_ip;
    }
    uint64_t h = key_hash(key, len);
    struct bucket *set = &table[(h % LIM_SETS) * LIM_WAYS];
    int64_t now = now_ms();
    struct bucket *b = NULL, *low = &set[0];
    uint64_t low_level = UINT64_MAX;
    for (unsigned i = 0; i < LIM_WAYS; i++) {
        struct bucket *w = &set[i];
        if (w->key_len == len && w->hash == h && memcmp(w->key, key, len) == 0) {
            b = w;
            break;
        }
        uint64_t lv = drained(w, now, budget);
        if (lv < low_level) {
            low_level = lv;
            low = w;
        }
    }
    if (b == NULL) {
        b = low; /* empty, drained, or the least busy: replaced */
        b->hash = h;
        b->key_len = (uint8_t)len;
        memcpy(b->key, key, len);
        b->level = 0;
        b->t = now;
    }
    b->level = drained(b, now, budget);
    b->t = now;
    if (b->level + LIM_SCALE > (uint64_t)budget * LIM_SCALE) {
        return false;
    }
    b->level += LIM_SCALE;
    return true;
}

void limits_on_ws_limit(ws_conn *ws, uint16_t code, const char *what)
{
    const struct client *c = ws->user;
    log_line(LOG_INFO, "limit_close",
             "id=%s code=%u what=\"%s\" reassembly_used=%zu reassembly_peak=%zu "
             "reassembly_cap=%zu",
             c != NULL ? c->id : "-", code, what, limits_reasm.used, limits_reasm.peak,
             limits_reasm.cap);
}
