/* SHA-256 over EVP (see hash.h). The digest is fetched from the provider once: an implicit
 * fetch per call (EVP_sha256() in EVP_Digest) costs a provider lookup on every hash. */
#include "crypto/hash.h"

#include <pthread.h>

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md, *ripemd160_md;

static void fetch_digests(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    ripemd160_md = EVP_MD_fetch(NULL, "RIPEMD160", NULL);
}

const EVP_MD *nsl_md_sha256(void)
{
    pthread_once(&fetch_once, fetch_digests);
    return sha256_md;
}

const EVP_MD *nsl_md_ripemd160(void)
{
    pthread_once(&fetch_once, fetch_digests);
    return ripemd160_md;
}

int nsl_sha256_parts(const struct nsl_bytes *parts, size_t n, uint8_t out[32])
{
    const EVP_MD *md = nsl_md_sha256();
    EVP_MD_CTX *ctx = md ? EVP_MD_CTX_new() : NULL;
    int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

int nsl_sha256(const void *data, size_t len, uint8_t out[32])
{
    const EVP_MD *md = nsl_md_sha256();
    return md && EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? 0 : -1;
}
