/* Open-addressing hash set of SHA-256(account ‖ 0 ‖ nonce) with expiry (see replay_cache.h).
 * Expired slots are reused in place; a full probe run triggers one sweep of expired entries. */
#include "enclave/replay_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"

struct slot {
    uint8_t digest[16]; /* first half of the SHA-256: collisions are not a practical concern */
    int64_t expires_at; /* 0 = empty */
};

struct nsl_replay_cache {
    pthread_mutex_t lock;
    struct slot *slots;
    size_t capacity, size;
};

struct nsl_replay_cache *nsl_replay_cache_new(size_t capacity)
{
    struct nsl_replay_cache *c = calloc(1, sizeof *c);
    size_t n = 16;
    while (n < capacity * 2) /* keep the load factor at or below one half */
        n *= 2;
    if (c)
        c->slots = calloc(n, sizeof *c->slots);
    if (!c || !c->slots) {
        free(c);
        return NULL;
    }
    c->capacity = n;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void nsl_replay_cache_free(struct nsl_replay_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

static void digest_of(const char *account, const char *nonce, uint8_t out[16])
{
    uint8_t full[32];
    /* The NUL after the account separates the two parts unambiguously. */
    struct nsl_bytes parts[] = {{account, strlen(account) + 1}, {nonce, strlen(nonce)}};
    nsl_sha256_parts(parts, 2, full);
    memcpy(out, full, 16);
}

/* Rebuilds the table without expired entries (open addressing cannot just clear a slot). */
static void sweep(struct nsl_replay_cache *c, int64_t now)
{
    struct slot *old = c->slots;
    struct slot *fresh = calloc(c->capacity, sizeof *fresh);
    if (!fresh)
        return;
    c->slots = fresh;
    c->size = 0;
    for (size_t i = 0; i < c->capacity; i++) {
        if (old[i].expires_at <= now)
            continue;
        uint64_t h;
        memcpy(&h, old[i].digest, sizeof h);
        size_t j = h & (c->capacity - 1);
        while (fresh[j].expires_at)
            j = (j + 1) & (c->capacity - 1);
        fresh[j] = old[i];
        c->size++;
    }
    free(old);
}

enum nsl_replay_result nsl_replay_cache_check(struct nsl_replay_cache *c, const char *account,
                                              const char *nonce, int64_t now, int64_t expires_at)
{
    uint8_t d[16];
    digest_of(account, nonce, d);
    uint64_t h;
    memcpy(&h, d, sizeof h);
    pthread_mutex_lock(&c->lock);
    if (c->size >= c->capacity / 2)
        sweep(c, now);
    enum nsl_replay_result result = NSL_REPLAY_FULL;
    if (c->size < c->capacity / 2) {
        size_t j = h & (c->capacity - 1);
        for (;;) {
            struct slot *s = &c->slots[j];
            if (!s->expires_at) {
                memcpy(s->digest, d, sizeof d);
                s->expires_at = expires_at;
                c->size++;
                result = NSL_REPLAY_FRESH;
                break;
            }
            if (memcmp(s->digest, d, sizeof d) == 0) {
                /* An expired twin is outside the window by definition: the timestamp check has
                 * already refused it, so treat any match as seen. */
                result = NSL_REPLAY_SEEN;
                break;
            }
            j = (j + 1) & (c->capacity - 1);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return result;
}

size_t nsl_replay_cache_size(struct nsl_replay_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->size;
    pthread_mutex_unlock(&c->lock);
    return n;
}
