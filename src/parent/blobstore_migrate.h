/* Offline migration of a blob store from SQLite to PostgreSQL (docs/scale-out.md#moving-from-
 * sqlite-to-postgresql): every row, tombstones included, is copied with its version, so that every
 * sealed blob still opens (its version is in its associated data) and every version keeps rising
 * from where it was. */
#ifndef NSL_PARENT_BLOBSTORE_MIGRATE_H
#define NSL_PARENT_BLOBSTORE_MIGRATE_H

#include <stdint.h>

#include "common/errors.h"

/* Copies the SQLite database at sqlite_path (a parent's <state>/nsl.db; no parent may be using
 * it) into the PostgreSQL database at pg_url, creating the table if needed, in one transaction.
 * The target must hold no row: CONFLICT otherwise, and nothing is written. UNAVAILABLE when
 * either database cannot be opened or read (nothing is written either). *rows gets the rows
 * copied. */
nsl_err nsl_blobstore_migrate(const char *sqlite_path, const char *pg_url, uint64_t *rows,
                              struct nsl_error *err);

#endif
