/* The gas bank's hot-wallet key: one secp256r1 key owned by the service, made in the enclave the
 * first time it is needed and kept sealed in the store (gasbank bank/key, raw 32 bytes, written
 * once with expected version 0 so two enclaves racing agree on the winner's key). Also the small
 * helpers the handler files share. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "enclave/storage.h"
#include "services/gasbank.h"
#include "services/gasbank_ledger.h"
#include "services/records.h"

#define BANK_KEY "bank/key"

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nsl_secret *cached; /* the key once read: it never changes */

struct nsl_store *nsl_gasbank_store(struct nsl_call *call)
{
    return nsl_storage_get(call->ctx->storage, &call->error);
}

bool nsl_gasbank_privileged(const struct nsl_call *call)
{
    size_t i;
    json_t *r;
    json_array_foreach(call->caller.roles, i, r)
    {
        const char *role = json_string_value(r);
        if (role && (strcmp(role, "admin") == 0 || strcmp(role, "operator") == 0))
            return true;
    }
    return false;
}

nsl_err nsl_gasbank_target(struct nsl_call *call, struct nsl_store *st, const char **account)
{
    const char *wanted = nsl_json_str(call->params, "accountId");
    *account = call->caller.account_id;
    if (!wanted || strcmp(wanted, call->caller.account_id) == 0)
        return NSL_OK;
    if (!nsl_gasbank_privileged(call))
        return nsl_fail(&call->error, NSL_ERR_PERMISSION_DENIED,
                        "only admins and operators may see another account's gas bank");
    char key[NSL_GASBANK_KEY_LEN];
    json_t *rec = NULL;
    uint64_t version;
    snprintf(key, sizeof key, "acct/%s", wanted);
    nsl_err rc = nsl_records_load(call->ctx->accounts, st, key, &rec, &version, &call->error);
    json_decref(rec);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no account %s", wanted);
    *account = wanted;
    return rc;
}

static nsl_err load_or_create(struct nsl_store *st, struct nsl_secret **key, struct nsl_error *err)
{
    uint64_t version;
    nsl_err rc = nsl_store_get(st, NSL_GASBANK_NS, BANK_KEY, key, &version, err);
    if (rc != NSL_ERR_NOT_FOUND)
        return rc;
    NSL_TRY(nsl_neo_key_generate(key, err));
    rc = nsl_store_put(st, NSL_GASBANK_NS, BANK_KEY, version, nsl_secret_bytes(*key),
                       nsl_secret_len(*key), &version, err);
    if (rc == NSL_ERR_CONFLICT) { /* another request made it first: use that one */
        nsl_secret_free(*key);
        *key = NULL;
        return nsl_store_get(st, NSL_GASBANK_NS, BANK_KEY, key, &version, err);
    }
    if (rc != NSL_OK) {
        nsl_secret_free(*key);
        *key = NULL;
    }
    return rc;
}

nsl_err nsl_gasbank_bank_key(struct nsl_store *st, struct nsl_secret **key,
                             struct nsl_neo_account *acct, struct nsl_error *err)
{
    *key = NULL;
    pthread_mutex_lock(&cache_lock);
    if (cached)
        *key = nsl_secret_from(nsl_secret_bytes(cached), nsl_secret_len(cached));
    pthread_mutex_unlock(&cache_lock);
    if (!*key) {
        NSL_TRY(load_or_create(st, key, err));
        pthread_mutex_lock(&cache_lock);
        if (!cached)
            cached = nsl_secret_from(nsl_secret_bytes(*key), nsl_secret_len(*key));
        pthread_mutex_unlock(&cache_lock);
    }
    if (!*key)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_err rc = nsl_neo_account_from_key(*key, acct, err);
    if (rc != NSL_OK) {
        nsl_secret_free(*key);
        *key = NULL;
    }
    return rc;
}
