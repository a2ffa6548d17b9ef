/* SHA-256, Hash160 and Hash256 through EVP (see hash.h). RIPEMD-160 is in OpenSSL 3's default
 * provider since 3.0.7. */
#include "neo/hash.h"

#include <openssl/evp.h>

static int digest(const char *name, const void *data, size_t len, uint8_t *out)
{
    EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
    unsigned int n = 0;
    int ok = md && EVP_Digest(data, len, out, &n, md, NULL) == 1;
    EVP_MD_free(md);
    return ok ? 0 : -1;
}

int nsl_neo_sha256(const void *data, size_t len, uint8_t out[32])
{
    return digest("SHA256", data, len, out);
}

int nsl_neo_hash160(const void *data, size_t len, uint8_t out[20])
{
    uint8_t sha[32];
    if (nsl_neo_sha256(data, len, sha) != 0)
        return -1;
    return digest("RIPEMD160", sha, sizeof sha, out);
}

int nsl_neo_hash256(const void *data, size_t len, uint8_t out[32])
{
    uint8_t sha[32];
    if (nsl_neo_sha256(data, len, sha) != 0)
        return -1;
    return nsl_neo_sha256(sha, sizeof sha, out);
}
