/* Function receipts (function_receipt.h): the direct JCS text and its general fallback. */
#include "services/function_receipt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jcs.h"

json_t *nsl_function_receipt_json(const struct nsl_function_receipt *r)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:s}", "functionName", r->function_name,
                     "version", (json_int_t)r->version, "codeHash", r->code_hash, "argsHash",
                     r->args_hash, "resultHash", r->result_hash, "timestamp",
                     (json_int_t)r->timestamp, "signerPublicKey", r->signer_public_key);
}

/* Printable ASCII but '"' and '\\': JCS writes such a string as it is, between quotes. */
static bool plain(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* JCS prints a number as ECMAScript does; for an integer a double holds exactly, that is its
 * decimal digits. */
static bool exact(int64_t n)
{
    return n > -(INT64_C(1) << 53) && n < (INT64_C(1) << 53);
}

static char *general(const struct nsl_function_receipt *r, size_t *len)
{
    json_t *o = nsl_function_receipt_json(r);
    char *text = o ? nsl_jcs_serialize(o, len) : NULL;
    json_decref(o);
    return text;
}

char *nsl_function_receipt_jcs(const struct nsl_function_receipt *r, size_t *len)
{
    if (!plain(r->function_name) || !plain(r->code_hash) || !plain(r->args_hash) ||
        !plain(r->result_hash) || !plain(r->signer_public_key) || !exact(r->version) ||
        !exact(r->timestamp))
        return general(r, len);
    /* Members in JCS order: names sorted by UTF-16 code units (here plain ASCII). */
    static const char format[] = "{\"argsHash\":\"%s\",\"codeHash\":\"%s\",\"functionName\":\"%s\","
                                 "\"resultHash\":\"%s\",\"signerPublicKey\":\"%s\","
                                 "\"timestamp\":%lld,\"version\":%lld}";
    int n = snprintf(NULL, 0, format, r->args_hash, r->code_hash, r->function_name, r->result_hash,
                     r->signer_public_key, (long long)r->timestamp, (long long)r->version);
    char *text = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!text)
        return NULL;
    snprintf(text, (size_t)n + 1, format, r->args_hash, r->code_hash, r->function_name,
             r->result_hash, r->signer_public_key, (long long)r->timestamp, (long long)r->version);
    *len = (size_t)n;
    return text;
}
