/* The secrets service (issue 7): per-account named secrets with versions, sealed in the store
 * (namespace "secrets"): meta/<account>/<name> holds the versions list, grants and the soft-delete
 * flag; val/<account>/<name>/<version> holds one version's bytes; count/<account> counts the
 * account's secrets. Values only ever live in nsl_secret buffers here and leave sealed to the
 * caller's replyKey when the request was sealed (the router does that). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "crypto/secret.h"
#include "enclave/storage.h"
#include "services/secrets.h"
#include "services/service.h"

#define NS                "secrets"
#define MAX_VERSIONS      100
#define MAX_GRANTS        32
#define CONFLICT_ATTEMPTS 40 /* as the gas bank ledger: ample for hundreds of racing writers */

struct meta {
    json_t *record;   /* {name, versions: [{version, createdAt, size}], latest, deleted, grants} */
    uint64_t version; /* of the meta record; 0 when new */
};

static struct nsl_store *store_of(struct nsl_call *call)
{
    return nsl_storage_get(call->ctx->storage, &call->error);
}

static bool name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '/'))
            return false;
    }
    return true;
}

static nsl_err check_name(struct nsl_call *call, const char *field)
{
    if (!name_valid(nsl_json_str(call->params, field)))
        return nsl_fail(&call->error, NSL_ERR_INVALID_PARAMS,
                        "params.%s must match [A-Za-z0-9_.\\-/]{1,128}", field);
    return NSL_OK;
}

static void meta_key(const struct nsl_call *call, const char *name, char *out, size_t len)
{
    snprintf(out, len, "meta/%s/%s", call->caller.account_id, name);
}

static void value_key(const struct nsl_call *call, const char *name, uint64_t v, char *out,
                      size_t len)
{
    snprintf(out, len, "val/%s/%s/%010" PRIu64, call->caller.account_id, name, v);
}

/* Loads the meta record of name; NOT_FOUND (with meta->version of the tombstone) when absent. */
static nsl_err load_meta(struct nsl_call *call, struct nsl_store *st, const char *name,
                         struct meta *m)
{
    char key[300];
    meta_key(call, name, key, sizeof key);
    struct nsl_secret *bytes = NULL;
    memset(m, 0, sizeof *m);
    nsl_err rc = nsl_store_get(st, NS, key, &bytes, &m->version, &call->error);
    if (rc == NSL_ERR_NOT_FOUND)
        return nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no secret %s", name);
    NSL_TRY(rc);
    m->record = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                      NSL_ERR_INTERNAL, &call->error);
    nsl_secret_free(bytes);
    return m->record ? NSL_OK : NSL_ERR_INTERNAL;
}

/* Loads a live (not soft-deleted) secret's meta. */
static nsl_err load_live(struct nsl_call *call, struct nsl_store *st, const char *name,
                         struct meta *m)
{
    NSL_TRY(load_meta(call, st, name, m));
    if (nsl_json_bool(m->record, "deleted", false)) {
        json_decref(m->record);
        m->record = NULL;
        return nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "no secret %s", name);
    }
    return NSL_OK;
}

/* The account's secret count record: its value and version (0, 0 when new). */
static nsl_err load_count(struct nsl_call *call, struct nsl_store *st, int64_t *count,
                          uint64_t *version)
{
    char key[128];
    snprintf(key, sizeof key, "count/%s", call->caller.account_id);
    struct nsl_secret *bytes = NULL;
    *count = 0;
    nsl_err rc = nsl_store_get(st, NS, key, &bytes, version, &call->error);
    if (rc == NSL_ERR_NOT_FOUND)
        return NSL_OK;
    NSL_TRY(rc);
    json_t *c = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                      NSL_ERR_INTERNAL, &call->error);
    nsl_secret_free(bytes);
    if (!c)
        return NSL_ERR_INTERNAL;
    *count = nsl_json_int(c, "count", 0);
    json_decref(c);
    return NSL_OK;
}

struct batch {
    struct nsl_store_write w[MAX_VERSIONS + 3];
    char keys[MAX_VERSIONS + 3][300];
    char *texts[MAX_VERSIONS + 3];
    size_t n;
};

static void batch_json(struct batch *b, const char *key, uint64_t expected, const json_t *value)
{
    size_t i = b->n++, len = 0;
    snprintf(b->keys[i], sizeof b->keys[i], "%s", key);
    b->texts[i] = value ? nsl_json_dump(value, &len) : NULL;
    b->w[i] = (struct nsl_store_write){
        value ? NSL_STORE_PUT : NSL_STORE_DELETE, NS, b->keys[i], expected, b->texts[i], len};
}

static void batch_raw(struct batch *b, const char *key, uint64_t expected, const void *data,
                      size_t len)
{
    size_t i = b->n++;
    snprintf(b->keys[i], sizeof b->keys[i], "%s", key);
    b->texts[i] = NULL;
    b->w[i] = (struct nsl_store_write){
        data ? NSL_STORE_PUT : NSL_STORE_DELETE, NS, b->keys[i], expected, data, len};
}

static nsl_err batch_commit(struct nsl_call *call, struct nsl_store *st, struct batch *b)
{
    uint64_t versions[MAX_VERSIONS + 3];
    nsl_err rc = NSL_OK;
    for (size_t i = 0; i < b->n; i++)
        if (b->w[i].op == NSL_STORE_PUT && !b->w[i].value)
            rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK)
        rc = nsl_store_batch(st, b->w, b->n, versions, &call->error);
    for (size_t i = 0; i < b->n; i++)
        free(b->texts[i]);
    return rc;
}

static void count_write(struct nsl_call *call, struct batch *b, int64_t count, uint64_t version)
{
    char key[128];
    snprintf(key, sizeof key, "count/%s", call->caller.account_id);
    json_t *c = json_pack("{s:I}", "count", (json_int_t)count);
    batch_json(b, key, version, c);
    json_decref(c);
}

/* A new meta record for name, or the old one revived after a soft delete. */
static nsl_err meta_for_put(struct nsl_call *call, struct nsl_store *st, const char *name,
                            struct meta *m, bool *is_new)
{
    nsl_err rc = load_meta(call, st, name, m);
    *is_new = rc == NSL_ERR_NOT_FOUND;
    if (*is_new) {
        call->error.message[0] = 0;
        /* A name destroyed before leaves its meta record's tombstone at m->version, which is
         * above every version number that name ever had (each put wrote the meta record once):
         * numbering on from there never reuses a version, nor the key of a destroyed value. */
        m->record = json_pack("{s:s, s:[], s:I, s:b, s:[], s:I}", "name", name, "versions",
                              "latest", (json_int_t)m->version, "deleted", 0, "grants", "createdAt",
                              (json_int_t)time(NULL));
        return m->record ? NSL_OK : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    }
    if (rc == NSL_OK)
        json_object_set_new(m->record, "deleted", json_false());
    return rc;
}

static nsl_err put_once(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_TRY(check_name(call, "name"));
    const char *name = nsl_json_str(call->params, "name");
    json_t *value = json_object_get(call->params, "value");
    struct meta m;
    bool is_new;
    int64_t count = 0;
    uint64_t count_version = 0;
    NSL_TRY(meta_for_put(call, st, name, &m, &is_new));
    nsl_err rc = is_new ? load_count(call, st, &count, &count_version) : NSL_OK;
    if (rc == NSL_OK && is_new && count >= call->ctx->max_secrets)
        rc = nsl_fail(&call->error, NSL_ERR_LIMIT_EXCEEDED,
                      "limit max-secrets-per-account: an account holds at most %lld secrets",
                      (long long)call->ctx->max_secrets);
    struct batch *b = rc == NSL_OK ? calloc(1, sizeof *b) : NULL;
    if (rc == NSL_OK && !b)
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        uint64_t v = (uint64_t)nsl_json_int(m.record, "latest", 0) + 1;
        json_t *versions = json_object_get(m.record, "versions");
        char key[300];
        value_key(call, name, v, key, sizeof key);
        batch_raw(b, key, 0, json_string_value(value), json_string_length(value));
        json_array_append_new(versions, json_pack("{s:I, s:I, s:I}", "version", (json_int_t)v,
                                                  "createdAt", (json_int_t)time(NULL), "size",
                                                  (json_int_t)json_string_length(value)));
        while (json_array_size(versions) > MAX_VERSIONS) { /* the oldest version goes */
            value_key(call, name, (uint64_t)nsl_json_int(json_array_get(versions, 0), "version", 0),
                      key, sizeof key);
            batch_raw(b, key, 1, NULL, 0);
            json_array_remove(versions, 0);
        }
        json_object_set_new(m.record, "latest", json_integer((json_int_t)v));
        json_object_set_new(m.record, "updatedAt", json_integer((json_int_t)time(NULL)));
        meta_key(call, name, key, sizeof key);
        batch_json(b, key, m.version, m.record);
        if (is_new)
            count_write(call, b, count + 1, count_version);
        rc = batch_commit(call, st, b);
        if (rc == NSL_OK)
            call->result = json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)v);
    }
    free(b);
    json_decref(m.record);
    return rc;
}

static bool has_version(const json_t *versions, uint64_t v)
{
    size_t i;
    json_t *e;
    json_array_foreach(versions, i,
                       e) if ((uint64_t)nsl_json_int(e, "version", 0) == v) return true;
    return false;
}

nsl_err nsl_secrets_get(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_TRY(check_name(call, "name"));
    const char *name = nsl_json_str(call->params, "name");
    struct meta m;
    NSL_TRY(load_live(call, st, name, &m));
    uint64_t v =
        (uint64_t)nsl_json_int(call->params, "version", nsl_json_int(m.record, "latest", 0));
    json_t *versions = json_object_get(m.record, "versions");
    nsl_err rc = NSL_OK;
    if (!has_version(versions, v))
        rc =
            nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "secret %s has no version %" PRIu64, name, v);
    struct nsl_secret *value = NULL;
    uint64_t stored;
    char key[300];
    value_key(call, name, v, key, sizeof key);
    if (rc == NSL_OK)
        rc = nsl_store_get(st, NS, key, &value, &stored, &call->error);
    if (rc == NSL_OK) {
        json_int_t created = 0;
        size_t i;
        json_t *e;
        json_array_foreach(versions, i, e) if ((uint64_t)nsl_json_int(e, "version", 0) == v)
            created = nsl_json_int(e, "createdAt", 0);
        call->result = json_pack("{s:s, s:I, s:s%, s:I}", "name", name, "version", (json_int_t)v,
                                 "value", (const char *)nsl_secret_bytes(value),
                                 nsl_secret_len(value), "createdAt", created);
        if (!call->result)
            rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "the stored value is not valid text");
    }
    nsl_secret_free(value);
    json_decref(m.record);
    return rc;
}

nsl_err nsl_secrets_list(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    char prefix[128], after[300];
    snprintf(prefix, sizeof prefix, "meta/%s/", call->caller.account_id);
    const char *after_name = nsl_json_str(call->params, "after");
    if (after_name)
        meta_key(call, after_name, after, sizeof after);
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, NS, prefix, after_name ? after : NULL,
                           (size_t)nsl_json_int(call->params, "limit", 100), &page, &call->error));
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++) {
        json_t *r =
            nsl_json_parse_object((const char *)nsl_secret_bytes(page.items[i].value),
                                  nsl_secret_len(page.items[i].value), NSL_ERR_INTERNAL, NULL);
        if (r && !nsl_json_bool(r, "deleted", false))
            json_array_append_new(
                items,
                json_pack("{s:O, s:I, s:O, s:O?, s:O?}", "name", json_object_get(r, "name"),
                          "versions", (json_int_t)json_array_size(json_object_get(r, "versions")),
                          "latest", json_object_get(r, "latest"), "createdAt",
                          json_object_get(r, "createdAt"), "updatedAt",
                          json_object_get(r, "updatedAt")));
        json_decref(r);
    }
    call->result = json_pack("{s:o, s:b}", "secrets", items, "more", page.more);
    nsl_store_page_free(&page);
    return NSL_OK;
}

nsl_err nsl_secrets_versions(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_TRY(check_name(call, "name"));
    struct meta m;
    NSL_TRY(load_live(call, st, nsl_json_str(call->params, "name"), &m));
    call->result = json_pack("{s:O, s:O}", "name", json_object_get(m.record, "name"), "versions",
                             json_object_get(m.record, "versions"));
    json_decref(m.record);
    return NSL_OK;
}

/* Writes the meta record back after a change (CAS on its version). */
static nsl_err save_meta(struct nsl_call *call, struct nsl_store *st, const struct meta *m)
{
    char key[300];
    meta_key(call, nsl_json_str(m->record, "name"), key, sizeof key);
    size_t len;
    char *text = nsl_json_dump(m->record, &len);
    uint64_t v;
    nsl_err rc = text ? nsl_store_put(st, NS, key, m->version, text, len, &v, &call->error)
                      : nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    free(text);
    return rc;
}

nsl_err nsl_secrets_delete(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_TRY(check_name(call, "name"));
    struct meta m;
    NSL_TRY(load_live(call, st, nsl_json_str(call->params, "name"), &m));
    json_object_set_new(m.record, "deleted", json_true());
    nsl_err rc = save_meta(call, st, &m);
    if (rc == NSL_OK)
        call->result =
            json_pack("{s:O, s:b}", "name", json_object_get(m.record, "name"), "deleted", 1);
    json_decref(m.record);
    return rc;
}

static nsl_err destroy_once(struct nsl_call *call)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_TRY(check_name(call, "name"));
    const char *name = nsl_json_str(call->params, "name");
    struct meta m;
    int64_t count = 0;
    uint64_t count_version = 0;
    NSL_TRY(load_meta(call, st, name, &m)); /* soft-deleted secrets can be destroyed too */
    nsl_err rc = load_count(call, st, &count, &count_version);
    struct batch *b = rc == NSL_OK ? calloc(1, sizeof *b) : NULL;
    if (rc == NSL_OK && !b)
        rc = nsl_fail(&call->error, NSL_ERR_INTERNAL, "out of memory");
    if (rc == NSL_OK) {
        size_t i;
        json_t *e;
        char key[300];
        json_array_foreach(json_object_get(m.record, "versions"), i, e)
        {
            value_key(call, name, (uint64_t)nsl_json_int(e, "version", 0), key, sizeof key);
            batch_raw(b, key, 1, NULL, 0);
        }
        meta_key(call, name, key, sizeof key);
        batch_json(b, key, m.version, NULL);
        count_write(call, b, count > 0 ? count - 1 : 0, count_version);
        rc = batch_commit(call, st, b);
    }
    if (rc == NSL_OK)
        call->result = json_pack("{s:s, s:b}", "name", name, "destroyed", 1);
    free(b);
    json_decref(m.record);
    return rc;
}

/* Writers for one account race on count/<account> (and writers of one name on its meta record);
 * the store's compare-and-swap turns the loser's batch into CONFLICT with nothing written. The
 * caller sent no version, so that is no answer for them: re-read and try again after a short
 * random pause that grows with the attempt. */
static nsl_err retry_on_conflict(struct nsl_call *call, nsl_err (*once)(struct nsl_call *))
{
    nsl_err rc = NSL_ERR_CONFLICT;
    for (int attempt = 0; attempt < CONFLICT_ATTEMPTS && rc == NSL_ERR_CONFLICT; attempt++) {
        if (attempt > 0) {
            uint16_t r = 0;
            nsl_random_bytes(&r, sizeof r);
            usleep(r % (200u * (unsigned)(attempt < 10 ? attempt : 10)));
            call->error = (struct nsl_error){0};
        }
        rc = once(call);
    }
    return rc;
}

nsl_err nsl_secrets_put(struct nsl_call *call)
{
    return retry_on_conflict(call, put_once);
}

nsl_err nsl_secrets_destroy(struct nsl_call *call)
{
    return retry_on_conflict(call, destroy_once);
}

static nsl_err change_grant(struct nsl_call *call, bool grant)
{
    struct nsl_store *st = store_of(call);
    if (!st)
        return call->error.code;
    NSL_TRY(check_name(call, "name"));
    NSL_TRY(check_name(call, "function"));
    const char *function = nsl_json_str(call->params, "function");
    struct meta m;
    NSL_TRY(load_live(call, st, nsl_json_str(call->params, "name"), &m));
    json_t *grants = json_object_get(m.record, "grants");
    size_t i, found = SIZE_MAX;
    json_t *g;
    json_array_foreach(grants, i, g) if (strcmp(json_string_value(g) ?: "", function) == 0) found =
        i;
    nsl_err rc = NSL_OK;
    if (grant && found == SIZE_MAX && json_array_size(grants) >= MAX_GRANTS)
        rc = nsl_fail(&call->error, NSL_ERR_LIMIT_EXCEEDED,
                      "a secret can be granted to at most %d functions", MAX_GRANTS);
    else if (grant && found == SIZE_MAX)
        json_array_append_new(grants, json_string(function));
    else if (!grant && found == SIZE_MAX)
        rc = nsl_fail(&call->error, NSL_ERR_NOT_FOUND, "function %s has no grant on this secret",
                      function);
    else if (!grant)
        json_array_remove(grants, found);
    if (rc == NSL_OK)
        rc = save_meta(call, st, &m);
    if (rc == NSL_OK)
        call->result =
            json_pack("{s:O, s:O}", "name", json_object_get(m.record, "name"), "grants", grants);
    json_decref(m.record);
    return rc;
}

nsl_err nsl_secrets_grant(struct nsl_call *call)
{
    return change_grant(call, true);
}

nsl_err nsl_secrets_revoke(struct nsl_call *call)
{
    return change_grant(call, false);
}

nsl_err nsl_secrets_read_granted(struct nsl_store *st, const char *account, const char *name,
                                 const char *function, struct nsl_secret **value,
                                 struct nsl_error *err)
{
    struct nsl_call call = {0};
    struct meta m;
    snprintf(call.caller.account_id, sizeof call.caller.account_id, "%s", account);
    if (!name_valid(name) || load_live(&call, st, name, &m) != NSL_OK)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "secret %s is not granted to this function", name);
    bool granted = false;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(m.record, "grants"), i, g) granted |=
        strcmp(json_string_value(g) ?: "", function) == 0;
    char key[300];
    value_key(&call, name, (uint64_t)nsl_json_int(m.record, "latest", 0), key, sizeof key);
    json_decref(m.record);
    if (!granted)
        return nsl_fail(err, NSL_ERR_NOT_FOUND, "secret %s is not granted to this function", name);
    uint64_t version;
    return nsl_store_get(st, NS, key, value, &version, err);
}
