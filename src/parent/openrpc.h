/* The OpenRPC 1.2 description of POST /v1/rpc, generated from the operations table (routes.def
 * and route_params.h) and the error table (errors.def), so it cannot drift from what the enclave
 * accepts. nsl-parent serves it at GET /v1/openrpc.json (docs/api.md). */
#ifndef NSL_PARENT_OPENRPC_H
#define NSL_PARENT_OPENRPC_H

#include <jansson.h>

#include "common/json.h"

/* The OpenRPC version the document follows. */
#define NSL_OPENRPC_VERSION "1.2.6"

/* The whole document (new reference), or NULL when out of memory. */
json_t *nsl_openrpc_document(void);

/* The JSON Schema of one parameter row (new reference): how the document describes a field. */
json_t *nsl_openrpc_field_schema(const struct nsl_field_spec *field);

#endif
