/* The account service (ARCHITECTURE §4-5): accounts with roles and extra permissions, API keys
 * shown once and stored as SHA-256, the first admin made by bootstrap, and the audit log.
 * Records live in the sealed store, namespace "accounts": acct/<id>, key/<keyId>,
 * meta/bootstrap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/json.h"
#include "crypto/hash.h"
#include "crypto/secret.h"
#include "enclave/storage.h"
#include "neo/key.h"
#include "services/audit.h"
#include "services/permissions.h"
#include "services/records.h"
#include "services/service.h"

#define MAX_KEYS_PER_ACCOUNT 16

static struct nsl_store *store_of(struct nsl_call *call)
{
    return nsl_storage_get(call->ctx->storage, &call->error);
}

static bool is_admin(const struct nsl_call *call)
{
    return nsl_permission_held(call->caller.roles, call->caller.extra_permissions, "account:*");
}

/* prefix + 2*n random hex digits */
static void random_id(const char *prefix, size_t n, char *out, size_t cap)
{
    uint8_t bytes[16];
    char hex[33];
    nsl_random_bytes(bytes, n);
    nsl_hex_encode(bytes, n, hex);
    snprintf(out, cap, "%s%s", prefix, hex);
}

static nsl_err check_roles(struct nsl_call *call, const json_t *roles)
{
    size_t i;
    json_t *r;
    if (json_array_size(roles) == 0)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS, "params.roles must not be empty");
    json_array_foreach(roles, i, r)
    {
        if (!json_is_string(r) || !nsl_role_valid(json_string_value(r)))
            return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                            "params.roles[%zu] must be admin, operator or user", i);
    }
    return NSL_OK;
}

static nsl_err check_permissions(struct nsl_call *call, const json_t *perms)
{
    size_t i;
    json_t *p;
    json_array_foreach(perms, i, p)
    {
        if (!json_is_string(p) || !nsl_permission_valid(json_string_value(p)))
            return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                            "params.permissions[%zu] must be \"*\", \"service:*\" or "
                            "\"service:operation\"",
                            i);
    }
    return NSL_OK;
}

static nsl_err check_public_key(struct nsl_call *call, const char *hex)
{
    uint8_t pub[NSL_NEO_PUBKEY_LEN];
    size_t n = 0;
    if (!hex)
        return NSL_OK;
    if (nsl_hex_decode(hex, strlen(hex), pub, sizeof pub, &n) != 0 || n != sizeof pub ||
        nsl_neo_pubkey_check(pub, n) != 0)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.publicKey must be a compressed secp256r1 point (33 bytes hex)");
    return NSL_OK;
}

static json_t *new_account(const char *id, const char *name, const json_t *roles,
                           const char *public_key)
{
    json_int_t now = (json_int_t)time(NULL);
    return json_pack("{s:s, s:s, s:O, s:[], s:b, s:s?, s:[], s:I, s:I}", "id", id, "name", name,
                     "roles", roles, "permissions", "disabled", 0, "publicKey", public_key, "keys",
                     "createdAt", now, "updatedAt", now);
}

/* The view of an account that leaves the enclave. */
static json_t *account_view(const json_t *account)
{
    json_t *v = json_deep_copy(account);
    json_object_set(v, "accountId", json_object_get(account, "id"));
    json_object_del(v, "id");
    return v;
}

/* A fresh API key for account_id: the key record to store and the key text to show once. */
static nsl_err new_api_key(struct nsl_call *call, const char *account_id, json_t **record,
                           char key_id[32], char api_key[96])
{
    uint8_t id_bytes[8], secret[32], digest[32];
    char id_hex[17], secret_hex[65], digest_hex[65];
    if (nsl_random_bytes(id_bytes, sizeof id_bytes) || nsl_random_bytes(secret, sizeof secret))
        return nsl_fail(&call->error, NSL_ERR_INTERNAL, "no randomness for an API key");
    nsl_hex_encode(id_bytes, sizeof id_bytes, id_hex);
    nsl_hex_encode(secret, sizeof secret, secret_hex);
    snprintf(api_key, 96, "nsl_%s_%s", id_hex, secret_hex);
    snprintf(key_id, 32, "key_%s", id_hex);
    nsl_sha256(api_key, strlen(api_key), digest);
    nsl_hex_encode(digest, sizeof digest, digest_hex);
    nsl_wipe(secret, sizeof secret);
    nsl_wipe(secret_hex, sizeof secret_hex);
    *record = json_pack("{s:s, s:s, s:s, s:b, s:I}", "keyId", key_id, "accountId", account_id,
                        "sha256", digest_hex, "revoked", 0, "createdAt", (json_int_t)time(NULL));
    return *record ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

static void account_key(const char *id, char out[80])
{
    snprintf(out, 80, "acct/%s", id);
}

nsl_err nsl_account_bootstrap(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *pub = nsl_json_str(call->params, "publicKey");
    NSL_TRY(check_public_key(call, pub));
    char id[48], key[80];
    random_id("acct_", 12, id, sizeof id);
    account_key(id, key);
    json_t *roles = json_pack("[s]", "admin");
    const char *name = nsl_json_str(call->params, "name");
    json_t *account = new_account(id, name ? name : "admin", roles, pub);
    json_t *marker = json_pack("{s:s}", "accountId", id);
    struct nsl_record_write w[] = {{"meta/bootstrap", 0, marker}, {key, 0, account}};
    nsl_err rc = nsl_records_commit(call->ctx->accounts, st, w, 2, &call->error);
    if (rc == NSL_ERR_CONFLICT)
        rc = nsl_fail(&call->error, NSL_ERR_ALREADY_EXISTS,
                      "bootstrap has already been done: an admin account exists");
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:O}", "accountId", id, "roles", roles);
    json_decref(roles);
    json_decref(account);
    json_decref(marker);
    return rc;
}

nsl_err nsl_account_create(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    json_t *roles = json_object_get(call->params, "roles");
    const char *pub = nsl_json_str(call->params, "publicKey");
    if (roles)
        NSL_TRY(check_roles(call, roles));
    NSL_TRY(check_public_key(call, pub));
    json_t *default_roles = roles ? NULL : json_pack("[s]", "user");
    char id[48], key[80], key_id[32], api_key[96], key_record_key[64];
    random_id("acct_", 12, id, sizeof id);
    account_key(id, key);
    json_t *account =
        new_account(id, nsl_json_str(call->params, "name"), roles ? roles : default_roles, pub);
    json_t *key_record = NULL;
    nsl_err rc = new_api_key(call, id, &key_record, key_id, api_key);
    if (rc == NSL_OK) {
        json_array_append_new(json_object_get(account, "keys"), json_string(key_id));
        snprintf(key_record_key, sizeof key_record_key, "key/%s", key_id);
        struct nsl_record_write w[] = {{key, 0, account}, {key_record_key, 0, key_record}};
        rc = nsl_records_commit(call->ctx->accounts, st, w, 2, &call->error);
    }
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:s, s:s, s:O}", "accountId", id, "keyId", key_id, "apiKey",
                                 api_key, "roles", json_object_get(account, "roles"));
    nsl_wipe(api_key, sizeof api_key);
    json_decref(default_roles);
    json_decref(account);
    json_decref(key_record);
    return rc;
}

/* Loads the account a request names: the caller's own unless accountId is given, which only
 * admins may do for another account. */
static nsl_err load_target(struct nsl_call *call, struct nsl_store *st, json_t **account,
                           uint64_t *version)
{
    const char *id = nsl_json_str(call->params, "accountId");
    if (!id)
        id = call->caller.account_id;
    if (strcmp(id, call->caller.account_id) != 0 && !is_admin(call))
        return nsl_fail(&call->error, NSL_ERR_PERMISSION_DENIED,
                        "only admins may act on another account");
    char key[80];
    account_key(id, key);
    nsl_err rc = nsl_records_load(call->ctx->accounts, st, key, account, version, &call->error);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no account %s", id);
    return rc;
}

nsl_err nsl_account_get(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    json_t *account = NULL;
    uint64_t version;
    if (!st)
        return call->error.code;
    NSL_TRY(load_target(call, st, &account, &version));
    call->result = account_view(account);
    json_decref(account);
    return NSL_OK;
}

nsl_err nsl_account_list(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *after = nsl_json_str(call->params, "after");
    char after_key[80];
    if (after)
        account_key(after, after_key);
    json_t *records = NULL;
    bool more = false;
    NSL_TRY(nsl_records_list(call->ctx->accounts, st, "acct/", after ? after_key : NULL,
                             (size_t)nsl_json_int(call->params, "limit", 100), &records, &more,
                             &call->error));
    json_t *views = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) json_array_append_new(views, account_view(r));
    call->result = json_pack("{s:o, s:b}", "accounts", views, "more", more);
    json_decref(records);
    return NSL_OK;
}

nsl_err nsl_account_update(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const json_t *p = call->params;
    json_t *roles = json_object_get(p, "roles"), *perms = json_object_get(p, "permissions");
    json_t *disabled = json_object_get(p, "disabled");
    if (roles)
        NSL_TRY(check_roles(call, roles));
    if (perms)
        NSL_TRY(check_permissions(call, perms));
    const char *id = nsl_json_str(p, "accountId");
    if (strcmp(id, call->caller.account_id) == 0 && (json_is_true(disabled) || roles))
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "an admin cannot disable or change the roles of their own account");
    json_t *account = NULL;
    uint64_t version;
    NSL_TRY(load_target(call, st, &account, &version));
    if (roles)
        json_object_set(account, "roles", roles);
    if (perms)
        json_object_set(account, "permissions", perms);
    if (disabled)
        json_object_set(account, "disabled", disabled);
    json_object_set_new(account, "updatedAt", json_integer((json_int_t)time(NULL)));
    char key[80];
    account_key(id, key);
    struct nsl_record_write w[] = {{key, version, account}};
    nsl_err rc = nsl_records_commit(call->ctx->accounts, st, w, 1, &call->error);
    if (rc == NSL_OK)
        call->result = account_view(account);
    json_decref(account);
    return rc;
}

nsl_err nsl_account_delete(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *id = nsl_json_str(call->params, "accountId");
    if (strcmp(id, call->caller.account_id) == 0)
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "an admin cannot delete their own account");
    json_t *account = NULL;
    uint64_t version;
    NSL_TRY(load_target(call, st, &account, &version));
    json_t *keys = json_object_get(account, "keys");
    size_t n = json_array_size(keys);
    struct nsl_record_write w[1 + MAX_KEYS_PER_ACCOUNT];
    char names[1 + MAX_KEYS_PER_ACCOUNT][80];
    nsl_err rc = NSL_OK;
    account_key(id, names[0]);
    w[0] = (struct nsl_record_write){names[0], version, NULL};
    for (size_t i = 0; i < n && i < MAX_KEYS_PER_ACCOUNT && rc == NSL_OK; i++) {
        json_t *record = NULL;
        uint64_t kv;
        snprintf(names[i + 1], sizeof names[i + 1], "key/%s",
                 json_string_value(json_array_get(keys, i)));
        rc = nsl_records_load(call->ctx->accounts, st, names[i + 1], &record, &kv, &call->error);
        json_decref(record);
        w[i + 1] = (struct nsl_record_write){names[i + 1], kv, NULL};
    }
    if (rc == NSL_OK)
        rc = nsl_records_commit(call->ctx->accounts, st, w, 1 + (n < 16 ? n : 16), &call->error);
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:b}", "accountId", id, "deleted", 1);
    json_decref(account);
    return rc;
}

nsl_err nsl_account_createApiKey(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    json_t *account = NULL, *key_record = NULL;
    uint64_t version;
    NSL_TRY(load_target(call, st, &account, &version));
    json_t *keys = json_object_get(account, "keys");
    const char *id = nsl_json_str(account, "id");
    char key[80], key_id[32], api_key[96], record_key[64];
    nsl_err rc = NSL_OK;
    if (json_array_size(keys) >= MAX_KEYS_PER_ACCOUNT)
        rc = nsl_fail(&call->error, NSL_ERR_LIMIT_EXCEEDED, "an account holds at most %d API keys",
                      MAX_KEYS_PER_ACCOUNT);
    if (rc == NSL_OK)
        rc = new_api_key(call, id, &key_record, key_id, api_key);
    if (rc == NSL_OK) {
        json_array_append_new(keys, json_string(key_id));
        account_key(id, key);
        snprintf(record_key, sizeof record_key, "key/%s", key_id);
        struct nsl_record_write w[] = {{key, version, account}, {record_key, 0, key_record}};
        rc = nsl_records_commit(call->ctx->accounts, st, w, 2, &call->error);
    }
    if (rc == NSL_OK)
        call->result =
            json_pack("{s:s, s:s, s:s}", "accountId", id, "keyId", key_id, "apiKey", api_key);
    nsl_wipe(api_key, sizeof api_key);
    json_decref(account);
    json_decref(key_record);
    return rc;
}

nsl_err nsl_account_revokeApiKey(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *key_id = nsl_json_str(call->params, "keyId");
    char record_key[80], key[80];
    snprintf(record_key, sizeof record_key, "key/%s", key_id);
    json_t *record = NULL, *account = NULL;
    uint64_t record_version, account_version;
    nsl_err rc = nsl_records_load(call->ctx->accounts, st, record_key, &record, &record_version,
                                  &call->error);
    const char *owner = nsl_json_str(record, "accountId");
    /* Someone else's key is reported as absent: its existence is not the caller's business. */
    if (rc == NSL_ERR_NOT_FOUND ||
        (rc == NSL_OK &&
         (!owner || (strcmp(owner, call->caller.account_id) != 0 && !is_admin(call)))))
        rc = nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no API key %s", key_id);
    if (rc == NSL_OK) {
        account_key(owner, key);
        rc = nsl_records_load(call->ctx->accounts, st, key, &account, &account_version,
                              &call->error);
    }
    if (rc == NSL_OK) {
        json_t *keys = json_object_get(account, "keys");
        for (size_t i = 0; i < json_array_size(keys); i++)
            if (strcmp(json_string_value(json_array_get(keys, i)) ?: "", key_id) == 0)
                json_array_remove(keys, i--);
        json_object_set_new(record, "revoked", json_true());
        struct nsl_record_write w[] = {{key, account_version, account},
                                       {record_key, record_version, record}};
        rc = nsl_records_commit(call->ctx->accounts, st, w, 2, &call->error);
    }
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:b}", "keyId", key_id, "revoked", 1);
    json_decref(record);
    json_decref(account);
    return rc;
}

nsl_err nsl_account_whoami(struct nsl_call *call)
{
    const struct nsl_caller *c = &call->caller;
    call->result =
        json_pack("{s:s, s:s, s:O, s:o}", "accountId", c->account_id, "scheme",
                  c->scheme == NSL_AUTH_NEO_SIG ? "neo-sig" : "apikey", "roles", c->roles,
                  "permissions", nsl_permissions_effective(c->roles, c->extra_permissions));
    if (call->result && c->scheme == NSL_AUTH_APIKEY)
        json_object_set_new(call->result, "keyId", json_string(c->key_id));
    return call->result ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_account_auditLog(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    json_t *entries = NULL, *verification = NULL;
    NSL_TRY(nsl_audit_read(call->ctx->audit, st, (uint64_t)nsl_json_int(call->params, "since", 1),
                           (size_t)nsl_json_int(call->params, "limit", 100), &entries,
                           &verification, &call->error));
    json_object_set_new(verification, "entries", entries);
    call->result = verification;
    return NSL_OK;
}
