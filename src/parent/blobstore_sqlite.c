/* The SQLite blob store (see blobstore.h, blobstore_sqlite.h): one file <state>/nsl.db, table
 * blobs(ns, key, version, value) with value NULL for a tombstone. Reads run on a small pool of
 * read-only connections; in WAL mode they never wait for the writer, and each statement starts a
 * fresh read transaction, so a read made after a write was acknowledged sees it. */
#define NSL_LOG_COMPONENT NSL_LOGC_STORE
#include "parent/blobstore_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define BUSY_TIMEOUT_MS 10000

static const char get_sql[] = "SELECT version, value FROM blobs WHERE ns = ?1 AND key = ?2";
/* key >= prefix AND key < upper is exactly "starts with prefix" in byte order; NULL upper means
 * no bound (empty prefix). Tombstones are skipped; one row more than asked says "more". */
static const char list_sql[] = "SELECT key, version, value FROM blobs WHERE ns = ?1 AND key > ?2"
                               " AND key >= ?3 AND (?4 IS NULL OR key < ?4)"
                               " AND value IS NOT NULL ORDER BY key LIMIT ?5";

sqlite3 *nsl_sqlite_connect(const char *path, int flags)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        nsl_logf(NSL_LOG_ERROR, "store_open_failed", "%s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 1);
    return db;
}

sqlite3_stmt *nsl_sqlite_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        nsl_logf(NSL_LOG_ERROR, "store_prepare_failed", "%s", sqlite3_errmsg(db));
        return NULL;
    }
    return stmt;
}

/* ---- the reader pool ---- */

static struct nsl_sqlite_reader *reader_take(struct nsl_sqlite_store *st)
{
    pthread_mutex_lock(&st->readers_lock);
    for (;;) {
        for (size_t i = 0; i < NSL_SQLITE_READERS; i++) {
            if (!st->readers[i].busy) {
                st->readers[i].busy = true;
                pthread_mutex_unlock(&st->readers_lock);
                return &st->readers[i];
            }
        }
        pthread_cond_wait(&st->readers_cond, &st->readers_lock);
    }
}

static void reader_give(struct nsl_sqlite_store *st, struct nsl_sqlite_reader *r)
{
    pthread_mutex_lock(&st->readers_lock);
    r->busy = false;
    pthread_cond_signal(&st->readers_cond);
    pthread_mutex_unlock(&st->readers_lock);
}

static int reader_open(struct nsl_sqlite_reader *r, const char *path)
{
    r->db = nsl_sqlite_connect(path, SQLITE_OPEN_READONLY);
    if (!r->db)
        return -1;
    r->get = nsl_sqlite_prepare(r->db, get_sql);
    r->list = nsl_sqlite_prepare(r->db, list_sql);
    return r->get && r->list ? 0 : -1;
}

static void reader_close(struct nsl_sqlite_reader *r)
{
    sqlite3_finalize(r->get);
    sqlite3_finalize(r->list);
    sqlite3_close(r->db);
    memset(r, 0, sizeof *r);
}

static nsl_err read_failed(sqlite3 *db, struct nsl_error *err)
{
    nsl_logf(NSL_LOG_ERROR, "store_read_failed", "%s", sqlite3_errmsg(db));
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the store could not be read");
}

/* Copies a blob column (zero-length blobs come back as NULL pointers from SQLite). */
static int copy_value(sqlite3_stmt *stmt, int col, uint8_t **out, size_t *len)
{
    *len = (size_t)sqlite3_column_bytes(stmt, col);
    *out = NULL;
    if (*len == 0)
        return 0;
    *out = malloc(*len);
    if (!*out)
        return -1;
    memcpy(*out, sqlite3_column_blob(stmt, col), *len);
    return 0;
}

static nsl_err get_row(sqlite3 *db, sqlite3_stmt *stmt, struct nsl_blob_value *out,
                       struct nsl_error *err)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE)
        return NSL_OK; /* never written: found=false, version 0 */
    if (rc != SQLITE_ROW)
        return read_failed(db, err);
    out->version = (uint64_t)sqlite3_column_int64(stmt, 0);
    if (sqlite3_column_type(stmt, 1) == SQLITE_NULL)
        return NSL_OK; /* tombstone */
    out->found = true;
    if (copy_value(stmt, 1, &out->value, &out->len) != 0)
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    return NSL_OK;
}

static nsl_err sqlite_get(struct nsl_blobstore *s, const char *ns, const char *key,
                          struct nsl_blob_value *out, struct nsl_error *err)
{
    struct nsl_sqlite_store *st = (struct nsl_sqlite_store *)s;
    struct nsl_sqlite_reader *r = reader_take(st);
    sqlite3_bind_text(r->get, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(r->get, 2, key, -1, SQLITE_STATIC);
    nsl_err code = get_row(r->db, r->get, out, err);
    /* Resetting ends the statement's read transaction, so the next read sees new commits. */
    sqlite3_reset(r->get);
    sqlite3_clear_bindings(r->get);
    reader_give(st, r);
    if (code != NSL_OK)
        nsl_blob_value_free(out);
    return code;
}

/* Appends the current row to page unless it would pass the byte budget. Returns 1 when the row
 * was taken, 0 when the page is full, -1 on allocation failure. */
static int take_row(sqlite3_stmt *stmt, const struct nsl_blob_query *q, struct nsl_blob_page *page,
                    size_t *bytes)
{
    size_t key_len = (size_t)sqlite3_column_bytes(stmt, 0);
    size_t cost = NSL_BLOB_ITEM_WIRE_SIZE(key_len, (size_t)sqlite3_column_bytes(stmt, 2));
    if (!nsl_blob_page_fits(q, page, *bytes, cost))
        return 0;
    struct nsl_blob_item *it = &page->items[page->count];
    it->key = strndup((const char *)sqlite3_column_text(stmt, 0), key_len);
    it->version = (uint64_t)sqlite3_column_int64(stmt, 1);
    if (!it->key || copy_value(stmt, 2, &it->value, &it->len) != 0) {
        free(it->key);
        it->key = NULL;
        return -1;
    }
    page->count++;
    *bytes += cost;
    return 1;
}

static nsl_err list_rows(struct nsl_sqlite_reader *r, const struct nsl_blob_query *q,
                         struct nsl_blob_page *page, struct nsl_error *err)
{
    size_t bytes = 0;
    int rc, taken = 1;
    while (taken == 1 && (rc = sqlite3_step(r->list)) == SQLITE_ROW) {
        taken = take_row(r->list, q, page, &bytes);
        if (taken < 0)
            return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
        page->more = taken == 0;
    }
    if (taken == 1 && rc != SQLITE_DONE)
        return read_failed(r->db, err);
    return NSL_OK;
}

static nsl_err sqlite_list(struct nsl_blobstore *s, const struct nsl_blob_query *q,
                           struct nsl_blob_page *page, struct nsl_error *err)
{
    struct nsl_sqlite_store *st = (struct nsl_sqlite_store *)s;
    char *upper = NULL;
    page->items = calloc(q->limit + 1, sizeof *page->items);
    if (!page->items || nsl_blob_prefix_upper_bound(q->prefix, &upper) != 0) {
        nsl_blob_page_free(page);
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    struct nsl_sqlite_reader *r = reader_take(st);
    sqlite3_bind_text(r->list, 1, q->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(r->list, 2, q->after ? q->after : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(r->list, 3, q->prefix, -1, SQLITE_STATIC);
    if (upper)
        sqlite3_bind_text(r->list, 4, upper, -1, SQLITE_STATIC);
    sqlite3_bind_int64(r->list, 5, (sqlite3_int64)q->limit + 1);
    nsl_err code = list_rows(r, q, page, err);
    sqlite3_reset(r->list);
    sqlite3_clear_bindings(r->list);
    reader_give(st, r);
    free(upper);
    if (code != NSL_OK)
        nsl_blob_page_free(page);
    return code;
}

static void sqlite_stats(struct nsl_blobstore *s, struct nsl_blobstore_stats *out)
{
    struct nsl_sqlite_store *st = (struct nsl_sqlite_store *)s;
    out->commits = atomic_load(&st->commits);
    out->writes = atomic_load(&st->writes);
}

static void sqlite_close(struct nsl_blobstore *s)
{
    struct nsl_sqlite_store *st = (struct nsl_sqlite_store *)s;
    nsl_sqlite_writer_stop(st);
    for (size_t i = 0; i < NSL_SQLITE_READERS; i++)
        reader_close(&st->readers[i]);
    pthread_cond_destroy(&st->readers_cond);
    pthread_mutex_destroy(&st->readers_lock);
    free(st->path);
    free(st);
}

static const struct nsl_blobstore_backend sqlite_backend = {
    .name = "sqlite",
    .get = sqlite_get,
    .list = sqlite_list,
    .submit = nsl_sqlite_writer_submit,
    .stats = sqlite_stats,
    .close = sqlite_close,
};

/* SQLite gives its -wal and -shm files the database file's mode, so creating the file 0600
 * ourselves keeps all three private (umask could only narrow it further). */
static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        nsl_logf(NSL_LOG_ERROR, "store_open_failed", "%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

struct nsl_blobstore *nsl_blobstore_open_sqlite(const char *state_dir, struct nsl_metrics *metrics)
{
    struct nsl_sqlite_store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->base.backend = &sqlite_backend;
    st->metrics = metrics;
    pthread_mutex_init(&st->readers_lock, NULL);
    pthread_cond_init(&st->readers_cond, NULL);
    nsl_blob_queue_init(&st->writer.queue);
    if (asprintf(&st->path, "%s/nsl.db", state_dir) < 0) {
        st->path = NULL;
        goto fail;
    }
    /* The writer first: it creates the schema and switches the file to WAL, which the
     * read-only connections cannot do. */
    if (create_private(st->path) != 0 || nsl_sqlite_writer_start(st) != 0)
        goto fail;
    for (size_t i = 0; i < NSL_SQLITE_READERS; i++)
        if (reader_open(&st->readers[i], st->path) != 0)
            goto fail;
    nsl_log(NSL_LOG_INFO, "store_opened", "backend", "sqlite", "path", st->path, NULL);
    return &st->base;
fail:
    sqlite_close(&st->base);
    return NULL;
}
