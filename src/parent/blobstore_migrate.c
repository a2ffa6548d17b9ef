/* SQLite -> PostgreSQL migration (see blobstore_migrate.h). The target table is made (and checked
 * durable) by opening it as a PostgreSQL blob store; the copy then runs on a connection of its
 * own: BEGIN, an exclusive lock on nsl_blobs (no parent can write while it runs), the emptiness
 * check, one INSERT per row, COMMIT. Any failure rolls back everything. */
#define NSL_LOG_COMPONENT NSL_LOGC_STORE
#include "parent/blobstore_migrate.h"

#include <endian.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <string.h>

#include "common/log.h"
#include "parent/blobstore.h"
#include "parent/blobstore_sqlite.h"

#define TEXT_OID  25
#define BYTEA_OID 17
#define INT8_OID  20

static const char insert_sql[] =
    "INSERT INTO nsl_blobs(ns, key, version, value) VALUES($1, $2, $3, $4)";

static nsl_err pg_failed(PGconn *conn, const PGresult *res, struct nsl_error *err)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    nsl_logf(NSL_LOG_ERROR, "migrate_failed", "%s", msg && msg[0] ? msg : PQerrorMessage(conn));
    return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the PostgreSQL database could not be written");
}

/* Runs sql (no parameters); want is the status it must end with. */
static nsl_err run(PGconn *conn, const char *sql, ExecStatusType want, PGresult **out,
                   struct nsl_error *err)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != want) {
        nsl_err rc = pg_failed(conn, res, err);
        PQclear(res);
        return rc;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return NSL_OK;
}

/* Creates the table and checks the server's durability settings, as a parent would at start. */
static nsl_err prepare_target(const char *pg_url, struct nsl_error *err)
{
    struct nsl_blobstore *target = nsl_blobstore_open_postgres(pg_url, NULL);
    if (!target)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE,
                        "the PostgreSQL database could not be opened (see the log)");
    nsl_blobstore_close(target);
    return NSL_OK;
}

/* Locks the table and refuses one that holds any row. */
static nsl_err lock_empty_target(PGconn *conn, struct nsl_error *err)
{
    NSL_TRY(run(conn, "SET synchronous_commit = on; BEGIN", PGRES_COMMAND_OK, NULL, err));
    NSL_TRY(run(conn, "LOCK TABLE nsl_blobs IN EXCLUSIVE MODE", PGRES_COMMAND_OK, NULL, err));
    PGresult *res = NULL;
    NSL_TRY(run(conn, "SELECT 1 FROM nsl_blobs LIMIT 1", PGRES_TUPLES_OK, &res, err));
    bool empty = PQntuples(res) == 0;
    PQclear(res);
    if (!empty)
        return nsl_fail(err, NSL_ERR_CONFLICT,
                        "the PostgreSQL table nsl_blobs already holds rows; migrate only into an "
                        "empty database");
    return NSL_OK;
}

/* Inserts the SQLite row at stmt as it is: NULL value (a tombstone) stays NULL. */
static nsl_err copy_row(PGconn *conn, sqlite3_stmt *stmt, struct nsl_error *err)
{
    uint64_t version = htobe64((uint64_t)sqlite3_column_int64(stmt, 2));
    bool tombstone = sqlite3_column_type(stmt, 3) == SQLITE_NULL;
    const void *value = sqlite3_column_blob(stmt, 3);
    const char *values[4] = {(const char *)sqlite3_column_text(stmt, 0),
                             (const char *)sqlite3_column_text(stmt, 1), (const char *)&version,
                             tombstone ? NULL
                             : value   ? (const char *)value
                                       : ""};
    const int lengths[4] = {sqlite3_column_bytes(stmt, 0), sqlite3_column_bytes(stmt, 1),
                            (int)sizeof version, sqlite3_column_bytes(stmt, 3)};
    const int formats[4] = {1, 1, 1, 1};
    const Oid types[4] = {TEXT_OID, BYTEA_OID, INT8_OID, BYTEA_OID};
    PGresult *res = PQexecParams(conn, insert_sql, 4, types, values, lengths, formats, 1);
    nsl_err rc = PQresultStatus(res) == PGRES_COMMAND_OK ? NSL_OK : pg_failed(conn, res, err);
    PQclear(res);
    return rc;
}

static nsl_err copy_rows(sqlite3 *db, PGconn *conn, uint64_t *rows, struct nsl_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "SELECT ns, key, version, value FROM blobs ORDER BY ns, key", -1,
                           &stmt, NULL) != SQLITE_OK) {
        nsl_logf(NSL_LOG_ERROR, "migrate_failed", "%s", sqlite3_errmsg(db));
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the SQLite database holds no blob store");
    }
    nsl_err rc = NSL_OK;
    int step;
    while (rc == NSL_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        rc = copy_row(conn, stmt, err);
        *rows += rc == NSL_OK;
    }
    if (rc == NSL_OK && step != SQLITE_DONE) {
        nsl_logf(NSL_LOG_ERROR, "migrate_failed", "%s", sqlite3_errmsg(db));
        rc = nsl_fail(err, NSL_ERR_UNAVAILABLE, "the SQLite database could not be read");
    }
    sqlite3_finalize(stmt);
    return rc;
}

nsl_err nsl_blobstore_migrate(const char *sqlite_path, const char *pg_url, uint64_t *rows,
                              struct nsl_error *err)
{
    *rows = 0;
    sqlite3 *db = nsl_sqlite_connect(sqlite_path, SQLITE_OPEN_READONLY);
    if (!db)
        return nsl_fail(err, NSL_ERR_UNAVAILABLE, "the SQLite database could not be opened");
    nsl_err rc = prepare_target(pg_url, err);
    PGconn *conn = rc == NSL_OK ? PQconnectdb(pg_url) : NULL;
    if (rc == NSL_OK && PQstatus(conn) != CONNECTION_OK)
        rc = pg_failed(conn, NULL, err);
    if (rc == NSL_OK)
        rc = lock_empty_target(conn, err);
    if (rc == NSL_OK)
        rc = copy_rows(db, conn, rows, err);
    if (rc == NSL_OK)
        rc = run(conn, "COMMIT", PGRES_COMMAND_OK, NULL, err);
    else if (conn && PQstatus(conn) == CONNECTION_OK)
        PQclear(PQexec(conn, "ROLLBACK"));
    if (rc != NSL_OK)
        *rows = 0;
    PQfinish(conn);
    sqlite3_close(db);
    return rc;
}
