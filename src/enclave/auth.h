/* Request-level security (ARCHITECTURE §5): who is calling (authentication from the envelope's
 * "auth"), may they (authorization from the route's permission), and not too often (rate limit).
 *
 * apikey: {"scheme":"apikey","apiKey":"nsl_<keyId>_<secret>"}; the key record holds
 *   SHA-256(apiKey), compared in constant time.
 * neo-sig: {"scheme":"neo-sig","account":ID,"timestamp":"<unix s>","nonce":N,"signature":HEX64}
 *   where signature is ECDSA-P256/SHA-256 (a Neo wallet key) over the canonical string
 *   "NSL-REQ-1\n" service "\n" operation "\n" hex(SHA-256(JCS(params))) "\n" timestamp "\n" nonce,
 *   timestamp within ±window of the enclave's clock, nonce unseen in the window. */
#ifndef NSL_ENCLAVE_AUTH_H
#define NSL_ENCLAVE_AUTH_H

#include <jansson.h>

#include "common/routes.h"
#include "services/service.h"

#define NSL_NONCE_MIN_LEN 8
#define NSL_NONCE_MAX_LEN 64

/* Fills call->caller from auth (may be NULL). UNAUTHENTICATED for missing or bad credentials,
 * a disabled account or a revoked key; UNAVAILABLE while storage is not ready. */
nsl_err nsl_auth_authenticate(struct nsl_call *call, const json_t *auth);
/* PERMISSION_DENIED naming the missing permission, or naming neo-sig for admin operations;
 * RATE_LIMITED when the account is over its rate. */
nsl_err nsl_auth_authorize(struct nsl_call *call);
void nsl_caller_clear(struct nsl_caller *caller);

/* The string a neo-sig request signs (malloc'd); NULL on failure. */
char *nsl_auth_canonical_string(const char *service, const char *operation, const json_t *params,
                                const char *timestamp, const char *nonce);

#endif
