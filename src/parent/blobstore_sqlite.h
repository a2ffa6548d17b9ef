/* Internals of the SQLite blob store, shared by its two files: blobstore_sqlite.c (opening,
 * reads on a small pool of read-only connections) and blobstore_sqlite_writer.c (the one writer
 * thread that owns the write connection and group-commits queued jobs). Not for other modules. */
#ifndef NSL_PARENT_BLOBSTORE_SQLITE_H
#define NSL_PARENT_BLOBSTORE_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "parent/blob_queue.h"
#include "parent/blobstore.h"

#define NSL_SQLITE_READERS 4

struct nsl_sqlite_reader {
    sqlite3 *db;
    sqlite3_stmt *get;
    sqlite3_stmt *list;
    bool busy;
};

struct nsl_sqlite_writer {
    sqlite3 *db;
    sqlite3_stmt *select, *upsert;
    sqlite3_stmt *prune, *prune_more; /* kv.prune: drop a range of rows, then "any left?" */
    sqlite3_stmt *begin, *commit, *rollback, *savepoint, *release, *rollback_to;
    pthread_t thread;
    bool started;
    struct nsl_blob_queue queue;
};

struct nsl_sqlite_store {
    struct nsl_blobstore base;
    char *path;
    struct nsl_metrics *metrics;
    pthread_mutex_t readers_lock;
    pthread_cond_t readers_cond;
    struct nsl_sqlite_reader readers[NSL_SQLITE_READERS];
    struct nsl_sqlite_writer writer;
    _Atomic uint64_t commits, writes;
};

/* Opens path with flags, sets a busy timeout and the pragmas every connection needs. */
sqlite3 *nsl_sqlite_connect(const char *path, int flags);
/* Prepares sql on db, logging why it failed. */
sqlite3_stmt *nsl_sqlite_prepare(sqlite3 *db, const char *sql);

/* Opens the write connection (WAL, synchronous=FULL, schema) and starts the writer thread. */
int nsl_sqlite_writer_start(struct nsl_sqlite_store *st);
/* Finishes the queued jobs, joins the thread, closes the connection. */
void nsl_sqlite_writer_stop(struct nsl_sqlite_store *st);
void nsl_sqlite_writer_submit(struct nsl_blobstore *s, struct nsl_blob_job *job);

#endif
