/* Group commit for the PostgreSQL blob store (see blobstore_postgres.h). NSL_PG_WRITERS threads,
 * each with its own connection, take up to NSL_PG_MAX_GROUP queued jobs, apply them in one READ
 * COMMITTED transaction (a job of several writes inside its own SAVEPOINT, so that a failed
 * compare-and-swap undoes only that job), COMMIT once with synchronous_commit on, and only then
 * finish the jobs.
 *
 * Each write is one compare-and-swap statement (blobstore_postgres.c): the row lock it takes is
 * held to COMMIT, so two parents writing the same key serialise on it and the second sees the
 * first's version, never overwrites it. A group of several writes first locks every existing row
 * it names in (ns, key) order, so two groups never wait for each other in a cycle. Inserts of
 * the same new keys in opposite orders still can; PostgreSQL then aborts one transaction as a
 * deadlock (SQLSTATE 40P01) and its jobs are applied again from scratch, since nothing of an
 * aborted transaction stays. A COMMIT whose outcome is unknown (the connection dropped) is
 * answered UNAVAILABLE, never acknowledged. */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/encoding.h"
#include "common/log.h"
#include "parent/blobstore_postgres.h"
#include "parent/metrics.h"

#define MAX_ATTEMPTS 5

enum group_outcome { GROUP_OK, GROUP_RETRY, GROUP_FAILED };

/* Why the last statement failed: a deadlock or serialization failure may be retried. */
static bool retryable(const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
}

/* Runs a command without parameters; 0, or -1 with *retry telling whether to try again. */
static int command(PGconn *conn, const char *sql, bool *retry)
{
    PGresult *res = PQexec(conn, sql);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0) {
        *retry = retryable(res);
        nsl_pg_log_failure("store_write_failed", conn, res);
    }
    PQclear(res);
    return rc;
}

/* Reads the key's current version and whether it holds a value, for the error answer. */
static int current(PGconn *conn, const struct nsl_blob_write *w, uint64_t *version, bool *live,
                   bool *retry)
{
    const char *values[2] = {w->ns, w->key};
    const int lengths[2] = {(int)strlen(w->ns), (int)strlen(w->key)};
    PGresult *res = nsl_pg_exec(conn, "current", 2, values, lengths);
    int rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
    *version = rc == 0 && PQntuples(res) == 1 ? nsl_pg_uint64(res, 0, 0) : 0;
    *live = rc == 0 && PQntuples(res) == 1 && PQgetvalue(res, 0, 1)[0] == 1;
    if (rc != 0) {
        *retry = retryable(res);
        nsl_pg_log_failure("store_write_failed", conn, res);
    }
    PQclear(res);
    return rc;
}

/* Runs the write's compare-and-swap statement; *applied tells whether it changed the row. */
static int cas(PGconn *conn, const struct nsl_blob_write *w, bool *applied, bool *retry)
{
    uint64_t expected = htobe64(w->expected);
    const char *value = w->value ? (const char *)w->value : ""; /* empty, not NULL: no tombstone */
    const char *values[4] = {w->ns, w->key, (const char *)&expected, value};
    int lengths[4] = {(int)strlen(w->ns), (int)strlen(w->key), (int)sizeof expected, (int)w->len};
    PGresult *res;
    if (w->op == NSL_BLOB_PUT && w->expected == 0) {
        values[2] = value;
        lengths[2] = (int)w->len;
        res = nsl_pg_exec(conn, "insert", 3, values, lengths);
    } else if (w->op == NSL_BLOB_PUT) {
        res = nsl_pg_exec(conn, "update", 4, values, lengths);
    } else {
        res = nsl_pg_exec(conn, "delete", 3, values, lengths);
    }
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    *applied = rc == 0 && strcmp(PQcmdTuples(res), "1") == 0;
    if (rc != 0) {
        *retry = retryable(res);
        nsl_pg_log_failure("store_write_failed", conn, res);
    }
    PQclear(res);
    return rc;
}

/* Applies writes[i]; job->code gets a failed check. Returns -1 when the statement failed. */
static int apply_write(PGconn *conn, struct nsl_blob_job *job, size_t i, bool *retry)
{
    const struct nsl_blob_write *w = &job->writes[i];
    bool applied = false, live = false;
    uint64_t now = 0;
    if (cas(conn, w, &applied, retry) != 0)
        return -1;
    if (applied) {
        job->versions[i] = w->expected + 1;
        return 0;
    }
    if (current(conn, w, &now, &live, retry) != 0)
        return -1;
    job->code = nsl_blob_check_failed(job, i, now, live, &job->err);
    return 0;
}

/* Runs a statement of the prune and checks its status; NULL when it failed. */
static PGresult *prune_step(PGconn *conn, const char *stmt, int count, const char *const *values,
                            const int *lengths, ExecStatusType want, bool *retry)
{
    PGresult *res = nsl_pg_exec(conn, stmt, count, values, lengths);
    if (PQresultStatus(res) == want)
        return res;
    *retry = retryable(res);
    nsl_pg_log_failure("store_write_failed", conn, res);
    PQclear(res);
    return NULL;
}

/* Drops the rows of a prune job (one statement: all or none), then looks whether any before the
 * bound are left. */
static int apply_prune(PGconn *conn, struct nsl_blob_prune *p, bool *retry)
{
    uint64_t limit = htobe64((uint64_t)p->limit);
    const char *values[3] = {p->ns, p->before, (const char *)&limit};
    const int lengths[3] = {(int)strlen(p->ns), (int)strlen(p->before), (int)sizeof limit};
    PGresult *res = prune_step(conn, "prune", 3, values, lengths, PGRES_COMMAND_OK, retry);
    if (!res)
        return -1;
    p->removed = (size_t)strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    res = prune_step(conn, "prune_more", 2, values, lengths, PGRES_TUPLES_OK, retry);
    if (!res)
        return -1;
    p->more = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* Applies a job; a job of several writes runs in a savepoint so that a failed check undoes the
 * writes before it (a single write that fails its check changed nothing). */
static int apply_job(PGconn *conn, struct nsl_blob_job *job, bool *retry)
{
    if (job->prune)
        return apply_prune(conn, job->prune, retry);
    bool savepoint = job->count > 1;
    if (savepoint && command(conn, "SAVEPOINT job", retry) != 0)
        return -1;
    for (size_t i = 0; i < job->count && job->code == NSL_OK; i++)
        if (apply_write(conn, job, i, retry) != 0)
            return -1;
    if (!savepoint)
        return 0;
    if (job->code == NSL_OK)
        return command(conn, "RELEASE SAVEPOINT job", retry);
    return command(conn, "ROLLBACK TO SAVEPOINT job", retry) == 0 &&
                   command(conn, "RELEASE SAVEPOINT job", retry) == 0
               ? 0
               : -1;
}

/* Appends s (or its hex) to a text-array literal {"a","b"}: neither needs escaping, since ns is
 * [a-z0-9_]. Returns -1 when out of memory. */
static int append_element(struct nsl_buf *b, const char *s, bool hex)
{
    char *text = hex ? nsl_hex_encode_alloc((const uint8_t *)s, strlen(s)) : NULL;
    const char *item = hex ? text : s;
    int rc = item && nsl_buf_append(b, b->len > 1 ? ",\"" : "\"", b->len > 1 ? 2 : 1) == 0 &&
                     nsl_buf_append(b, item, strlen(item)) == 0 && nsl_buf_append(b, "\"", 1) == 0
                 ? 0
                 : -1;
    free(text);
    return rc;
}

/* Builds the two array literals of the "lock" statement (NUL-terminated). */
static int lock_arrays(const struct nsl_blob_job *jobs, struct nsl_buf *ns, struct nsl_buf *keys)
{
    int rc = nsl_buf_append(ns, "{", 1) | nsl_buf_append(keys, "{", 1);
    for (const struct nsl_blob_job *j = jobs; j && rc == 0; j = j->next)
        for (size_t i = 0; i < j->count && rc == 0; i++)
            rc = append_element(ns, j->writes[i].ns, false) |
                 append_element(keys, j->writes[i].key, true);
    return rc | nsl_buf_append(ns, "}", 2) | nsl_buf_append(keys, "}", 2);
}

/* Locks the existing rows of every write of the group, in (ns, key) order. */
static int lock_rows(PGconn *conn, const struct nsl_blob_job *jobs, bool *retry)
{
    struct nsl_buf ns = {0}, keys = {0};
    int rc = lock_arrays(jobs, &ns, &keys);
    if (rc == 0) {
        const char *values[2] = {(const char *)ns.data, (const char *)keys.data};
        PGresult *res = PQexecPrepared(conn, "lock", 2, values, NULL, NULL, 1);
        rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : -1;
        if (rc != 0) {
            *retry = retryable(res);
            nsl_pg_log_failure("store_write_failed", conn, res);
        }
        PQclear(res);
    }
    nsl_buf_free(&ns);
    nsl_buf_free(&keys);
    return rc;
}

static size_t group_writes(const struct nsl_blob_job *jobs)
{
    size_t n = 0;
    for (const struct nsl_blob_job *j = jobs; j; j = j->next)
        n += j->count;
    return n;
}

static void reset_jobs(struct nsl_blob_job *jobs)
{
    for (struct nsl_blob_job *j = jobs; j; j = j->next) {
        j->code = NSL_OK;
        j->err.code = NSL_OK;
        j->err.message[0] = 0;
    }
}

/* One attempt at the group on conn. */
static enum group_outcome try_group(struct nsl_pg_store *st, struct nsl_pg_conn *c,
                                    struct nsl_blob_job *jobs)
{
    bool retry = false;
    if (nsl_pg_ensure(st, c) != 0)
        return GROUP_FAILED;
    reset_jobs(jobs);
    if (command(c->conn, "BEGIN", &retry) != 0) /* nothing was applied: safe to try again */
        return nsl_pg_drop_if_broken(c) || retry ? GROUP_RETRY : GROUP_FAILED;
    /* One write locks one row: no cycle is possible, so no need to lock first. (A prune takes
     * only rows no write names: keys of a time that has passed.) */
    bool locked = group_writes(jobs) <= 1 || lock_rows(c->conn, jobs, &retry) == 0;
    for (struct nsl_blob_job *j = jobs; j; j = j->next) {
        if (!locked || apply_job(c->conn, j, &retry) != 0) {
            if (!nsl_pg_drop_if_broken(c))
                command(c->conn, "ROLLBACK", &(bool){false});
            return retry ? GROUP_RETRY : GROUP_FAILED;
        }
    }
    retry = false;
    if (command(c->conn, "COMMIT", &retry) != 0) {
        /* A dropped connection leaves the outcome unknown: answer, never acknowledge. */
        nsl_pg_drop_if_broken(c);
        return retry ? GROUP_RETRY : GROUP_FAILED;
    }
    return GROUP_OK;
}

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

static void count_commit(struct nsl_pg_store *st, struct nsl_blob_job *jobs,
                         const struct timespec *start)
{
    size_t writes = 0;
    for (const struct nsl_blob_job *j = jobs; j; j = j->next)
        writes += j->code == NSL_OK ? j->count : 0;
    atomic_fetch_add(&st->commits, 1);
    atomic_fetch_add(&st->writes, writes);
    if (st->metrics)
        nsl_metrics_observe_kv_commit(st->metrics, writes, seconds_since(start));
}

static void commit_group(struct nsl_pg_store *st, struct nsl_pg_conn *c, struct nsl_blob_job *jobs)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum group_outcome outcome = GROUP_RETRY;
    for (int attempt = 0; attempt < MAX_ATTEMPTS && outcome == GROUP_RETRY; attempt++)
        outcome = try_group(st, c, jobs);
    if (outcome == GROUP_OK)
        count_commit(st, jobs, &start);
    else
        fail_group(jobs, "the store could not make the write durable");
}

static void *writer_main(void *arg)
{
    struct nsl_pg_store *st = arg;
    struct nsl_pg_conn c = {0};
    struct nsl_blob_job *jobs;
    while ((jobs = nsl_blob_queue_take(&st->queue, NSL_PG_MAX_GROUP)) != NULL) {
        commit_group(st, &c, jobs);
        nsl_blob_jobs_finish(jobs);
    }
    PQfinish(c.conn);
    return NULL;
}

void nsl_pg_submit(struct nsl_blobstore *s, struct nsl_blob_job *job)
{
    nsl_blob_queue_submit(&((struct nsl_pg_store *)s)->queue, job);
}

int nsl_pg_writers_start(struct nsl_pg_store *st)
{
    for (size_t i = 0; i < NSL_PG_WRITERS; i++) {
        if (pthread_create(&st->writers[i], NULL, writer_main, st) != 0)
            return -1;
        st->writers_started++;
    }
    return 0;
}

void nsl_pg_writers_stop(struct nsl_pg_store *st)
{
    nsl_blob_queue_stop(&st->queue);
    for (size_t i = 0; i < st->writers_started; i++)
        pthread_join(st->writers[i], NULL);
    st->writers_started = 0;
}
