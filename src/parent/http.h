/* nsl-parent's HTTP API on libmicrohttpd (ARCHITECTURE §9): POST /v1/rpc (JSON-RPC 2.0, batches),
 * GET /healthz, GET /metrics, the dashboard and /v1/openrpc.json (web.h); 404 elsewhere. MHD runs a
 * pool of epoll threads; an RPC request is suspended while the enclave works on it and resumed by
 * the pool's completion, so a thread never blocks on the enclave. */
#ifndef NSL_PARENT_HTTP_H
#define NSL_PARENT_HTTP_H

#include <stddef.h>

#include "parent/enclave_pool.h"
#include "parent/metrics.h"

struct nsl_http_config {
    const char *listen; /* HOST:PORT */
    unsigned threads;
    size_t max_body;
    size_t max_batch;
    int request_timeout_ms;
};

struct nsl_http;

/* Binds and starts serving. Returns NULL (with a log line) on failure. */
struct nsl_http *nsl_http_start(const struct nsl_http_config *cfg, struct nsl_pool *pool,
                                struct nsl_metrics *metrics);
/* The bound port (useful with port 0). */
unsigned nsl_http_port(const struct nsl_http *http);
/* Stops MHD and frees. Call after nsl_pool_stop, which completes every suspended request: this
 * waits (bounded) for them to be resumed, as MHD requires. */
void nsl_http_stop(struct nsl_http *http);

#endif
