/* The router (ARCHITECTURE §3): validates a request payload against the envelope schema and the
 * operations table, checks the caller, runs the route's handler and renders the response.
 * Preparation is cheap and runs on the I/O thread; running may block (handlers that use the host
 * channel) unless the route is flagged NSL_ROUTE_INLINE, and is tried there first for routes
 * flagged NSL_ROUTE_CACHED. */
#ifndef NSL_ENCLAVE_ROUTER_H
#define NSL_ENCLAVE_ROUTER_H

#include <jansson.h>

#include "common/buf.h"
#include "services/service.h"

struct nsl_request {
    json_t *root;         /* the parsed request; owns id and params */
    const char *id;       /* NULL until the envelope passed validation */
    const char *trace_id; /* the optional traceId, validated */
    size_t route_index;
    const json_t *params; /* as sent; when sealed, opened by nsl_router_run */
    bool sealed;
    bool rate_charged; /* a probe already took this request's rate-limit token */
};

/* Parses and validates payload. On failure returns the error, fills err, and leaves req->id set
 * when the id could be read (so the error response can carry it). */
nsl_err nsl_router_prepare(const char *payload, size_t len, struct nsl_request *req,
                           struct nsl_error *err);
bool nsl_router_is_inline(const struct nsl_request *req);
/* Authenticates, authorizes and runs the handler; appends the framed response to out. */
void nsl_router_run(struct nsl_enclave_ctx *ctx, struct nsl_request *req, struct nsl_buf *out);
/* For routes flagged NSL_ROUTE_CACHED: runs req on the calling (I/O) thread under a probe
 * (probe.h). True when answered; false when it would have to wait, and then nothing was
 * appended and req is to be run again with nsl_router_run. */
bool nsl_router_try_inline(struct nsl_enclave_ctx *ctx, struct nsl_request *req,
                           struct nsl_buf *out);
void nsl_request_free(struct nsl_request *req);

/* Appends a framed error response; id may be NULL (rendered as null). */
void nsl_router_append_error(struct nsl_enclave_ctx *ctx, const char *id,
                             const struct nsl_error *err, struct nsl_buf *out);

#endif
