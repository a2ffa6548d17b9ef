/* Scans for secret material where it must never be: every file of a test stack's state dir (the
 * database and its WAL, both daemons' logs, key files) and collected error messages. */
#ifndef NSL_TEST_SCAN_H
#define NSL_TEST_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* True when the file at path holds needle (binary-safe). A file over 256 MiB cannot be scanned
 * and counts as holding it. */
bool nsl_file_contains(const char *path, const void *needle, size_t len);

/* The first regular file under dir (recursively) holding needle, copied into where; false when
 * none does. */
bool nsl_dir_contains(const char *dir, const void *needle, size_t len, char *where,
                      size_t where_len);

#endif
