/* neo-sig canonical request string (see request_sig.h). */
#include "crypto/request_sig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/encoding.h"
#include "common/jcs.h"
#include "crypto/hash.h"

char *nsl_request_canonical_string(const char *service, const char *operation, const json_t *params,
                                   const char *timestamp, const char *nonce)
{
    size_t len;
    json_t *empty = params ? NULL : json_object();
    char *jcs = nsl_jcs_serialize(params ? params : empty, &len);
    json_decref(empty);
    uint8_t digest[32];
    char hex[65];
    if (!jcs || nsl_sha256(jcs, len, digest) != 0) {
        free(jcs);
        return NULL;
    }
    free(jcs);
    nsl_hex_encode(digest, sizeof digest, hex);
    char *out = NULL;
    if (asprintf(&out, "NSL-REQ-1\n%s\n%s\n%s\n%s\n%s", service, operation, hex, timestamp, nonce) <
        0)
        return NULL;
    return out;
}
