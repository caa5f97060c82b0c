/*
 * Room history in memory: the last cfg.history chat messages of each
 * room, kept as the JSON that was sent (so a replay is byte for byte what
 * the members saw, ids included). A join gets them; a join that says
 * "since": "sN" (the last id the client saw) gets only the messages after
 * sN, or is told that history no longer reaches back that far.
 *
 * History outlives the room's members (a late joiner of an empty room
 * still sees what was said), so it has its own table and its own bounds:
 * at most HISTORY_ROOMS rooms and HISTORY_BYTES bytes of JSON in all.
 * Over either, the history of the room written to least recently goes
 * first (docs/chat.md "History").
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HISTORY_ROOMS   1024u
#define HISTORY_BYTES   (32u * 1024u * 1024u)
#define HISTORY_BUCKETS 1024u

struct entry {
    unsigned long long seq;
    char *json;
    size_t len;
};

struct hroom {
    char name[CHAT_MAX_NAME + 1];
    struct entry *ring; /* cfg.history entries */
    unsigned head, len; /* oldest at head */
    /* The seq of the newest message ever evicted from this room (0: none),
     * so a "since" older than it is known to have a gap. */
    unsigned long long evicted;
    uint64_t touched; /* LRU clock */
    struct hroom *hnext;
};

static struct hroom *buckets[HISTORY_BUCKETS];
static unsigned num_rooms;
static size_t total_bytes;
static uint64_t clock_tick;

static unsigned hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h % HISTORY_BUCKETS;
}

static struct hroom *find(const char *name)
{
    for (struct hroom *h = buckets[hash_name(name)]; h != NULL; h = h->hnext) {
        if (strcmp(h->name, name) == 0) {
            return h;
        }
    }
    return NULL;
}

static void drop_oldest(struct hroom *h)
{
    struct entry *e = &h->ring[h->head];
    h->evicted = e->seq;
    total_bytes -= e->len;
    free(e->json);
    e->json = NULL;
    h->head = (h->head + 1) % cfg.history;
    h->len--;
}

static void room_free(struct hroom *h)
{
    while (h->len > 0) {
        drop_oldest(h);
    }
    for (struct hroom **pp = &buckets[hash_name(h->name)]; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == h) {
            *pp = h->hnext;
            break;
        }
    }
    num_rooms--;
    free(h->ring);
    free(h);
}

/* Frees the least recently written room other than keep. A linear scan,
 * but only when a bound is hit, and over at most HISTORY_ROOMS rooms. */
static bool evict_lru(const struct hroom *keep)
{
    struct hroom *victim = NULL;
    for (unsigned b = 0; b < HISTORY_BUCKETS; b++) {
        for (struct hroom *h = buckets[b]; h != NULL; h = h->hnext) {
            if (h != keep && (victim == NULL || h->touched < victim->touched)) {
                victim = h;
            }
        }
    }
    if (victim == NULL) {
        return false;
    }
    log_line(LOG_DEBUG, "history_evicted", "room=%s", victim->name);
    room_free(victim);
    return true;
}

void history_add(const char *room, unsigned long long seq, const char *json, size_t len)
{
    if (cfg.history == 0 || len > HISTORY_BYTES / 4) {
        return;
    }
    struct hroom *h = find(room);
    if (h == NULL) {
        if (num_rooms >= HISTORY_ROOMS && !evict_lru(NULL)) {
            return;
        }
        h = calloc(1, sizeof *h);
        struct entry *ring = calloc(cfg.history, sizeof *ring);
        if (h == NULL || ring == NULL) {
            free(h);
            free(ring);
            return;
        }
        strcpy(h->name, room);
        h->ring = ring;
        unsigned b = hash_name(room);
        h->hnext = buckets[b];
        buckets[b] = h;
        num_rooms++;
    }
    h->touched = ++clock_tick;
    while (total_bytes + len > HISTORY_BYTES && evict_lru(h)) {
    }
    while (h->len > 0 && (h->len == cfg.history || total_bytes + len > HISTORY_BYTES)) {
        drop_oldest(h);
    }
    char *copy = malloc(len);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, json, len);
    struct entry *e = &h->ring[(h->head + h->len) % cfg.history];
    e->seq = seq;
    e->json = copy;
    e->len = len;
    h->len++;
    total_bytes += len;
}

bool history_parse_id(const char *s, unsigned long long *seq)
{
    if (s[0] != 's' || s[1] < '1' || s[1] > '9') {
        return false;
    }
    unsigned long long n = 0;
    for (const char *p = s + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || n > 100000000000000ull) {
            return false;
        }
        n = n * 10 + (unsigned long long)(*p - '0');
    }
    *seq = n;
    return true;
}

unsigned history_replay(struct client *c, const char *room, bool has_since,
                        unsigned long long since, bool *complete)
{
    const struct hroom *h = find(room);
    unsigned sent = 0;
    /* Complete when nothing after `since` was evicted: since is at or
     * after the newest evicted message. Without `since` the client asked
     * for whatever is kept, which is complete by definition. */
    *complete = !has_since || h == NULL || since >= h->evicted;
    if (h == NULL) {
        return 0;
    }
    for (unsigned i = 0; i < h->len; i++) {
        const struct entry *e = &h->ring[(h->head + i) % cfg.history];
        if (has_since && e->seq <= since) {
            continue;
        }
        if (c != NULL) {
            struct frame *f = frame_new(e->json, e->len);
            client_send(c, f);
            frame_unref(f);
        }
        sent++;
    }
    return sent;
}

void history_cleanup(void)
{
    for (unsigned b = 0; b < HISTORY_BUCKETS; b++) {
        while (buckets[b] != NULL) {
            room_free(buckets[b]);
        }
    }
}
