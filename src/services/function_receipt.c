/* Function receipts (function_receipt.h). */
#include "services/function_receipt.h"

json_t *nsl_function_receipt_json(const struct nsl_function_receipt *r)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "functionName", r->function_name,
                     "version", (json_int_t)r->version, "codeHash", r->code_hash, "argsHash",
                     r->args_hash, "resultHash", r->result_hash, "timestamp",
                     (json_int_t)r->timestamp, "signerPublicKey", r->signer_public_key);
}
