/* Internals of the PostgreSQL blob store, shared by its two files: blobstore_postgres.c
 * (connections, reads on a small pool, opening) and blobstore_postgres_writer.c (writer threads
 * that group-commit queued jobs). Not for other modules; docs/scale-out.md says why it is built
 * this way. */
#ifndef NSL_PARENT_BLOBSTORE_POSTGRES_H
#define NSL_PARENT_BLOBSTORE_POSTGRES_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "parent/blob_queue.h"
#include "parent/blobstore.h"

#define NSL_PG_READERS   4
#define NSL_PG_WRITERS   2
#define NSL_PG_MAX_GROUP 64 /* jobs in one transaction */

/* A pooled connection: NULL until first used, and again after it broke. */
struct nsl_pg_conn {
    PGconn *conn;
    bool busy;
};

struct nsl_pg_store {
    struct nsl_blobstore base;
    char *url;
    struct nsl_metrics *metrics;
    pthread_mutex_t readers_lock;
    pthread_cond_t readers_cond;
    struct nsl_pg_conn readers[NSL_PG_READERS];
    /* Connection attempts are refused until this CLOCK_MONOTONIC millisecond after one failed, so
     * an unreachable server is answered UNAVAILABLE at once instead of once per timeout. */
    _Atomic int64_t retry_at_ms;
    struct nsl_blob_queue queue; /* the writers' */
    pthread_t writers[NSL_PG_WRITERS];
    size_t writers_started;
    _Atomic uint64_t commits, writes;
};

/* Makes sure c holds a working session (connecting if needed): synchronous_commit on, the
 * statements prepared. Returns 0, or -1 while the server cannot be reached. */
int nsl_pg_ensure(struct nsl_pg_store *st, struct nsl_pg_conn *c);
/* Closes c's session when it broke, so that the next use reconnects. Returns true if it did. */
bool nsl_pg_drop_if_broken(struct nsl_pg_conn *c);
/* Runs a prepared statement with binary parameters and results. */
PGresult *nsl_pg_exec(PGconn *conn, const char *stmt, int count, const char *const *values,
                      const int *lengths);
/* The int8 column col of row, in binary format. */
uint64_t nsl_pg_uint64(const PGresult *res, int row, int col);
/* Logs a failed statement (never its parameters). */
void nsl_pg_log_failure(const char *event, PGconn *conn, const PGresult *res);

int nsl_pg_writers_start(struct nsl_pg_store *st);
/* Finishes every queued job, then joins the writer threads. */
void nsl_pg_writers_stop(struct nsl_pg_store *st);
void nsl_pg_submit(struct nsl_blobstore *s, struct nsl_blob_job *job);

#endif
