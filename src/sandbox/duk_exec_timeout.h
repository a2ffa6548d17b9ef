/* Forced-included (-include) when building Debian's /usr/share/duktape/duktape.c in place: turns
 * on Duktape's interrupt counter and points DUK_USE_EXEC_TIMEOUT_CHECK at a deadline check over
 * the heap udata (struct nsl_sandbox_heap). duk_config.h #undefs both options, so they are set
 * here, after it has been read (its include guard keeps duktape.c from reading it again). */
#ifndef NSL_SANDBOX_DUK_EXEC_TIMEOUT_H
#define NSL_SANDBOX_DUK_EXEC_TIMEOUT_H

#define DUK_COMPILING_DUKTAPE
#include "duktape.h"

#include <time.h>

#include "sandbox/heap_state.h"

static inline int nsl_sandbox_exec_timeout_check(void *udata)
{
    struct nsl_sandbox_heap *h = udata;
    if (!h || h->deadline_ns == 0)
        return 0;
    /* A refused allocation ends the run too: near the cap Duktape would otherwise retry with a
     * full collection on every allocation until the deadline. */
    if (h->timed_out || h->memory_refused)
        return 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec >= h->deadline_ns) {
        h->timed_out = 1;
        return 1;
    }
    return 0;
}

#define DUK_USE_INTERRUPT_COUNTER
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) nsl_sandbox_exec_timeout_check((udata))

#endif
