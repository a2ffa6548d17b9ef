/* JSON records with a write-through cache (see records.h). When other enclaves share the store
 * (nsl_store_shared), a cached record is used only after kv.version says it is still the
 * current one: a revoked API key or a disabled account written through another pair is seen at
 * once, never after a delay (docs/scale-out.md). */
#include "services/records.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

#define CACHE_SLOTS 4096

struct entry {
    struct entry *next;
    json_t *value; /* immutable once cached: handed out as shared references or deep copies */
    uint64_t version;
    char key[];
};

struct nsl_records {
    char ns[65];
    pthread_mutex_t lock;
    struct entry *slots[CACHE_SLOTS];
    size_t count;
};

struct nsl_records *nsl_records_new(const char *ns)
{
    struct nsl_records *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->ns, sizeof r->ns, "%s", ns);
    pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void clear(struct nsl_records *r)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        for (struct entry *e = r->slots[i], *next; e; e = next) {
            next = e->next;
            json_decref(e->value);
            free(e);
        }
        r->slots[i] = NULL;
    }
    r->count = 0;
}

void nsl_records_free(struct nsl_records *r)
{
    if (!r)
        return;
    clear(r);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static size_t slot_of(const char *key)
{
    size_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h % CACHE_SLOTS;
}

static struct entry **find(struct nsl_records *r, const char *key)
{
    struct entry **pp = &r->slots[slot_of(key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void evict(struct nsl_records *r, const char *key)
{
    struct entry **pp = find(r, key);
    if (*pp) {
        struct entry *e = *pp;
        *pp = e->next;
        json_decref(e->value);
        free(e);
        r->count--;
    }
}

/* Caches value (stolen: nobody else may hold a mutable reference) at version; lock held. */
static void remember_owned(struct nsl_records *r, const char *key, json_t *value, uint64_t version)
{
    evict(r, key);
    if (r->count >= CACHE_SLOTS * 4)
        clear(r); /* crude bound: the working set of accounts is small */
    size_t n = strlen(key) + 1;
    struct entry *e = malloc(sizeof *e + n);
    if (!e || !value) {
        free(e);
        json_decref(value);
        return;
    }
    memcpy(e->key, key, n);
    e->value = value;
    e->version = version;
    struct entry **slot = &r->slots[slot_of(key)];
    e->next = *slot;
    *slot = e;
    r->count++;
}

/* Caches a private copy of value at version; lock held. */
static void remember(struct nsl_records *r, const char *key, const json_t *value, uint64_t version)
{
    remember_owned(r, key, json_deep_copy(value), version);
}

static nsl_err parse_record(const struct nsl_secret *bytes, json_t **out, struct nsl_error *err)
{
    *out = nsl_json_parse_object((const char *)nsl_secret_bytes(bytes), nsl_secret_len(bytes),
                                 NSL_ERR_INTERNAL, err);
    return *out ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "a stored record is not valid JSON");
}

/* The cached record at key, or the stored one (then cached); *record is a shared reference. */
static nsl_err fetch(struct nsl_records *r, struct nsl_store *st, const char *key, json_t **record,
                     uint64_t *version, struct nsl_error *err)
{
    *record = NULL;
    pthread_mutex_lock(&r->lock);
    struct entry *e = *find(r, key);
    if (e) {
        *record = json_incref(e->value);
        *version = e->version;
    }
    pthread_mutex_unlock(&r->lock);
    if (*record && nsl_store_shared(st)) {
        uint64_t current = 0;
        nsl_err rc = nsl_store_version(st, r->ns, key, &current, err);
        if (rc != NSL_OK || current != *version) { /* written elsewhere since: read it again */
            json_decref(*record);
            *record = NULL;
            NSL_TRY(rc);
        }
    }
    if (*record)
        return NSL_OK;
    struct nsl_secret *bytes = NULL;
    NSL_TRY(nsl_store_get(st, r->ns, key, &bytes, version, err));
    nsl_err rc = parse_record(bytes, record, err);
    nsl_secret_free(bytes);
    if (rc == NSL_OK) {
        pthread_mutex_lock(&r->lock);
        remember_owned(r, key, json_incref(*record), *version);
        pthread_mutex_unlock(&r->lock);
    }
    return rc;
}

nsl_err nsl_records_view(struct nsl_records *r, struct nsl_store *st, const char *key,
                         const json_t **record, uint64_t *version, struct nsl_error *err)
{
    json_t *shared = NULL;
    nsl_err rc = fetch(r, st, key, &shared, version, err);
    *record = shared;
    return rc;
}

nsl_err nsl_records_load(struct nsl_records *r, struct nsl_store *st, const char *key,
                         json_t **record, uint64_t *version, struct nsl_error *err)
{
    json_t *shared = NULL;
    NSL_TRY(fetch(r, st, key, &shared, version, err));
    *record = json_deep_copy(shared);
    json_decref(shared);
    return *record ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
}

nsl_err nsl_records_commit(struct nsl_records *r, struct nsl_store *st,
                           const struct nsl_record_write *writes, size_t n, struct nsl_error *err)
{
    if (n == 0 || n > NSL_STORE_MAX_BATCH)
        return nsl_fail(err, NSL_ERR_INTERNAL, "bad record batch size");
    struct nsl_store_write *w = calloc(n, sizeof *w);
    char **texts = calloc(n, sizeof *texts);
    uint64_t *versions = calloc(n, sizeof *versions);
    nsl_err rc = w && texts && versions ? NSL_OK : nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n && rc == NSL_OK; i++) {
        w[i] = (struct nsl_store_write){writes[i].value ? NSL_STORE_PUT : NSL_STORE_DELETE,
                                        r->ns,
                                        writes[i].key,
                                        writes[i].expected,
                                        NULL,
                                        0};
        if (writes[i].value) {
            texts[i] = nsl_json_dump(writes[i].value, &w[i].len);
            w[i].value = texts[i];
            if (!texts[i])
                rc = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        }
    }
    if (rc == NSL_OK)
        rc = nsl_store_batch(st, w, n, versions, err);
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        if (rc == NSL_OK && writes[i].value)
            remember(r, writes[i].key, writes[i].value, versions[i]);
        else
            evict(r, writes[i].key);
    }
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; texts && i < n; i++)
        free(texts[i]);
    free(texts);
    free(w);
    free(versions);
    return rc;
}

nsl_err nsl_records_list(struct nsl_records *r, struct nsl_store *st, const char *prefix,
                         const char *after, size_t limit, json_t **records, bool *more,
                         struct nsl_error *err)
{
    struct nsl_store_page page;
    NSL_TRY(nsl_store_list(st, r->ns, prefix, after, limit, &page, err));
    json_t *out = json_array();
    nsl_err rc = NSL_OK;
    for (size_t i = 0; i < page.count && rc == NSL_OK; i++) {
        json_t *rec = NULL;
        rc = parse_record(page.items[i].value, &rec, err);
        if (rc == NSL_OK)
            json_array_append_new(out, rec);
    }
    *more = page.more;
    nsl_store_page_free(&page);
    if (rc != NSL_OK) {
        json_decref(out);
        return rc;
    }
    *records = out;
    return NSL_OK;
}
