/* The host operations the enclave may call over its host channel (ARCHITECTURE §1, §7): one row
 * per operation, so kv.get, kv.put, egress and the like are added as rows. A handler gets the
 * request's params object and returns a result object (new reference) or an error. */
#ifndef NSL_PARENT_HOST_OPS_H
#define NSL_PARENT_HOST_OPS_H

#include <jansson.h>

#include "common/errors.h"

/* What handlers may use; grows with the operations (stores, egress settings). */
struct nsl_host_context {
    const char *state_dir;
};

typedef nsl_err (*nsl_host_handler)(struct nsl_host_context *ctx, const json_t *params,
                                    json_t **result, struct nsl_error *err);

struct nsl_host_op {
    const char *service;
    const char *operation;
    nsl_host_handler handler;
};

/* Finds service.operation; NSL_OK with *op set, else UNKNOWN_SERVICE / UNKNOWN_OPERATION. */
nsl_err nsl_host_op_find(const char *service, const char *operation, const struct nsl_host_op **op);

/* Answers one request frame payload: returns the response JSON (malloc'd, *len bytes), or NULL
 * on allocation failure. *fatal is set when the frame was not a JSON object (BAD_FRAME): the
 * caller closes the connection after sending the answer. */
char *nsl_host_handle(struct nsl_host_context *ctx, const char *payload, size_t len,
                      size_t *out_len, int *fatal);

#endif
