/* NEP-2 (see nep2.h): scrypt through EVP_KDF "SCRYPT", AES-256-ECB through EVP_CIPHER. The
 * derived key and every intermediate that held key bytes live on the secure heap or are wiped. */
#include "neo/nep2.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

#include "neo/account.h"
#include "neo/base58.h"
#include "neo/hash.h"

static const uint8_t prefix[3] = {0x01, 0x42, 0xe0};
static const struct nsl_neo_scrypt nep2_cost = {16384, 8, 8};

/* 64 bytes of scrypt output into dk (a 64-byte secret). */
static int scrypt(const void *pass, size_t len, const uint8_t salt[4],
                  const struct nsl_neo_scrypt *cost, struct nsl_secret *dk)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    uint64_t n = cost->n, maxmem = 1ull << 30;
    uint32_t r = cost->r, p = cost->p;
    static const char empty[1] = {0};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(len ? pass : empty),
                                          len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, 4),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    int rc = EVP_KDF_derive(ctx, nsl_secret_bytes(dk), 64, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(ctx);
    return rc;
}

/* One AES-256-ECB pass over 32 bytes without padding. */
static int aes_ecb(int encrypt, const uint8_t key[32], const uint8_t in[32], uint8_t out[32])
{
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    int ok = cipher && ctx && EVP_CipherInit_ex2(ctx, cipher, key, NULL, encrypt, NULL) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_CipherUpdate(ctx, out, &n, in, 32) == 1 &&
             EVP_CipherFinal_ex(ctx, out + n, &m) == 1 && n + m == 32;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return ok ? 0 : -1;
}

static int address_hash(const char *address, uint8_t out[4])
{
    uint8_t h[32];
    if (nsl_neo_hash256(address, strlen(address), h) != 0)
        return -1;
    memcpy(out, h, 4);
    return 0;
}

static nsl_err check_cost(const struct nsl_neo_scrypt *cost, struct nsl_error *err)
{
    if (cost->n < 2 || (cost->n & (cost->n - 1)) != 0 || cost->r == 0 || cost->p == 0 ||
        cost->n > (1u << 20) || cost->r > 64 || cost->p > 64)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "scrypt parameters out of range (N a power of two up to 2^20, r and p "
                        "1..64)");
    return NSL_OK;
}

nsl_err nsl_neo_nep2_encrypt(const struct nsl_secret *key, const void *passphrase, size_t len,
                             const struct nsl_neo_scrypt *cost, char out[NSL_NEO_NEP2_SIZE],
                             struct nsl_error *err)
{
    cost = cost ? cost : &nep2_cost;
    NSL_TRY(check_cost(cost, err));
    struct nsl_neo_account account;
    NSL_TRY(nsl_neo_account_from_key(key, &account, err));
    uint8_t payload[39];
    memcpy(payload, prefix, 3);
    if (address_hash(account.address, payload + 3) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "hashing failed");
    NSL_AUTO_SECRET struct nsl_secret *dk = nsl_secret_new(64);
    NSL_AUTO_SECRET struct nsl_secret *block = nsl_secret_new(32);
    if (!dk || !block)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (scrypt(passphrase, len, payload + 3, cost, dk) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "scrypt failed");
    for (size_t i = 0; i < 32; i++)
        nsl_secret_bytes(block)[i] = nsl_secret_bytes(key)[i] ^ nsl_secret_bytes(dk)[i];
    if (aes_ecb(1, nsl_secret_bytes(dk) + 32, nsl_secret_bytes(block), payload + 7) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "AES failed");
    if (nsl_neo_base58check_encode(payload, sizeof payload, out, NSL_NEO_NEP2_SIZE) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "NEP-2 encoding failed");
    return NSL_OK;
}

nsl_err nsl_neo_nep2_decrypt(const char *nep2, const void *passphrase, size_t len,
                             const struct nsl_neo_scrypt *cost, struct nsl_secret **key,
                             struct nsl_error *err)
{
    cost = cost ? cost : &nep2_cost;
    NSL_TRY(check_cost(cost, err));
    uint8_t payload[NSL_NEO_BASE58_MAX_PAYLOAD];
    size_t n = 0;
    if (strlen(nep2) != NSL_NEO_NEP2_LEN ||
        nsl_neo_base58check_decode(nep2, payload, sizeof payload, &n) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "NEP-2 key is not 58 characters of valid Base58Check");
    if (n != 39 || memcmp(payload, prefix, 3) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "NEP-2 key lacks the 0x0142e0 prefix");
    NSL_AUTO_SECRET struct nsl_secret *dk = nsl_secret_new(64);
    NSL_AUTO_SECRET struct nsl_secret *k = nsl_secret_new(32);
    if (!dk || !k)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (scrypt(passphrase, len, payload + 3, cost, dk) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "scrypt failed");
    if (aes_ecb(0, nsl_secret_bytes(dk) + 32, payload + 7, nsl_secret_bytes(k)) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "AES failed");
    for (size_t i = 0; i < 32; i++)
        nsl_secret_bytes(k)[i] ^= nsl_secret_bytes(dk)[i];
    struct nsl_neo_account account;
    uint8_t check[4];
    /* A wrong passphrase yields a random scalar (rarely out of range) whose address differs. */
    if (nsl_neo_account_from_key(k, &account, NULL) != NSL_OK ||
        address_hash(account.address, check) != 0 || !nsl_equal_ct(check, payload + 3, 4))
        return nsl_fail(err, NSL_ERR_UNAUTHENTICATED, "wrong passphrase for this NEP-2 key");
    *key = k;
    k = NULL;
    return NSL_OK;
}
