/* AES-256-GCM blob sealing with per-namespace HKDF keys (see seal.h). Derived keys are cached
 * on the secure heap; the cache is small because namespaces are few (one per service). */
#define NSL_LOG_COMPONENT NSL_LOGC_STORE
#include "crypto/seal.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define NS_CACHE 32

struct ns_key {
    char ns[128];
    struct nsl_secret *key;
};

struct nsl_sealer {
    struct nsl_secret *master;
    pthread_mutex_t lock;
    struct ns_key cache[NS_CACHE];
    size_t cached;
};

int nsl_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                    const void *info, size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len),
        OSSL_PARAM_construct_end(),
    };
    int rc = EVP_KDF_derive(ctx, out, out_len, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(ctx);
    return rc;
}

struct nsl_sealer *nsl_sealer_new(const struct nsl_secret *master)
{
    if (nsl_secret_len(master) != 32)
        return NULL;
    struct nsl_sealer *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->master = nsl_secret_from(nsl_secret_bytes(master), 32);
    if (!s->master) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void nsl_sealer_free(struct nsl_sealer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->cached; i++)
        nsl_secret_free(s->cache[i].key);
    nsl_secret_free(s->master);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Copies the namespace key into out (32 bytes), deriving and caching it on first use. */
static int namespace_key(struct nsl_sealer *s, const char *ns, uint8_t out[32])
{
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->cached; i++) {
        if (strcmp(s->cache[i].ns, ns) == 0) {
            memcpy(out, nsl_secret_bytes(s->cache[i].key), 32);
            goto out;
        }
    }
    char info[3 + NSL_SEAL_MAX_NAME + 1];
    int n = snprintf(info, sizeof info, "ns:%s", ns);
    static const char salt[] = "nsl-seal-1";
    rc = nsl_hkdf_sha256(nsl_secret_bytes(s->master), 32, salt, sizeof salt - 1, info, (size_t)n,
                         out, 32);
    if (rc == 0 && s->cached < NS_CACHE && strlen(ns) < sizeof s->cache[0].ns) {
        struct ns_key *slot = &s->cache[s->cached];
        slot->key = nsl_secret_from(out, 32);
        if (slot->key) {
            strcpy(slot->ns, ns);
            s->cached++;
        }
    }
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int build_aad(const char *ns, const char *key, uint64_t version, struct nsl_buf *aad)
{
    size_t nl = strlen(ns), kl = strlen(key);
    if (nl > NSL_SEAL_MAX_NAME || kl > NSL_SEAL_MAX_NAME)
        return -1;
    uint8_t v[8];
    for (int i = 0; i < 8; i++)
        v[i] = (uint8_t)(version >> (56 - 8 * i));
    uint8_t nlen[2] = {(uint8_t)(nl >> 8), (uint8_t)nl},
            klen[2] = {(uint8_t)(kl >> 8), (uint8_t)kl};
    if (nsl_buf_append(aad, "nsl-blob-1", 10) || nsl_buf_append(aad, nlen, 2) ||
        nsl_buf_append(aad, ns, nl) || nsl_buf_append(aad, klen, 2) ||
        nsl_buf_append(aad, key, kl) || nsl_buf_append(aad, v, 8))
        return -1;
    return 0;
}

/* One AES-256-GCM pass. encrypt: in -> out and tag written; decrypt: tag checked. */
static int gcm(int encrypt, const uint8_t key[32], const uint8_t nonce[12],
               const struct nsl_buf *aad, const uint8_t *in, size_t len, uint8_t *out,
               uint8_t tag[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = ctx && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) == 1;
    int n = 0;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &n, aad->data, (int)aad->len) == 1;
    ok = ok && (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

nsl_err nsl_seal(struct nsl_sealer *s, const char *ns, const char *key, uint64_t version,
                 const void *plain, size_t len, struct nsl_buf *out, struct nsl_error *err)
{
    uint8_t k[32], nonce[12];
    struct nsl_buf aad = {0};
    nsl_err rc = NSL_OK;
    if (len > INT32_MAX - NSL_SEAL_OVERHEAD || build_aad(ns, key, version, &aad) != 0 ||
        nsl_buf_reserve(out, len + NSL_SEAL_OVERHEAD) != 0) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "cannot seal an object of this size or name");
        goto out;
    }
    if (namespace_key(s, ns, k) != 0 || nsl_random_bytes(nonce, sizeof nonce) != 0) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "sealing key or nonce unavailable");
        goto out;
    }
    uint8_t *blob = out->data + out->len;
    blob[0] = NSL_SEAL_FORMAT;
    memcpy(blob + 1, nonce, 12);
    if (gcm(1, k, nonce, &aad, plain, len, blob + 13, blob + 13 + len) != 0) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "sealing failed");
        goto out;
    }
    out->len += len + NSL_SEAL_OVERHEAD;
out:
    nsl_wipe(k, sizeof k);
    nsl_buf_free(&aad);
    return rc;
}

static nsl_err integrity_failure(const char *ns, const char *key, uint64_t version,
                                 struct nsl_error *err)
{
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)version);
    nsl_log(NSL_LOG_ERROR, "integrity_check_failed", "namespace", ns, "key", key, "version", v,
            "msg", "stored object failed authentication: tampered, truncated, moved or replayed",
            NULL);
    return nsl_fail(err, NSL_ERR_INTERNAL, "the stored object failed its integrity check");
}

nsl_err nsl_unseal(struct nsl_sealer *s, const char *ns, const char *key, uint64_t version,
                   const void *blob, size_t len, struct nsl_secret **plain, struct nsl_error *err)
{
    const uint8_t *b = blob;
    *plain = NULL;
    if (len < NSL_SEAL_OVERHEAD || len > INT32_MAX || b[0] != NSL_SEAL_FORMAT)
        return integrity_failure(ns, key, version, err);
    size_t plen = len - NSL_SEAL_OVERHEAD;
    uint8_t k[32], tag[16];
    struct nsl_buf aad = {0};
    struct nsl_secret *out = nsl_secret_new(plen);
    nsl_err rc = NSL_OK;
    memcpy(tag, b + 13 + plen, 16);
    if (!out || build_aad(ns, key, version, &aad) != 0 || namespace_key(s, ns, k) != 0) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory opening a stored object");
    } else if (gcm(0, k, b + 1, &aad, b + 13, plen, nsl_secret_bytes(out), tag) != 0) {
        rc = integrity_failure(ns, key, version, err);
    }
    nsl_wipe(k, sizeof k);
    nsl_buf_free(&aad);
    if (rc != NSL_OK)
        nsl_secret_free(out);
    else
        *plain = out;
    return rc;
}
