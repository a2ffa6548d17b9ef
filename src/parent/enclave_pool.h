/* A pool of connections to the enclave (ARCHITECTURE §2). Each connection carries many requests
 * at once: submitters write frames under the connection's lock, one reader thread per connection
 * matches responses to requests by id (in any order), and a watchdog fails requests past their
 * deadline. Completion is asynchronous: a batch's done() runs once, on whichever thread finishes
 * its last call (possibly inside nsl_pool_submit). A lost connection fails its requests with
 * UNAVAILABLE and is re-established lazily by the next submitter, with backoff. */
#ifndef NSL_PARENT_ENCLAVE_POOL_H
#define NSL_PARENT_ENCLAVE_POOL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "parent/json_scan.h"
#include "parent/metrics.h"

struct nsl_pool;
struct nsl_pool_conn;
struct nsl_pool_batch;

/* An enclave response frame (ARCHITECTURE §2) as received: checked to be one well-formed JSON
 * object whose "id" is the call's, with where its "ok", "result" and "error" members are. */
struct nsl_pool_reply {
    char *text; /* malloc'd, NUL-terminated, len bytes */
    size_t len;
    struct nsl_json_span ok, result, error;
};

struct nsl_pool_call {
    /* Set by the caller: payload is the request JSON whose "id" is "p-<seq>". */
    uint64_t seq;
    const char *payload;
    size_t len;
    /* Results: response (response.text for the caller to free) when err is NSL_OK, else err is
     * UNAVAILABLE, TIMEOUT or LIMIT_EXCEEDED. */
    struct nsl_pool_reply response;
    nsl_err err;
    int64_t finished_ns; /* CLOCK_MONOTONIC time of completion */
    /* Private to the pool. */
    struct nsl_pool_batch *batch;
    struct nsl_pool_conn *conn;
    struct nsl_pool_call *next;
    int64_t sent_ns, deadline_ns;
};

struct nsl_pool_batch {
    struct nsl_pool_call *calls;
    size_t count;
    int timeout_ms;
    void (*done)(void *ctx);
    void *ctx;
    atomic_size_t remaining; /* private */
};

struct nsl_pool_config {
    const char *url;
    size_t connections;
    size_t max_frame;
};

/* Starts the readers and the watchdog and tries each connection once (failure is not fatal).
 * Returns NULL on a bad URL or when threads cannot start. */
struct nsl_pool *nsl_pool_new(const struct nsl_pool_config *cfg, struct nsl_metrics *metrics);
/* Sends every call of batch, pipelined on one connection. */
void nsl_pool_submit(struct nsl_pool *pool, struct nsl_pool_batch *batch);
/* Fails everything in flight with UNAVAILABLE, stops the threads; later submits fail at once. */
void nsl_pool_stop(struct nsl_pool *pool);
void nsl_pool_free(struct nsl_pool *pool);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t nsl_pool_now_ns(void);

#endif
