/* HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305 (RFC 9180), on
 * OpenSSL EVP. Every intermediate secret (DH output, PRKs, labeled inputs, shared secret, key
 * schedule) lives in a stack buffer that is wiped before the function returns. */
#include "crypto/hpke.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <string.h>

/* suite_id of the KEM (RFC 9180 §4.1) and of the whole suite (§5.1). */
static const uint8_t KEM_SUITE[] = {'K', 'E', 'M', 0x00, 0x20};
static const uint8_t HPKE_SUITE[] = {'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03};
static const char VERSION_LABEL[] = "HPKE-v1";

#define MAX_INFO      1024 /* longest info accepted (RFC 9180 §7.2.1 asks for at least 64) */
#define MAX_LABEL     16
#define MAX_SUITE     sizeof HPKE_SUITE
#define LABELED_FIXED (2 + sizeof VERSION_LABEL - 1 + MAX_SUITE + MAX_LABEL)
#define MODE_BASE     0x00

struct suite {
    const uint8_t *id;
    size_t len;
};

static const struct suite KEM = {KEM_SUITE, sizeof KEM_SUITE};
static const struct suite HPKE = {HPKE_SUITE, sizeof HPKE_SUITE};

/* HKDF-Extract (mode EXTRACT_ONLY, 32-byte PRK) or HKDF-Expand (EXPAND_ONLY) of RFC 5869. */
static int hkdf(int mode, const uint8_t *key, size_t key_len, const uint8_t *salt, size_t salt_len,
                const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return -1;
    OSSL_PARAM params[6], *p = params;
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt_len) /* an absent salt is HashLen zero bytes, as RFC 5869 §2.2 says */
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    int rc = EVP_KDF_derive(ctx, out, out_len, params) == 1 ? 0 : -1;
    EVP_KDF_CTX_free(ctx);
    return rc;
}

/* Writes "HPKE-v1" ‖ suite_id ‖ label at out; returns the length written. */
static size_t put_label(uint8_t *out, const struct suite *s, const char *label)
{
    size_t n = 0, ll = strlen(label);
    memcpy(out + n, VERSION_LABEL, sizeof VERSION_LABEL - 1);
    n += sizeof VERSION_LABEL - 1;
    memcpy(out + n, s->id, s->len);
    n += s->len;
    memcpy(out + n, label, ll);
    return n + ll;
}

/* LabeledExtract(salt, label, ikm) of RFC 9180 §4. */
static int labeled_extract(const struct suite *s, const uint8_t *salt, size_t salt_len,
                           const char *label, const uint8_t *ikm, size_t ikm_len,
                           uint8_t prk[NSL_HPKE_SECRET_LEN])
{
    uint8_t labeled[LABELED_FIXED + MAX_INFO];
    if (ikm_len > MAX_INFO || strlen(label) > MAX_LABEL)
        return -1;
    size_t n = put_label(labeled, s, label);
    if (ikm_len)
        memcpy(labeled + n, ikm, ikm_len);
    n += ikm_len;
    int rc = hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, labeled, n, salt, salt_len, NULL, 0, prk,
                  NSL_HPKE_SECRET_LEN);
    nsl_wipe(labeled, n);
    return rc;
}

/* LabeledExpand(prk, label, info, L) of RFC 9180 §4 (info here is at most 65 bytes). */
static int labeled_expand(const struct suite *s, const uint8_t prk[NSL_HPKE_SECRET_LEN],
                          const char *label, const uint8_t *info, size_t info_len, uint8_t *out,
                          size_t out_len)
{
    uint8_t labeled[LABELED_FIXED + 2 * NSL_HPKE_SECRET_LEN + 1];
    if (info_len > 2 * NSL_HPKE_SECRET_LEN + 1 || strlen(label) > MAX_LABEL || out_len > 255 * 32)
        return -1;
    labeled[0] = (uint8_t)(out_len >> 8);
    labeled[1] = (uint8_t)out_len;
    size_t n = 2 + put_label(labeled + 2, s, label);
    if (info_len)
        memcpy(labeled + n, info, info_len);
    n += info_len;
    int rc = hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, NSL_HPKE_SECRET_LEN, NULL, 0, labeled, n, out,
                  out_len);
    nsl_wipe(labeled, n);
    return rc;
}

static EVP_PKEY *x25519_private(const uint8_t sk[NSL_HPKE_PRIVATE_KEY_LEN])
{
    return EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL, sk, NSL_HPKE_PRIVATE_KEY_LEN);
}

static int x25519_public_of(EVP_PKEY *key, uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN])
{
    size_t len = NSL_HPKE_PUBLIC_KEY_LEN;
    return EVP_PKEY_get_raw_public_key(key, pk, &len) == 1 && len == NSL_HPKE_PUBLIC_KEY_LEN ? 0
                                                                                             : -1;
}

/* DH(sk, pk) of RFC 9180 §4.1; fails on an all-zero output (a low-order peer point, §7.1.4). */
static int x25519(EVP_PKEY *sk, const uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN],
                  uint8_t dh[NSL_HPKE_SECRET_LEN])
{
    EVP_PKEY *peer =
        EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL, pk, NSL_HPKE_PUBLIC_KEY_LEN);
    EVP_PKEY_CTX *ctx = peer ? EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL) : NULL;
    size_t len = NSL_HPKE_SECRET_LEN;
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, dh, &len) == 1 && len == NSL_HPKE_SECRET_LEN;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
    uint8_t any = 0;
    for (size_t i = 0; ok && i < NSL_HPKE_SECRET_LEN; i++)
        any |= dh[i];
    if (!ok || any == 0) {
        nsl_wipe(dh, NSL_HPKE_SECRET_LEN);
        return -1;
    }
    return 0;
}

/* ExtractAndExpand(dh, enc ‖ pkR) of DHKEM (RFC 9180 §4.1). */
static int extract_and_expand(const uint8_t dh[NSL_HPKE_SECRET_LEN],
                              const uint8_t enc[NSL_HPKE_ENC_LEN],
                              const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN],
                              uint8_t shared_secret[NSL_HPKE_SECRET_LEN])
{
    uint8_t kem_context[NSL_HPKE_ENC_LEN + NSL_HPKE_PUBLIC_KEY_LEN], prk[NSL_HPKE_SECRET_LEN];
    memcpy(kem_context, enc, NSL_HPKE_ENC_LEN);
    memcpy(kem_context + NSL_HPKE_ENC_LEN, pkR, NSL_HPKE_PUBLIC_KEY_LEN);
    int rc = labeled_extract(&KEM, NULL, 0, "eae_prk", dh, NSL_HPKE_SECRET_LEN, prk);
    if (rc == 0)
        rc = labeled_expand(&KEM, prk, "shared_secret", kem_context, sizeof kem_context,
                            shared_secret, NSL_HPKE_SECRET_LEN);
    nsl_wipe(prk, sizeof prk);
    return rc;
}

/* KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "") of RFC 9180 §5.1. */
static int key_schedule(const uint8_t shared_secret[NSL_HPKE_SECRET_LEN], const void *info,
                        size_t info_len, struct nsl_hpke_context *ctx)
{
    uint8_t context[1 + 2 * NSL_HPKE_SECRET_LEN], secret[NSL_HPKE_SECRET_LEN];
    context[0] = MODE_BASE;
    int rc = labeled_extract(&HPKE, NULL, 0, "psk_id_hash", NULL, 0, context + 1);
    rc = rc ? rc
            : labeled_extract(&HPKE, NULL, 0, "info_hash", info, info_len,
                              context + 1 + NSL_HPKE_SECRET_LEN);
    rc = rc ? rc
            : labeled_extract(&HPKE, shared_secret, NSL_HPKE_SECRET_LEN, "secret", NULL, 0, secret);
    rc = rc ? rc
            : labeled_expand(&HPKE, secret, "key", context, sizeof context, ctx->key,
                             sizeof ctx->key);
    rc = rc ? rc
            : labeled_expand(&HPKE, secret, "base_nonce", context, sizeof context, ctx->base_nonce,
                             sizeof ctx->base_nonce);
    rc = rc ? rc
            : labeled_expand(&HPKE, secret, "exp", context, sizeof context, ctx->exporter_secret,
                             sizeof ctx->exporter_secret);
    nsl_wipe(secret, sizeof secret);
    if (rc != 0)
        nsl_hpke_context_wipe(ctx);
    return rc;
}

void nsl_hpke_context_wipe(struct nsl_hpke_context *ctx)
{
    nsl_wipe(ctx, sizeof *ctx);
}

void nsl_hpke_context_nonce(const struct nsl_hpke_context *ctx, uint64_t seq,
                            uint8_t nonce[NSL_HPKE_NONCE_LEN])
{
    memcpy(nonce, ctx->base_nonce, NSL_HPKE_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[NSL_HPKE_NONCE_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

nsl_err nsl_hpke_keypair(struct nsl_secret **sk, uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN],
                         struct nsl_error *err)
{
    *sk = NULL;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    struct nsl_secret *s = nsl_secret_new(NSL_HPKE_PRIVATE_KEY_LEN);
    size_t len = NSL_HPKE_PRIVATE_KEY_LEN;
    int ok = key && s && EVP_PKEY_get_raw_private_key(key, nsl_secret_bytes(s), &len) == 1 &&
             len == NSL_HPKE_PRIVATE_KEY_LEN && x25519_public_of(key, pk) == 0;
    EVP_PKEY_free(key);
    if (!ok) {
        nsl_secret_free(s);
        return nsl_fail(err, NSL_ERR_INTERNAL, "cannot generate an X25519 key pair");
    }
    *sk = s;
    return NSL_OK;
}

nsl_err nsl_hpke_public_key(const struct nsl_secret *sk, uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN],
                            struct nsl_error *err)
{
    if (nsl_secret_len(sk) != NSL_HPKE_PRIVATE_KEY_LEN)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "an X25519 private key is 32 bytes");
    EVP_PKEY *key = x25519_private(nsl_secret_bytes(sk));
    int ok = key && x25519_public_of(key, pk) == 0;
    EVP_PKEY_free(key);
    return ok ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "cannot compute an X25519 public key");
}

nsl_err nsl_hpke_derive_keypair(const void *ikm, size_t ikm_len, struct nsl_secret **sk,
                                uint8_t pk[NSL_HPKE_PUBLIC_KEY_LEN], struct nsl_error *err)
{
    *sk = NULL;
    if (ikm_len < NSL_HPKE_PRIVATE_KEY_LEN || ikm_len > MAX_INFO)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "key material must be 32 to %d bytes",
                        MAX_INFO);
    uint8_t prk[NSL_HPKE_SECRET_LEN];
    struct nsl_secret *s = nsl_secret_new(NSL_HPKE_PRIVATE_KEY_LEN);
    int ok = s && labeled_extract(&KEM, NULL, 0, "dkp_prk", ikm, ikm_len, prk) == 0 &&
             labeled_expand(&KEM, prk, "sk", NULL, 0, nsl_secret_bytes(s),
                            NSL_HPKE_PRIVATE_KEY_LEN) == 0;
    nsl_wipe(prk, sizeof prk);
    nsl_err rc = ok ? nsl_hpke_public_key(s, pk, err)
                    : nsl_fail(err, NSL_ERR_INTERNAL, "cannot derive an X25519 key pair");
    if (rc != NSL_OK)
        nsl_secret_free(s);
    else
        *sk = s;
    return rc;
}

nsl_err nsl_hpke_setup_sender(const struct nsl_secret *skE,
                              const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN], const void *info,
                              size_t info_len, uint8_t enc[NSL_HPKE_ENC_LEN],
                              uint8_t shared_secret[NSL_HPKE_SECRET_LEN],
                              struct nsl_hpke_context *ctx, struct nsl_error *err)
{
    if (nsl_secret_len(skE) != NSL_HPKE_PRIVATE_KEY_LEN)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "an X25519 private key is 32 bytes");
    if (info_len > MAX_INFO)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "HPKE info is longer than %d bytes", MAX_INFO);
    uint8_t dh[NSL_HPKE_SECRET_LEN];
    nsl_err rc = NSL_OK;
    EVP_PKEY *key = x25519_private(nsl_secret_bytes(skE));
    if (!key || x25519_public_of(key, enc) != 0) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "HPKE sealing failed");
    } else if (x25519(key, pkR, dh) != 0) {
        rc = nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                      "recipient public key is not a usable X25519 key");
    } else if (extract_and_expand(dh, enc, pkR, shared_secret) != 0 ||
               key_schedule(shared_secret, info, info_len, ctx) != 0) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "HPKE sealing failed");
    }
    EVP_PKEY_free(key);
    nsl_wipe(dh, sizeof dh);
    if (rc != NSL_OK)
        nsl_wipe(shared_secret, NSL_HPKE_SECRET_LEN);
    return rc;
}

static nsl_err does_not_open(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "sealed payload does not open");
}

nsl_err nsl_hpke_setup_recipient(const struct nsl_secret *skR, const uint8_t enc[NSL_HPKE_ENC_LEN],
                                 const void *info, size_t info_len,
                                 uint8_t shared_secret[NSL_HPKE_SECRET_LEN],
                                 struct nsl_hpke_context *ctx, struct nsl_error *err)
{
    if (nsl_secret_len(skR) != NSL_HPKE_PRIVATE_KEY_LEN || info_len > MAX_INFO)
        return does_not_open(err);
    uint8_t dh[NSL_HPKE_SECRET_LEN], pkR[NSL_HPKE_PUBLIC_KEY_LEN];
    EVP_PKEY *key = x25519_private(nsl_secret_bytes(skR));
    int ok = key && x25519_public_of(key, pkR) == 0 && x25519(key, enc, dh) == 0 &&
             extract_and_expand(dh, enc, pkR, shared_secret) == 0 &&
             key_schedule(shared_secret, info, info_len, ctx) == 0;
    EVP_PKEY_free(key);
    nsl_wipe(dh, sizeof dh);
    if (!ok) {
        nsl_wipe(shared_secret, NSL_HPKE_SECRET_LEN);
        return does_not_open(err);
    }
    return NSL_OK;
}

/* One ChaCha20-Poly1305 pass. encrypt: out gets len bytes and tag is written; decrypt: tag is
 * checked. */
static int chacha20_poly1305(int encrypt, const uint8_t key[NSL_HPKE_KEY_LEN],
                             const uint8_t nonce[NSL_HPKE_NONCE_LEN], const void *aad,
                             size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                             uint8_t tag[NSL_HPKE_TAG_LEN])
{
    if (aad_len > INT32_MAX || len > NSL_HPKE_MAX_PLAINTEXT)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    int ok = ctx && EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce, encrypt) == 1;
    ok = ok && (aad_len == 0 || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) == 1);
    ok = ok && (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, NSL_HPKE_TAG_LEN, tag) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + (len ? n : 0), &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, NSL_HPKE_TAG_LEN, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

nsl_err nsl_hpke_context_seal(const struct nsl_hpke_context *ctx, uint64_t seq, const void *aad,
                              size_t aad_len, const void *pt, size_t pt_len, struct nsl_buf *ct,
                              struct nsl_error *err)
{
    if (pt_len > NSL_HPKE_MAX_PLAINTEXT || aad_len > INT32_MAX)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "payload too large to seal");
    if (nsl_buf_reserve(ct, pt_len + NSL_HPKE_TAG_LEN) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory sealing a payload");
    uint8_t nonce[NSL_HPKE_NONCE_LEN];
    nsl_hpke_context_nonce(ctx, seq, nonce);
    uint8_t *out = ct->data + ct->len;
    if (chacha20_poly1305(1, ctx->key, nonce, aad, aad_len, pt, pt_len, out, out + pt_len) != 0) {
        nsl_wipe(out, pt_len + NSL_HPKE_TAG_LEN);
        return nsl_fail(err, NSL_ERR_INTERNAL, "HPKE sealing failed");
    }
    ct->len += pt_len + NSL_HPKE_TAG_LEN;
    return NSL_OK;
}

nsl_err nsl_hpke_context_open(const struct nsl_hpke_context *ctx, uint64_t seq, const void *aad,
                              size_t aad_len, const void *ct, size_t ct_len, struct nsl_secret **pt,
                              struct nsl_error *err)
{
    *pt = NULL;
    if (ct_len < NSL_HPKE_TAG_LEN || ct_len - NSL_HPKE_TAG_LEN > NSL_HPKE_MAX_PLAINTEXT)
        return does_not_open(err);
    size_t len = ct_len - NSL_HPKE_TAG_LEN;
    struct nsl_secret *out = nsl_secret_new(len);
    if (!out)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory opening a sealed payload");
    uint8_t nonce[NSL_HPKE_NONCE_LEN], tag[NSL_HPKE_TAG_LEN];
    memcpy(tag, (const uint8_t *)ct + len, NSL_HPKE_TAG_LEN);
    nsl_hpke_context_nonce(ctx, seq, nonce);
    if (chacha20_poly1305(0, ctx->key, nonce, aad, aad_len, ct, len, nsl_secret_bytes(out), tag) !=
        0) {
        nsl_secret_free(out); /* wipes whatever was decrypted before the tag check failed */
        return does_not_open(err);
    }
    *pt = out;
    return NSL_OK;
}

nsl_err nsl_hpke_seal_with_ephemeral(const struct nsl_secret *skE,
                                     const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN], const void *info,
                                     size_t info_len, const void *aad, size_t aad_len,
                                     const void *pt, size_t pt_len, uint8_t enc[NSL_HPKE_ENC_LEN],
                                     struct nsl_buf *ct, struct nsl_error *err)
{
    struct nsl_hpke_context ctx;
    uint8_t shared_secret[NSL_HPKE_SECRET_LEN];
    nsl_err rc = nsl_hpke_setup_sender(skE, pkR, info, info_len, enc, shared_secret, &ctx, err);
    nsl_wipe(shared_secret, sizeof shared_secret);
    if (rc != NSL_OK)
        return rc;
    rc = nsl_hpke_context_seal(&ctx, 0, aad, aad_len, pt, pt_len, ct, err);
    nsl_hpke_context_wipe(&ctx);
    return rc;
}

nsl_err nsl_hpke_seal(const uint8_t pkR[NSL_HPKE_PUBLIC_KEY_LEN], const void *info, size_t info_len,
                      const void *aad, size_t aad_len, const void *pt, size_t pt_len,
                      uint8_t enc[NSL_HPKE_ENC_LEN], struct nsl_buf *ct, struct nsl_error *err)
{
    struct nsl_secret *skE = NULL;
    uint8_t pkE[NSL_HPKE_PUBLIC_KEY_LEN];
    NSL_TRY(nsl_hpke_keypair(&skE, pkE, err));
    nsl_err rc = nsl_hpke_seal_with_ephemeral(skE, pkR, info, info_len, aad, aad_len, pt, pt_len,
                                              enc, ct, err);
    nsl_secret_free(skE);
    return rc;
}

nsl_err nsl_hpke_open(const struct nsl_secret *skR, const uint8_t enc[NSL_HPKE_ENC_LEN],
                      const void *info, size_t info_len, const void *aad, size_t aad_len,
                      const void *ct, size_t ct_len, struct nsl_secret **pt, struct nsl_error *err)
{
    *pt = NULL;
    struct nsl_hpke_context ctx;
    uint8_t shared_secret[NSL_HPKE_SECRET_LEN];
    nsl_err rc = nsl_hpke_setup_recipient(skR, enc, info, info_len, shared_secret, &ctx, err);
    nsl_wipe(shared_secret, sizeof shared_secret);
    if (rc != NSL_OK)
        return rc;
    rc = nsl_hpke_context_open(&ctx, 0, aad, aad_len, ct, ct_len, pt, err);
    nsl_hpke_context_wipe(&ctx);
    return rc;
}
