/* End-to-end sealing of params and results (ARCHITECTURE §6). A sealed request carries
 * "params": {"sealed": {"enc": HEX(32), "ct": BASE64}}: HPKE base mode to the enclave's key of
 * this boot, info "nsl-request-1", associated data serviceType "." operation, so a payload cannot
 * be moved to another operation. The plaintext is the params object, optionally with
 * "replyKey": HEX(32), an X25519 key the result is then sealed to (info "nsl-result-1", same
 * associated data) as "result": {"sealed": {"enc", "ct"}}. The parent forwards ciphertext only. */
#ifndef NSL_ENCLAVE_SEALING_H
#define NSL_ENCLAVE_SEALING_H

#include <jansson.h>
#include <stdbool.h>

#include "common/errors.h"
#include "crypto/hpke.h"
#include "enclave/identity.h"

#define NSL_SEAL_REQUEST_INFO "nsl-request-1"
#define NSL_SEAL_RESULT_INFO  "nsl-result-1"

/* True when params is exactly {"sealed": {...}}. */
bool nsl_sealing_is_sealed(const json_t *params);
/* Checks the shape of a sealed params object (before any expensive work). */
nsl_err nsl_sealing_check(const json_t *params, struct nsl_error *err);

/* Opens sealed params for service.operation: *plain gets the params object without replyKey;
 * *has_reply_key tells whether reply_key was filled. */
nsl_err nsl_sealing_open(const struct nsl_identity *id, const char *service, const char *operation,
                         const json_t *sealed, json_t **plain,
                         uint8_t reply_key[NSL_HPKE_PUBLIC_KEY_LEN], bool *has_reply_key,
                         struct nsl_error *err);
/* Seals result to reply_key: a new {"sealed": {...}} object. */
nsl_err nsl_sealing_seal_result(const char *service, const char *operation, const json_t *result,
                                const uint8_t reply_key[NSL_HPKE_PUBLIC_KEY_LEN], json_t **sealed,
                                struct nsl_error *err);

#endif
