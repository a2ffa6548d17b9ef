/* The nonce sweeper (see nonce_sweep.h): a periodic thread that prunes every interval. */
#define NSL_LOG_COMPONENT NSL_LOGC_AUTH
#include "enclave/nonce_sweep.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/periodic.h"
#include "common/time_keys.h"

/* Rows per kv.prune, and calls per sweep: a sweep ends even if the parent always says "more";
 * what is left waits for the next one. */
#define PRUNE_LIMIT     10000
#define CALLS_PER_SWEEP 100

struct nsl_nonce_sweep {
    struct nsl_storage *storage;
    int64_t window_sec, interval_sec;
    bool started; /* the first turn only waits: storage is not open yet */
    struct nsl_periodic *ticker;
};

int64_t nsl_nonce_sweep_bound(int64_t now, int64_t window_sec)
{
    return now - 2 * window_sec;
}

/* One sweep: prune until nothing before the bound is left (or the calls run out). */
static void sweep(struct nsl_nonce_sweep *sw, struct nsl_store *st)
{
    int64_t bound = nsl_nonce_sweep_bound((int64_t)time(NULL), sw->window_sec);
    size_t total = 0, removed = 0;
    bool more = true;
    struct nsl_error err = {0};
    nsl_err rc = NSL_OK;
    for (int i = 0; i < CALLS_PER_SWEEP && more && rc == NSL_OK; i++) {
        rc = nsl_store_prune(st, NSL_NONCES_NS, bound, PRUNE_LIMIT, &removed, &more, &err);
        total += rc == NSL_OK ? removed : 0;
    }
    char count[32], before[32];
    snprintf(count, sizeof count, "%zu", total);
    snprintf(before, sizeof before, "%" PRId64, bound);
    if (rc != NSL_OK)
        nsl_log(NSL_LOG_WARN, "nonce_sweep_failed", "code", nsl_err_name(rc), "reason", err.message,
                "removed", count, NULL);
    else if (total > 0)
        nsl_log(NSL_LOG_INFO, "nonces_pruned", "removed", count, "before", before, NULL);
}

/* One turn every interval; the first one only waits, as storage opens at start. */
static long sweep_turn(struct nsl_periodic *self, void *arg)
{
    (void)self;
    struct nsl_nonce_sweep *sw = arg;
    struct nsl_store *st = sw->started ? nsl_storage_get(sw->storage, NULL) : NULL;
    sw->started = true;
    if (st && nsl_store_shared(st))
        sweep(sw, st);
    return (long)sw->interval_sec * 1000;
}

struct nsl_nonce_sweep *nsl_nonce_sweep_start(struct nsl_storage *storage, int64_t window_sec,
                                              int64_t interval_sec)
{
    struct nsl_nonce_sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->storage = storage;
    sw->window_sec = window_sec;
    sw->interval_sec = interval_sec;
    sw->ticker = nsl_periodic_start(sweep_turn, sw);
    if (!sw->ticker) {
        free(sw);
        return NULL;
    }
    return sw;
}

void nsl_nonce_sweep_stop(struct nsl_nonce_sweep *sw)
{
    if (!sw)
        return;
    nsl_periodic_stop(sw->ticker);
    free(sw);
}
