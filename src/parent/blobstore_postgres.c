/* The PostgreSQL blob store (see blobstore.h, blobstore_postgres.h, docs/scale-out.md): table
 * nsl_blobs(ns, key, version, value) with value NULL for a tombstone, shared by every parent
 * that names the same database. Keys are bytea so that order and prefix bounds are byte order,
 * exactly as SQLite's BINARY collation, whatever the database's encoding and locale. Reads run
 * on a small pool of connections in autocommit, each statement its own snapshot, so a read made
 * after a write was acknowledged (by this parent or another) sees it. A connection that breaks
 * is dropped and opened again on next use; meanwhile callers get UNAVAILABLE. */
#include "parent/blobstore_postgres.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define CONNECT_TIMEOUT   "5"
#define RETRY_INTERVAL_MS 500

/* Serialises schema creation when several parents start at once (CREATE TABLE IF NOT EXISTS
 * alone can fail on a concurrent create). Any constant: "nslb" in ASCII. */
#define SCHEMA_LOCK_ID "1852009314"

static const char schema_sql[] =
    "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_ID ");"
    " CREATE TABLE IF NOT EXISTS nsl_blobs(ns text NOT NULL, key bytea NOT NULL,"
    " version bigint NOT NULL, value bytea, PRIMARY KEY(ns, key)); COMMIT";

/* The session settings every connection needs: an acknowledged write is on disk (the server's
 * default may say otherwise; the session's SET wins), and no statement hangs forever. */
static const char session_sql[] = "SET synchronous_commit = on; SET statement_timeout = '60s'";

#define TEXT_OID       25
#define BYTEA_OID      17
#define INT8_OID       20
#define TEXT_ARRAY_OID 1009

struct statement {
    const char *name;
    const char *sql;
    int count;
    Oid types[5];
};

/* Every statement is prepared on every connection (readers and writers alike). The writes are
 * compare-and-swap in one statement each: UPDATE … WHERE version = $3 re-checks the condition
 * on the newest row version after waiting for a concurrent writer's lock (READ COMMITTED), and
 * INSERT … ON CONFLICT DO NOTHING waits for a concurrent insert of the same key; either way the
 * loser changes nothing and sees 0 rows, so no update is ever lost. */
static const struct statement statements[] = {
    {"get",
     "SELECT version, value FROM nsl_blobs WHERE ns = $1 AND key = $2",
     2,
     {TEXT_OID, BYTEA_OID}},
    {"list",
     "SELECT key, version, value FROM nsl_blobs WHERE ns = $1 AND key > $2 AND key >= $3"
     " AND key < $4 AND value IS NOT NULL ORDER BY key LIMIT $5",
     5,
     {TEXT_OID, BYTEA_OID, BYTEA_OID, BYTEA_OID, INT8_OID}},
    {"list_open",
     "SELECT key, version, value FROM nsl_blobs WHERE ns = $1 AND key > $2 AND key >= $3"
     " AND value IS NOT NULL ORDER BY key LIMIT $4",
     4,
     {TEXT_OID, BYTEA_OID, BYTEA_OID, INT8_OID}},
    /* Row locks for a whole group, taken in one order (ns, key) whatever order the group's
     * jobs name the keys in, so that two groups never wait on each other in a cycle. Arrays
     * in text format: ns is [a-z0-9_], keys are hex. */
    {"lock",
     "SELECT 1 FROM nsl_blobs WHERE (ns, key) IN (SELECT n, decode(k, 'hex') FROM"
     " unnest($1::text[], $2::text[]) AS t(n, k)) ORDER BY ns, key FOR UPDATE",
     2,
     {TEXT_ARRAY_OID, TEXT_ARRAY_OID}},
    {"current",
     "SELECT version, value IS NOT NULL FROM nsl_blobs WHERE ns = $1 AND key = $2",
     2,
     {TEXT_OID, BYTEA_OID}},
    {"insert",
     "INSERT INTO nsl_blobs(ns, key, version, value) VALUES($1, $2, 1, $3)"
     " ON CONFLICT DO NOTHING",
     3,
     {TEXT_OID, BYTEA_OID, BYTEA_OID}},
    {"update",
     "UPDATE nsl_blobs SET version = version + 1, value = $4"
     " WHERE ns = $1 AND key = $2 AND version = $3",
     4,
     {TEXT_OID, BYTEA_OID, INT8_OID, BYTEA_OID}},
    {"delete",
     "UPDATE nsl_blobs SET version = version + 1, value = NULL"
     " WHERE ns = $1 AND key = $2 AND version = $3 AND value IS NOT NULL",
     3,
     {TEXT_OID, BYTEA_OID, INT8_OID}},
    /* kv.prune: the lowest keys before the bound. SKIP LOCKED: two parents pruning at once
     * never wait for each other (what one skips, it reports as left over: more). */
    {"prune",
     "DELETE FROM nsl_blobs WHERE ns = $1 AND key IN (SELECT key FROM nsl_blobs WHERE ns = $1"
     " AND key < $2 ORDER BY key LIMIT $3 FOR UPDATE SKIP LOCKED)",
     3,
     {TEXT_OID, BYTEA_OID, INT8_OID}},
    {"prune_more",
     "SELECT 1 FROM nsl_blobs WHERE ns = $1 AND key < $2 LIMIT 1",
     2,
     {TEXT_OID, BYTEA_OID}},
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void nsl_pg_log_failure(const char *event, PGconn *conn, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg || !msg[0])
        msg = PQerrorMessage(conn);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        n--;
    nsl_logf(NSL_LOG_ERROR, event, "%.*s", (int)n, msg);
}

/* Runs sql (no parameters) and checks that it succeeded. */
static int exec_simple(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int rc = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
        nsl_pg_log_failure("store_session_failed", conn, res);
    PQclear(res);
    return rc;
}

/* An acknowledged write must survive a crash of the database server: refuse a server that runs
 * with fsync off, as the SQLite store refuses a file that will not take synchronous=FULL. */
static int check_durable(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SHOW fsync");
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
             strcmp(PQgetvalue(res, 0, 0), "on") == 0;
    PQclear(res);
    res = PQexec(conn, "SHOW synchronous_commit");
    ok = ok && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
         strcmp(PQgetvalue(res, 0, 0), "on") == 0;
    PQclear(res);
    if (!ok)
        nsl_log(NSL_LOG_ERROR, "store_configure_failed", "why",
                "the PostgreSQL server must run with fsync on and the session with "
                "synchronous_commit on",
                NULL);
    return ok ? 0 : -1;
}

static int prepare_all(PGconn *conn)
{
    for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
        const struct statement *s = &statements[i];
        PGresult *res = PQprepare(conn, s->name, s->sql, s->count, s->types);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            nsl_pg_log_failure("store_prepare_failed", conn, res);
        PQclear(res);
        if (!ok)
            return -1;
    }
    return 0;
}

/* Opens a session with the settings above; NULL (logged) on failure. The URL is never logged: it
 * may hold a password. */
static PGconn *open_session(const char *url)
{
    const char *const keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *const values[] = {url, CONNECT_TIMEOUT, "nsl-parent", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        if (conn)
            nsl_pg_log_failure("store_connect_failed", conn, NULL);
        PQfinish(conn);
        return NULL;
    }
    if (exec_simple(conn, session_sql) != 0 || check_durable(conn) != 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static PGconn *connect_session(const char *url)
{
    PGconn *conn = open_session(url);
    if (conn && prepare_all(conn) != 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

int nsl_pg_ensure(struct nsl_pg_store *st, struct nsl_pg_conn *c)
{
    if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
        return 0;
    PQfinish(c->conn);
    c->conn = NULL;
    if (now_ms() < atomic_load(&st->retry_at_ms))
        return -1;
    c->conn = connect_session(st->url);
    if (!c->conn) {
        atomic_store(&st->retry_at_ms, now_ms() + RETRY_INTERVAL_MS);
        return -1;
    }
    return 0;
}

bool nsl_pg_drop_if_broken(struct nsl_pg_conn *c)
{
    if (!c->conn || PQstatus(c->conn) == CONNECTION_OK)
        return false;
    PQfinish(c->conn);
    c->conn = NULL;
    return true;
}

PGresult *nsl_pg_exec(PGconn *conn, const char *stmt, int count, const char *const *values,
                      const int *lengths)
{
    const int formats[5] = {1, 1, 1, 1, 1};
    return PQexecPrepared(conn, stmt, count, values, lengths, formats, 1);
}

uint64_t nsl_pg_uint64(const PGresult *res, int row, int col)
{
    uint64_t be;
    if (PQgetlength(res, row, col) != (int)sizeof be)
        return 0;
    memcpy(&be, PQgetvalue(res, row, col), sizeof be);
    return be64toh(be);
}

/* ---- the reader pool ---- */

static struct nsl_pg_conn *reader_take(struct nsl_pg_store *st)
{
    pthread_mutex_lock(&st->readers_lock);
    for (;;) {
        for (size_t i = 0; i < NSL_PG_READERS; i++) {
            if (!st->readers[i].busy) {
                st->readers[i].busy = true;
                pthread_mutex_unlock(&st->readers_lock);
                return &st->readers[i];
            }
        }
        pthread_cond_wait(&st->readers_cond, &st->readers_lock);
    }
}

static void reader_give(struct nsl_pg_store *st, struct nsl_pg_conn *r)
{
    pthread_mutex_lock(&st->readers_lock);
    r->busy = false;
    pthread_cond_signal(&st->readers_cond);
    pthread_mutex_unlock(&st->readers_lock);
}

static nsl_err unreachable(struct nsl_error *err)
{
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the store could not be read");
}

/* Runs a read on a pooled connection. A session found broken (the server restarted, or the
 * network dropped it) is opened again and the read tried once more: reads are idempotent. */
static PGresult *read_rows(struct nsl_pg_store *st, const char *stmt, int count,
                           const char *const *values, const int *lengths)
{
    struct nsl_pg_conn *r = reader_take(st);
    PGresult *res = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        PQclear(res);
        res = NULL;
        if (nsl_pg_ensure(st, r) != 0)
            break;
        res = nsl_pg_exec(r->conn, stmt, count, values, lengths);
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            break;
        nsl_pg_log_failure("store_read_failed", r->conn, res);
        if (!nsl_pg_drop_if_broken(r))
            break;
    }
    reader_give(st, r);
    if (res && PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        res = NULL;
    }
    return res;
}

static int copy_value(const PGresult *res, int row, int col, uint8_t **out, size_t *len)
{
    *len = (size_t)PQgetlength(res, row, col);
    *out = NULL;
    if (*len == 0)
        return 0;
    *out = malloc(*len);
    if (!*out)
        return -1;
    memcpy(*out, PQgetvalue(res, row, col), *len);
    return 0;
}

static nsl_err pg_get(struct nsl_blobstore *s, const char *ns, const char *key,
                      struct nsl_blob_value *out, struct nsl_error *err)
{
    struct nsl_pg_store *st = (struct nsl_pg_store *)s;
    const char *values[2] = {ns, key};
    const int lengths[2] = {(int)strlen(ns), (int)strlen(key)};
    PGresult *res = read_rows(st, "get", 2, values, lengths);
    if (!res)
        return unreachable(err);
    nsl_err code = NSL_OK;
    if (PQntuples(res) == 1) {
        out->version = nsl_pg_uint64(res, 0, 0);
        out->found = !PQgetisnull(res, 0, 1); /* NULL: a tombstone */
        if (out->found && copy_value(res, 0, 1, &out->value, &out->len) != 0)
            code = nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    PQclear(res);
    if (code != NSL_OK)
        nsl_blob_value_free(out);
    return code;
}

/* Appends row to page unless it would pass the byte budget: 1 taken, 0 page full, -1 no memory. */
static int take_row(const PGresult *res, int row, const struct nsl_blob_query *q,
                    struct nsl_blob_page *page, size_t *bytes)
{
    size_t key_len = (size_t)PQgetlength(res, row, 0);
    size_t cost = NSL_BLOB_ITEM_WIRE_SIZE(key_len, (size_t)PQgetlength(res, row, 2));
    if (!nsl_blob_page_fits(q, page, *bytes, cost))
        return 0;
    struct nsl_blob_item *it = &page->items[page->count];
    it->key = strndup(PQgetvalue(res, row, 0), key_len);
    it->version = nsl_pg_uint64(res, row, 1);
    if (!it->key || copy_value(res, row, 2, &it->value, &it->len) != 0) {
        free(it->key);
        it->key = NULL;
        return -1;
    }
    page->count++;
    *bytes += cost;
    return 1;
}

static nsl_err list_query(struct nsl_pg_store *st, const struct nsl_blob_query *q,
                          const char *upper, PGresult **res)
{
    uint64_t limit = htobe64((uint64_t)q->limit + 1); /* one more than asked says "more" */
    const char *after = q->after ? q->after : "";
    const char *values[5] = {q->ns, after, q->prefix, upper, (const char *)&limit};
    int lengths[5] = {(int)strlen(q->ns), (int)strlen(after), (int)strlen(q->prefix),
                      upper ? (int)strlen(upper) : 0, (int)sizeof limit};
    if (!upper) { /* no upper bound: drop $4 */
        values[3] = values[4];
        lengths[3] = lengths[4];
    }
    *res = read_rows(st, upper ? "list" : "list_open", upper ? 5 : 4, values, lengths);
    return *res ? NSL_OK : NSL_ERR_UNAVAILABLE;
}

static nsl_err pg_list(struct nsl_blobstore *s, const struct nsl_blob_query *q,
                       struct nsl_blob_page *page, struct nsl_error *err)
{
    struct nsl_pg_store *st = (struct nsl_pg_store *)s;
    char *upper = NULL;
    PGresult *res = NULL;
    page->items = calloc(q->limit + 1, sizeof *page->items);
    if (!page->items || nsl_blob_prefix_upper_bound(q->prefix, &upper) != 0) {
        free(upper);
        nsl_blob_page_free(page);
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    nsl_err code = list_query(st, q, upper, &res);
    free(upper);
    if (code != NSL_OK) {
        nsl_blob_page_free(page);
        return unreachable(err);
    }
    size_t bytes = 0;
    int taken = 1;
    for (int row = 0; row < PQntuples(res) && taken == 1; row++) {
        taken = take_row(res, row, q, page, &bytes);
        page->more = taken == 0;
    }
    PQclear(res);
    if (taken < 0) {
        nsl_blob_page_free(page);
        return nsl_fail(err, NSL_ERR_INTERNAL, "out of memory");
    }
    return NSL_OK;
}

static void pg_stats(struct nsl_blobstore *s, struct nsl_blobstore_stats *out)
{
    struct nsl_pg_store *st = (struct nsl_pg_store *)s;
    out->commits = atomic_load(&st->commits);
    out->writes = atomic_load(&st->writes);
}

static void pg_close(struct nsl_blobstore *s)
{
    struct nsl_pg_store *st = (struct nsl_pg_store *)s;
    nsl_pg_writers_stop(st);
    for (size_t i = 0; i < NSL_PG_READERS; i++)
        PQfinish(st->readers[i].conn);
    pthread_cond_destroy(&st->readers_cond);
    pthread_mutex_destroy(&st->readers_lock);
    nsl_blob_queue_destroy(&st->queue);
    free(st->url);
    free(st);
}

static const struct nsl_blobstore_backend postgres_backend = {
    .name = "postgres",
    .get = pg_get,
    .list = pg_list,
    .submit = nsl_pg_submit,
    .stats = pg_stats,
    .close = pg_close,
};

/* Creates the table (statements can be prepared only once it exists), then opens the first
 * reader so that a server that cannot be reached or is not durable stops the parent at start. */
static int create_schema(struct nsl_pg_store *st)
{
    PGconn *conn = open_session(st->url);
    int rc = conn ? exec_simple(conn, schema_sql) : -1;
    PQfinish(conn);
    return rc == 0 ? nsl_pg_ensure(st, &st->readers[0]) : -1;
}

struct nsl_blobstore *nsl_blobstore_open_postgres(const char *url, struct nsl_metrics *metrics)
{
    struct nsl_pg_store *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->base.backend = &postgres_backend;
    st->metrics = metrics;
    pthread_mutex_init(&st->readers_lock, NULL);
    pthread_cond_init(&st->readers_cond, NULL);
    nsl_blob_queue_init(&st->queue);
    st->url = strdup(url);
    if (!st->url || create_schema(st) != 0 || nsl_pg_writers_start(st) != 0) {
        pg_close(&st->base);
        return NULL;
    }
    PGconn *c = st->readers[0].conn;
    nsl_log(NSL_LOG_INFO, "store_opened", "backend", "postgres", "host", PQhost(c), "database",
            PQdb(c), NULL);
    return &st->base;
}
