/* The host channel's storage operations kv.get, kv.put, kv.delete, kv.list, kv.batch, kv.prune
 * (time-keyed namespaces only), and for caches in the enclave kv.version and kv.info
 * (docs/storage.md, docs/scale-out.md): parameter checks, then the blob store. Reads answer at
 * once; writes defer and are answered from the store's writer thread once their group commit is
 * durable. */
#ifndef NSL_PARENT_HOST_KV_H
#define NSL_PARENT_HOST_KV_H

#include "parent/host_ops.h"

nsl_err nsl_host_kv_get(struct nsl_host_context *ctx, const json_t *params,
                        struct nsl_host_call *call, json_t **result, struct nsl_error *err);
nsl_err nsl_host_kv_put(struct nsl_host_context *ctx, const json_t *params,
                        struct nsl_host_call *call, json_t **result, struct nsl_error *err);
nsl_err nsl_host_kv_delete(struct nsl_host_context *ctx, const json_t *params,
                           struct nsl_host_call *call, json_t **result, struct nsl_error *err);
nsl_err nsl_host_kv_list(struct nsl_host_context *ctx, const json_t *params,
                         struct nsl_host_call *call, json_t **result, struct nsl_error *err);
nsl_err nsl_host_kv_batch(struct nsl_host_context *ctx, const json_t *params,
                          struct nsl_host_call *call, json_t **result, struct nsl_error *err);
/* {ns, key} -> {found, version}: kv.get without the value, for validating a cached copy. */
nsl_err nsl_host_kv_version(struct nsl_host_context *ctx, const json_t *params,
                            struct nsl_host_call *call, json_t **result, struct nsl_error *err);
/* {ns, before, limit} -> {removed, more}: drops up to limit rows of a time-keyed namespace
 * (common/time_keys.h) whose key's time is before `before` (unix seconds); INVALID_PARAMS for any
 * other namespace (docs/storage.md#time-keyed-namespaces). */
nsl_err nsl_host_kv_prune(struct nsl_host_context *ctx, const json_t *params,
                          struct nsl_host_call *call, json_t **result, struct nsl_error *err);
/* {} -> {backend, shared}: shared is true when other parents may write the same store. */
nsl_err nsl_host_kv_info(struct nsl_host_context *ctx, const json_t *params,
                         struct nsl_host_call *call, json_t **result, struct nsl_error *err);

#endif
