/* The function service (issue 8): users deploy JavaScript that runs in the sandbox
 * (src/sandbox) with their granted secrets, and get a result with a receipt signed by the
 * enclave's signing key. Records (namespace "functions"): meta/<account>/<name> (version, code
 * hash, declared secrets, limits, schedule), src/<account>/<name>/<version> (the source),
 * run/<account>/<name>/<time> (recent scheduled runs). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encoding.h"
#include "common/jcs.h"
#include "common/json.h"
#include "crypto/hash.h"
#include "enclave/identity.h"
#include "enclave/storage.h"
#include "sandbox/sandbox.h"
#include "services/function_cache.h"
#include "services/function_host.h"
#include "services/function_receipt.h"
#include "services/function_schedule.h"
#include "services/service.h"

#define NS "functions"

static struct nsl_store *store_of(struct nsl_call *call)
{
    return nsl_storage_get(call->ctx->storage, &call->error);
}

static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static void key_of(const char *kind, const char *account, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s", kind, account, name);
}

static nsl_err load_json(struct nsl_call *call, struct nsl_store *st, const char *key, json_t **out,
                         uint64_t *version)
{
    struct nsl_secret *bytes = NULL;
    NSL_TRY(nsl_store_get(st, NS, key, &bytes, version, &call->error));
    *out = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                 NSL_ERR_INTERNAL, &call->error);
    nsl_secret_free(bytes);
    return *out ? NSL_OK : NSL_ERR_INTERNAL;
}

static nsl_err load_meta(struct nsl_call *call, struct nsl_store *st, const char *account,
                         const char *name, json_t **meta, uint64_t *version)
{
    char key[200];
    key_of("meta", account, name, key, sizeof key);
    nsl_err rc = load_json(call, st, key, meta, version);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no function %s", name);
    return rc;
}

/* Limits from params (defaults and ceilings of issue 8). */
static nsl_err read_limits(struct nsl_call *call, const json_t *given, json_t **out)
{
    static const struct {
        const char *name;
        json_int_t def, max;
    } table[] = {{"timeMs", 1000, 10000},
                 {"memoryBytes", 16 << 20, 128 << 20},
                 {"resultBytes", 64 << 10, 64 << 10},
                 {"logBytes", 64 << 10, 64 << 10},
                 {"httpRequests", 5, 50}};
    *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)given, key, v)
    {
        size_t i = 0;
        while (i < 5 && strcmp(table[i].name, key) != 0)
            i++;
        if (i == 5)
            return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                            "params.limits has unknown field \"%.32s\"", key);
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > table[i].max)
            return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                            "params.limits.%s must be an integer in [1, %lld]", key,
                            (long long)table[i].max);
    }
    for (size_t i = 0; i < 5; i++) {
        json_t *g = json_object_get(given, table[i].name);
        json_object_set_new(*out, table[i].name,
                            json_integer(g ? json_integer_value(g) : table[i].def));
    }
    return NSL_OK;
}

static void hex_sha256(const void *data, size_t len, char out[65])
{
    uint8_t d[32];
    nsl_sha256(data, len, d);
    nsl_hex_encode(d, 32, out);
}

nsl_err nsl_function_deploy(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *name = nsl_json_str(call->params, "name"),
               *source = nsl_json_str(call->params, "source");
    if (!name_valid(name))
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.name must match [A-Za-z0-9_.-]{1,64}");
    if (!call->ctx->sandbox)
        return nsl_fail(&call->error, NSL_ERR_UNAVAILABLE, "the function sandbox is not running");
    size_t source_len = json_string_length(json_object_get(call->params, "source"));
    NSL_TRY(nsl_sandbox_check_syntax(call->ctx->sandbox, source, source_len, &call->error));
    json_t *limits = NULL, *meta = NULL;
    nsl_err rc = read_limits(call, json_object_get(call->params, "limits"), &limits);
    uint64_t meta_version = 0;
    if (rc == NSL_OK) {
        rc = load_meta(call, st, call->caller.account_id, name, &meta, &meta_version);
        if (rc == NSL_ERR_NOT_FOUND)
            rc = NSL_OK; /* a new function */
    }
    /* After a delete, meta_version is the tombstone's: numbering goes on from there, so a
     * version (and its source key) is never reused for other code. */
    json_int_t version = meta ? nsl_json_int(meta, "version", 0) + 1 : (json_int_t)meta_version + 1;
    char code_hash[65], meta_key[200], src_key[220];
    hex_sha256(source, source_len, code_hash);
    json_t *secrets = json_object_get(call->params, "secrets");
    json_t *record =
        json_pack("{s:s, s:I, s:s, s:o, s:O, s:I}", "name", name, "version", version, "codeHash",
                  code_hash, "secrets", secrets ? json_incref(secrets) : json_array(), "limits",
                  limits, "updatedAt", (json_int_t)time(NULL));
    if (rc == NSL_OK && record) {
        key_of("meta", call->caller.account_id, name, meta_key, sizeof meta_key);
        snprintf(src_key, sizeof src_key, "src/%s/%s/%010lld", call->caller.account_id, name,
                 (long long)version);
        size_t len;
        char *text = nsl_json_dump(record, &len);
        struct nsl_store_write w[] = {{NSL_STORE_PUT, NS, src_key, 0, source, source_len},
                                      {NSL_STORE_PUT, NS, meta_key, meta_version, text, len}};
        uint64_t versions[2];
        rc = text ? nsl_store_batch(st, w, 2, versions, &call->error)
                  : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
        nsl_function_cache_evict(call->ctx->functions, call->caller.account_id, name);
        free(text);
    }
    if (rc == NSL_OK)
        call->result =
            json_pack("{s:s, s:I, s:s}", "name", name, "version", version, "codeHash", code_hash);
    json_decref(record);
    json_decref(limits);
    json_decref(meta);
    return rc;
}

nsl_err nsl_function_get(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    uint64_t v;
    if (!st)
        return call->error.code;
    return load_meta(call, st, call->caller.account_id, nsl_json_str(call->params, "name"),
                     &call->result, &v);
}

nsl_err nsl_function_list(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "meta/%s/", call->caller.account_id);
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, NS, prefix, NULL, 1000, &page, &call->error));
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++) {
        json_t *r =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (r)
            json_array_append_new(items, r);
    }
    call->result = json_pack("{s:o, s:b}", "functions", items, "more", page.more);
    nsl_store_page_free(&page);
    return NSL_OK;
}

nsl_err nsl_function_delete(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    const char *name = nsl_json_str(call->params, "name");
    json_t *meta = NULL;
    uint64_t version;
    NSL_TRY(load_meta(call, st, call->caller.account_id, name, &meta, &version));
    char key[200];
    key_of("meta", call->caller.account_id, name, key, sizeof key);
    nsl_function_unschedule_name(call->ctx, call->caller.account_id, name);
    nsl_err rc = nsl_store_delete(st, NS, key, version, &call->error);
    nsl_function_cache_evict(call->ctx->functions, call->caller.account_id, name);
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:b}", "name", name, "deleted", 1);
    json_decref(meta);
    return rc;
}

/* The receipt of issue 8 (function_receipt.h): hashes of code, args and result, signed over the
 * JCS of the receipt without "signature". */
static nsl_err make_receipt(struct nsl_call *call, const json_t *meta, const json_t *args,
                            const json_t *result, json_t **receipt)
{
    struct nsl_store *st = store_of(call);
    struct nsl_neo_signing_key *signer = NULL;
    if (!st)
        return call->error.code;
    NSL_TRY(nsl_identity_signer(call->ctx->identity, st, &signer, &call->error));
    size_t alen, rlen, len;
    char *ajcs = nsl_jcs_serialize(args, &alen), *rjcs = nsl_jcs_serialize(result, &rlen);
    /* Copies, not references: meta is shared with other invocations (function_cache.h). */
    struct nsl_function_receipt r = {.function_name = nsl_json_str(meta, "name"),
                                     .version = nsl_json_int(meta, "version", 0),
                                     .code_hash = nsl_json_str(meta, "codeHash"),
                                     .timestamp = (int64_t)time(NULL)};
    char *text = NULL;
    nsl_err rc = ajcs && rjcs ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK && (!r.function_name || !r.code_hash))
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "the function's record is incomplete");
    if (rc == NSL_OK) {
        hex_sha256(ajcs, alen, r.args_hash);
        hex_sha256(rjcs, rlen, r.result_hash);
        nsl_hex_encode(nsl_neo_signing_key_public(signer), NSL_NEO_PUBKEY_LEN, r.signer_public_key);
        *receipt = nsl_function_receipt_json(&r);
        text = *receipt ? nsl_jcs_serialize(*receipt, &len) : NULL;
        rc = text ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    }
    uint8_t sig[NSL_NEO_SIG_LEN];
    char sig_hex[2 * NSL_NEO_SIG_LEN + 1];
    if (rc == NSL_OK)
        rc = nsl_neo_signing_key_sign(signer, text, len, sig, &call->error);
    if (rc == NSL_OK) {
        nsl_hex_encode(sig, sizeof sig, sig_hex);
        json_object_set_new(*receipt, "signature", json_string(sig_hex));
    } else if (*receipt) {
        json_decref(*receipt);
        *receipt = NULL;
    }
    free(text);
    free(ajcs);
    free(rjcs);
    nsl_neo_signing_key_free(signer);
    return rc;
}

nsl_err nsl_function_invoke(struct nsl_call *call)
{
    json_t *args = json_object_get(call->params, "args");
    json_t *empty = args ? NULL : json_object();
    nsl_err rc =
        nsl_function_run(call->ctx, call->caller.account_id, nsl_json_str(call->params, "name"),
                         args ? args : empty, &call->result, &call->error);
    json_decref(empty);
    return rc;
}

/* Keeps the cached *code only while no other enclave sharing the store has redeployed or deleted
 * the function since it was cached (its meta record's version has not moved); else releases it
 * and sets *code to NULL so that it is loaded again. */
static nsl_err still_current(struct nsl_call *call, struct nsl_store *st, const char *account,
                             const char *name, const struct nsl_function_code **code)
{
    if (!nsl_store_shared(st))
        return NSL_OK;
    char key[200];
    uint64_t current = 0;
    key_of("meta", account, name, key, sizeof key);
    nsl_err rc = nsl_store_version(st, NS, key, &current, &call->error);
    if (rc != NSL_OK || current != (*code)->meta_version) {
        nsl_function_code_release(*code);
        *code = NULL;
    }
    return rc;
}

/* The code to run for account's function name: cached, else its meta record and the source of
 * its version from the store, the source checked against the meta's codeHash (so a run always
 * executes the code its receipt names), then cached (function_cache.h). */
static nsl_err load_code(struct nsl_call *call, struct nsl_store *st, const char *account,
                         const char *name, const struct nsl_function_code **out)
{
    struct nsl_function_cache *cache = call->ctx->functions;
    if ((*out = nsl_function_cache_get(cache, account, name)) != NULL) {
        nsl_err rc = still_current(call, st, account, name, out);
        if (rc != NSL_OK || *out)
            return rc;
    }
    uint64_t generation = nsl_function_cache_generation(cache), version, meta_version;
    json_t *meta = NULL;
    NSL_TRY(load_meta(call, st, account, name, &meta, &meta_version));
    char key[220], hash[65];
    snprintf(key, sizeof key, "src/%s/%s/%010lld", account, name,
             (long long)nsl_json_int(meta, "version", 0));
    struct nsl_secret *source = NULL;
    nsl_err rc = nsl_store_get(st, NS, key, &source, &version, &call->error);
    if (rc == NSL_OK) {
        hex_sha256(nsl_secret_bytes(source), nsl_secret_len(source), hash);
        if (strcmp(hash, nsl_json_str(meta, "codeHash") ?: "") != 0)
            rc = nsl_fail(&call->error, NSL_ERR_INTERNAL,
                          "function %s: the stored source does not match its code hash", name);
    }
    if (rc == NSL_OK) {
        struct nsl_function_code *code = nsl_function_code_new(
            meta, (const char *)nsl_secret_bytes(source), nsl_secret_len(source));
        meta = NULL; /* the code owns it now (or freed it) */
        if (code)
            code->meta_version = meta_version;
        *out = code;
        rc = *out ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    }
    if (rc == NSL_OK)
        nsl_function_cache_put(cache, account, name, generation, *out);
    nsl_secret_free(source);
    json_decref(meta);
    return rc;
}

nsl_err nsl_function_run(struct nsl_enclave_ctx *ctx, const char *account, const char *name,
                         const json_t *args, json_t **out, struct nsl_error *err)
{
    struct nsl_call call = {.ctx = ctx, .params = NULL};
    snprintf(call.caller.account_id, sizeof call.caller.account_id, "%s", account);
    struct nsl_store *st = store_of(&call);
    if (!st || !ctx->sandbox) {
        *err = call.error;
        return st ? nsl_fail(err, NSL_ERR_UNAVAILABLE, "the function sandbox is not running")
                  : call.error.code;
    }
    const struct nsl_function_code *code = NULL;
    nsl_err rc = load_code(&call, st, account, name, &code);
    struct nsl_sandbox_outcome outcome = {0};
    if (rc == NSL_OK) {
        json_t *limits = json_object_get(code->meta, "limits");
        struct nsl_function_host host_ctx = {.ctx = ctx,
                                             .store = st,
                                             .account = account,
                                             .function = name,
                                             .declared = json_object_get(code->meta, "secrets")};
        struct nsl_sandbox_host host = nsl_function_host_callbacks(&host_ctx);
        struct nsl_sandbox_run run = {
            .source = code->source,
            .source_len = code->source_len,
            .args = args,
            .limits = {(uint32_t)nsl_json_int(limits, "timeMs", 1000),
                       (size_t)nsl_json_int(limits, "memoryBytes", 16 << 20),
                       (size_t)nsl_json_int(limits, "resultBytes", 64 << 10),
                       (size_t)nsl_json_int(limits, "logBytes", 64 << 10),
                       (uint32_t)nsl_json_int(limits, "httpRequests", 5)},
            .host = &host};
        rc = nsl_sandbox_invoke(ctx->sandbox, &run, &outcome, &call.error);
    }
    json_t *receipt = NULL;
    if (rc == NSL_OK)
        rc = make_receipt(&call, code->meta, args, outcome.result, &receipt);
    if (rc == NSL_OK)
        *out = json_pack("{s:O, s:O, s:{s:I, s:I, s:I}, s:o}", "result", outcome.result, "logs",
                         outcome.logs, "usage", "durationUs", (json_int_t)outcome.duration_us,
                         "memoryPeakBytes", (json_int_t)outcome.memory_peak, "httpRequests",
                         (json_int_t)outcome.http_requests, "receipt", receipt);
    nsl_sandbox_outcome_free(&outcome);
    nsl_function_code_release(code);
    if (rc != NSL_OK)
        *err = call.error;
    return rc;
}
