/* What a running function may reach (issue 8): its granted secrets, prices, outbound HTTP.
 * The sandbox calls these on the invoking thread. */
#ifndef NSL_SERVICES_FUNCTION_HOST_H
#define NSL_SERVICES_FUNCTION_HOST_H

#include <jansson.h>

#include "sandbox/sandbox.h"
#include "services/service.h"
#include "store/store.h"

struct nsl_function_host {
    struct nsl_enclave_ctx *ctx;
    struct nsl_store *store;
    const char *account;
    const char *function;
    const json_t *declared; /* secret names the deployment declared */
};

struct nsl_sandbox_host nsl_function_host_callbacks(struct nsl_function_host *host);

#endif
