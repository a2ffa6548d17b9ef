/* SHA-256 over OpenSSL EVP, of one buffer or of several parts in a row. */
#ifndef NSL_CRYPTO_HASH_H
#define NSL_CRYPTO_HASH_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

struct nsl_bytes {
    const void *data;
    size_t len;
};

/* SHA-256 of the concatenation of n parts. Returns 0 or -1. */
int nsl_sha256_parts(const struct nsl_bytes *parts, size_t n, uint8_t out[32]);
int nsl_sha256(const void *data, size_t len, uint8_t out[32]);
/* The digests, fetched from the default provider once per process (NULL if unavailable). */
const EVP_MD *nsl_md_sha256(void);
const EVP_MD *nsl_md_ripemd160(void);

#endif
