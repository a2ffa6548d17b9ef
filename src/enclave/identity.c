/* Enclave identity and attestation (see identity.h). */
#include "enclave/identity.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "attest/nsm.h"
#include "attest/sim.h"
#include "common/log.h"
#include "crypto/hash.h"

#define SIGNER_NS  "identity"
#define SIGNER_KEY "signer"

struct nsl_identity {
    struct nsl_secret *hpke_sk;
    uint8_t hpke_pk[NSL_HPKE_PUBLIC_KEY_LEN];
    struct nsl_sim *sim;  /* dev mode */
    struct nsl_nsm *nsm;  /* Nitro mode */
    pthread_mutex_t lock; /* the signer and the attestation providers */
    struct nsl_neo_signing_key *signer;
};

nsl_err nsl_identity_new(bool simulated, struct nsl_identity **out, struct nsl_error *err)
{
    struct nsl_identity *id = calloc(1, sizeof *id);
    if (!id)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    pthread_mutex_init(&id->lock, NULL);
    nsl_err rc =
        simulated ? nsl_sim_new(&id->sim, err) : nsl_nsm_open(NSL_NSM_DEVICE, &id->nsm, err);
    /* A fresh enclave may have no entropy: seed from the NSM before making any key. */
    if (rc == NSL_OK && id->nsm)
        rc = nsl_nsm_seed_drbg(id->nsm, err);
    if (rc == NSL_OK)
        rc = nsl_hpke_keypair(&id->hpke_sk, id->hpke_pk, err);
    if (rc != NSL_OK) {
        nsl_identity_free(id);
        return rc;
    }
    *out = id;
    return NSL_OK;
}

void nsl_identity_free(struct nsl_identity *id)
{
    if (!id)
        return;
    nsl_secret_free(id->hpke_sk);
    nsl_sim_free(id->sim);
    nsl_nsm_close(id->nsm);
    nsl_neo_signing_key_free(id->signer);
    pthread_mutex_destroy(&id->lock);
    free(id);
}

const uint8_t *nsl_identity_hpke_public(const struct nsl_identity *id)
{
    return id->hpke_pk;
}

nsl_err nsl_identity_open(const struct nsl_identity *id, const uint8_t enc[NSL_HPKE_ENC_LEN],
                          const char *info, const void *aad, size_t aad_len, const void *ct,
                          size_t ct_len, struct nsl_secret **plain, struct nsl_error *err)
{
    return nsl_hpke_open(id->hpke_sk, enc, info, strlen(info), aad, aad_len, ct, ct_len, plain,
                         err);
}

/* Reads the stored signing key, or makes one; the loser of a creation race reads the winner's. */
static nsl_err load_signer(struct nsl_identity *id, struct nsl_store *st, struct nsl_error *err)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        struct nsl_secret *key = NULL;
        uint64_t version = 0;
        nsl_err rc = nsl_store_get(st, SIGNER_NS, SIGNER_KEY, &key, &version, err);
        if (rc == NSL_ERR_NOT_FOUND) {
            rc = nsl_neo_key_generate(&key, err);
            uint64_t v;
            if (rc == NSL_OK)
                rc = nsl_store_put(st, SIGNER_NS, SIGNER_KEY, version, nsl_secret_bytes(key),
                                   nsl_secret_len(key), &v, err);
            if (rc == NSL_OK)
                nsl_log(NSL_LOG_INFO, "signing_key_created", NULL);
        }
        if (rc == NSL_OK)
            rc = nsl_neo_signing_key_new(key, &id->signer, err);
        nsl_secret_free(key);
        if (rc != NSL_ERR_CONFLICT)
            return rc;
    }
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the signing key is being created elsewhere");
}

nsl_err nsl_identity_signer(struct nsl_identity *id, struct nsl_store *st,
                            struct nsl_neo_signing_key **signer, struct nsl_error *err)
{
    pthread_mutex_lock(&id->lock);
    nsl_err rc = id->signer ? NSL_OK : load_signer(id, st, err);
    if (rc == NSL_OK && !(*signer = nsl_neo_signing_key_dup(id->signer)))
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    pthread_mutex_unlock(&id->lock);
    return rc;
}

void nsl_identity_commitment(const uint8_t signer_pub[NSL_NEO_PUBKEY_LEN], const uint8_t *data,
                             size_t len, uint8_t out[NSL_IDENTITY_USER_DATA_LEN])
{
    struct nsl_bytes parts[] = {{signer_pub, NSL_NEO_PUBKEY_LEN}, {data, len}};
    out[0] = 0x12; /* multihash: sha2-256, 32 bytes */
    out[1] = 0x20;
    nsl_sha256_parts(parts, data && len ? 2 : 1, out + 2);
}

nsl_err nsl_identity_attest(struct nsl_identity *id, struct nsl_store *st, const uint8_t *nonce,
                            size_t nonce_len, const uint8_t *user_data, size_t user_data_len,
                            struct nsl_buf *doc, struct nsl_error *err)
{
    struct nsl_neo_signing_key *signer = NULL;
    NSL_TRY(nsl_identity_signer(id, st, &signer, err));
    uint8_t commitment[NSL_IDENTITY_USER_DATA_LEN];
    nsl_identity_commitment(nsl_neo_signing_key_public(signer), user_data, user_data_len,
                            commitment);
    nsl_neo_signing_key_free(signer);
    pthread_mutex_lock(&id->lock);
    nsl_err rc = id->sim ? nsl_sim_attest(id->sim, commitment, sizeof commitment, nonce, nonce_len,
                                          id->hpke_pk, sizeof id->hpke_pk, doc, err)
                         : nsl_nsm_attest(id->nsm, commitment, sizeof commitment, nonce, nonce_len,
                                          id->hpke_pk, sizeof id->hpke_pk, doc, err);
    pthread_mutex_unlock(&id->lock);
    return rc;
}
