/* Per-invocation state a worker's Duktape heap carries as its udata: the byte budget the custom
 * allocator enforces and the deadline the execution-timeout check reads. Shared between the worker
 * and the Duktape build (duk_exec_timeout.h, duk_random.h), so it holds plain C types only. */
#ifndef NSL_SANDBOX_HEAP_STATE_H
#define NSL_SANDBOX_HEAP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nsl_sandbox_heap {
    size_t used;          /* bytes handed out by the allocator (payload only) */
    size_t peak;          /* high-water mark of used */
    size_t cap;           /* memory_bytes of the job */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none */
    bool memory_refused;  /* an allocation was refused for the cap */
    bool timed_out;       /* the timeout check fired */
    void *worker;         /* the worker's per-job context (runtime_api.c) */
    /* Math.random's xoroshiro128+ state (duk_random.h): kept outside the heap, set for every job
     * from the pool's seed (first from the kernel, until a job brings one). */
    uint64_t random_state[2];
};

#endif
