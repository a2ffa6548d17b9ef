/* SHA-256, Hash160 and Hash256 through EVP (see hash.h). RIPEMD-160 is in OpenSSL 3's default
 * provider since 3.0.7. */
#include "neo/hash.h"

#include "crypto/hash.h"

int nsl_neo_sha256(const void *data, size_t len, uint8_t out[32])
{
    return nsl_sha256(data, len, out);
}

int nsl_neo_hash160(const void *data, size_t len, uint8_t out[20])
{
    uint8_t sha[32];
    if (nsl_neo_sha256(data, len, sha) != 0)
        return -1;
    const EVP_MD *md = nsl_md_ripemd160();
    return md && EVP_Digest(sha, sizeof sha, out, NULL, md, NULL) == 1 ? 0 : -1;
}

int nsl_neo_hash256(const void *data, size_t len, uint8_t out[32])
{
    uint8_t sha[32];
    if (nsl_neo_sha256(data, len, sha) != 0)
        return -1;
    return nsl_neo_sha256(sha, sizeof sha, out);
}
