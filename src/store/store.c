/* Sealed store client over the host channel (see store.h). */
#include "store/store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/encoding.h"
#include "common/json.h"
#include "common/time_keys.h"

struct nsl_store {
    struct nsl_hostchan *hc;
    struct nsl_sealer *sealer;
    int timeout_ms;
    atomic_int shared; /* -1 not yet asked, else 0 / 1 (kv.info) */
};

struct nsl_store *nsl_store_new(struct nsl_hostchan *hc, struct nsl_sealer *sealer, int timeout_ms)
{
    struct nsl_store *st = calloc(1, sizeof *st);
    if (st) {
        st->hc = hc;
        st->sealer = sealer;
        st->timeout_ms = timeout_ms;
        atomic_init(&st->shared, -1);
    }
    return st;
}

void nsl_store_free(struct nsl_store *st)
{
    free(st);
}

bool nsl_store_valid_ns(const char *ns)
{
    size_t n = strlen(ns);
    if (n == 0 || n > 64 || strcmp(ns, "system") == 0) /* "system" holds the wrapped master key */
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') || ns[i] == '_'))
            return false;
    return true;
}

bool nsl_store_valid_key(const char *key)
{
    size_t n = strlen(key);
    return n > 0 && n <= NSL_STORE_MAX_KEY;
}

static nsl_err check_names(const char *ns, const char *key, struct nsl_error *err)
{
    if (!nsl_store_valid_ns(ns) || !nsl_store_valid_key(key))
        return nsl_fail(err, NSL_ERR_INTERNAL, "invalid store namespace or key");
    return NSL_OK;
}

/* A reply that breaks the protocol means a broken or hostile parent: never guess. */
static nsl_err bad_reply(struct nsl_error *err, const char *what)
{
    return nsl_fail(err, NSL_ERR_INTERNAL, "host channel gave a malformed %s reply", what);
}

static bool reply_version(const json_t *result, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(result, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* The parent may refuse a kv call only in the ways docs/storage.md lists. Any other code (a
 * parent answering a read with INSUFFICIENT_FUNDS, say) is not passed on as if the enclave meant
 * it: the store answers INTERNAL. */
static nsl_err host_refusal(nsl_err rc, struct nsl_error *err)
{
    switch (rc) {
    case NSL_OK:
    case NSL_ERR_NOT_FOUND:
    case NSL_ERR_CONFLICT:
    case NSL_ERR_UNAVAILABLE:
    case NSL_ERR_TIMEOUT:
    case NSL_ERR_INTERNAL:
        return rc;
    default:
        return nsl_fail(err, NSL_ERR_INTERNAL, "host channel refused a storage call with %s",
                        nsl_err_name(rc));
    }
}

static nsl_err call(struct nsl_store *st, const char *op, json_t *params, json_t **result,
                    struct nsl_error *err)
{
    if (!params)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_err rc = nsl_hostchan_call(st->hc, "kv", op, params, st->timeout_ms, result, err);
    json_decref(params);
    return host_refusal(rc, err);
}

/* Seals value for (ns, key, version) into a base64 JSON string. */
static nsl_err sealed_value(struct nsl_store *st, const char *ns, const char *key, uint64_t version,
                            const void *value, size_t len, json_t **out, struct nsl_error *err)
{
    if (len > NSL_STORE_MAX_VALUE)
        return nsl_fail(err, NSL_ERR_LIMIT_EXCEEDED, "stored value is larger than %u bytes",
                        NSL_STORE_MAX_VALUE);
    struct nsl_buf blob = {0};
    NSL_TRY(nsl_seal(st->sealer, ns, key, version, value, len, &blob, err));
    char *b64 = nsl_base64_encode_alloc(blob.data, blob.len);
    nsl_buf_free(&blob);
    *out = b64 ? json_string(b64) : NULL;
    free(b64);
    return *out ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

static nsl_err open_value(struct nsl_store *st, const char *ns, const char *key, uint64_t version,
                          const json_t *b64, struct nsl_secret **value, struct nsl_error *err)
{
    if (!json_is_string(b64))
        return bad_reply(err, "kv value");
    size_t cap = nsl_base64_decoded_max(json_string_length(b64)), len;
    uint8_t *blob = malloc(cap ? cap : 1);
    if (!blob)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    nsl_err rc;
    if (nsl_base64_decode(json_string_value(b64), json_string_length(b64), blob, cap, &len) != 0)
        rc = nsl_unseal(st->sealer, ns, key, version, "", 0, value, err); /* integrity failure */
    else
        rc = nsl_unseal(st->sealer, ns, key, version, blob, len, value, err);
    free(blob);
    return rc;
}

nsl_err nsl_store_get(struct nsl_store *st, const char *ns, const char *key,
                      struct nsl_secret **value, uint64_t *version, struct nsl_error *err)
{
    *value = NULL;
    *version = 0;
    NSL_TRY(check_names(ns, key, err));
    json_t *result = NULL;
    NSL_TRY(call(st, "get", json_pack("{s:s, s:s}", "ns", ns, "key", key), &result, err));
    nsl_err rc;
    json_t *found = json_object_get(result, "found");
    if (!json_is_boolean(found) || !reply_version(result, "version", version))
        rc = bad_reply(err, "kv.get");
    else if (!json_is_true(found))
        rc = nsl_fail(err, NSL_ERR_NOT_FOUND, "no such object");
    else if (*version == 0)
        rc = bad_reply(err, "kv.get");
    else
        rc = open_value(st, ns, key, *version, json_object_get(result, "value"), value, err);
    json_decref(result);
    return rc;
}

nsl_err nsl_store_put(struct nsl_store *st, const char *ns, const char *key, uint64_t expected,
                      const void *value, size_t len, uint64_t *new_version, struct nsl_error *err)
{
    NSL_TRY(check_names(ns, key, err));
    json_t *sealed = NULL, *result = NULL;
    NSL_TRY(sealed_value(st, ns, key, expected + 1, value, len, &sealed, err));
    NSL_TRY(call(st, "put",
                 json_pack("{s:s, s:s, s:I, s:o}", "ns", ns, "key", key, "expectedVersion",
                           (json_int_t)expected, "value", sealed),
                 &result, err));
    nsl_err rc = NSL_OK;
    if (!reply_version(result, "version", new_version) || *new_version != expected + 1)
        rc = bad_reply(err, "kv.put");
    json_decref(result);
    return rc;
}

nsl_err nsl_store_delete(struct nsl_store *st, const char *ns, const char *key, uint64_t expected,
                         struct nsl_error *err)
{
    NSL_TRY(check_names(ns, key, err));
    json_t *result = NULL;
    NSL_TRY(call(
        st, "delete",
        json_pack("{s:s, s:s, s:I}", "ns", ns, "key", key, "expectedVersion", (json_int_t)expected),
        &result, err));
    uint64_t v = 0;
    nsl_err rc = reply_version(result, "version", &v) && v == expected + 1
                     ? NSL_OK
                     : bad_reply(err, "kv.delete");
    json_decref(result);
    return rc;
}

void nsl_store_page_free(struct nsl_store_page *page)
{
    for (size_t i = 0; i < page->count; i++) {
        free(page->items[i].key);
        nsl_secret_free(page->items[i].value);
    }
    free(page->items);
    memset(page, 0, sizeof *page);
}

static nsl_err read_item(struct nsl_store *st, const char *ns, const char *prefix,
                         const char *after, const json_t *item, struct nsl_store_item *out,
                         struct nsl_error *err)
{
    const char *key = nsl_json_str(item, "key");
    /* The parent must stay inside what was asked: a key outside the prefix or not after the
     * cursor is a protocol violation, not data. */
    if (!key || strncmp(key, prefix, strlen(prefix)) != 0 || (after && strcmp(key, after) <= 0) ||
        !reply_version(item, "version", &out->version) || out->version == 0)
        return bad_reply(err, "kv.list");
    out->key = strdup(key);
    if (!out->key)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return open_value(st, ns, key, out->version, json_object_get(item, "value"), &out->value, err);
}

nsl_err nsl_store_list(struct nsl_store *st, const char *ns, const char *prefix, const char *after,
                       size_t limit, struct nsl_store_page *page, struct nsl_error *err)
{
    memset(page, 0, sizeof *page);
    if (!nsl_store_valid_ns(ns) || limit == 0 || limit > NSL_STORE_LIST_MAX)
        return nsl_fail(err, NSL_ERR_INTERNAL, "invalid store list request");
    json_t *params =
        json_pack("{s:s, s:s, s:I}", "ns", ns, "prefix", prefix, "limit", (json_int_t)limit);
    if (params && after)
        json_object_set_new(params, "after", json_string(after));
    json_t *result = NULL;
    NSL_TRY(call(st, "list", params, &result, err));
    json_t *items = json_object_get(result, "items");
    nsl_err rc = NSL_OK;
    /* An empty page that says there is more would keep every paging loop asking for ever; the
     * parent always puts at least one item on a page it says is not the last. */
    bool more = json_is_true(json_object_get(result, "more"));
    if (!json_is_array(items) || json_array_size(items) > limit ||
        !json_is_boolean(json_object_get(result, "more")) ||
        (more && json_array_size(items) == 0)) {
        rc = bad_reply(err, "kv.list");
        goto out;
    }
    page->items = calloc(json_array_size(items) + 1, sizeof *page->items);
    if (!page->items) {
        rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        goto out;
    }
    const char *last = after;
    for (size_t i = 0; i < json_array_size(items) && rc == NSL_OK; i++) {
        rc = read_item(st, ns, prefix, last, json_array_get(items, i), &page->items[i], err);
        page->count = i + 1;
        last = page->items[i].key;
    }
    page->more = more;
out:
    if (rc != NSL_OK)
        nsl_store_page_free(page);
    json_decref(result);
    return rc;
}

static nsl_err batch_entry(struct nsl_store *st, const struct nsl_store_write *w, json_t **out,
                           struct nsl_error *err)
{
    NSL_TRY(check_names(w->ns, w->key, err));
    json_t *e = json_pack("{s:s, s:s, s:s, s:I}", "op", w->op == NSL_STORE_PUT ? "put" : "delete",
                          "ns", w->ns, "key", w->key, "expectedVersion", (json_int_t)w->expected);
    if (!e)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    if (w->op == NSL_STORE_PUT) {
        json_t *sealed = NULL;
        nsl_err rc =
            sealed_value(st, w->ns, w->key, w->expected + 1, w->value, w->len, &sealed, err);
        if (rc != NSL_OK) {
            json_decref(e);
            return rc;
        }
        json_object_set_new(e, "value", sealed);
    }
    *out = e;
    return NSL_OK;
}

nsl_err nsl_store_batch(struct nsl_store *st, const struct nsl_store_write *writes, size_t n,
                        uint64_t *versions, struct nsl_error *err)
{
    if (n == 0 || n > NSL_STORE_MAX_BATCH)
        return nsl_fail(err, NSL_ERR_INTERNAL, "a batch holds 1 to %d writes", NSL_STORE_MAX_BATCH);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = NULL;
        nsl_err rc = list ? batch_entry(st, &writes[i], &e, err)
                          : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        if (rc != NSL_OK) {
            json_decref(list);
            return rc;
        }
        json_array_append_new(list, e);
    }
    json_t *result = NULL;
    NSL_TRY(call(st, "batch", json_pack("{s:o}", "writes", list), &result, err));
    json_t *got = json_object_get(result, "versions");
    nsl_err rc =
        json_is_array(got) && json_array_size(got) == n ? NSL_OK : bad_reply(err, "kv.batch");
    for (size_t i = 0; i < n && rc == NSL_OK; i++) {
        json_t *v = json_array_get(got, i);
        if (!json_is_integer(v) || (uint64_t)json_integer_value(v) != writes[i].expected + 1)
            rc = bad_reply(err, "kv.batch");
        else
            versions[i] = writes[i].expected + 1;
    }
    json_decref(result);
    return rc;
}

nsl_err nsl_store_version(struct nsl_store *st, const char *ns, const char *key, uint64_t *version,
                          struct nsl_error *err)
{
    *version = 0;
    NSL_TRY(check_names(ns, key, err));
    json_t *result = NULL;
    NSL_TRY(call(st, "version", json_pack("{s:s, s:s}", "ns", ns, "key", key), &result, err));
    nsl_err rc = json_is_boolean(json_object_get(result, "found")) &&
                         reply_version(result, "version", version)
                     ? NSL_OK
                     : bad_reply(err, "kv.version");
    json_decref(result);
    return rc;
}

nsl_err nsl_store_prune(struct nsl_store *st, const char *ns, int64_t before, size_t limit,
                        size_t *removed, bool *more, struct nsl_error *err)
{
    *removed = 0;
    *more = false;
    if (!nsl_time_keyed_ns(ns) || before < 0 || before > NSL_TIME_KEY_MAX || limit == 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "invalid store prune request");
    json_t *result = NULL;
    NSL_TRY(call(st, "prune",
                 json_pack("{s:s, s:I, s:I}", "ns", ns, "before", (json_int_t)before, "limit",
                           (json_int_t)limit),
                 &result, err));
    json_t *n = json_object_get(result, "removed"), *left = json_object_get(result, "more");
    nsl_err rc = json_is_integer(n) && json_integer_value(n) >= 0 &&
                         (uint64_t)json_integer_value(n) <= limit && json_is_boolean(left)
                     ? NSL_OK
                     : bad_reply(err, "kv.prune");
    if (rc == NSL_OK) {
        *removed = (size_t)json_integer_value(n);
        *more = json_is_true(left);
    }
    json_decref(result);
    return rc;
}

bool nsl_store_shared(struct nsl_store *st)
{
    int known = atomic_load(&st->shared);
    if (known >= 0)
        return known == 1;
    json_t *result = NULL;
    struct nsl_error err = {0};
    if (call(st, "info", json_object(), &result, &err) != NSL_OK)
        return true; /* not known yet: validate, and ask again next time */
    json_t *shared = json_object_get(result, "shared");
    /* Anything but a clear false means shared: a wasted check is cheap, a stale read is not. */
    known = json_is_false(shared) ? 0 : 1;
    json_decref(result);
    atomic_store(&st->shared, known);
    return known == 1;
}
