/* JSON-RPC 2.0 over HTTP to the parent's public API (ARCHITECTURE §9): the endpoint from a base
 * URL, the request body and headers, printing the request instead of sending it, and turning
 * any answer (or transport failure) into either a result or a JSON-RPC error object whose
 * data.code is one of the codes of ARCHITECTURE §2. */
#ifndef NSL_CLI_RPC_H
#define NSL_CLI_RPC_H

#include <jansson.h>
#include <stdio.h>

#include "common/errors.h"

#define NSL_CLI_RPC_PATH "/v1/rpc"

struct nsl_cli_endpoint {
    char *url;  /* base URL + /v1/rpc */
    char *host; /* Host header value: host[:port] */
    char *path; /* request target: /prefix/v1/rpc */
};

/* Checks that base is an http(s) URL without query or fragment and appends /v1/rpc to its
 * path. Refusals are INVALID_REQUEST. */
nsl_err nsl_cli_endpoint_init(const char *base, struct nsl_cli_endpoint *ep, struct nsl_error *err);
void nsl_cli_endpoint_free(struct nsl_cli_endpoint *ep);

/* The request body, compact: {"jsonrpc":"2.0","id":1,"method":M,"params":P}. malloc'd. */
char *nsl_cli_rpc_body(const char *service, const char *operation, const json_t *params);

/* Writes the HTTP request exactly as nsl_cli_rpc_call would send it. authorization is the
 * Authorization header's value (cli/auth.h), or NULL for none. */
void nsl_cli_rpc_print_request(FILE *out, const struct nsl_cli_endpoint *ep,
                               const char *authorization, const char *body);

/* Exactly one of result / error is set after a call; both owned. */
struct nsl_cli_reply {
    json_t *result;
    json_t *error;
};

/* Sends body. A transport failure becomes an error object too, so that every failure is
 * reported the same way. Returns NSL_OK unless memory ran out. */
nsl_err nsl_cli_rpc_call(const struct nsl_cli_endpoint *ep, const char *authorization,
                         const char *body, struct nsl_cli_reply *reply);
/* Interprets an HTTP answer (status and body). Returns NSL_OK unless memory ran out. */
nsl_err nsl_cli_rpc_parse_reply(long status, const char *body, size_t len,
                                struct nsl_cli_reply *reply);
void nsl_cli_reply_free(struct nsl_cli_reply *reply);

/* {"code": <JSON-RPC code>, "message": message, "data": {"code": "<NAME>"}} */
json_t *nsl_cli_rpc_error_object(nsl_err code, const char *message);
/* The error's data.code, or the name matching its numeric code, or "INTERNAL". */
const char *nsl_cli_rpc_error_name(const json_t *error);

#endif
