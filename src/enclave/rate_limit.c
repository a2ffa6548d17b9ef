/* Token buckets in a chained hash table (see rate_limit.h). */
#include "enclave/rate_limit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SIZE 1024

struct bucket {
    struct bucket *next;
    double tokens;
    uint64_t updated_ms;
    char account[];
};

struct nsl_rate_limit {
    double rate, burst;
    pthread_mutex_t lock;
    struct bucket *table[TABLE_SIZE];
    size_t count;
    uint64_t last_sweep_ms;
};

struct nsl_rate_limit *nsl_rate_limit_new(double rate, double burst)
{
    struct nsl_rate_limit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    pthread_mutex_init(&rl->lock, NULL);
    return rl;
}

void nsl_rate_limit_free(struct nsl_rate_limit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        for (struct bucket *b = rl->table[i], *next; b; b = next) {
            next = b->next;
            free(b);
        }
    }
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static size_t slot_of(const char *account)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)account; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h % TABLE_SIZE;
}

static void refill(const struct nsl_rate_limit *rl, struct bucket *b, uint64_t now_ms)
{
    if (now_ms > b->updated_ms) {
        b->tokens += (double)(now_ms - b->updated_ms) / 1000.0 * rl->rate;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->updated_ms = now_ms;
    }
}

/* Drops buckets that have refilled completely: they carry no information. */
static void sweep(struct nsl_rate_limit *rl, uint64_t now_ms)
{
    for (size_t i = 0; i < TABLE_SIZE; i++) {
        struct bucket **pp = &rl->table[i];
        while (*pp) {
            struct bucket *b = *pp;
            refill(rl, b, now_ms);
            if (b->tokens >= rl->burst) {
                *pp = b->next;
                free(b);
                rl->count--;
            } else {
                pp = &b->next;
            }
        }
    }
    rl->last_sweep_ms = now_ms;
}

bool nsl_rate_limit_take(struct nsl_rate_limit *rl, const char *account, uint64_t now_ms)
{
    if (rl->rate <= 0)
        return true;
    pthread_mutex_lock(&rl->lock);
    if (now_ms - rl->last_sweep_ms > 10000 && rl->count > TABLE_SIZE)
        sweep(rl, now_ms);
    size_t slot = slot_of(account);
    struct bucket *b = rl->table[slot];
    while (b && strcmp(b->account, account) != 0)
        b = b->next;
    if (!b) {
        size_t n = strlen(account) + 1;
        b = malloc(sizeof *b + n);
        if (!b) {
            pthread_mutex_unlock(&rl->lock);
            return false;
        }
        memcpy(b->account, account, n);
        b->tokens = rl->burst;
        b->updated_ms = now_ms;
        b->next = rl->table[slot];
        rl->table[slot] = b;
        rl->count++;
    }
    refill(rl, b, now_ms);
    bool allowed = b->tokens >= 1;
    if (allowed)
        b->tokens -= 1;
    pthread_mutex_unlock(&rl->lock);
    return allowed;
}
