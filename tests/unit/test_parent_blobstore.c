/* Unit tests of the blob stores (src/parent/blobstore*.c): the compare-and-swap semantics of
 * docs/storage.md, listing, batches and group commit, run once against SQLite in a temporary
 * directory and once against PostgreSQL on a throw-away local server (tests/integration/harness/
 * postgres.h); then what only one backend has: SQLite's file mode and durability settings,
 * PostgreSQL's several parents on one database, unreachable server and durability check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/harness.h"
#include "harness/postgres.h"
#include "parent/blobstore.h"
#include "parent/blobstore_migrate.h"

struct fixture {
    char dir[64];
    bool postgres;
    struct nsl_blobstore *store;
};

/* One server for every PostgreSQL case; each case starts from an empty table. */
static struct nsl_pg_server pg;

static struct nsl_blobstore *open_store(const struct fixture *f)
{
    return f->postgres ? nsl_blobstore_open_postgres(pg.url, NULL)
                       : nsl_blobstore_open_sqlite(f->dir, NULL);
}

static int setup_backend(void **state, bool postgres)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/nsl-blobstore-XXXXXX");
    *state = f;
    f->postgres = postgres;
    if (!mkdtemp(f->dir))
        return -1;
    if (postgres && nsl_pg_server_sql(&pg, "DO $$ BEGIN IF to_regclass('nsl_blobs') IS NOT NULL"
                                           " THEN TRUNCATE nsl_blobs; END IF; END $$") != 0)
        return -1;
    f->store = open_store(f);
    return f->store ? 0 : -1;
}

static int setup(void **state)
{
    return setup_backend(state, false);
}

static int setup_pg(void **state)
{
    return setup_backend(state, true);
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

static nsl_err prune(struct nsl_blobstore *s, const char *ns, const char *before, size_t limit,
                     size_t *removed, bool *more)
{
    struct nsl_blob_prune p = {.ns = ns, .before = before, .limit = limit};
    nsl_err rc = nsl_blobstore_prune(s, &p, NULL);
    *removed = p.removed;
    *more = p.more;
    return rc;
}

/* A prune drops whole rows (tombstones too, so versions start again at 0) before the bound in
 * byte order, in that namespace only. */
static void test_blobstore_prune_drops_rows_before_the_bound(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    static const char *const keys[] = {"0000000100/a", "0000000150/t", "0000000199/b",
                                       "0000000200/c", "0000000300/d"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(put(f->store, "nonces", keys[i], 0, "", &v, NULL), NSL_OK);
    assert_int_equal(del(f->store, "nonces", "0000000150/t", 1, &v, NULL), NSL_OK);
    assert_int_equal(put(f->store, "other", "0000000100/a", 0, "keep", &v, NULL), NSL_OK);
    size_t removed = 0;
    bool more = true;
    assert_int_equal(prune(f->store, "nonces", "0000000200", 100, &removed, &more), NSL_OK);
    assert_int_equal(removed, 3);
    assert_false(more);
    assert_value(f->store, "nonces", "0000000100/a", false, 0, NULL);
    assert_value(f->store, "nonces", "0000000150/t", false, 0, NULL); /* the tombstone too */
    assert_value(f->store, "nonces", "0000000199/b", false, 0, NULL);
    assert_value(f->store, "nonces", "0000000200/c", true, 1, "");
    assert_value(f->store, "nonces", "0000000300/d", true, 1, "");
    assert_value(f->store, "other", "0000000100/a", true, 1, "keep");
    assert_int_equal(prune(f->store, "nonces", "0000000200", 100, &removed, &more), NSL_OK);
    assert_int_equal(removed, 0); /* idempotent */
    assert_false(more);
}

/* At most limit rows per prune, lowest keys first; more says whether rows before the bound are
 * left. */
static void test_blobstore_prune_takes_at_most_limit_rows(void **state)
{
    struct fixture *f = *state;
    uint64_t v = 0;
    char key[32];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "00000001%02d/x", i);
        assert_int_equal(put(f->store, "nonces", key, 0, "", &v, NULL), NSL_OK);
    }
    size_t removed = 0, total = 0;
    bool more = true;
    size_t want[] = {2, 2, 1};
    for (size_t round = 0; round < 3; round++) {
        assert_int_equal(prune(f->store, "nonces", "0000000200", 2, &removed, &more), NSL_OK);
        assert_int_equal(removed, want[round]);
        assert_int_equal(more, round < 2);
        total += removed;
        /* the lowest keys went first */
        snprintf(key, sizeof key, "00000001%02zu/x", total - 1);
        assert_value(f->store, "nonces", key, false, 0, NULL);
    }
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
    f->store = open_store(f);
    assert_non_null(f->store);
    assert_value(f->store, "ns", "k", true, 1, "kept");
}

/* ---- PostgreSQL only: several parents on one database ---- */

struct racer {
    struct nsl_blobstore *store;
    int done;      /* increments made */
    int conflicts; /* CAS failures seen (and retried) */
    int failures;  /* anything else */
};

#define RACERS     4 /* per store */
#define INCREMENTS 10

/* Read-modify-write of one counter with CAS, retrying on CONFLICT, as the enclave's services do. */
static void *racer_main(void *p)
{
    struct racer *r = p;
    while (r->done < INCREMENTS && r->failures == 0) {
        struct nsl_blob_value v;
        if (nsl_blobstore_get(r->store, "race", "counter", &v, NULL) != NSL_OK) {
            r->failures++;
            break;
        }
        char next[32];
        snprintf(next, sizeof next, "%ld", v.found ? strtol((char *)v.value, NULL, 10) + 1 : 1);
        uint64_t expected = v.version, version;
        nsl_blob_value_free(&v);
        struct nsl_blob_write w = {NSL_BLOB_PUT,          "race",          "counter", expected,
                                   (const uint8_t *)next, strlen(next) + 1};
        nsl_err rc = nsl_blobstore_write(r->store, &w, 1, &version, NULL);
        if (rc == NSL_OK)
            r->done++;
        else if (rc == NSL_ERR_CONFLICT)
            r->conflicts++;
        else
            r->failures++;
    }
    return NULL;
}

static void test_pg_two_parents_never_lose_an_update(void **state)
{
    struct fixture *f = *state;
    struct nsl_blobstore *other = nsl_blobstore_open_postgres(pg.url, NULL);
    assert_non_null(other);
    pthread_t threads[2 * RACERS];
    struct racer racers[2 * RACERS];
    for (int i = 0; i < 2 * RACERS; i++) {
        racers[i] = (struct racer){i % 2 ? other : f->store, 0, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, racer_main, &racers[i]), 0);
    }
    int conflicts = 0;
    for (int i = 0; i < 2 * RACERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].failures, 0);
        assert_int_equal(racers[i].done, INCREMENTS);
        conflicts += racers[i].conflicts;
    }
    char want[32];
    snprintf(want, sizeof want, "%d", 2 * RACERS * INCREMENTS);
    struct nsl_blob_value v;
    assert_int_equal(nsl_blobstore_get(other, "race", "counter", &v, NULL), NSL_OK);
    assert_string_equal((char *)v.value, want); /* every acknowledged increment counted */
    assert_int_equal(v.version, 2 * RACERS * INCREMENTS);
    nsl_blob_value_free(&v);
    assert_true(conflicts > 0); /* the race was real */
    nsl_blobstore_close(other);
}

struct pair_racer {
    struct nsl_blobstore *store;
    bool reversed; /* writes b before a */
    int done, failures;
};

/* Batches that bump keys a and b together, half of them naming b first: groups of the two
 * stores lock the rows in opposite orders, which PostgreSQL may resolve by aborting one as a
 * deadlock; the store must apply that group again, never answer it wrongly. */
static void *pair_racer_main(void *p)
{
    struct pair_racer *r = p;
    for (int attempt = 0; r->done < INCREMENTS && attempt < 100 * INCREMENTS; attempt++) {
        struct nsl_blob_value a, b;
        if (nsl_blobstore_get(r->store, "pair", "a", &a, NULL) != NSL_OK ||
            nsl_blobstore_get(r->store, "pair", "b", &b, NULL) != NSL_OK) {
            r->failures++;
            return NULL;
        }
        struct nsl_blob_write wa = {NSL_BLOB_PUT, "pair", "a", a.version, (const uint8_t *)"x", 1};
        struct nsl_blob_write wb = {NSL_BLOB_PUT, "pair", "b", b.version, (const uint8_t *)"y", 1};
        nsl_blob_value_free(&a);
        nsl_blob_value_free(&b);
        struct nsl_blob_write writes[2] = {r->reversed ? wb : wa, r->reversed ? wa : wb};
        uint64_t versions[2];
        nsl_err rc = nsl_blobstore_write(r->store, writes, 2, versions, NULL);
        if (rc == NSL_OK)
            r->done++;
        else if (rc != NSL_ERR_CONFLICT)
            r->failures++;
    }
    return NULL;
}

static void test_pg_batches_in_opposite_orders_stay_atomic(void **state)
{
    struct fixture *f = *state;
    struct nsl_blobstore *other = nsl_blobstore_open_postgres(pg.url, NULL);
    assert_non_null(other);
    pthread_t threads[RACERS];
    struct pair_racer racers[RACERS];
    for (int i = 0; i < RACERS; i++) {
        racers[i] = (struct pair_racer){i % 2 ? other : f->store, i % 4 >= 2, 0, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, pair_racer_main, &racers[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(racers[i].failures, 0);
        assert_int_equal(racers[i].done, INCREMENTS);
    }
    assert_value(f->store, "pair", "a", true, RACERS * INCREMENTS, "x");
    assert_value(f->store, "pair", "b", true, RACERS * INCREMENTS, "y");
    nsl_blobstore_close(other);
}

static void test_pg_write_through_one_parent_is_read_through_another(void **state)
{
    struct fixture *f = *state;
    struct nsl_blobstore *other = nsl_blobstore_open_postgres(pg.url, NULL);
    assert_non_null(other);
    uint64_t v;
    for (int i = 1; i <= 20; i++) {
        char value[16];
        snprintf(value, sizeof value, "v%d", i);
        assert_int_equal(put(i % 2 ? f->store : other, "ns", "k", (uint64_t)i - 1, value, &v, NULL),
                         NSL_OK);
        assert_value(i % 2 ? other : f->store, "ns", "k", true, (uint64_t)i, value);
    }
    assert_int_equal(del(other, "ns", "k", 20, &v, NULL), NSL_OK);
    assert_value(f->store, "ns", "k", false, 21, NULL);
    list_keys(f->store, "", NULL, 10, "", false);
    nsl_blobstore_close(other);
}

static bool store_answers(void *ctx)
{
    struct nsl_blob_value v;
    nsl_err rc = nsl_blobstore_get(ctx, "ns", "k", &v, NULL);
    nsl_blob_value_free(&v);
    return rc == NSL_OK;
}

static void test_pg_unreachable_server_answers_unavailable_then_recovers(void **state)
{
    struct fixture *f = *state;
    uint64_t v;
    struct nsl_error err = {0};
    assert_int_equal(put(f->store, "ns", "k", 0, "before", &v, NULL), NSL_OK);
    assert_int_equal(nsl_pg_server_halt(&pg), 0);
    struct nsl_blob_value got;
    assert_int_equal(nsl_blobstore_get(f->store, "ns", "k", &got, &err), NSL_ERR_UNAVAILABLE);
    assert_int_equal(put(f->store, "ns", "k", 1, "during", &v, &err), NSL_ERR_UNAVAILABLE);
    assert_null(strstr(err.message, pg.url)); /* nothing of the connection string */
    struct nsl_blob_query q = {"ns", "", NULL, 10, 1 << 20};
    struct nsl_blob_page page;
    assert_int_equal(nsl_blobstore_list(f->store, &q, &page, NULL), NSL_ERR_UNAVAILABLE);
    assert_int_equal(nsl_pg_server_resume(&pg), 0);
    assert_int_equal(nsl_wait_until(store_answers, f->store, 20000), 0);
    assert_value(f->store, "ns", "k", true, 1, "before"); /* the failed put changed nothing */
    for (int i = 0; i < 100 && put(f->store, "ns", "k", 1, "after", &v, NULL) != NSL_OK; i++)
        usleep(10000); /* the writers reconnect on their next group, paced by the retry pause */
    assert_value(f->store, "ns", "k", true, 2, "after");
}

static bool fsync_is(const char *want)
{
    PGconn *conn = PQconnectdb(pg.url);
    PGresult *res = PQexec(conn, "SHOW fsync");
    bool same = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), want) == 0;
    PQclear(res);
    PQfinish(conn);
    return same;
}

static bool fsync_off(void *ctx)
{
    (void)ctx;
    return fsync_is("off");
}

static bool fsync_on(void *ctx)
{
    (void)ctx;
    return fsync_is("on");
}

static void test_pg_refuses_a_server_without_fsync(void **state)
{
    (void)state;
    assert_int_equal(nsl_pg_server_sql(&pg, "ALTER SYSTEM SET fsync = off"), 0);
    assert_int_equal(nsl_pg_server_sql(&pg, "SELECT pg_reload_conf()"), 0);
    assert_int_equal(nsl_wait_until(fsync_off, NULL, 10000), 0);
    struct nsl_blobstore *s = nsl_blobstore_open_postgres(pg.url, NULL);
    assert_int_equal(nsl_pg_server_sql(&pg, "ALTER SYSTEM RESET fsync"), 0);
    assert_int_equal(nsl_pg_server_sql(&pg, "SELECT pg_reload_conf()"), 0);
    assert_int_equal(nsl_wait_until(fsync_on, NULL, 10000), 0);
    assert_null(s);
}

/* Keys are bytea so that order is byte order whatever the database's collation; the table is
 * the documented one. */
static void test_pg_table_keys_are_bytes(void **state)
{
    (void)state;
    assert_int_equal(nsl_pg_server_sql(&pg, "DO $$ BEGIN IF (SELECT string_agg(column_name || ' '"
                                            " || data_type, ',' ORDER BY ordinal_position) FROM"
                                            " information_schema.columns WHERE table_name ="
                                            " 'nsl_blobs') <> 'ns text,key bytea,version bigint,"
                                            "value bytea' THEN RAISE 'unexpected table'; END IF;"
                                            " END $$"),
                     0);
}

/* ---- migration from SQLite (docs/scale-out.md#moving-from-sqlite-to-postgresql) ---- */

/* Fills a SQLite store in f->dir: a value rewritten (version 2), a tombstone (version 2), an
 * empty value, a second namespace; returns the path of its nsl.db in path. */
static void fill_sqlite(const struct fixture *f, char *path, size_t len)
{
    struct nsl_blobstore *s = nsl_blobstore_open_sqlite(f->dir, NULL);
    assert_non_null(s);
    uint64_t v = 0;
    assert_int_equal(put(s, "ns", "a", 0, "one", &v, NULL), NSL_OK);
    assert_int_equal(put(s, "ns", "a", 1, "two", &v, NULL), NSL_OK);
    assert_int_equal(put(s, "ns", "b", 0, "gone", &v, NULL), NSL_OK);
    assert_int_equal(del(s, "ns", "b", 1, &v, NULL), NSL_OK);
    assert_int_equal(put(s, "ns", "c", 0, "", &v, NULL), NSL_OK);
    assert_int_equal(put(s, "other", "k\xc3\xa9y", 0, "x", &v, NULL), NSL_OK);
    nsl_blobstore_close(s);
    snprintf(path, len, "%s/nsl.db", f->dir);
}

static void assert_migrated(struct nsl_blobstore *s)
{
    assert_value(s, "ns", "a", true, 2, "two");
    assert_value(s, "ns", "b", false, 2, NULL); /* the tombstone keeps its version */
    assert_value(s, "ns", "c", true, 1, "");
    assert_value(s, "other", "k\xc3\xa9y", true, 1, "x");
}

/* Every row, tombstones too, arrives with its version; versions go on rising from there. */
static void test_pg_migrate_copies_every_row_with_its_version(void **state)
{
    struct fixture *f = *state;
    char path[128];
    fill_sqlite(f, path, sizeof path);
    uint64_t rows = 0, v = 0;
    struct nsl_error err = {0};
    assert_int_equal(nsl_blobstore_migrate(path, pg.url, &rows, &err), NSL_OK);
    assert_int_equal(rows, 4);
    assert_migrated(f->store);
    assert_int_equal(put(f->store, "ns", "b", 0, "again", &v, NULL), NSL_ERR_CONFLICT);
    assert_int_equal(put(f->store, "ns", "b", 2, "again", &v, NULL), NSL_OK);
    assert_int_equal(v, 3);
}

/* A target holding any row is refused and left as it was; so is a source that is not there. */
static void test_pg_migrate_refuses_a_non_empty_target_or_a_missing_source(void **state)
{
    struct fixture *f = *state;
    char path[128], missing[160];
    fill_sqlite(f, path, sizeof path);
    uint64_t rows = 0, v = 0;
    struct nsl_error err = {0};
    assert_int_equal(put(f->store, "ns", "a", 0, "target's own", &v, NULL), NSL_OK);
    assert_int_equal(nsl_blobstore_migrate(path, pg.url, &rows, &err), NSL_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "already holds rows"));
    assert_int_equal(rows, 0);
    assert_value(f->store, "ns", "a", true, 1, "target's own");
    assert_value(f->store, "ns", "c", false, 0, NULL);
    snprintf(missing, sizeof missing, "%s/none/nsl.db", f->dir);
    assert_int_equal(nsl_blobstore_migrate(missing, pg.url, &rows, &err), NSL_ERR_UNAVAILABLE);
    assert_value(f->store, "ns", "a", true, 1, "target's own");
}

/* nsl-parent --migrate-from sqlite:PATH --db URL: 0 once copied, 1 for a target that is not
 * empty, 2 without --db or with a source that is not sqlite:PATH. */
static int run_parent(const char *args)
{
    char exe[512], cmd[1400];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = 0;
    *strrchr(exe, '/') = 0; /* build/tests -> build/bin */
    snprintf(cmd, sizeof cmd, "'%s/../bin/nsl-parent' %s --log-level error 2>/dev/null", exe, args);
    int status = system(cmd);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_pg_migrate_command_line(void **state)
{
    struct fixture *f = *state;
    char path[128], args[800];
    fill_sqlite(f, path, sizeof path);
    snprintf(args, sizeof args, "--migrate-from 'sqlite:%s' --db '%s'", path, pg.url);
    assert_int_equal(run_parent(args), 0);
    assert_migrated(f->store);
    assert_int_equal(run_parent(args), 1); /* now the target is not empty */
    snprintf(args, sizeof args, "--migrate-from 'sqlite:%s'", path);
    assert_int_equal(run_parent(args), 2);
    snprintf(args, sizeof args, "--migrate-from '%s' --db '%s'", path, pg.url);
    assert_int_equal(run_parent(args), 2);
    assert_migrated(f->store);
}

#define T(name)  cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TP(name) cmocka_unit_test_setup_teardown(name, setup_pg, teardown)
/* The cases every backend must pass alike. */
#define COMMON_CASES(X)                                                                            \
    X(test_blobstore_put_then_get_round_trips),                                                    \
        X(test_blobstore_put_with_wrong_version_conflicts),                                        \
        X(test_blobstore_expected_zero_on_existing_key_conflicts),                                 \
        X(test_blobstore_delete_leaves_tombstone_and_versions_keep_rising),                        \
        X(test_blobstore_delete_of_missing_or_deleted_key_is_not_found),                           \
        X(test_blobstore_list_pages_by_prefix_in_byte_order_skipping_tombstones),                  \
        X(test_blobstore_list_stops_at_byte_budget), X(test_blobstore_batch_is_all_or_none),       \
        X(test_blobstore_concurrent_writes_are_group_committed),                                   \
        X(test_blobstore_values_are_stored_unaltered), X(test_blobstore_reopen_keeps_data),        \
        X(test_blobstore_prune_drops_rows_before_the_bound),                                       \
        X(test_blobstore_prune_takes_at_most_limit_rows)

static int pg_group_setup(void **state)
{
    (void)state;
    return nsl_pg_server_start(&pg);
}

static int pg_group_teardown(void **state)
{
    (void)state;
    nsl_pg_server_stop(&pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        COMMON_CASES(T),
        T(test_blobstore_file_is_private),
        T(test_blobstore_uses_wal_and_full_sync),
    };
    const struct CMUnitTest pg_tests[] = {
        COMMON_CASES(TP),
        TP(test_pg_two_parents_never_lose_an_update),
        TP(test_pg_batches_in_opposite_orders_stay_atomic),
        TP(test_pg_write_through_one_parent_is_read_through_another),
        TP(test_pg_unreachable_server_answers_unavailable_then_recovers),
        TP(test_pg_refuses_a_server_without_fsync),
        TP(test_pg_table_keys_are_bytes),
        TP(test_pg_migrate_copies_every_row_with_its_version),
        TP(test_pg_migrate_refuses_a_non_empty_target_or_a_missing_source),
        TP(test_pg_migrate_command_line),
    };
    int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
    return failed +
           cmocka_run_group_tests_name("postgres", pg_tests, pg_group_setup, pg_group_teardown);
}
