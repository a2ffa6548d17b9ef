/* Forced-included (-include, after duk_exec_timeout.h) when building Duktape (docs/sandbox.md):
 * Math.random draws from a state in the heap's udata (struct nsl_sandbox_heap) instead of one
 * inside the heap. A worker's heap is reset to the same saved image before every job (arena.h),
 * so a state inside it would repeat the same numbers in every job; this one lives in the worker's
 * C memory and is set for every job from the seed the pool sends with it (worker.c), so that no
 * job (account) can predict the numbers of the next.
 * Heaps without that udata (duk_create_heap_default: the worker's warm-up, benches) share a
 * per-thread state seeded from the clock. The generator is xoroshiro128+, Duktape's own. */
#ifndef NSL_SANDBOX_DUK_RANDOM_H
#define NSL_SANDBOX_DUK_RANDOM_H

#define DUK_COMPILING_DUKTAPE
#include "duktape.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "sandbox/heap_state.h"

static inline double nsl_sandbox_random_double(void *udata)
{
    static __thread uint64_t fallback[2];
    struct nsl_sandbox_heap *h = udata;
    uint64_t *s = h && (h->random_state[0] | h->random_state[1]) ? h->random_state : fallback;
    if ((s[0] | s[1]) == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uint64_t)(uintptr_t)s;
        s[1] = (uint64_t)ts.tv_sec ^ 0xbf58476d1ce4e5b9u;
    }
    uint64_t s0 = s[0], s1 = s[1], r = s0 + s1;
    s1 ^= s0;
    s[0] = ((s0 << 55) | (s0 >> 9)) ^ s1 ^ (s1 << 14);
    s[1] = (s1 << 36) | (s1 >> 28);
    /* 52 random bits in [1, 2), minus 1 */
    uint64_t bits = (UINT64_C(0x3ff) << 52) | (r >> 12);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d - 1.0;
}

#define DUK_USE_GET_RANDOM_DOUBLE(udata) nsl_sandbox_random_double((udata))

#endif
