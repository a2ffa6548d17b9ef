/* The neo-sig request signature's message (ARCHITECTURE §5), shared by the enclave that checks
 * it and the clients that sign it:
 *   "NSL-REQ-1\n" service "\n" operation "\n" hex(SHA-256(JCS(params))) "\n" timestamp "\n" nonce
 * JCS is RFC 8785 (common/jcs.h), so the order of the params' members does not matter; missing
 * params sign as {}. The signature itself is ECDSA-P256/SHA-256 over this string (neo/key.h). */
#ifndef NSL_CRYPTO_REQUEST_SIG_H
#define NSL_CRYPTO_REQUEST_SIG_H

#include <jansson.h>

/* The canonical string (malloc'd), or NULL when memory runs out or params cannot be
 * canonicalised. params may be NULL. */
char *nsl_request_canonical_string(const char *service, const char *operation, const json_t *params,
                                   const char *timestamp, const char *nonce);

#endif
