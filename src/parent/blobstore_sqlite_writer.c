/* Group commit for the SQLite blob store (see blobstore_sqlite.h). One thread owns the write
 * connection. It takes every job queued since its last commit, opens one transaction (BEGIN
 * IMMEDIATE), applies each job inside its own SAVEPOINT so that a failed compare-and-swap undoes
 * only that job (a batch is one job: all or none), COMMITs once, and only then finishes the jobs.
 * With synchronous=FULL in WAL mode that COMMIT is one fsync for the whole group; when it fails,
 * every job of the group gets an error, never an acknowledgement. */
#define NSL_LOG_COMPONENT NSL_LOGC_STORE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "parent/blobstore_sqlite.h"
#include "parent/metrics.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS blobs(ns TEXT, key TEXT, version INTEGER, value BLOB,"
    " PRIMARY KEY(ns, key))";

/* Runs a statement that returns nothing useful (or one row we ignore) and resets it. */
static int step_once(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

/* Reads back a pragma's value as text on db, into out. */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *stmt = NULL;
    int ok = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
             sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0);
    if (ok)
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return ok ? 0 : -1;
}

/* WAL and synchronous=FULL are what make an acknowledged write survive power loss; refuse to
 * run on a file system or build where they do not take. */
static int configure(sqlite3 *db)
{
    char mode[16] = "", sync[16] = "";
    if (pragma_text(db, "PRAGMA journal_mode=WAL", mode, sizeof mode) != 0 ||
        sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
        pragma_text(db, "PRAGMA synchronous", sync, sizeof sync) != 0 ||
        sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        nsl_logf(NSL_LOG_ERROR, "store_configure_failed", "%s", sqlite3_errmsg(db));
        return -1;
    }
    if (strcmp(mode, "wal") != 0 || strcmp(sync, "2") != 0) {
        nsl_logf(NSL_LOG_ERROR, "store_configure_failed",
                 "journal_mode is %s and synchronous %s; need wal and 2 (FULL)", mode, sync);
        return -1;
    }
    return 0;
}

static int prepare_all(struct nsl_sqlite_writer *w)
{
    w->select = nsl_sqlite_prepare(w->db, "SELECT version, value IS NOT NULL FROM blobs"
                                          " WHERE ns = ?1 AND key = ?2");
    w->upsert = nsl_sqlite_prepare(
        w->db, "INSERT OR REPLACE INTO blobs(ns, key, version, value) VALUES(?1, ?2, ?3, ?4)");
    /* blobs has a rowid; the subquery picks the lowest keys first, by the primary key index. */
    w->prune = nsl_sqlite_prepare(w->db, "DELETE FROM blobs WHERE rowid IN (SELECT rowid FROM blobs"
                                         " WHERE ns = ?1 AND key < ?2 ORDER BY key LIMIT ?3)");
    w->prune_more =
        nsl_sqlite_prepare(w->db, "SELECT 1 FROM blobs WHERE ns = ?1 AND key < ?2 LIMIT 1");
    w->begin = nsl_sqlite_prepare(w->db, "BEGIN IMMEDIATE");
    w->commit = nsl_sqlite_prepare(w->db, "COMMIT");
    w->rollback = nsl_sqlite_prepare(w->db, "ROLLBACK");
    w->savepoint = nsl_sqlite_prepare(w->db, "SAVEPOINT job");
    w->release = nsl_sqlite_prepare(w->db, "RELEASE job");
    w->rollback_to = nsl_sqlite_prepare(w->db, "ROLLBACK TO job");
    return w->select && w->upsert && w->prune && w->prune_more && w->begin && w->commit &&
                   w->rollback && w->savepoint && w->release && w->rollback_to
               ? 0
               : -1;
}

/* ---- applying one job ---- */

static nsl_err write_failed(sqlite3 *db, struct nsl_error *err)
{
    nsl_logf(NSL_LOG_ERROR, "store_write_failed", "%s", sqlite3_errmsg(db));
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the store could not apply the write");
}

/* Reads the key's current version and whether it holds a value (not a tombstone). */
static nsl_err current(struct nsl_sqlite_writer *w, const struct nsl_blob_write *wr,
                       uint64_t *version, bool *live, struct nsl_error *err)
{
    sqlite3_bind_text(w->select, 1, wr->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->select, 2, wr->key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(w->select);
    *version = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(w->select, 0) : 0;
    *live = rc == SQLITE_ROW && sqlite3_column_int(w->select, 1) != 0;
    sqlite3_reset(w->select);
    sqlite3_clear_bindings(w->select);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? NSL_OK : write_failed(w->db, err);
}

static nsl_err store_row(struct nsl_sqlite_writer *w, const struct nsl_blob_write *wr,
                         uint64_t version, struct nsl_error *err)
{
    sqlite3_bind_text(w->upsert, 1, wr->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(w->upsert, 2, wr->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(w->upsert, 3, (sqlite3_int64)version);
    if (wr->op == NSL_BLOB_DELETE)
        sqlite3_bind_null(w->upsert, 4); /* the tombstone keeps the version */
    else if (wr->len == 0)
        sqlite3_bind_zeroblob(w->upsert, 4, 0); /* empty, but not a tombstone */
    else
        sqlite3_bind_blob(w->upsert, 4, wr->value, (int)wr->len, SQLITE_STATIC);
    int rc = sqlite3_step(w->upsert);
    sqlite3_reset(w->upsert);
    sqlite3_clear_bindings(w->upsert);
    return rc == SQLITE_DONE ? NSL_OK : write_failed(w->db, err);
}

static nsl_err apply_write(struct nsl_sqlite_writer *w, const struct nsl_blob_job *job, size_t i,
                           uint64_t *version, struct nsl_error *err)
{
    const struct nsl_blob_write *wr = &job->writes[i];
    uint64_t now;
    bool live;
    NSL_TRY(current(w, wr, &now, &live, err));
    if (!nsl_blob_check_passes(wr, now, live))
        return nsl_blob_check_failed(job, i, now, live, err);
    *version = wr->expected + 1;
    return store_row(w, wr, *version, err);
}

/* Drops the rows of a prune job, then looks whether any before the bound are left. */
static nsl_err apply_prune(struct nsl_sqlite_writer *w, struct nsl_blob_prune *p,
                           struct nsl_error *err)
{
    sqlite3_stmt *stmts[] = {w->prune, w->prune_more};
    int rc[2];
    for (size_t i = 0; i < 2; i++) {
        sqlite3_bind_text(stmts[i], 1, p->ns, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmts[i], 2, p->before, -1, SQLITE_STATIC);
        if (i == 0)
            sqlite3_bind_int64(stmts[i], 3, (sqlite3_int64)p->limit);
        rc[i] = sqlite3_step(stmts[i]);
        if (i == 0)
            p->removed = rc[0] == SQLITE_DONE ? (size_t)sqlite3_changes(w->db) : 0;
        sqlite3_reset(stmts[i]);
        sqlite3_clear_bindings(stmts[i]);
        if (rc[i] != SQLITE_DONE && rc[i] != SQLITE_ROW)
            return write_failed(w->db, err);
    }
    p->more = rc[1] == SQLITE_ROW;
    return NSL_OK;
}

/* Applies a job inside its own savepoint; on failure only this job is undone. Returns -1 when
 * the transaction itself is broken (the savepoint could not be rolled back). */
static int apply_job(struct nsl_sqlite_writer *w, struct nsl_blob_job *job)
{
    if (step_once(w->savepoint) != 0) {
        job->code = write_failed(w->db, &job->err);
        return -1;
    }
    if (job->prune)
        job->code = apply_prune(w, job->prune, &job->err);
    for (size_t i = 0; i < job->count && job->code == NSL_OK; i++)
        job->code = apply_write(w, job, i, &job->versions[i], &job->err);
    if (job->code == NSL_OK)
        return step_once(w->release);
    return step_once(w->rollback_to) == 0 && step_once(w->release) == 0 ? 0 : -1;
}

/* ---- the group ---- */

static void fail_group(struct nsl_blob_job *jobs, const char *why)
{
    for (struct nsl_blob_job *j = jobs; j; j = j->next)
        j->code = nsl_fail(&j->err, NSL_ERR_UNAVAILABLE, "%s", why);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static size_t applied_writes(const struct nsl_blob_job *jobs)
{
    size_t n = 0;
    for (const struct nsl_blob_job *j = jobs; j; j = j->next)
        n += j->code == NSL_OK ? j->count : 0;
    return n;
}

static void count_commit(struct nsl_sqlite_store *st, struct nsl_blob_job *jobs,
                         const struct timespec *start)
{
    size_t writes = applied_writes(jobs);
    atomic_fetch_add(&st->commits, 1);
    atomic_fetch_add(&st->writes, writes);
    if (st->metrics)
        nsl_metrics_observe_kv_commit(st->metrics, writes, seconds_since(start));
}

/* Applies the jobs in one transaction; on return each job has its outcome. */
static void commit_group(struct nsl_sqlite_store *st, struct nsl_blob_job *jobs)
{
    struct nsl_sqlite_writer *w = &st->writer;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (step_once(w->begin) != 0) {
        nsl_logf(NSL_LOG_ERROR, "store_begin_failed", "%s", sqlite3_errmsg(w->db));
        fail_group(jobs, "the store could not start a transaction");
        return;
    }
    int broken = 0;
    for (struct nsl_blob_job *j = jobs; j && !broken; j = j->next)
        broken = apply_job(w, j);
    if (broken || step_once(w->commit) != 0) {
        nsl_logf(NSL_LOG_ERROR, "store_commit_failed", "%s", sqlite3_errmsg(w->db));
        if (!sqlite3_get_autocommit(w->db))
            step_once(w->rollback);
        fail_group(jobs, "the store could not make the write durable");
        return;
    }
    count_commit(st, jobs, &start);
}

static void *writer_main(void *arg)
{
    struct nsl_sqlite_store *st = arg;
    struct nsl_blob_job *jobs;
    while ((jobs = nsl_blob_queue_take(&st->writer.queue, 0)) != NULL) {
        commit_group(st, jobs);
        nsl_blob_jobs_finish(jobs);
    }
    return NULL;
}

void nsl_sqlite_writer_submit(struct nsl_blobstore *s, struct nsl_blob_job *job)
{
    nsl_blob_queue_submit(&((struct nsl_sqlite_store *)s)->writer.queue, job);
}

int nsl_sqlite_writer_start(struct nsl_sqlite_store *st)
{
    struct nsl_sqlite_writer *w = &st->writer;
    w->db = nsl_sqlite_connect(st->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!w->db || configure(w->db) != 0 || prepare_all(w) != 0)
        return -1;
    if (pthread_create(&w->thread, NULL, writer_main, st) != 0)
        return -1;
    w->started = true;
    return 0;
}

void nsl_sqlite_writer_stop(struct nsl_sqlite_store *st)
{
    struct nsl_sqlite_writer *w = &st->writer;
    nsl_blob_queue_stop(&w->queue);
    if (w->started)
        pthread_join(w->thread, NULL);
    sqlite3_stmt *stmts[] = {w->select, w->upsert,   w->prune,     w->prune_more, w->begin,
                             w->commit, w->rollback, w->savepoint, w->release,    w->rollback_to};
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        sqlite3_finalize(stmts[i]);
    sqlite3_close(w->db);
    nsl_blob_queue_destroy(&w->queue);
}
