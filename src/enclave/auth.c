/* Authentication, authorization and rate limiting (see auth.h). */
#define NSL_LOG_COMPONENT NSL_LOGC_AUTH
#include "enclave/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/json.h"
#include "common/log.h"
#include "common/time_keys.h"
#include "crypto/hash.h"
#include "crypto/request_sig.h"
#include "crypto/secret.h"
#include "enclave/probe.h"
#include "enclave/rate_limit.h"
#include "enclave/replay_cache.h"
#include "enclave/storage.h"
#include "neo/key.h"
#include "services/permissions.h"
#include "services/records.h"

static const struct nsl_field_spec apikey_schema[] = {
    {"scheme", NSL_FIELD_STRING, true, 16, 0, 0, NULL},
    {"apiKey", NSL_FIELD_STRING, true, 128, 0, 0, NULL},
    NSL_FIELDS_END,
};

static const struct nsl_field_spec neo_sig_schema[] = {
    {"scheme", NSL_FIELD_STRING, true, 16, 0, 0, NULL},
    {"account", NSL_FIELD_STRING, true, 47, 0, 0, NULL},
    {"timestamp", NSL_FIELD_DIGITS, true, 12, 0, 0, NULL},
    {"nonce", NSL_FIELD_STRING, true, NSL_NONCE_MAX_LEN, 0, 0, NULL},
    {"signature", NSL_FIELD_HEX, true, NSL_NEO_SIG_LEN, 0, 0, NULL},
    NSL_FIELDS_END,
};

void nsl_caller_clear(struct nsl_caller *c)
{
    json_decref((json_t *)c->extra_permissions);
    json_decref((json_t *)c->roles);
    memset(c, 0, sizeof *c);
}

/* Every credential failure says the same to the client: which check failed is for the log,
 * written by the router with the answer. */
static nsl_err refuse(struct nsl_call *call, const char *why)
{
    call->auth_failure = why;
    return nsl_fail(&call->error, NSL_ERR_UNAUTHENTICATED, "invalid credentials");
}

/* Loads the account and fills the caller; refuses disabled or missing accounts. */
static nsl_err adopt_account(struct nsl_call *call, struct nsl_store *st, const char *account_id,
                             const json_t **account_out)
{
    char key[96];
    snprintf(key, sizeof key, "acct/%s", account_id);
    const json_t *account = NULL;
    uint64_t version;
    nsl_err rc = nsl_records_view(call->ctx->accounts, st, key, &account, &version, &call->error);
    if (rc == NSL_ERR_NOT_FOUND)
        return refuse(call, "no such account");
    NSL_TRY(rc);
    if (nsl_json_bool(account, "disabled", false)) {
        json_decref((json_t *)account);
        return refuse(call, "account disabled");
    }
    struct nsl_caller *c = &call->caller;
    snprintf(c->account_id, sizeof c->account_id, "%s", account_id);
    c->roles = json_incref(json_object_get(account, "roles"));
    c->extra_permissions = json_incref(json_object_get(account, "permissions"));
    *account_out = account;
    return NSL_OK;
}

/* "nsl_<16 hex keyId>_<64 hex secret>" */
static bool parse_api_key(const char *key, char key_id[32])
{
    if (strlen(key) != 4 + 16 + 1 + 64 || strncmp(key, "nsl_", 4) != 0 || key[20] != '_')
        return false;
    for (size_t i = 4; i < strlen(key); i++)
        if (i != 20 && !((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
            return false;
    snprintf(key_id, 32, "key_%.16s", key + 4);
    return true;
}

static nsl_err authenticate_apikey(struct nsl_call *call, struct nsl_store *st, const json_t *auth)
{
    NSL_TRY(nsl_json_check(auth, apikey_schema, NSL_ERR_UNAUTHENTICATED, "auth", &call->error));
    const char *api_key = nsl_json_str(auth, "apiKey");
    char key_id[32], record_key[64];
    if (!parse_api_key(api_key, key_id))
        return refuse(call, "malformed api key");
    snprintf(record_key, sizeof record_key, "key/%s", key_id);
    const json_t *record = NULL;
    uint64_t version;
    nsl_err rc =
        nsl_records_view(call->ctx->accounts, st, record_key, &record, &version, &call->error);
    if (rc == NSL_ERR_NOT_FOUND)
        return refuse(call, "unknown api key");
    NSL_TRY(rc);
    uint8_t want[32], got[32];
    size_t n = 0;
    const char *stored = nsl_json_str(record, "sha256");
    bool match = stored && nsl_hex_decode(stored, strlen(stored), want, sizeof want, &n) == 0 &&
                 n == 32 && nsl_sha256(api_key, strlen(api_key), got) == 0 &&
                 nsl_equal_ct(want, got, 32);
    bool revoked = nsl_json_bool(record, "revoked", true);
    char account_id[48];
    snprintf(account_id, sizeof account_id, "%s", nsl_json_str(record, "accountId") ?: "");
    json_decref((json_t *)record);
    if (!match)
        return refuse(call, "api key does not match");
    if (revoked)
        return refuse(call, "api key revoked");
    const json_t *account = NULL;
    NSL_TRY(adopt_account(call, st, account_id, &account));
    json_decref((json_t *)account);
    call->caller.scheme = NSL_AUTH_APIKEY;
    snprintf(call->caller.key_id, sizeof call->caller.key_id, "%s", key_id);
    return NSL_OK;
}

/* Kept for callers of the enclave's name; the string itself is shared with clients. */
char *nsl_auth_canonical_string(const char *service, const char *operation, const json_t *params,
                                const char *timestamp, const char *nonce)
{
    return nsl_request_canonical_string(service, operation, params, timestamp, nonce);
}

static bool nonce_valid(const char *nonce)
{
    size_t n = strlen(nonce);
    if (n < NSL_NONCE_MIN_LEN || n > NSL_NONCE_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = nonce[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool signature_valid(const json_t *account, const char *message, const char *sig_hex)
{
    const char *pub_hex = nsl_json_str(account, "publicKey");
    uint8_t pub[NSL_NEO_PUBKEY_LEN], sig[NSL_NEO_SIG_LEN];
    size_t pn = 0, sn = 0;
    return pub_hex && nsl_hex_decode(pub_hex, strlen(pub_hex), pub, sizeof pub, &pn) == 0 &&
           nsl_hex_decode(sig_hex, strlen(sig_hex), sig, sizeof sig, &sn) == 0 &&
           sn == NSL_NEO_SIG_LEN &&
           nsl_neo_pubkey_verify(pub, pn, message, strlen(message), sig, sn) == 0;
}

/* With a store shared by several enclaves, the replay cache above sees only this enclave's
 * requests: a request captured by a compromised parent could be replayed to another pair. So the
 * nonce is also spent in the store, by a write that only the first of them can make (expected
 * version 0). The signed timestamp is part of the key, so a replay (same timestamp) meets the
 * same key; it leads the key as ten digits (a time-keyed namespace, common/time_keys.h), so the
 * nonce sweeper can drop records older than the window (enclave/nonce_sweep.h). */
static nsl_err spend_shared_nonce(struct nsl_call *call, struct nsl_store *st, int64_t when,
                                  const char *nonce)
{
    if (!nsl_store_shared(st))
        return NSL_OK;
    char key[NSL_STORE_MAX_KEY + 1], time_key[NSL_TIME_KEY_DIGITS + 1];
    if (nsl_time_key_format(when, time_key) != 0 ||
        snprintf(key, sizeof key, "%s/%s/%s", time_key, call->caller.account_id, nonce) >=
            (int)sizeof key)
        return refuse(call, "malformed nonce");
    uint64_t version;
    nsl_err rc = nsl_store_put(st, NSL_NONCES_NS, key, 0, "", 0, &version, &call->error);
    if (rc == NSL_ERR_CONFLICT)
        return refuse(call, "nonce replayed");
    return rc;
}

static nsl_err authenticate_neo_sig(struct nsl_call *call, struct nsl_store *st, const json_t *auth)
{
    /* A nonce is spent exactly once: never by a probe whose request may run again. */
    if (nsl_probe_refuse(&call->error))
        return call->error.code;
    NSL_TRY(nsl_json_check(auth, neo_sig_schema, NSL_ERR_UNAUTHENTICATED, "auth", &call->error));
    const char *ts = nsl_json_str(auth, "timestamp"), *nonce = nsl_json_str(auth, "nonce");
    int64_t now = (int64_t)time(NULL), when = strtoll(ts, NULL, 10);
    int64_t window = call->ctx->auth_window_sec;
    if (!nonce_valid(nonce))
        return refuse(call, "malformed nonce");
    if (when < now - window || when > now + window)
        return nsl_fail(&call->error, NSL_ERR_UNAUTHENTICATED,
                        "timestamp is outside the accepted window of ±%lld s", (long long)window);
    const json_t *account = NULL;
    NSL_TRY(adopt_account(call, st, nsl_json_str(auth, "account"), &account));
    char *message = nsl_request_canonical_string(call->route->service, call->route->operation,
                                                 call->wire_params, ts, nonce);
    bool ok = message && signature_valid(account, message, nsl_json_str(auth, "signature"));
    free(message);
    json_decref((json_t *)account);
    if (!ok)
        return refuse(call, "signature does not verify");
    /* Only a verified request may spend a nonce, so garbage cannot fill the cache. */
    switch (nsl_replay_cache_check(call->ctx->replay, call->caller.account_id, nonce, now,
                                   when + window + 1)) {
    case NSL_REPLAY_FRESH:
        break;
    case NSL_REPLAY_SEEN:
        return refuse(call, "nonce replayed");
    case NSL_REPLAY_FULL:
        return nsl_fail(&call->error, NSL_ERR_RATE_LIMITED,
                        "too many signed requests in the time window; retry later");
    }
    NSL_TRY(spend_shared_nonce(call, st, when, nonce));
    call->caller.scheme = NSL_AUTH_NEO_SIG;
    return NSL_OK;
}

nsl_err nsl_auth_authenticate(struct nsl_call *call, const json_t *auth)
{
    if (call->route->flags & NSL_ROUTE_PUBLIC)
        return NSL_OK;
    if (!auth)
        return nsl_fail(&call->error, NSL_ERR_UNAUTHENTICATED, "%s.%s needs credentials",
                        call->route->service, call->route->operation);
    struct nsl_store *st = nsl_storage_get(call->ctx->storage, &call->error);
    if (!st)
        return call->error.code;
    const char *scheme = nsl_json_str(auth, "scheme");
    nsl_err rc;
    if (scheme && strcmp(scheme, "apikey") == 0)
        rc = authenticate_apikey(call, st, auth);
    else if (scheme && strcmp(scheme, "neo-sig") == 0)
        rc = authenticate_neo_sig(call, st, auth);
    else
        rc = nsl_fail(&call->error, NSL_ERR_UNAUTHENTICATED,
                      "auth.scheme must be \"apikey\" or \"neo-sig\"");
    if (rc != NSL_OK)
        nsl_caller_clear(&call->caller);
    return rc;
}

nsl_err nsl_auth_authorize(struct nsl_call *call)
{
    const struct nsl_route *route = call->route;
    if (route->flags & NSL_ROUTE_PUBLIC)
        return NSL_OK;
    if (!nsl_permission_held(call->caller.roles, call->caller.extra_permissions, route->permission))
        return nsl_fail(&call->error, NSL_ERR_PERMISSION_DENIED, "missing permission %s",
                        route->permission);
    if ((route->flags & NSL_ROUTE_ADMIN) && call->caller.scheme != NSL_AUTH_NEO_SIG)
        return nsl_fail(&call->error, NSL_ERR_PERMISSION_DENIED,
                        "%s.%s is an admin operation and needs a neo-sig signed request",
                        route->service, route->operation);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (call->rate_charged)
        return NSL_OK;
    if (!nsl_rate_limit_take(call->ctx->rate, call->caller.account_id, now_ms))
        return nsl_fail(&call->error, NSL_ERR_RATE_LIMITED,
                        "account %s is over its request rate; retry later",
                        call->caller.account_id);
    call->rate_charged = true;
    return NSL_OK;
}
