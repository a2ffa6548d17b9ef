/* JSON records in the sealed store with a write-through cache: the account service keeps
 * accounts and API-key records here and the router reads them on every request, so reads must
 * not cost a host round trip each. The cache holds no secret material (records hold hashes,
 * never keys). Writes are compare-and-swap batches; a failed write evicts what it touched so the
 * next read goes to the store. When several enclaves share the store, a cached record is checked
 * against the store's current version (kv.version) before use. */
#ifndef NSL_SERVICES_RECORDS_H
#define NSL_SERVICES_RECORDS_H

#include <jansson.h>
#include <stdint.h>

#include "common/errors.h"
#include "store/store.h"

struct nsl_records;

struct nsl_records *nsl_records_new(const char *ns);
void nsl_records_free(struct nsl_records *r);

/* A private copy of the record at key (NOT_FOUND when absent; *version is then the key's
 * tombstone version, or 0). */
nsl_err nsl_records_load(struct nsl_records *r, struct nsl_store *st, const char *key,
                         json_t **record, uint64_t *version, struct nsl_error *err);

/* The record at key as a shared, read-only reference: cheaper than a copy on hot paths. The
 * caller must never modify it (other threads read the same object) and releases it with
 * json_decref((json_t *)record). */
nsl_err nsl_records_view(struct nsl_records *r, struct nsl_store *st, const char *key,
                         const json_t **record, uint64_t *version, struct nsl_error *err);

struct nsl_record_write {
    const char *key;
    uint64_t expected;
    const json_t *value; /* NULL deletes */
};

/* Applies all writes or none. */
nsl_err nsl_records_commit(struct nsl_records *r, struct nsl_store *st,
                           const struct nsl_record_write *writes, size_t n, struct nsl_error *err);

/* Lists records whose key starts with prefix, after `after` (NULL: from the start). */
nsl_err nsl_records_list(struct nsl_records *r, struct nsl_store *st, const char *prefix,
                         const char *after, size_t limit, json_t **records, bool *more,
                         struct nsl_error *err);

#endif
