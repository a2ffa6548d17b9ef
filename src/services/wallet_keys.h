/* Wallet key storage (issue 5): per account, a metadata record (JSON: label, public key,
 * address, policy, ...) and the private key as raw bytes, both sealed in the store, namespace
 * "wallet": meta/<account>/<keyId> and priv/<account>/<keyId>. The private key never passes
 * through a JSON library; in memory it lives in a struct nsl_secret (secure heap), including in
 * the cache that keeps hot keys from costing a host round trip per signature. */
#ifndef NSL_SERVICES_WALLET_KEYS_H
#define NSL_SERVICES_WALLET_KEYS_H

#include <jansson.h>
#include <stdint.h>

#include "common/errors.h"
#include "crypto/secret.h"
#include "neo/key.h"
#include "store/store.h"

#define NSL_WALLET_KEY_ID_LEN 24

struct nsl_wallet_keys;

struct nsl_wallet_key {
    json_t *meta; /* private copy */
    uint64_t meta_version;
    struct nsl_secret *secret;          /* private copy, NULL unless NSL_WALLET_SECRET */
    struct nsl_neo_signing_key *signer; /* prepared for signing, with secret */
};

struct nsl_wallet_keys *nsl_wallet_keys_new(void);
void nsl_wallet_keys_free(struct nsl_wallet_keys *wk);
void nsl_wallet_key_clear(struct nsl_wallet_key *key);

/* What a load fills in besides meta: the prepared signer, or the signer and a copy of the
 * private key bytes (only for operations that need the bytes themselves). */
enum nsl_wallet_need { NSL_WALLET_META, NSL_WALLET_SIGNER, NSL_WALLET_SECRET };

/* NOT_FOUND when account has no such key. */
nsl_err nsl_wallet_keys_load(struct nsl_wallet_keys *wk, struct nsl_store *st, const char *account,
                             const char *key_id, enum nsl_wallet_need need,
                             struct nsl_wallet_key *out, struct nsl_error *err);
/* Stores a new key (meta must hold "keyId"). */
nsl_err nsl_wallet_keys_create(struct nsl_wallet_keys *wk, struct nsl_store *st,
                               const char *account, const json_t *meta,
                               const struct nsl_secret *secret, struct nsl_error *err);
nsl_err nsl_wallet_keys_update(struct nsl_wallet_keys *wk, struct nsl_store *st,
                               const char *account, const json_t *meta, uint64_t version,
                               struct nsl_error *err);
nsl_err nsl_wallet_keys_delete(struct nsl_wallet_keys *wk, struct nsl_store *st,
                               const char *account, const char *key_id, uint64_t meta_version,
                               struct nsl_error *err);
/* Metadata of the account's keys after `after` (a keyId, NULL from the start). */
nsl_err nsl_wallet_keys_list(struct nsl_wallet_keys *wk, struct nsl_store *st, const char *account,
                             const char *after, size_t limit, json_t **metas, bool *more,
                             struct nsl_error *err);

#endif
