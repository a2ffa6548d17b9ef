/* Unit tests of the SQLite blob store (src/parent/blobstore*.c) against a temporary directory:
 * compare-and-swap semantics of docs/storage.md, listing, batches, group commit, file mode and
 * the durability settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parent/blobstore.h"

struct fixture {
    char dir[64];
    struct nsl_blobstore *store;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/nsl-blobstore-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->store = nsl_blobstore_open_sqlite(f->dir, NULL);
    *state = f;
    return f->store ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    nsl_blobstore_close(f->store);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static nsl_err put(struct nsl_blobstore *s, const char *ns, const char *key, uint64_t expected,
                   const char *value, uint64_t *version, struct nsl_error *err)
{
    struct nsl_blob_write w = {NSL_BLOB_PUT,           ns,           key, expected,
                               (const uint8_t *)value, strlen(value)};
    return nsl_blobstore_write(s, &w, 1, version, err);
}

static nsl_err del(struct nsl_blobstore *s, const char *ns, const char *key, uint64_t expected,
                   uint64_t *version, struct nsl_error *err)
{
    struct nsl_blob_write w = {NSL_BLOB_DELETE, ns, key, expected, NULL, 0};
    return nsl_blobstore_write(s, &w, 1, version, err);
}

static void assert_value(struct nsl_blobstore *s, const char *ns, const char *key, bool found,
                         uint64_t version, const char *value)
{
    struct nsl_blob_value v;
    assert_int_equal(nsl_blobstore_get(s, ns, key, &v, NULL), NSL_OK);
    assert_int_equal(v.found, found);
    assert_int_equal(v.version, version);
    if (found) {
        assert_int_equal(v.len, strlen(value));
        assert_memory_equal(v.value, value, v.len);
    }
    nsl_blob_value_free(&v);
}

static void test_blobstore_put_then_get_round_trips(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    assert_value(f->store, "ns", "k", false, 0, NULL);
    assert_int_equal(put(f->store, "ns", "k", 0, "hello", &v, NULL), NSL_OK);
    assert_int_equal(v, 1);
    assert_value(f->store, "ns", "k", true, 1, "hello");
    assert_int_equal(put(f->store, "ns", "k", 1, "again", &v, NULL), NSL_OK);
    assert_int_equal(v, 2);
    assert_value(f->store, "ns", "k", true, 2, "again");
    assert_value(f->store, "other", "k", false, 0, NULL); /* namespaces are separate */
}

static void test_blobstore_put_with_wrong_version_conflicts(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    struct nsl_error err = {0};
    assert_int_equal(put(f->store, "ns", "k", 0, "a", &v, NULL), NSL_OK);
    assert_int_equal(put(f->store, "ns", "k", 5, "b", &v, &err), NSL_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "current version is 1"));
    assert_value(f->store, "ns", "k", true, 1, "a");
}

static void test_blobstore_expected_zero_on_existing_key_conflicts(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    struct nsl_error err = {0};
    assert_int_equal(put(f->store, "ns", "k", 0, "a", &v, NULL), NSL_OK);
    assert_int_equal(put(f->store, "ns", "k", 0, "b", &v, &err), NSL_ERR_CONFLICT);
    assert_value(f->store, "ns", "k", true, 1, "a");
}

static void test_blobstore_delete_leaves_tombstone_and_versions_keep_rising(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    struct nsl_error err = {0};
    assert_int_equal(put(f->store, "ns", "k", 0, "a", &v, NULL), NSL_OK);
    assert_int_equal(del(f->store, "ns", "k", 0, &v, &err), NSL_ERR_CONFLICT);
    assert_int_equal(del(f->store, "ns", "k", 1, &v, NULL), NSL_OK);
    assert_int_equal(v, 2);
    assert_value(f->store, "ns", "k", false, 2, NULL);
    assert_int_equal(put(f->store, "ns", "k", 0, "b", &v, &err), NSL_ERR_CONFLICT);
    assert_int_equal(put(f->store, "ns", "k", 2, "b", &v, NULL), NSL_OK);
    assert_int_equal(v, 3);
    assert_value(f->store, "ns", "k", true, 3, "b");
}

static void test_blobstore_delete_of_missing_or_deleted_key_is_not_found(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    assert_int_equal(del(f->store, "ns", "nothing", 0, &v, NULL), NSL_ERR_NOT_FOUND);
    assert_int_equal(put(f->store, "ns", "k", 0, "a", &v, NULL), NSL_OK);
    assert_int_equal(del(f->store, "ns", "k", 1, &v, NULL), NSL_OK);
    assert_int_equal(del(f->store, "ns", "k", 2, &v, NULL), NSL_ERR_NOT_FOUND);
}

static void list_keys(struct nsl_blobstore *s, const char *prefix, const char *after, size_t limit,
                      const char *expect, bool more)
{
    struct nsl_blob_query q = {"ns", prefix, after, limit, 1 << 20};
    struct nsl_blob_page page;
    char got[256] = "";
    assert_int_equal(nsl_blobstore_list(s, &q, &page, NULL), NSL_OK);
    for (size_t i = 0; i < page.count; i++) {
        strcat(got, page.items[i].key);
        strcat(got, ",");
        assert_true(page.items[i].version >= 1);
    }
    assert_string_equal(got, expect);
    assert_int_equal(page.more, more);
    nsl_blob_page_free(&page);
}

static void test_blobstore_list_pages_by_prefix_in_byte_order_skipping_tombstones(void **state)
{
    struct fixture *f = *state;
    const char *keys[] = {"b", "a/2", "a/10", "a/1", "a\xc3\xa9", "aZ", "a/3", "c"};
    uint64_t v;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(put(f->store, "ns", keys[i], 0, "x", &v, NULL), NSL_OK);
    assert_int_equal(put(f->store, "zz", "a/0", 0, "x", &v, NULL), NSL_OK); /* other ns */
    assert_int_equal(del(f->store, "ns", "a/3", 1, &v, NULL), NSL_OK);
    list_keys(f->store, "a/", NULL, 10, "a/1,a/10,a/2,", false);
    list_keys(f->store, "a/", NULL, 2, "a/1,a/10,", true);
    list_keys(f->store, "a/", "a/10", 2, "a/2,", false);
    list_keys(f->store, "a", NULL, 10, "a/1,a/10,a/2,aZ,a\xc3\xa9,", false);
    list_keys(f->store, "", "aZ", 10, "a\xc3\xa9,b,c,", false);
    list_keys(f->store, "", NULL, 3, "a/1,a/10,a/2,", true);
    list_keys(f->store, "d", NULL, 3, "", false);
}

static void test_blobstore_list_stops_at_byte_budget(void **state)
{
    struct fixture *f = *state;
    char big[1000];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = 0;
    uint64_t v;
    assert_int_equal(put(f->store, "ns", "k1", 0, big, &v, NULL), NSL_OK);
    assert_int_equal(put(f->store, "ns", "k2", 0, big, &v, NULL), NSL_OK);
    struct nsl_blob_query q = {"ns", "k", NULL, 10, 1500};
    struct nsl_blob_page page;
    assert_int_equal(nsl_blobstore_list(f->store, &q, &page, NULL), NSL_OK);
    assert_int_equal(page.count, 1);
    assert_true(page.more);
    nsl_blob_page_free(&page);
}

static void test_blobstore_batch_is_all_or_none(void **state)
{
    struct fixture *f = *state;
    uint64_t v, versions[3];
    struct nsl_error err = {0};
    assert_int_equal(put(f->store, "ns", "x", 0, "old", &v, NULL), NSL_OK);
    struct nsl_blob_write bad[3] = {{NSL_BLOB_PUT, "ns", "a", 0, (const uint8_t *)"1", 1},
                                    {NSL_BLOB_DELETE, "ns", "x", 1, NULL, 0},
                                    {NSL_BLOB_PUT, "ns", "b", 7, (const uint8_t *)"2", 1}};
    assert_int_equal(nsl_blobstore_write(f->store, bad, 3, versions, &err), NSL_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "writes[2]"));
    assert_value(f->store, "ns", "a", false, 0, NULL);
    assert_value(f->store, "ns", "x", true, 1, "old");
    bad[2].expected = 0;
    assert_int_equal(nsl_blobstore_write(f->store, bad, 3, versions, NULL), NSL_OK);
    assert_int_equal(versions[0], 1);
    assert_int_equal(versions[1], 2);
    assert_int_equal(versions[2], 1);
    assert_value(f->store, "ns", "x", false, 2, NULL);
    assert_value(f->store, "ns", "b", true, 1, "2");
}

#define WRITERS 64
#define PUTS    50

struct writer_arg {
    struct nsl_blobstore *store;
    int index;
    int failures;
};

static void *writer_main(void *p)
{
    struct writer_arg *a = p;
    char key[32], value[32];
    for (int i = 0; i < PUTS; i++) {
        uint64_t v = 0;
        snprintf(key, sizeof key, "t%02d/%02d", a->index, i);
        snprintf(value, sizeof value, "value %d %d", a->index, i);
        if (put(a->store, "load", key, 0, value, &v, NULL) != NSL_OK || v != 1)
            a->failures++;
    }
    return NULL;
}

static void test_blobstore_concurrent_writes_are_group_committed(void **state)
{
    struct fixture *f = *state;
    pthread_t threads[WRITERS];
    struct writer_arg args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (struct writer_arg){f->store, i, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, writer_main, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    char key[32], value[32];
    for (int t = 0; t < WRITERS; t++)
        for (int i = 0; i < PUTS; i++) {
            snprintf(key, sizeof key, "t%02d/%02d", t, i);
            snprintf(value, sizeof value, "value %d %d", t, i);
            assert_value(f->store, "load", key, true, 1, value);
        }
    struct nsl_blobstore_stats stats;
    nsl_blobstore_stats(f->store, &stats);
    assert_int_equal(stats.writes, WRITERS * PUTS);
    assert_true(stats.commits < stats.writes);
}

static void test_blobstore_file_is_private(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/nsl.db", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void pragma_equals(sqlite3 *db, const char *sql, const char *want)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), want);
    sqlite3_finalize(stmt);
}

/* journal_mode=WAL is a property of the file; synchronous is per connection (the store checks its
 * own writer connection reads back 2 when it opens, and refuses to start otherwise). */
static void test_blobstore_uses_wal_and_full_sync(void **state)
{
    struct fixture *f = *state;
    char path[128];
    sqlite3 *db = NULL;
    snprintf(path, sizeof path, "%s/nsl.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    pragma_equals(db, "PRAGMA journal_mode", "wal");
    pragma_equals(db, "PRAGMA synchronous", "2");
    pragma_equals(db, "SELECT sql FROM sqlite_schema WHERE name = 'blobs'",
                  "CREATE TABLE blobs(ns TEXT, key TEXT, version INTEGER, value BLOB,"
                  " PRIMARY KEY(ns, key))");
    sqlite3_close(db);
}

static void test_blobstore_values_are_stored_unaltered(void **state)
{
    struct fixture *f = *state;
    size_t len = NSL_BLOB_MAX_VALUE;
    uint8_t *value = malloc(len);
    for (size_t i = 0; i < len; i++)
        value[i] = (uint8_t)(i * 131 + 7); /* every byte value, NULs included */
    struct nsl_blob_write w = {NSL_BLOB_PUT, "ns", "big", 0, value, len};
    uint64_t v;
    assert_int_equal(nsl_blobstore_write(f->store, &w, 1, &v, NULL), NSL_OK);
    struct nsl_blob_value got;
    assert_int_equal(nsl_blobstore_get(f->store, "ns", "big", &got, NULL), NSL_OK);
    assert_int_equal(got.len, len);
    assert_memory_equal(got.value, value, len);
    nsl_blob_value_free(&got);
    struct nsl_blob_write empty = {NSL_BLOB_PUT, "ns", "empty", 0, NULL, 0};
    assert_int_equal(nsl_blobstore_write(f->store, &empty, 1, &v, NULL), NSL_OK);
    assert_value(f->store, "ns", "empty", true, 1, ""); /* empty, not a tombstone */
    free(value);
}

static void test_blobstore_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    uint64_t v;
    assert_int_equal(put(f->store, "ns", "k", 0, "kept", &v, NULL), NSL_OK);
    nsl_blobstore_close(f->store);
    f->store = nsl_blobstore_open_sqlite(f->dir, NULL);
    assert_non_null(f->store);
    assert_value(f->store, "ns", "k", true, 1, "kept");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_blobstore_put_then_get_round_trips),
        T(test_blobstore_put_with_wrong_version_conflicts),
        T(test_blobstore_expected_zero_on_existing_key_conflicts),
        T(test_blobstore_delete_leaves_tombstone_and_versions_keep_rising),
        T(test_blobstore_delete_of_missing_or_deleted_key_is_not_found),
        T(test_blobstore_list_pages_by_prefix_in_byte_order_skipping_tombstones),
        T(test_blobstore_list_stops_at_byte_budget),
        T(test_blobstore_batch_is_all_or_none),
        T(test_blobstore_concurrent_writes_are_group_committed),
        T(test_blobstore_file_is_private),
        T(test_blobstore_uses_wal_and_full_sync),
        T(test_blobstore_values_are_stored_unaltered),
        T(test_blobstore_reopen_keeps_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
