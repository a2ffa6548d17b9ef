/* The host operations the enclave may call over its host channel (ARCHITECTURE §1, §7): one row
 * per operation (host.ping, kv.*, keys.simWrappingKey; egress later). A handler gets the
 * request's params object and either answers at once (returns a result object, new reference,
 * or an error) or defers: it calls nsl_host_call_defer and later, from any thread,
 * nsl_host_call_finish. Answers go to a sink (the connection that carried the request); a
 * deferred call holds the sink until it finishes, so the connection outlives it. */
#ifndef NSL_PARENT_HOST_OPS_H
#define NSL_PARENT_HOST_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/errors.h"

struct nsl_blobstore;
struct nsl_metrics;

/* What handlers may use; grows with the operations (egress settings next). */
struct nsl_host_context {
    const char *state_dir;
    struct nsl_blobstore *store; /* kv.*: NULL answers UNAVAILABLE */
    struct nsl_metrics *metrics; /* may be NULL */
    size_t max_frame;            /* largest answer frame: kv.list pages stay below it */
    bool sim_keys;               /* --key-provider sim: keys.simWrappingKey is served */
    const char *sim_key_file;    /* its file; NULL: <state_dir>/sim-wrapping.key */
};

/* Where a connection's answers go. send takes the malloc'd text (NULL: out of memory, the
 * connection is dropped); hold / release count the deferred calls still to answer. */
struct nsl_host_sink {
    void (*send)(struct nsl_host_sink *sink, char *text, size_t len);
    void (*hold)(struct nsl_host_sink *sink);
    void (*release)(struct nsl_host_sink *sink);
};

/* One request being answered. */
struct nsl_host_call;

typedef nsl_err (*nsl_host_handler)(struct nsl_host_context *ctx, const json_t *params,
                                    struct nsl_host_call *call, json_t **result,
                                    struct nsl_error *err);

struct nsl_host_op {
    const char *service;
    const char *operation;
    nsl_host_handler handler;
};

/* Finds service.operation; NSL_OK with *op set, else UNKNOWN_SERVICE / UNKNOWN_OPERATION. */
nsl_err nsl_host_op_find(const char *service, const char *operation, const struct nsl_host_op **op);

/* Answers one request frame payload through sink, now or (deferred handlers) later. Returns
 * true when the frame was not a JSON object (BAD_FRAME, answered with id null): the caller
 * closes the connection once that answer is sent. */
bool nsl_host_handle(struct nsl_host_context *ctx, const char *payload, size_t len,
                     struct nsl_host_sink *sink);

/* Called by a handler that will answer later; its return value is then ignored. */
void nsl_host_call_defer(struct nsl_host_call *call);
/* Sends the answer of a deferred call: result (reference stolen) or, when NULL, err. Frees the
 * call; any thread. */
void nsl_host_call_finish(struct nsl_host_call *call, json_t *result, const struct nsl_error *err);

#endif
