/* keys.simWrappingKey (ARCHITECTURE §7, the `sim` key provider): 32 random bytes kept in
 * <state>/sim-wrapping.key, or the file named by --sim-key-file (0600, created on first use;
 * parents sharing a database share it, docs/scale-out.md), with which the enclave wraps its master
 * key in dev. Whoever reads that file can unwrap the master key, so it is NOT SECURE and served
 * only with --key-provider sim; otherwise the operation answers PERMISSION_DENIED. */
#ifndef NSL_PARENT_HOST_KEYS_H
#define NSL_PARENT_HOST_KEYS_H

#include "parent/host_ops.h"

#define NSL_SIM_WRAPPING_KEY_FILE "sim-wrapping.key"
#define NSL_SIM_WRAPPING_KEY_LEN  32

nsl_err nsl_host_keys_sim_wrapping_key(struct nsl_host_context *ctx, const json_t *params,
                                       struct nsl_host_call *call, json_t **result,
                                       struct nsl_error *err);

#endif
