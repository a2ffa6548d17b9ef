/* JSON-RPC 2.0 over the enclave protocol, without I/O: parses an HTTP body into calls (or one
 * body-level error), parses the Authorization header into the enclave's "auth" object, builds
 * enclave request frames and turns enclave responses or local failures into JSON-RPC responses.
 * Pure functions, unit-tested in tests/unit/test_parent_jsonrpc.c. */
#ifndef NSL_PARENT_JSONRPC_H
#define NSL_PARENT_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/errors.h"
#include "parent/enclave_pool.h"

#define NSL_RPC_PARSE_ERROR     -32700
#define NSL_RPC_INVALID_REQUEST -32600
#define NSL_RPC_INVALID_PARAMS  -32602

/* A failure decided by the parent: JSON-RPC code plus data.code and message. */
struct nsl_rpc_error {
    int rpc_code;
    struct nsl_error error;
};

/* One call of a body. Pointers borrow from the batch's parsed root. */
struct nsl_rpc_call {
    json_t *id; /* id member, or NULL for a notification */
    const char *method;
    size_t service_len; /* method[0, service_len) is the serviceType, the rest after '.' */
    json_t *params;     /* NULL when absent (forwarded as {}) */
    long route;         /* index in nsl_routes, or -1: the metrics label */
    bool failed;        /* error holds why; the call is not forwarded */
    struct nsl_rpc_error error;
};

struct nsl_rpc_batch {
    json_t *root;
    bool is_batch;
    size_t count;
    struct nsl_rpc_call *calls;
    bool failed; /* the whole body failed: error is the single response (id null) */
    struct nsl_rpc_error error;
};

/* Parses body. Returns 0 (check out->failed and each call's failed) or -1 on allocation failure.
 * Always release out with nsl_jsonrpc_batch_free. */
int nsl_jsonrpc_parse(const char *body, size_t len, size_t max_batch, struct nsl_rpc_batch *out);
void nsl_jsonrpc_batch_free(struct nsl_rpc_batch *b);

/* True when call needs an entry in the response (everything but notifications, except that
 * invalid requests are always answered, per JSON-RPC 2.0 §5). */
bool nsl_jsonrpc_call_answered(const struct nsl_rpc_call *call);

/* Parses an Authorization header value into the text of the enclave's "auth" object, appended
 * to auth (an empty buffer; nothing is appended when header is NULL). Built as text once per
 * request, not as an object: every call of a batch copies it. It holds a credential: release it
 * with nsl_buf_free_wipe. Returns NSL_OK or NSL_ERR_UNAUTHENTICATED with a message in err (the
 * value is never quoted; auth is then empty). */
nsl_err nsl_jsonrpc_parse_auth(const char *header, struct nsl_buf *auth, struct nsl_error *err);

/* The enclave request frame payload for call (malloc'd JSON text, *len bytes), or NULL.
 * trace_id, when not NULL, becomes the request's "traceId" (a valid common/request_id.h id);
 * auth, when not NULL nor empty, its "auth" (nsl_jsonrpc_parse_auth's text). */
char *nsl_jsonrpc_enclave_request(const struct nsl_rpc_call *call, const char *id,
                                  const char *trace_id, const struct nsl_buf *auth, size_t *len);

/* Response objects (new references, NULL on allocation failure). id may be NULL (-> null). */
json_t *nsl_jsonrpc_error_response(const json_t *id, int rpc_code, nsl_err code,
                                   const char *message);
/* Appends to out the JSON-RPC response text for id made from an enclave reply
 * ({"ok":true,"result":...} or {"ok":false,"error":{...}}); *code gets the error code (NSL_OK on
 * success). A result's text is copied as the enclave wrote it (the pool checked it is well-formed
 * JSON). A malformed reply becomes INTERNAL. Returns 0, or -1 on allocation failure. */
int nsl_jsonrpc_render_enclave(struct nsl_buf *out, const json_t *id,
                               const struct nsl_pool_reply *reply, nsl_err *code);
/* Appends the text of nsl_jsonrpc_error_response(id, ...). Returns 0 or -1. */
int nsl_jsonrpc_render_error(struct nsl_buf *out, const json_t *id, int rpc_code, nsl_err code,
                             const char *message);

#endif
