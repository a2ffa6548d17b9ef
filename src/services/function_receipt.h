/* The receipt of a function invocation (issue 8 item 5): {functionName, version, codeHash,
 * argsHash, resultHash, timestamp, signerPublicKey, signature}, signed over the RFC 8785 JCS
 * (common/jcs.h) of the receipt without "signature". */
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

#endif
