/* Wallet key storage and its cache (see wallet_keys.h). */
#include "services/wallet_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "services/records.h"

#define NS          "wallet"
#define CACHE_SLOTS 1024
#define CACHE_LIMIT 8192

struct cached {
    struct cached *next;
    struct nsl_secret *secret;
    struct nsl_neo_signing_key *signer;
    char key[];
};

struct nsl_wallet_keys {
    struct nsl_records *meta; /* metadata records, cached there */
    pthread_mutex_t lock;     /* guards the secret cache */
    struct cached *slots[CACHE_SLOTS];
    size_t count;
};

struct nsl_wallet_keys *nsl_wallet_keys_new(void)
{
    struct nsl_wallet_keys *wk = calloc(1, sizeof *wk);
    if (!wk)
        return NULL;
    wk->meta = nsl_records_new(NS);
    if (!wk->meta) {
        free(wk);
        return NULL;
    }
    pthread_mutex_init(&wk->lock, NULL);
    return wk;
}

static void cache_clear(struct nsl_wallet_keys *wk)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        for (struct cached *c = wk->slots[i], *next; c; c = next) {
            next = c->next;
            nsl_secret_free(c->secret);
            nsl_neo_signing_key_free(c->signer);
            free(c);
        }
        wk->slots[i] = NULL;
    }
    wk->count = 0;
}

void nsl_wallet_keys_free(struct nsl_wallet_keys *wk)
{
    if (!wk)
        return;
    cache_clear(wk);
    nsl_records_free(wk->meta);
    pthread_mutex_destroy(&wk->lock);
    free(wk);
}

void nsl_wallet_key_clear(struct nsl_wallet_key *k)
{
    json_decref(k->meta);
    nsl_secret_free(k->secret);
    nsl_neo_signing_key_free(k->signer);
    memset(k, 0, sizeof *k);
}

static size_t slot_of(const char *key)
{
    size_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h % CACHE_SLOTS;
}

static struct cached **cache_find(struct nsl_wallet_keys *wk, const char *key)
{
    struct cached **pp = &wk->slots[slot_of(key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void cache_evict(struct nsl_wallet_keys *wk, const char *key)
{
    pthread_mutex_lock(&wk->lock);
    struct cached **pp = cache_find(wk, key), *c = *pp;
    if (c) {
        *pp = c->next;
        nsl_secret_free(c->secret);
        nsl_neo_signing_key_free(c->signer);
        free(c);
        wk->count--;
    }
    pthread_mutex_unlock(&wk->lock);
}

/* The cached signer (and a copy of the secret when asked) into out; false when not cached. */
static bool cache_get(struct nsl_wallet_keys *wk, const char *key, bool with_secret,
                      struct nsl_wallet_key *out)
{
    pthread_mutex_lock(&wk->lock);
    struct cached *c = *cache_find(wk, key);
    if (c) {
        if (with_secret)
            out->secret = nsl_secret_from(nsl_secret_bytes(c->secret), nsl_secret_len(c->secret));
        out->signer = nsl_neo_signing_key_dup(c->signer);
    }
    pthread_mutex_unlock(&wk->lock);
    return c && (out->secret || !with_secret) && out->signer;
}

static void cache_put(struct nsl_wallet_keys *wk, const char *key, const struct nsl_wallet_key *k)
{
    size_t n = strlen(key) + 1;
    struct cached *c = malloc(sizeof *c + n);
    struct nsl_secret *copy =
        nsl_secret_from(nsl_secret_bytes(k->secret), nsl_secret_len(k->secret));
    struct nsl_neo_signing_key *signer = nsl_neo_signing_key_dup(k->signer);
    if (!c || !copy || !signer) {
        free(c);
        nsl_secret_free(copy);
        nsl_neo_signing_key_free(signer);
        return;
    }
    memcpy(c->key, key, n);
    c->secret = copy;
    c->signer = signer;
    pthread_mutex_lock(&wk->lock);
    if (*cache_find(wk, key)) { /* another thread was first */
        pthread_mutex_unlock(&wk->lock);
        nsl_secret_free(copy);
        nsl_neo_signing_key_free(signer);
        free(c);
        return;
    }
    if (wk->count >= CACHE_LIMIT)
        cache_clear(wk);
    struct cached **slot = &wk->slots[slot_of(key)];
    c->next = *slot;
    *slot = c;
    wk->count++;
    pthread_mutex_unlock(&wk->lock);
}

static void names(const char *account, const char *key_id, char meta[160], char priv[160])
{
    snprintf(meta, 160, "meta/%s/%s", account, key_id);
    snprintf(priv, 160, "priv/%s/%s", account, key_id);
}

nsl_err nsl_wallet_keys_load(struct nsl_wallet_keys *wk, struct nsl_store *st, const char *account,
                             const char *key_id, enum nsl_wallet_need need,
                             struct nsl_wallet_key *out, struct nsl_error *err)
{
    char meta_key[160], priv_key[160];
    memset(out, 0, sizeof *out);
    names(account, key_id, meta_key, priv_key);
    nsl_err rc = nsl_records_load(wk->meta, st, meta_key, &out->meta, &out->meta_version, err);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "no wallet key %s", key_id);
    if (rc != NSL_OK || need == NSL_WALLET_META)
        return rc;
    if (cache_get(wk, priv_key, need == NSL_WALLET_SECRET, out))
        return NSL_OK;
    nsl_secret_free(out->secret);
    nsl_neo_signing_key_free(out->signer);
    out->secret = NULL;
    out->signer = NULL;
    uint64_t version;
    rc = nsl_store_get(st, NS, priv_key, &out->secret, &version, err);
    if (rc == NSL_OK)
        rc = nsl_neo_signing_key_new(out->secret, &out->signer, err);
    if (rc == NSL_OK)
        cache_put(wk, priv_key, out);
    if (rc == NSL_OK && need != NSL_WALLET_SECRET) {
        nsl_secret_free(out->secret);
        out->secret = NULL;
    } else if (rc != NSL_OK) {
        nsl_wallet_key_clear(out);
    }
    return rc == NSL_ERR_NOT_FOUND ? nsl_fail(err, NSL_ERR_NOT_FOUND, "no wallet key %s", key_id)
                                   : rc;
}

nsl_err nsl_wallet_keys_create(struct nsl_wallet_keys *wk, struct nsl_store *st,
                               const char *account, const json_t *meta,
                               const struct nsl_secret *secret, struct nsl_error *err)
{
    (void)wk; /* nothing cached yet: the first load reads both records */
    char meta_key[160], priv_key[160];
    names(account, nsl_json_str(meta, "keyId"), meta_key, priv_key);
    size_t len;
    char *text = nsl_json_dump(meta, &len);
    if (!text)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    struct nsl_store_write w[] = {
        {NSL_STORE_PUT, NS, meta_key, 0, text, len},
        {NSL_STORE_PUT, NS, priv_key, 0, nsl_secret_bytes(secret), nsl_secret_len(secret)},
    };
    uint64_t versions[2];
    nsl_err rc = nsl_store_batch(st, w, 2, versions, err);
    free(text);
    return rc;
}

nsl_err nsl_wallet_keys_update(struct nsl_wallet_keys *wk, struct nsl_store *st,
                               const char *account, const json_t *meta, uint64_t version,
                               struct nsl_error *err)
{
    char meta_key[160], priv_key[160];
    names(account, nsl_json_str(meta, "keyId"), meta_key, priv_key);
    struct nsl_record_write w[] = {{meta_key, version, meta}};
    return nsl_records_commit(wk->meta, st, w, 1, err);
}

nsl_err nsl_wallet_keys_delete(struct nsl_wallet_keys *wk, struct nsl_store *st,
                               const char *account, const char *key_id, uint64_t meta_version,
                               struct nsl_error *err)
{
    char meta_key[160], priv_key[160];
    names(account, key_id, meta_key, priv_key);
    cache_evict(wk, priv_key);
    /* The private key record is written once, so its version is 1. Deleting it leaves only a
     * tombstone: the sealed bytes are gone from the parent's live table. */
    struct nsl_record_write w[] = {{meta_key, meta_version, NULL}, {priv_key, 1, NULL}};
    return nsl_records_commit(wk->meta, st, w, 2, err);
}

nsl_err nsl_wallet_keys_list(struct nsl_wallet_keys *wk, struct nsl_store *st, const char *account,
                             const char *after, size_t limit, json_t **metas, bool *more,
                             struct nsl_error *err)
{
    char prefix[160], after_key[160];
    snprintf(prefix, sizeof prefix, "meta/%s/", account);
    if (after)
        snprintf(after_key, sizeof after_key, "meta/%s/%s", account, after);
    return nsl_records_list(wk->meta, st, prefix, after ? after_key : NULL, limit, metas, more,
                            err);
}
