/* The parent's blob store (docs/storage.md, ARCHITECTURE §7): namespaces of key -> (version,
 * sealed blob) with get, list by prefix, and compare-and-swap writes (put, delete, batch) that
 * are acknowledged only once durable. A backend is a table of function pointers behind
 * struct nsl_blobstore; SQLite (blobstore_sqlite.c) is the default, and PostgreSQL
 * (blobstore_postgres.c, docs/scale-out.md) serves several parents sharing one database.
 *
 * Versions are per key and strictly increasing, across deletion too: a delete leaves a tombstone
 * that keeps the version. Expected version 0 means "never written". Writes are submitted as jobs
 * and finished asynchronously, so that a backend can group many of them into one commit. */
#ifndef NSL_PARENT_BLOBSTORE_H
#define NSL_PARENT_BLOBSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

struct nsl_metrics;

#define NSL_BLOB_MAX_NS      64
#define NSL_BLOB_MAX_KEY     512
#define NSL_BLOB_MAX_VALUE   ((1u << 20) + 64) /* a sealed 1 MiB value plus its envelope */
#define NSL_BLOB_MAX_LIST    1000
#define NSL_BLOB_MAX_BATCH   256
#define NSL_BLOB_MAX_VERSION (INT64_MAX - 1) /* so that expected + 1 still fits SQL's int64 */
#define NSL_BLOB_MAX_PRUNE   10000           /* rows one kv.prune may drop */

enum nsl_blob_op { NSL_BLOB_PUT, NSL_BLOB_DELETE };

/* One compare-and-swap write: applies only if the key's current version is expected. */
struct nsl_blob_write {
    enum nsl_blob_op op;
    const char *ns;
    const char *key;
    uint64_t expected;
    const uint8_t *value; /* put only; may be NULL when len is 0 */
    size_t len;
};

/* A prune (kv.prune, docs/storage.md#time-keyed-namespaces): drops whole rows, tombstones and
 * versions included, of ns whose key sorts before bound, at most limit of them, lowest keys first.
 * Only for time-keyed namespaces (common/time_keys.h), whose keys are never written again once
 * their time has passed; the caller checks that. removed and more are the outcome (more: rows
 * before bound are left). */
struct nsl_blob_prune {
    const char *ns;
    const char *before;
    size_t limit;
    size_t removed;
    bool more;
};

struct nsl_blob_job;
typedef void (*nsl_blob_done_fn)(struct nsl_blob_job *job);

/* A write request: its writes apply all or none. The submitter owns the job and everything it
 * points to; the store calls done exactly once, after the commit holding the job is durable (or
 * has failed), and never touches the job again. code/err/versions are the outcome. */
struct nsl_blob_job {
    const struct nsl_blob_write *writes;
    size_t count;
    struct nsl_blob_prune *prune; /* set: the job is this prune (writes and count unused) */
    uint64_t *versions;           /* count entries, filled on success */
    nsl_blob_done_fn done;
    void *arg;
    nsl_err code;
    struct nsl_error err;
    struct nsl_blob_job *next; /* the store's queue link */
};

/* kv.get's answer: found=false for a missing key (version 0) or a tombstone (its version). */
struct nsl_blob_value {
    bool found;
    uint64_t version;
    uint8_t *value; /* malloc'd (NULL when len is 0); free with nsl_blob_value_free */
    size_t len;
};

struct nsl_blob_query {
    const char *ns;
    const char *prefix;
    const char *after; /* NULL: from the start of the prefix */
    size_t limit;
    size_t max_bytes; /* stop early (more = true) before the page's wire size passes this */
};

/* The wire size counted against max_bytes: base64 value, key escaped at worst (\u00XX) and a
 * JSON envelope. The first item is always taken, whatever its size. */
#define NSL_BLOB_ITEM_WIRE_SIZE(key_len, value_len) (6 * (key_len) + ((value_len) + 2) / 3 * 4 + 64)

struct nsl_blob_item {
    char *key;
    uint64_t version;
    uint8_t *value;
    size_t len;
};

struct nsl_blob_page {
    struct nsl_blob_item *items;
    size_t count;
    bool more;
};

struct nsl_blobstore_stats {
    uint64_t commits; /* group commits */
    uint64_t writes;  /* writes made durable by them */
};

struct nsl_blobstore;

/* What a backend provides. All may be called from any thread. */
struct nsl_blobstore_backend {
    const char *name;
    nsl_err (*get)(struct nsl_blobstore *s, const char *ns, const char *key,
                   struct nsl_blob_value *out, struct nsl_error *err);
    nsl_err (*list)(struct nsl_blobstore *s, const struct nsl_blob_query *q,
                    struct nsl_blob_page *page, struct nsl_error *err);
    void (*submit)(struct nsl_blobstore *s, struct nsl_blob_job *job);
    void (*stats)(struct nsl_blobstore *s, struct nsl_blobstore_stats *out);
    void (*close)(struct nsl_blobstore *s);
};

/* Backends embed this first. */
struct nsl_blobstore {
    const struct nsl_blobstore_backend *backend;
};

/* Opens (creating if needed) <state_dir>/nsl.db. metrics may be NULL. NULL on failure (logged). */
struct nsl_blobstore *nsl_blobstore_open_sqlite(const char *state_dir, struct nsl_metrics *metrics);

/* Connects to the PostgreSQL database named by url (a libpq URI or conninfo string), creates the
 * table if needed and starts the writer threads. NULL on failure (logged, without the URL's
 * password). metrics may be NULL. */
struct nsl_blobstore *nsl_blobstore_open_postgres(const char *url, struct nsl_metrics *metrics);

nsl_err nsl_blobstore_get(struct nsl_blobstore *s, const char *ns, const char *key,
                          struct nsl_blob_value *out, struct nsl_error *err);
nsl_err nsl_blobstore_list(struct nsl_blobstore *s, const struct nsl_blob_query *q,
                           struct nsl_blob_page *page, struct nsl_error *err);
/* Queues job; job->done runs later on the store's writer thread. */
void nsl_blobstore_submit(struct nsl_blobstore *s, struct nsl_blob_job *job);
/* Runs a prune as one job and waits for it (outcome in p->removed, p->more). */
nsl_err nsl_blobstore_prune(struct nsl_blobstore *s, struct nsl_blob_prune *p,
                            struct nsl_error *err);
/* Submits writes and waits for the outcome (versions: count entries). */
nsl_err nsl_blobstore_write(struct nsl_blobstore *s, const struct nsl_blob_write *writes,
                            size_t count, uint64_t *versions, struct nsl_error *err);
void nsl_blobstore_stats(struct nsl_blobstore *s, struct nsl_blobstore_stats *out);
/* Finishes every queued job, then closes. s may be NULL. */
void nsl_blobstore_close(struct nsl_blobstore *s);

void nsl_blob_value_free(struct nsl_blob_value *v);

/* ---- for backends: the rules every backend shares, so they answer alike ---- */

/* Sets *upper to the smallest string above every string that starts with prefix, or NULL when
 * none exists (empty prefix, or all 0xff bytes). Returns -1 on allocation failure. */
int nsl_blob_prefix_upper_bound(const char *prefix, char **upper);
/* Whether a row of wire size cost still fits on page after bytes already taken. */
bool nsl_blob_page_fits(const struct nsl_blob_query *q, const struct nsl_blob_page *page,
                        size_t bytes, size_t cost);
/* The answer to writes[i] of job failing its check, given the key's current version and whether
 * it holds a value: NOT_FOUND for a delete of a missing key or tombstone, else CONFLICT. */
nsl_err nsl_blob_check_failed(const struct nsl_blob_job *job, size_t i, uint64_t current, bool live,
                              struct nsl_error *err);
/* Whether writes[i] of job may apply to a key at version current (live: holds a value). */
bool nsl_blob_check_passes(const struct nsl_blob_write *w, uint64_t current, bool live);
void nsl_blob_page_free(struct nsl_blob_page *page);

#endif
