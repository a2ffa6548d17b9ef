/* The sealed store end to end: the enclave's store client (in this process) against the real
 * nsl-parent and its SQLite backend. Covers the store API, master-key persistence, a parent that
 * tampers with nsl.db, a scan of nsl.db* for plaintext, and SIGKILL of the parent during a burst
 * of writes: every acknowledged write must be there after restart. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "harness/harness.h"
#include "store/master_key.h"
#include "store/store.h"

static struct nsl_stack stack;
static struct nsl_hostchan *hc;
static struct nsl_sealer *sealer;
static struct nsl_store *store;

static bool host_connected(void *ctx)
{
    (void)ctx;
    struct nsl_hostchan_status st;
    nsl_hostchan_get_status(hc, &st);
    return st.connected;
}

static int start_parent(void)
{
    return nsl_stack_start_parent(&stack);
}

static struct nsl_secret *load_master(void)
{
    struct nsl_error err = {0};
    struct nsl_secret *master = NULL;
    assert_int_equal(nsl_wait_until(host_connected, NULL, 15000), 0);
    assert_int_equal(nsl_master_key_load_sim(hc, 10000, &master, &err), NSL_OK);
    return master;
}

static int setup(void **state)
{
    (void)state;
    nsl_log_init("test_store", NSL_LOG_ERROR);
    nsl_secure_heap_init(1 << 16);
    if (nsl_stack_init(&stack) != 0 || start_parent() != 0)
        return -1;
    struct nsl_url url;
    nsl_url_parse(stack.host_url, &url, NULL, 0);
    hc = nsl_hostchan_start(&url, 4u << 20);
    struct nsl_secret *master = load_master();
    sealer = nsl_sealer_new(master);
    nsl_secret_free(master);
    store = nsl_store_new(hc, sealer, 10000);
    return store ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    nsl_store_free(store);
    nsl_sealer_free(sealer);
    nsl_hostchan_stop(hc);
    return nsl_stack_stop(&stack);
}

static void put(const char *ns, const char *key, uint64_t expected, const char *value)
{
    struct nsl_error err = {0};
    uint64_t v = 0;
    assert_int_equal(nsl_store_put(store, ns, key, expected, value, strlen(value), &v, &err),
                     NSL_OK);
    assert_int_equal(v, expected + 1);
}

static void assert_value(const char *ns, const char *key, uint64_t version, const char *value)
{
    struct nsl_error err = {0};
    struct nsl_secret *got = NULL;
    uint64_t v = 0;
    assert_int_equal(nsl_store_get(store, ns, key, &got, &v, &err), NSL_OK);
    assert_int_equal(v, version);
    assert_int_equal(nsl_secret_len(got), strlen(value));
    assert_memory_equal(nsl_secret_bytes(got), value, strlen(value));
    nsl_secret_free(got);
}

static void test_put_get_and_compare_and_swap(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    uint64_t v = 0;
    put("t", "a", 0, "one");
    assert_value("t", "a", 1, "one");
    assert_int_equal(nsl_store_put(store, "t", "a", 0, "x", 1, &v, &err), NSL_ERR_CONFLICT);
    assert_int_equal(nsl_store_put(store, "t", "a", 5, "x", 1, &v, &err), NSL_ERR_CONFLICT);
    put("t", "a", 1, "two");
    assert_value("t", "a", 2, "two");
}

static void test_delete_leaves_a_tombstone_and_versions_keep_rising(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    struct nsl_secret *got = NULL;
    uint64_t v = 0;
    put("t", "d", 0, "first");
    assert_int_equal(nsl_store_delete(store, "t", "d", 0, &err), NSL_ERR_CONFLICT);
    assert_int_equal(nsl_store_delete(store, "t", "d", 1, &err), NSL_OK);
    assert_int_equal(nsl_store_get(store, "t", "d", &got, &v, &err), NSL_ERR_NOT_FOUND);
    assert_null(got);
    assert_int_equal(v, 2);
    assert_int_equal(nsl_store_delete(store, "t", "d", 2, &err), NSL_ERR_NOT_FOUND);
    put("t", "d", 2, "again");
    assert_value("t", "d", 3, "again");
}

/* The store client's kv.prune: a time-keyed namespace loses its rows before the bound, whole
 * (a pruned key starts again at version 0); any other namespace, or a bound that is not a
 * ten-digit time, is refused before anything is sent. */
static void test_prune_drops_old_time_keyed_rows_only(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    struct nsl_secret *got = NULL;
    uint64_t v = 0;
    size_t removed = 0;
    bool more = true;
    put("nonces", "0000000100/acct/n1", 0, "");
    put("nonces", "0000000300/acct/n2", 0, "");
    put("t", "0000000100", 0, "kept");
    assert_int_equal(nsl_store_prune(store, "nonces", 200, 10, &removed, &more, &err), NSL_OK);
    assert_int_equal(removed, 1);
    assert_false(more);
    assert_int_equal(nsl_store_get(store, "nonces", "0000000100/acct/n1", &got, &v, &err),
                     NSL_ERR_NOT_FOUND);
    assert_int_equal(v, 0);
    assert_value("nonces", "0000000300/acct/n2", 1, "");
    assert_int_equal(nsl_store_prune(store, "t", 200, 10, &removed, &more, &err), NSL_ERR_INTERNAL);
    assert_int_equal(nsl_store_prune(store, "nonces", -1, 10, &removed, &more, &err),
                     NSL_ERR_INTERNAL);
    assert_int_equal(nsl_store_prune(store, "nonces", 10000000000LL, 10, &removed, &more, &err),
                     NSL_ERR_INTERNAL);
    assert_int_equal(nsl_store_prune(store, "nonces", 200, 0, &removed, &more, &err),
                     NSL_ERR_INTERNAL);
    assert_value("t", "0000000100", 1, "kept");
}

static void test_list_pages_by_prefix(void **state)
{
    (void)state;
    char key[32];
    for (int i = 0; i < 25; i++) {
        snprintf(key, sizeof key, "item/%02d", i);
        put("list", key, 0, key);
    }
    put("list", "other/1", 0, "x");
    struct nsl_store_page page;
    struct nsl_error err = {0};
    char after[32] = "";
    int seen = 0;
    bool more = true;
    while (more) {
        assert_int_equal(
            nsl_store_list(store, "list", "item/", seen ? after : NULL, 10, &page, &err), NSL_OK);
        for (size_t i = 0; i < page.count; i++, seen++) {
            snprintf(key, sizeof key, "item/%02d", seen);
            assert_string_equal(page.items[i].key, key);
            assert_memory_equal(nsl_secret_bytes(page.items[i].value), key, strlen(key));
        }
        if (page.count)
            snprintf(after, sizeof after, "%s", page.items[page.count - 1].key);
        more = page.more;
        nsl_store_page_free(&page);
    }
    assert_int_equal(seen, 25);
}

static void test_batch_applies_all_or_nothing(void **state)
{
    (void)state;
    struct nsl_error err = {0};
    uint64_t versions[3];
    put("b", "x", 0, "x1");
    struct nsl_store_write bad[] = {
        {NSL_STORE_PUT, "b", "y", 0, "y1", 2},
        {NSL_STORE_PUT, "b", "x", 0, "x-conflict", 10}, /* x is at version 1 */
    };
    assert_int_equal(nsl_store_batch(store, bad, 2, versions, &err), NSL_ERR_CONFLICT);
    struct nsl_secret *got = NULL;
    uint64_t v;
    assert_int_equal(nsl_store_get(store, "b", "y", &got, &v, &err), NSL_ERR_NOT_FOUND);
    struct nsl_store_write good[] = {
        {NSL_STORE_PUT, "b", "y", 0, "y1", 2},
        {NSL_STORE_PUT, "b", "x", 1, "x2", 2},
        {NSL_STORE_DELETE, "b", "x", 2, NULL, 0},
    };
    /* The same key twice in one batch: the second write must see the first. */
    assert_int_equal(nsl_store_batch(store, good, 3, versions, &err), NSL_OK);
    assert_int_equal(versions[0], 1);
    assert_int_equal(versions[1], 2);
    assert_int_equal(versions[2], 3);
    assert_value("b", "y", 1, "y1");
    assert_int_equal(nsl_store_get(store, "b", "x", &got, &v, &err), NSL_ERR_NOT_FOUND);
}

static void test_master_key_is_the_same_after_reload(void **state)
{
    (void)state;
    put("persist", "k", 0, "survives");
    struct nsl_secret *master = load_master();
    struct nsl_sealer *again = nsl_sealer_new(master);
    nsl_secret_free(master);
    struct nsl_store *other = nsl_store_new(hc, again, 10000);
    struct nsl_error err = {0};
    struct nsl_secret *got = NULL;
    uint64_t v;
    assert_int_equal(nsl_store_get(other, "persist", "k", &got, &v, &err), NSL_OK);
    assert_memory_equal(nsl_secret_bytes(got), "survives", 8);
    nsl_secret_free(got);
    nsl_store_free(other);
    nsl_sealer_free(again);
}

/* ---- a hostile parent edits its own database ---- */

static void db_exec(const char *sql, const void *blob, int blob_len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/nsl.db", stack.dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (blob)
        sqlite3_bind_blob(st, 1, blob, blob_len, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void *db_value(const char *ns, const char *key, int *len)
{
    char path[300], sql[256];
    snprintf(path, sizeof path, "%s/nsl.db", stack.dir);
    snprintf(sql, sizeof sql, "SELECT value FROM blobs WHERE ns='%s' AND key='%s'", ns, key);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *len = sqlite3_column_bytes(st, 0);
    void *copy = malloc((size_t)*len);
    memcpy(copy, sqlite3_column_blob(st, 0), (size_t)*len);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return copy;
}

static void assert_integrity_error(const char *ns, const char *key)
{
    struct nsl_error err = {0};
    struct nsl_secret *got = NULL;
    uint64_t v;
    assert_int_equal(nsl_store_get(store, ns, key, &got, &v, &err), NSL_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "integrity check"));
    assert_null(got);
}

static void test_tampered_moved_and_replayed_blobs_fail_alone(void **state)
{
    (void)state;
    put("h", "victim", 0, "v1");
    int old_len;
    void *old_blob = db_value("h", "victim", &old_len);
    put("h", "victim", 1, "v2");
    put("h", "bystander", 0, "fine");
    put("h", "moved", 0, "m1");

    /* The version-1 blob served as version 2: replay at another version. */
    db_exec("UPDATE blobs SET value=?1 WHERE ns='h' AND key='victim'", old_blob, old_len);
    assert_integrity_error("h", "victim");
    /* Another key's blob at this key. */
    int len;
    void *blob = db_value("h", "bystander", &len);
    db_exec("UPDATE blobs SET value=?1 WHERE ns='h' AND key='moved'", blob, len);
    assert_integrity_error("h", "moved");
    /* One flipped byte. */
    ((uint8_t *)blob)[len / 2] ^= 0x40;
    db_exec("UPDATE blobs SET value=?1, version=1 WHERE ns='h' AND key='victim'", blob, len);
    assert_integrity_error("h", "victim");
    /* Everything else is still served. */
    assert_value("h", "bystander", 1, "fine");
    free(blob);
    free(old_blob);
}

static bool file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 64 << 20;
    char *buf = malloc(cap);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    bool found = memmem(buf, n, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static void test_database_files_never_hold_plaintext(void **state)
{
    (void)state;
    const char *marker = "PLAINTEXT-MARKER-5f1d2c8e";
    put("scan", "k", 0, marker);
    const char *files[] = {"nsl.db", "nsl.db-wal", "nsl.db-shm", "parent.log"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/%s", stack.dir, files[i]);
        assert_false(file_contains(path, marker));
    }
    assert_value("scan", "k", 1, marker);
}

/* ---- SIGKILL during a burst of writes ---- */

enum { WRITERS = 8, MAX_WRITES = 100000 };

struct writer {
    int id;
    int acked;       /* writes k<id>/0 .. k<id>/(acked-1) were acknowledged */
    nsl_err stopped; /* why the writer stopped */
    pthread_t thread;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < MAX_WRITES; i++) {
        char key[32], value[32];
        snprintf(key, sizeof key, "w%d/%06d", w->id, i);
        snprintf(value, sizeof value, "value-%d-%d", w->id, i);
        struct nsl_error err = {0};
        uint64_t v;
        w->stopped = nsl_store_put(store, "burst", key, 0, value, strlen(value), &v, &err);
        if (w->stopped != NSL_OK)
            break;
        __atomic_store_n(&w->acked, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static bool enough_acked(void *ctx)
{
    struct writer *ws = ctx;
    for (int i = 0; i < WRITERS; i++)
        if (__atomic_load_n(&ws[i].acked, __ATOMIC_ACQUIRE) < 20)
            return false;
    return true;
}

static void test_sigkill_of_parent_loses_no_acknowledged_write(void **state)
{
    (void)state;
    static struct writer ws[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        ws[i].id = i;
        ws[i].acked = 0;
        assert_int_equal(pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]), 0);
    }
    assert_int_equal(nsl_wait_until(enough_acked, ws, 30000), 0);
    nsl_stack_kill(&stack.parent_pid, SIGKILL);
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(ws[i].thread, NULL);
        /* A write in flight when the parent died fails as unavailable: never a wrong answer. */
        assert_int_equal(ws[i].stopped, NSL_ERR_UNAVAILABLE);
    }
    assert_int_equal(start_parent(), 0);
    assert_int_equal(nsl_wait_until(host_connected, NULL, 15000), 0);
    int total = 0;
    for (int w = 0; w < WRITERS; w++) {
        for (int i = 0; i < ws[w].acked; i++) {
            char key[32], value[32];
            snprintf(key, sizeof key, "w%d/%06d", w, i);
            snprintf(value, sizeof value, "value-%d-%d", w, i);
            assert_value("burst", key, 1, value);
            total++;
        }
    }
    print_message("      %d acknowledged writes all present after SIGKILL\n", total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_and_compare_and_swap),
        cmocka_unit_test(test_delete_leaves_a_tombstone_and_versions_keep_rising),
        cmocka_unit_test(test_prune_drops_old_time_keyed_rows_only),
        cmocka_unit_test(test_list_pages_by_prefix),
        cmocka_unit_test(test_batch_applies_all_or_nothing),
        cmocka_unit_test(test_master_key_is_the_same_after_reload),
        cmocka_unit_test(test_tampered_moved_and_replayed_blobs_fail_alone),
        cmocka_unit_test(test_database_files_never_hold_plaintext),
        cmocka_unit_test(test_sigkill_of_parent_loses_no_acknowledged_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
