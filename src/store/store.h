/* The sealed store (docs/storage.md): namespaces of key -> (version, value) kept by the parent,
 * every value sealed by the enclave before it leaves and opened (and authenticated) when it comes
 * back. Writes are compare-and-swap on the key's version and return once durable.
 * Errors: NOT_FOUND, CONFLICT (version moved), UNAVAILABLE (parent unreachable), TIMEOUT,
 * INTERNAL (a stored object failed its integrity check, or the parent answered nonsense). */
#ifndef NSL_STORE_STORE_H
#define NSL_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "crypto/secret.h"
#include "crypto/seal.h"
#include "enclave/hostchan.h"

#define NSL_STORE_MAX_VALUE (1u << 20) /* plaintext bytes */
#define NSL_STORE_MAX_KEY   512
#define NSL_STORE_MAX_BATCH 256
#define NSL_STORE_LIST_MAX  1000

struct nsl_store;

/* Borrows hc and sealer; both must outlive the store. timeout_ms bounds each host round trip. */
struct nsl_store *nsl_store_new(struct nsl_hostchan *hc, struct nsl_sealer *sealer, int timeout_ms);
void nsl_store_free(struct nsl_store *st);

/* *value gets the plaintext (a secret: wipe-on-free). On NOT_FOUND *version still gets the key's
 * current version (its tombstone's, or 0 if never written) so a put can follow. */
nsl_err nsl_store_get(struct nsl_store *st, const char *ns, const char *key,
                      struct nsl_secret **value, uint64_t *version, struct nsl_error *err);
/* Writes value if the key's version is expected; *new_version = expected + 1. */
nsl_err nsl_store_put(struct nsl_store *st, const char *ns, const char *key, uint64_t expected,
                      const void *value, size_t len, uint64_t *new_version, struct nsl_error *err);
nsl_err nsl_store_delete(struct nsl_store *st, const char *ns, const char *key, uint64_t expected,
                         struct nsl_error *err);

struct nsl_store_item {
    char *key;
    uint64_t version;
    struct nsl_secret *value;
};

struct nsl_store_page {
    struct nsl_store_item *items;
    size_t count;
    bool more; /* call again with after = the last key */
};

/* Keys starting with prefix and greater than after (NULL: from the start), in byte order. */
nsl_err nsl_store_list(struct nsl_store *st, const char *ns, const char *prefix, const char *after,
                       size_t limit, struct nsl_store_page *page, struct nsl_error *err);
void nsl_store_page_free(struct nsl_store_page *page);

enum nsl_store_op { NSL_STORE_PUT, NSL_STORE_DELETE };

struct nsl_store_write {
    enum nsl_store_op op;
    const char *ns;
    const char *key;
    uint64_t expected;
    const void *value; /* PUT only */
    size_t len;
};

/* Applies every write or none. versions (n entries) gets each key's new version. */
nsl_err nsl_store_batch(struct nsl_store *st, const struct nsl_store_write *writes, size_t n,
                        uint64_t *versions, struct nsl_error *err);

/* The key's current version (its tombstone's, or 0), without fetching or opening the value: for
 * checking that a cached copy is still current (docs/scale-out.md). */
nsl_err nsl_store_version(struct nsl_store *st, const char *ns, const char *key, uint64_t *version,
                          struct nsl_error *err);
/* Drops up to limit rows of a time-keyed namespace (common/time_keys.h) whose key's time is
 * before `before` (unix seconds), tombstones and versions included: the parent's kv.prune
 * (docs/storage.md#time-keyed-namespaces). *more tells that rows before the bound are left. */
nsl_err nsl_store_prune(struct nsl_store *st, const char *ns, int64_t before, size_t limit,
                        size_t *removed, bool *more, struct nsl_error *err);
/* Whether other enclaves may write the same store (the parent's kv.info, asked once): caches
 * must then check versions before trusting what they hold. true while the parent has not said. */
bool nsl_store_shared(struct nsl_store *st);

/* Checks a namespace / key against the limits of docs/storage.md. */
bool nsl_store_valid_ns(const char *ns);
bool nsl_store_valid_key(const char *key);

#endif
