/* kv.* host operations (see host_kv.h). Every parameter is checked against docs/storage.md's
 * limits before the store is touched; failures are INVALID_PARAMS naming the field. */
#include "parent/host_kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "common/time_keys.h"
#include "parent/blobstore.h"
#include "parent/metrics.h"

#define NS_FIELD                                                                                   \
    {                                                                                              \
        "ns", NSL_FIELD_STRING, true, NSL_BLOB_MAX_NS, 0, 0, "namespace"                           \
    }
#define KEY_FIELD                                                                                  \
    {                                                                                              \
        "key", NSL_FIELD_STRING, true, NSL_BLOB_MAX_KEY, 0, 0, "key"                               \
    }
#define VERSION_FIELD                                                                              \
    {                                                                                              \
        "expectedVersion", NSL_FIELD_INT, true, 0, 0, NSL_BLOB_MAX_VERSION, "0: never written"     \
    }
#define VALUE_FIELD(required)                                                                      \
    {                                                                                              \
        "value", NSL_FIELD_BASE64, required, NSL_BLOB_MAX_VALUE, 0, 0, "sealed blob"               \
    }

static const struct nsl_field_spec get_schema[] = {NS_FIELD, KEY_FIELD, NSL_FIELDS_END};
static const struct nsl_field_spec put_schema[] = {NS_FIELD, KEY_FIELD, VERSION_FIELD,
                                                   VALUE_FIELD(true), NSL_FIELDS_END};
static const struct nsl_field_spec delete_schema[] = {NS_FIELD, KEY_FIELD, VERSION_FIELD,
                                                      NSL_FIELDS_END};
static const struct nsl_field_spec list_schema[] = {
    NS_FIELD,
    {"prefix", NSL_FIELD_STRING, true, NSL_BLOB_MAX_KEY, 0, 0, "keys starting with it"},
    {"after", NSL_FIELD_STRING, false, NSL_BLOB_MAX_KEY, 0, 0, "keys above it"},
    {"limit", NSL_FIELD_INT, true, 0, 1, NSL_BLOB_MAX_LIST, "most items"},
    NSL_FIELDS_END};
static const struct nsl_field_spec batch_schema[] = {
    {"writes", NSL_FIELD_ARRAY, true, NSL_BLOB_MAX_BATCH, 0, 0, "1 to 256 writes"}, NSL_FIELDS_END};
static const struct nsl_field_spec batch_write_schema[] = {
    {"op", NSL_FIELD_STRING, true, 6, 0, 0, "put or delete"},
    NS_FIELD,
    KEY_FIELD,
    VERSION_FIELD,
    VALUE_FIELD(false),
    NSL_FIELDS_END};

/* ---- checks beyond the schema ---- */

static nsl_err check_ns(const char *where, const char *ns, struct nsl_error *err)
{
    size_t n = strlen(ns);
    if (n == 0 || strspn(ns, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s.ns must match [a-z0-9_]{1,64}", where);
    return NSL_OK;
}

/* A string member without NUL (length in bytes equals strlen) and, unless empty_ok, not empty. */
static nsl_err check_text(const json_t *obj, const char *where, const char *name, bool empty_ok,
                          struct nsl_error *err)
{
    const json_t *v = json_object_get(obj, name);
    size_t n = json_string_length(v);
    if (!v || (n == 0 && empty_ok))
        return NSL_OK;
    if (n == 0 || strlen(json_string_value(v)) != n)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "%s.%s must be 1 to %d bytes without NUL",
                        where, name, NSL_BLOB_MAX_KEY);
    return NSL_OK;
}

static nsl_err check_params(const json_t *params, const struct nsl_field_spec *schema,
                            const char *where, struct nsl_error *err)
{
    NSL_TRY(nsl_json_check(params, schema, NSL_ERR_INVALID_PARAMS, where, err));
    NSL_TRY(check_ns(where, nsl_json_str(params, "ns"), err));
    NSL_TRY(check_text(params, where, "key", false, err));
    NSL_TRY(check_text(params, where, "prefix", true, err));
    return check_text(params, where, "after", true, err);
}

static nsl_err store_of(struct nsl_host_context *ctx, enum nsl_kv_op op, struct nsl_error *err)
{
    if (ctx->metrics)
        nsl_metrics_count_kv_op(ctx->metrics, op);
    if (!ctx->store)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the parent has no store open");
    return NSL_OK;
}

/* ---- writes: a job per request, answered from the writer thread ---- */

struct kv_job {
    struct nsl_blob_job job;
    struct nsl_host_call *call;
    bool batch; /* answer {versions} rather than {version} */
    struct nsl_blob_write *writes;
    uint64_t *versions;
};

static void kv_job_free(struct kv_job *kj)
{
    for (size_t i = 0; kj && i < kj->job.count; i++) {
        free((char *)kj->writes[i].ns);
        free((char *)kj->writes[i].key);
        free((uint8_t *)kj->writes[i].value);
    }
    if (kj) {
        free(kj->writes);
        free(kj->versions);
    }
    free(kj);
}

static struct kv_job *kv_job_new(size_t count, bool batch)
{
    struct kv_job *kj = calloc(1, sizeof *kj);
    if (!kj)
        return NULL;
    kj->batch = batch;
    kj->writes = calloc(count, sizeof *kj->writes);
    kj->versions = calloc(count, sizeof *kj->versions);
    kj->job.count = count;
    if (!kj->writes || !kj->versions) {
        kv_job_free(kj);
        return NULL;
    }
    kj->job.writes = kj->writes;
    kj->job.versions = kj->versions;
    kj->job.arg = kj;
    return kj;
}

/* Copies a checked write (op, ns, key, expectedVersion, value) into w; the job owns the copies,
 * so nothing points into the request, which is freed before the write is done. */
static nsl_err copy_write(const json_t *src, enum nsl_blob_op op, struct nsl_blob_write *w,
                          struct nsl_error *err)
{
    const json_t *value = json_object_get(src, "value");
    w->op = op;
    w->ns = strdup(nsl_json_str(src, "ns"));
    w->key = strdup(nsl_json_str(src, "key"));
    w->expected = (uint64_t)nsl_json_int(src, "expectedVersion", 0);
    if (!w->ns || !w->key)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (op == NSL_BLOB_DELETE)
        return NSL_OK;
    size_t n = json_string_length(value), cap = nsl_base64_decoded_max(n);
    uint8_t *bytes = malloc(cap ? cap : 1);
    w->value = bytes;
    if (!bytes)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (nsl_base64_decode(json_string_value(value), n, bytes, cap, &w->len) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.value must be base64");
    return NSL_OK;
}

static json_t *write_result(const struct kv_job *kj)
{
    if (!kj->batch)
        return json_pack("{s:I}", "version", (json_int_t)kj->versions[0]);
    json_t *versions = json_array();
    for (size_t i = 0; versions && i < kj->job.count; i++)
        if (json_array_append_new(versions, json_integer((json_int_t)kj->versions[i])) != 0) {
            json_decref(versions);
            return NULL;
        }
    return versions ? json_pack("{s:o}", "versions", versions) : NULL;
}

/* Runs on the store's writer thread after the commit (or its failure). */
static void kv_job_done(struct nsl_blob_job *job)
{
    struct kv_job *kj = job->arg;
    json_t *result = job->code == NSL_OK ? write_result(kj) : NULL;
    if (job->code == NSL_OK && !result)
        nsl_fail(&job->err, NSL_ERR_INTERNAL, "out of memory");
    nsl_host_call_finish(kj->call, result, &job->err);
    kv_job_free(kj);
}

static nsl_err submit(struct nsl_host_context *ctx, struct kv_job *kj, struct nsl_host_call *call)
{
    kj->call = call;
    kj->job.done = kv_job_done;
    nsl_host_call_defer(call); /* before submit: the job may be done before submit returns */
    nsl_blobstore_submit(ctx->store, &kj->job);
    return NSL_OK;
}

static nsl_err single_write(struct nsl_host_context *ctx, const json_t *params,
                            struct nsl_host_call *call, enum nsl_blob_op op, struct nsl_error *err)
{
    struct kv_job *kj = kv_job_new(1, false);
    if (!kj)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_err code = copy_write(params, op, &kj->writes[0], err);
    if (code != NSL_OK) {
        kv_job_free(kj);
        return code;
    }
    return submit(ctx, kj, call);
}

nsl_err nsl_host_kv_put(struct nsl_host_context *ctx, const json_t *params,
                        struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)result;
    NSL_TRY(store_of(ctx, NSL_KV_PUT, err));
    NSL_TRY(check_params(params, put_schema, "params", err));
    return single_write(ctx, params, call, NSL_BLOB_PUT, err);
}

nsl_err nsl_host_kv_delete(struct nsl_host_context *ctx, const json_t *params,
                           struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)result;
    NSL_TRY(store_of(ctx, NSL_KV_DELETE, err));
    NSL_TRY(check_params(params, delete_schema, "params", err));
    return single_write(ctx, params, call, NSL_BLOB_DELETE, err);
}

/* Checks writes[i] and tells its op. */
static nsl_err check_batch_write(const json_t *w, size_t i, enum nsl_blob_op *op,
                                 struct nsl_error *err)
{
    char where[48];
    snprintf(where, sizeof where, "params.writes[%zu]", i);
    NSL_TRY(check_params(w, batch_write_schema, where, err));
    const char *name = nsl_json_str(w, "op");
    bool has_value = json_object_get(w, "value") != NULL;
    if (strcmp(name, "put") == 0 && has_value)
        *op = NSL_BLOB_PUT;
    else if (strcmp(name, "delete") == 0 && !has_value)
        *op = NSL_BLOB_DELETE;
    else
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "%s.op must be \"put\" (with a value) or \"delete\" (without)", where);
    return NSL_OK;
}

static nsl_err fill_batch(const json_t *writes, struct kv_job *kj, struct nsl_error *err)
{
    for (size_t i = 0; i < json_array_size(writes); i++) {
        enum nsl_blob_op op = NSL_BLOB_PUT;
        NSL_TRY(check_batch_write(json_array_get(writes, i), i, &op, err));
        NSL_TRY(copy_write(json_array_get(writes, i), op, &kj->writes[i], err));
    }
    return NSL_OK;
}

nsl_err nsl_host_kv_batch(struct nsl_host_context *ctx, const json_t *params,
                          struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)result;
    NSL_TRY(store_of(ctx, NSL_KV_BATCH, err));
    NSL_TRY(nsl_json_check(params, batch_schema, NSL_ERR_INVALID_PARAMS, "params", err));
    const json_t *writes = json_object_get(params, "writes");
    if (json_array_size(writes) == 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "params.writes must hold 1 to %d writes",
                        NSL_BLOB_MAX_BATCH);
    struct kv_job *kj = kv_job_new(json_array_size(writes), true);
    if (!kj)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_err code = fill_batch(writes, kj, err);
    if (code != NSL_OK) {
        kv_job_free(kj);
        return code;
    }
    return submit(ctx, kj, call);
}

/* ---- kv.prune: a job of its own, answered from the writer thread ---- */

static const struct nsl_field_spec prune_schema[] = {
    NS_FIELD,
    {"before", NSL_FIELD_INT, true, 0, 0, NSL_TIME_KEY_MAX, "unix seconds: keys before this time"},
    {"limit", NSL_FIELD_INT, true, 0, 1, NSL_BLOB_MAX_PRUNE, "most rows dropped"},
    NSL_FIELDS_END};

struct prune_job {
    struct nsl_blob_job job;
    struct nsl_blob_prune prune;
    struct nsl_host_call *call;
    char ns[NSL_BLOB_MAX_NS + 1];
    char before[NSL_TIME_KEY_DIGITS + 1];
};

static void prune_job_done(struct nsl_blob_job *job)
{
    struct prune_job *pj = job->arg;
    json_t *result = NULL;
    if (job->code == NSL_OK) {
        result = json_pack("{s:I, s:b}", "removed", (json_int_t)pj->prune.removed, "more",
                           pj->prune.more);
        if (!result)
            nsl_fail(&job->err, NSL_ERR_INTERNAL, "out of memory");
    }
    nsl_host_call_finish(pj->call, result, &job->err);
    free(pj);
}

nsl_err nsl_host_kv_prune(struct nsl_host_context *ctx, const json_t *params,
                          struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)result;
    NSL_TRY(store_of(ctx, NSL_KV_PRUNE, err));
    NSL_TRY(check_params(params, prune_schema, "params", err));
    const char *ns = nsl_json_str(params, "ns");
    /* Anywhere else a dropped row would lose its version (tombstones, docs/storage.md). */
    if (!nsl_time_keyed_ns(ns))
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS,
                        "params.ns: %s is not a time-keyed namespace; kv.prune takes only those",
                        ns);
    struct prune_job *pj = calloc(1, sizeof *pj);
    if (!pj)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    snprintf(pj->ns, sizeof pj->ns, "%s", ns);
    nsl_time_key_format(nsl_json_int(params, "before", 0), pj->before); /* in range: checked */
    pj->prune = (struct nsl_blob_prune){
        .ns = pj->ns, .before = pj->before, .limit = (size_t)nsl_json_int(params, "limit", 1)};
    pj->call = call;
    pj->job = (struct nsl_blob_job){.prune = &pj->prune, .done = prune_job_done, .arg = pj};
    nsl_host_call_defer(call); /* before submit: the job may be done before submit returns */
    nsl_blobstore_submit(ctx->store, &pj->job);
    return NSL_OK;
}

/* ---- reads: answered at once ---- */

static json_t *value_json(const uint8_t *value, size_t len)
{
    char *text = nsl_base64_encode_alloc(value, len);
    json_t *s = text ? json_string_nocheck(text) : NULL; /* base64 is ASCII */
    free(text);
    return s;
}

nsl_err nsl_host_kv_get(struct nsl_host_context *ctx, const json_t *params,
                        struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)call;
    NSL_TRY(store_of(ctx, NSL_KV_GET, err));
    NSL_TRY(check_params(params, get_schema, "params", err));
    struct nsl_blob_value v;
    NSL_TRY(nsl_blobstore_get(ctx->store, nsl_json_str(params, "ns"), nsl_json_str(params, "key"),
                              &v, err));
    *result = json_pack("{s:b, s:I}", "found", v.found, "version", (json_int_t)v.version);
    if (*result && v.found &&
        json_object_set_new(*result, "value", value_json(v.value, v.len)) != 0) {
        json_decref(*result);
        *result = NULL;
    }
    nsl_blob_value_free(&v);
    return *result ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static json_t *page_json(const struct nsl_blob_page *page)
{
    json_t *items = json_array();
    for (size_t i = 0; items && i < page->count; i++) {
        const struct nsl_blob_item *it = &page->items[i];
        json_t *item = json_pack("{s:s, s:I, s:o}", "key", it->key, "version",
                                 (json_int_t)it->version, "value", value_json(it->value, it->len));
        if (json_array_append_new(items, item) != 0) {
            json_decref(items);
            return NULL;
        }
    }
    return items ? json_pack("{s:o, s:b}", "items", items, "more", page->more) : NULL;
}

nsl_err nsl_host_kv_list(struct nsl_host_context *ctx, const json_t *params,
                         struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)call;
    NSL_TRY(store_of(ctx, NSL_KV_LIST, err));
    NSL_TRY(check_params(params, list_schema, "params", err));
    /* Keep the answer one frame: the budget leaves room for the envelope around the items. */
    struct nsl_blob_query q = {.ns = nsl_json_str(params, "ns"),
                               .prefix = nsl_json_str(params, "prefix"),
                               .after = nsl_json_str(params, "after"),
                               .limit = (size_t)nsl_json_int(params, "limit", 1),
                               .max_bytes = ctx->max_frame > 8192 ? ctx->max_frame - 4096 : 4096};
    struct nsl_blob_page page;
    NSL_TRY(nsl_blobstore_list(ctx->store, &q, &page, err));
    *result = page_json(&page);
    nsl_blob_page_free(&page);
    return *result ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_host_kv_version(struct nsl_host_context *ctx, const json_t *params,
                            struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)call;
    NSL_TRY(store_of(ctx, NSL_KV_GET, err));
    NSL_TRY(check_params(params, get_schema, "params", err));
    struct nsl_blob_value v;
    NSL_TRY(nsl_blobstore_get(ctx->store, nsl_json_str(params, "ns"), nsl_json_str(params, "key"),
                              &v, err));
    *result = json_pack("{s:b, s:I}", "found", v.found, "version", (json_int_t)v.version);
    nsl_blob_value_free(&v);
    return *result ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_host_kv_info(struct nsl_host_context *ctx, const json_t *params,
                         struct nsl_host_call *call, json_t **result, struct nsl_error *err)
{
    (void)call;
    if (!ctx->store)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the parent has no store open");
    if (json_object_size(params) != 0)
        return nsl_fail(err, NSL_ERR_INVALID_PARAMS, "kv.info takes no params");
    const char *backend = ctx->store->backend->name;
    /* SQLite is one file of one parent; PostgreSQL may be shared by several. */
    *result = json_pack("{s:s, s:b}", "backend", backend, "shared", strcmp(backend, "sqlite") != 0);
    return *result ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}
