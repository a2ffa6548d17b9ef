/* The receipt of a function invocation (issue 8 item 5): {functionName, version, codeHash,
 * argsHash, resultHash, timestamp, signerPublicKey, signature}, signed over the RFC 8785 JCS of
 * the receipt without "signature". The receipt has a fixed shape, so its JCS text is written
 * directly instead of building a JSON object and canonicalising it; the result must be
 * byte-identical to nsl_jcs_serialize of the same object (tests/unit/test_function_receipt.c),
 * and a receipt outside that shape falls back to the general path. */
#ifndef NSL_SERVICES_FUNCTION_RECEIPT_H
#define NSL_SERVICES_FUNCTION_RECEIPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Every field but the signature. */
struct nsl_function_receipt {
    const char *function_name;
    int64_t version;
    const char *code_hash;
    char args_hash[65], result_hash[65]; /* SHA-256 hex */
    int64_t timestamp;
    char signer_public_key[67]; /* compressed secp256r1, hex */
};

/* The receipt as a JSON object, without its signature; NULL when out of memory. */
json_t *nsl_function_receipt_json(const struct nsl_function_receipt *r);
/* The JCS text of the receipt without its signature (malloc'd, NUL-terminated, *len bytes):
 * written directly when every string needs no JCS escape and every integer is exact in a double
 * (|n| < 2^53), else through nsl_jcs_serialize. NULL when out of memory. */
char *nsl_function_receipt_jcs(const struct nsl_function_receipt *r, size_t *len);

#endif
