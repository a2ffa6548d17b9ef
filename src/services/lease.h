/* A lease in the sealed store (docs/scale-out.md): one record leases/<name> holding
 * {holder, expiresAt} that enclaves sharing a store take, renew and take over by compare-and-swap,
 * so that a job meant to run once (the price feed's scheduler) runs in one enclave at a time.
 * The holder renews well before expiry; when it dies, another takes over once expiresAt (unix
 * milliseconds, by each enclave's clock: keep the TTL well above their skew) has passed. */
#ifndef NSL_SERVICES_LEASE_H
#define NSL_SERVICES_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/errors.h"
#include "store/store.h"

#define NSL_LEASE_NS         "leases"
#define NSL_LEASE_HOLDER_LEN 32 /* hex of 16 random bytes */

/* A fresh random holder id (NUL-terminated) for this process. Returns 0 or -1. */
int nsl_lease_holder_new(char holder[NSL_LEASE_HOLDER_LEN + 1]);

/* Takes or renews the lease name for holder until now + ttl_ms when it is free, expired, or
 * already holder's and past a third of its term; *held says whether holder has it afterwards.
 * Losing a race is *held = false, not an error; errors are the store's (UNAVAILABLE, ...). */
nsl_err nsl_lease_hold(struct nsl_store *st, const char *name, const char *holder, int64_t ttl_ms,
                       bool *held, struct nsl_error *err);

/* A scheduler's view of its lease: call nsl_lease_turn on every tick. */
struct nsl_lease_turn {
    const char *name;
    int64_t ttl_ms, reload_ms;
    char holder[NSL_LEASE_HOLDER_LEN + 1];
    bool leader;
    int64_t reload_at_ms; /* CLOCK_MONOTONIC */
};

/* Sets up turn (a fresh holder id). Returns 0 or -1. */
int nsl_lease_turn_init(struct nsl_lease_turn *turn, const char *name, int64_t ttl_ms,
                        int64_t reload_ms);
/* Whether this enclave runs its schedule now: always on a store of its own; on a shared store
 * only while it holds the lease (not when the store cannot be reached: nobody can be sure).
 * *reload is set when the schedule should be read again from the store: on taking the lease
 * and every reload_ms while holding it, so that schedules written through other enclaves are
 * picked up. Logs taking and losing the lease (event <name>_lease_taken / _lost). */
bool nsl_lease_turn(struct nsl_lease_turn *turn, struct nsl_store *st, bool *reload);

#endif
